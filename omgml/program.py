"""The Pulumi program: one phase of one platform per stack.

`main()` is what the real engine runs (stacks/__main__.py calls it): it reads the stack config
and the project's omgml.yaml. `build_phase()` is the part shared with the offline synth, which
calls it directly with an already-validated spec. Only this edge reads configuration; the
blueprints and components receive typed args.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi

from omgml.errors import SpecError
from omgml.naming import stack_reference_name
from omgml.spec import PHASES, PhaseName, PlatformSpec, load_spec

if TYPE_CHECKING:
    from omgml.blueprints.contracts import FoundationOutputs

CONFIG_NAMESPACE = "omgml"
DEFAULT_SPEC_FILE = "omgml.yaml"
DEFAULT_ORG = "organization"  # the organization name of Pulumi's file (DIY) backend


def upstream_phases(phase: PhaseName) -> tuple[PhaseName, ...]:
    """Phases whose outputs `phase` reads (all earlier ones)."""
    return PHASES[: PHASES.index(phase)]


def build_phase(spec: PlatformSpec, phase: PhaseName, references: dict[PhaseName, str]) -> dict[str, Any]:
    """Create the phase's blueprint, reading earlier phases through StackReferences.

    `references` maps each earlier phase to the fully qualified stack name to read it from.
    Returns the exports (also registered with pulumi.export).
    """
    from omgml.sdk_imports import use_lean_sdk_packages

    # Before any SDK class is touched: load only the resource modules this phase uses.
    use_lean_sdk_packages()
    from omgml.blueprints.contracts import FoundationOutputs, TrainingOutputs

    missing = [p for p in upstream_phases(phase) if p not in references]
    if missing:
        raise ValueError(f"phase {phase!r} needs stack references for {missing}")

    def ref(upstream: PhaseName) -> pulumi.StackReference:
        return pulumi.StackReference(f"{upstream}-ref", stack_name=references[upstream])

    exports: dict[str, Any]
    if phase == "foundation":
        from omgml.blueprints.foundation import Foundation, FoundationArgs
        from omgml.buckets import bucket_names

        if spec.target == "aws":
            from omgml.components.aws.platform import AwsFoundation, AwsFoundationArgs

            # The cluster comes first: every Kubernetes object of the phase lands on it, through
            # its provider (children inherit `providers` from the blueprint).
            cloud = AwsFoundation("aws", AwsFoundationArgs(spec=spec, buckets=bucket_names(spec)))
            blueprint = Foundation("foundation", FoundationArgs(spec=spec, aws=cloud),
                                   pulumi.ResourceOptions(providers=[cloud.k8s_provider, cloud.aws_provider]))
            exports = blueprint.exports
        else:
            exports = Foundation("foundation", FoundationArgs(spec=spec)).exports
    elif phase == "training":
        from omgml.blueprints.training import Training, TrainingArgs

        fnd = FoundationOutputs.read(ref("foundation").get_output, aws=spec.target == "aws")
        exports = Training("training", TrainingArgs(spec=spec, foundation=fnd),
                           _cluster_options(spec, fnd)).exports
    else:
        from omgml.blueprints.serving import Serving, ServingArgs

        fnd = FoundationOutputs.read(ref("foundation").get_output, aws=spec.target == "aws")
        trn = TrainingOutputs.read(ref("training").get_output) if spec.phases.training.enabled else None
        exports = Serving("serving", ServingArgs(spec=spec, foundation=fnd, training=trn),
                          _cluster_options(spec, fnd)).exports
    for key, value in exports.items():
        pulumi.export(key, value)
    return exports


def _cluster_options(spec: PlatformSpec, foundation: FoundationOutputs) -> pulumi.ResourceOptions | None:
    """On aws, later phases reach the foundation's EKS cluster through a provider rebuilt from
    its kubeconfig output, and AWS resources (GPU node groups) through the spec's region."""
    if spec.target != "aws":
        return None
    from omgml.components.aws.platform import aws_provider, kubernetes_provider

    return pulumi.ResourceOptions(providers=[
        kubernetes_provider("eks", foundation.require_eks().eks_kubeconfig),
        aws_provider("aws", spec),
    ])


def references_for(project: str, prefix: str, phase: PhaseName, org: str = DEFAULT_ORG) -> dict[PhaseName, str]:
    return {p: stack_reference_name(org, project, prefix, p) for p in upstream_phases(phase)}


def main() -> None:
    """Entry point under the real engine: config → spec → phase blueprint."""
    cfg = pulumi.Config(CONFIG_NAMESPACE)
    phase = cfg.require("phase")
    if phase not in PHASES:
        raise pulumi.RunError(f"omgml:phase must be one of {list(PHASES)}, got {phase!r}; fix the stack config")
    root = Path(pulumi.runtime.settings.get_root_directory() or os.getcwd())
    spec_path = root / (cfg.get("specFile") or DEFAULT_SPEC_FILE)
    try:
        spec = load_spec(spec_path)
    except SpecError as exc:
        raise pulumi.RunError(str(exc)) from None
    prefix = cfg.get("stackPrefix") or pulumi.get_stack().rsplit("-", 1)[0]
    org = cfg.get("organization") or DEFAULT_ORG
    build_phase(spec, phase, references_for(pulumi.get_project(), prefix, phase, org))

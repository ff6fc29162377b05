"""Does a project's generated files still agree with its omgml.yaml?

omgml.yaml is the source of truth; `omgml init` and `omgml sync` derive the stack configs, the
kind config, Pulumi.yaml and the CI workflow from it. Editing omgml.yaml by hand (say
`platform.target`) leaves those behind, and a deploy would then go to the wrong cluster or
region. `omgml check` and `omgml render` report each disagreement here, with the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from omgml.policy.findings import Finding
from omgml.spec import PHASES, PlatformSpec

POLICY = "project-consistency"


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None


def _sync_fix(project: Path) -> str:
    return f"run `omgml sync {project}`: it rewrites the files derived from omgml.yaml, keeping your own files and the Pulumi state"


def requirements_vs_platform(spec_file: Path, spec: PlatformSpec, project: Path) -> list[Finding]:
    """requirements.target and platform.target disagree: the platform section wins (it is what the
    program deploys); say so, and how to make them agree either way."""
    data = _read_yaml(spec_file)
    req = data.get("requirements") if isinstance(data, dict) else None
    stated = req.get("target", "local") if isinstance(req, dict) else None
    if stated is None or stated == spec.target:
        return []
    return [Finding(
        POLICY, "warning", spec_file.name, "requirements.target",
        f"requirements.target is {stated!r} but platform.target is {spec.target!r}; omgml deploys the platform "
        f"section, so this project deploys to {spec.target!r} and requirements.target is ignored",
        f"to deploy to {stated!r}, re-run the engine into the project (`omgml init {project} --requirements "
        f"{spec_file} --force`) or set platform.target: {stated} and run `omgml sync {project}`; to stay on "
        f"{spec.target!r}, set requirements.target: {spec.target}",
    )]


def profile_for_target(spec_file: Path, spec: PlatformSpec) -> list[Finding]:
    if spec.target == "aws" and spec.profile == "laptop":
        return [Finding(
            POLICY, "warning", spec_file.name, "platform.profile",
            "profile 'laptop' sizes the platform for a laptop (single replicas, no data retention, a 4 CPU / 8 GiB "
            "budget) but platform.target is 'aws'",
            "set platform.profile: small or production (what `omgml init --target aws` picks)",
        )]
    return []


def stack_config_findings(project: Path, spec: PlatformSpec) -> list[Finding]:
    from omgml.project import STACK_PREFIX, local_contexts, stack_config_values

    out: list[Finding] = []
    fix = _sync_fix(project)
    for phase in PHASES:
        rel = f"stacks/Pulumi.{STACK_PREFIX}-{phase}.yaml"
        path = project / rel
        if not path.exists():
            out.append(Finding(POLICY, "error", rel, "", f"the stack config of phase {phase} is missing", fix))
            continue
        data = _read_yaml(path)
        config = data.get("config") if isinstance(data, dict) else None
        config = config if isinstance(config, dict) else {}
        want = stack_config_values(spec, phase)
        for key, value in want.items():
            have = config.get(key)
            if key == "kubernetes:context" and have in local_contexts(spec):
                continue  # kind's context, or kwok's after `omgml local up` without Docker
            if have != value:
                accepted = " or ".join(repr(c) for c in local_contexts(spec)) if key == "kubernetes:context" else repr(value)
                now = f"is {have!r}" if key in config else "is not set"
                out.append(Finding(POLICY, "error", rel, f"config.{key}",
                                   f"{key} {now} but omgml.yaml's platform (target {spec.target}, name "
                                   f"{spec.name}) needs {accepted}", fix))
        stale = [k for k in ("kubernetes:context", "aws:region") if k in config and k not in want]
        for key in stale:
            out.append(Finding(POLICY, "error", rel, f"config.{key}",
                               f"{key} is set but platform.target is {spec.target!r}, which does not use it "
                               "(left over from another target)", fix))
    # Stacks of other prefixes (`omgml up --stack-prefix`) that point at another local cluster.
    if spec.target == "local":
        for path in sorted((project / "stacks").glob("Pulumi.*.yaml")):
            if path.name.startswith(f"Pulumi.{STACK_PREFIX}-"):
                continue
            data = _read_yaml(path)
            config = data.get("config") if isinstance(data, dict) else None
            context = config.get("kubernetes:context") if isinstance(config, dict) else None
            if context is not None and context not in local_contexts(spec):
                out.append(Finding(POLICY, "error", f"stacks/{path.name}", "config.kubernetes:context",
                                   f"kubernetes:context is {context!r}, not this platform's cluster "
                                   f"({' or '.join(local_contexts(spec))})",
                                   f"set it with `pulumi config set kubernetes:context kind-{spec.name} "
                                   f"-s {path.stem.removeprefix('Pulumi.')}` or let `omgml local up` do it"))
    return out


def pulumi_project_findings(project: Path, spec: PlatformSpec) -> list[Finding]:
    data = _read_yaml(project / "Pulumi.yaml")
    name = data.get("name") if isinstance(data, dict) else None
    if name != spec.name:
        return [Finding(POLICY, "error", "Pulumi.yaml", "name",
                        f"the Pulumi project is {name!r} but platform.name is {spec.name!r}; stack references "
                        "between the phases are qualified with the project name", _sync_fix(project))]
    return []


def kind_config_findings(project: Path, spec: PlatformSpec) -> list[Finding]:
    from omgml.kind import kind_config
    from omgml.project import KIND_CONFIG

    path = project / KIND_CONFIG
    if spec.target != "local":
        if path.exists():
            return [Finding(POLICY, "warning", KIND_CONFIG, "",
                            f"a kind cluster config, but platform.target is {spec.target!r}", _sync_fix(project))]
        return []
    if not path.exists():
        return [Finding(POLICY, "error", KIND_CONFIG, "", "missing; `omgml local up` creates the cluster from it",
                        _sync_fix(project))]
    want = kind_config(spec)
    have = _read_yaml(path)
    if have != want:
        pools = [p.name for p in spec.all_gpu_pools()]
        return [Finding(POLICY, "error", KIND_CONFIG, "nodes",
                        f"differs from the cluster omgml.yaml's platform needs (cluster {want['name']!r}, a CPU "
                        f"worker and a GPU worker per pool: {pools or 'none'})", _sync_fix(project))]
    return []


def workflow_findings(project: Path, spec: PlatformSpec) -> list[Finding]:
    from omgml.project import WORKFLOW

    data = _read_yaml(project / WORKFLOW)
    if not isinstance(data, dict):
        return []  # removed or replaced by the team's own CI: not omgml's to judge
    found = data.get("jobs")
    jobs: dict[str, Any] = found if isinstance(found, dict) else {}
    has_preview = "preview" in jobs
    if has_preview != (spec.target == "aws"):
        what = "previews the phases on AWS" if has_preview else "has no AWS preview job"
        return [Finding(POLICY, "warning", WORKFLOW, "jobs.preview",
                        f"the workflow {what} but platform.target is {spec.target!r}", _sync_fix(project))]
    if has_preview:
        regions = {str(step.get("with", {}).get("aws-region")) for step in jobs["preview"].get("steps", [])
                   if isinstance(step, dict) and "aws-region" in (step.get("with") or {})}
        if regions and regions != {spec.aws.region}:
            return [Finding(POLICY, "warning", WORKFLOW, "jobs.preview",
                            f"the preview job uses region {sorted(regions)} but aws.region is {spec.aws.region!r}",
                            _sync_fix(project))]
    return []


def project_findings(project: Path, spec: PlatformSpec) -> list[Finding]:
    """Every disagreement between omgml.yaml and the files derived from it. `project` is a folder;
    derived files are checked only in an `omgml init` project (one with a Pulumi.yaml)."""
    from omgml.project import SPEC_FILE

    spec_file = project / SPEC_FILE
    out = requirements_vs_platform(spec_file, spec, project) + profile_for_target(spec_file, spec)
    if (project / "Pulumi.yaml").exists():
        out += pulumi_project_findings(project, spec)
        out += stack_config_findings(project, spec)
        out += kind_config_findings(project, spec)
        out += workflow_findings(project, spec)
    return out

"""Lean SDK packages load fewer modules and change nothing else."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

NAMES = {
    "pulumi_aws.ec2": ["Vpc", "VpcArgs", "NatGateway", "SecurityGroup", "SecurityGroupIngressArgs", "get_vpc",
                       "get_vpc_output", "outputs", "_inputs", "vpc"],
    "pulumi_aws.eks": ["Cluster", "ClusterVpcConfigArgs", "NodeGroupScalingConfigArgs", "AccessPolicyAssociation"],
    "pulumi_aws.cloudwatch": ["LogGroup"],
    "pulumi_aws.iam": ["Role", "RolePolicyAttachment", "OpenIdConnectProvider"],
    "pulumi_kubernetes.core.v1": ["ConfigMap", "ConfigMapInitArgs", "ContainerArgs", "PodSpecArgs", "outputs",
                                  # the args first: their module, bound under the class name, must not shadow it
                                  "PersistentVolumeClaimArgs", "PersistentVolumeClaim"],
    "pulumi_kubernetes.apps.v1": ["Deployment", "DeploymentSpecArgs"],
    "pulumi_kubernetes.meta.v1": ["ObjectMetaArgs"],
}


def _python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600)
    return out.stdout.strip().splitlines()[-1]


def test_names_resolve_to_what_the_full_package_binds() -> None:
    code = f"""
import importlib, json, sys
from omgml.sdk_imports import LeanPackage, use_lean_sdk_packages
assert use_lean_sdk_packages(), "nothing replaced"
names = {NAMES!r}
found = {{}}
for pkg, attrs in names.items():
    top, *rest = pkg.split(".")
    module = importlib.import_module(top)
    for part in rest:
        module = getattr(module, part)
    assert isinstance(module, LeanPackage), pkg
    found[pkg] = (module, {{a: getattr(module, a) for a in attrs}})
loaded = len([m for m in sys.modules if m.startswith("pulumi_aws.ec2.")])
for pkg, (module, values) in found.items():
    dir(module)  # loads the whole package into the same module object
    for attr, value in values.items():
        assert getattr(module, attr) is value, (pkg, attr)
print(json.dumps({{"ec2_modules_before_full_load": loaded,
                   "ec2_modules_after": len([m for m in sys.modules if m.startswith("pulumi_aws.ec2.")])}}))
"""
    counts = json.loads(_python(code))
    assert counts["ec2_modules_before_full_load"] < 20 < counts["ec2_modules_after"]


def _render(tmp: Path, lean: bool) -> tuple[dict[str, str], list[str]]:
    out = tmp / ("lean" if lean else "full")
    code = f"""
import json, sys
import omgml.sdk_imports as sdk
if not {lean!r}:
    sdk.use_lean_sdk_packages = lambda: []
from omgml.recommend import recommend
from omgml.spec.requirements import requirements_from_dict
from omgml.synth.render import render_platform, write_render
from omgml.templates import load_template
data = load_template("fintech").model_dump(mode="json", exclude_unset=True)
spec = recommend(requirements_from_dict(data)).to_platform_spec()
write_render(render_platform(spec), __import__("pathlib").Path({str(out)!r}))
print(json.dumps(sorted(m for m in sys.modules if m.startswith(("pulumi_aws.", "pulumi_kubernetes.")))))
"""
    modules = json.loads(_python(code))
    files = {p.name: p.read_text() for p in sorted(out.iterdir())}
    return files, modules


def test_a_lean_render_is_the_same_render(tmp_path: Path) -> None:
    lean, lean_modules = _render(tmp_path, lean=True)
    full, full_modules = _render(tmp_path, lean=False)
    assert lean.keys() == full.keys()
    for name in lean:
        if name.endswith(".yaml"):
            assert lean[name] == full[name], name
    # inventory.json lists resources in registration order, which the engine's concurrency
    # may shuffle between any two runs; the entries themselves must be the same.
    key = lambda e: json.dumps(e, sort_keys=True)  # noqa: E731
    assert sorted(json.loads(lean["inventory.json"])["resources"], key=key) == \
        sorted(json.loads(full["inventory.json"])["resources"], key=key)
    assert len(lean_modules) < len(full_modules) * 0.7

"""Manifests are validated against the Kubernetes version the project deploys to."""

from __future__ import annotations

import pytest

from omgml.kind import NODE_IMAGE
from omgml.spec import AwsSpec, spec_from_dict
from omgml.synth.render import render_platform
from omgml.validate import SchemaVersionError, schema_version, target_kubernetes_version, validate_manifests
from tests.policy.fixtures import deployment, network_policy


def test_aws_uses_the_eks_version_and_local_the_kind_node_version() -> None:
    assert schema_version(spec_from_dict({"name": "x", "target": "aws"})) == f"{AwsSpec().kubernetes_version}.0"
    eks = spec_from_dict({"name": "x", "target": "aws", "aws": {"kubernetes_version": "1.31"}})
    assert schema_version(eks) == "1.31.0"
    node_minor = NODE_IMAGE.rsplit(":v", 1)[1].rsplit(".", 1)[0]
    assert schema_version(spec_from_dict({"name": "x"})) == f"{node_minor}.0"
    assert target_kubernetes_version(spec_from_dict({"name": "x"}))[1] == f"the kind node image {NODE_IMAGE}"


def test_a_version_without_schemas_is_refused_with_the_field_and_the_range() -> None:
    spec = spec_from_dict({"name": "x", "target": "aws", "aws": {"kubernetes_version": "1.19"}})
    with pytest.raises(SchemaVersionError) as info:
        schema_version(spec)
    message = str(info.value)
    assert "Kubernetes 1.19 (aws.kubernetes_version (the EKS control plane)) has no schemas" in message
    assert "1.25–" in message and "choose a supported version in aws.kubernetes_version" in message


def _with_scheduling_group() -> dict:
    # podSpec.schedulingGroup first appears in the Kubernetes 1.36 schemas.
    d = deployment("web", "apps")
    d["spec"]["template"]["spec"]["schedulingGroup"] = {"podGroupName": "g"}
    return d


def test_a_field_newer_than_the_target_version_is_a_schema_error() -> None:
    item = _with_scheduling_group()
    assert validate_manifests([item], version="1.36.0") == []
    (problem,) = validate_manifests([item], version="1.34.0")
    assert problem.startswith("Deployment/apps/web: spec.template.spec:") and "schedulingGroup" in problem


@pytest.mark.parametrize(("target", "flagged"), [("aws", True), ("local", False)])
def test_check_validates_against_the_project_version(target: str, flagged: bool) -> None:
    from omgml.policy.check import check_render

    render = render_platform(spec_from_dict({"name": "x", "target": target}), ["foundation"])
    render.phases[0].manifests = [_with_scheduling_group(), network_policy("apps")]
    findings = [f for f in check_render(render, None).findings if f.policy_id == "kubernetes-schema"]
    assert bool(findings) is flagged

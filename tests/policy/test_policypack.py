"""The CrossGuard pack's callbacks, driven with fake CrossGuard args (no engine, no pulumi_policy)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
import yaml

from tests.policy.fixtures import deployment, namespace, network_policy

PACK = Path(__file__).resolve().parents[2] / "policypack"


@pytest.fixture(scope="module")
def pack() -> ModuleType:
    sys.path.insert(0, str(PACK))
    try:
        return importlib.import_module("omgml_policies")
    finally:
        sys.path.remove(str(PACK))


class Reports:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str | None]] = []

    def __call__(self, message: str, urn: str | None = None) -> None:
        self.messages.append((message, urn))


def k8s_type(m: dict[str, Any]) -> str:
    group = {"Deployment": "apps/v1", "Namespace": "core/v1", "NetworkPolicy": "networking.k8s.io/v1"}[m["kind"]]
    return f"kubernetes:{group}:{m['kind']}"


def res_args(m: dict[str, Any], urn: str = "urn:x") -> SimpleNamespace:
    return SimpleNamespace(resource_type=k8s_type(m), props=m, urn=urn, name=m["metadata"]["name"])


def test_pack_files_pin_pulumi_policy_and_use_python() -> None:
    project = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    reqs = (PACK / "requirements.txt").read_text()
    assert "pulumi-policy>=1.21.0,<1.22" in reqs
    main = (PACK / "__main__.py").read_text()
    assert "ResourceValidationPolicy" in main and "StackValidationPolicy" in main


def test_every_omgml_policy_is_in_the_pack(pack: ModuleType) -> None:
    from omgml.policy import POLICIES

    in_pack = set(pack.KUBERNETES_RESOURCE_POLICIES) | set(pack.AWS_RESOURCE_POLICIES) | set(pack.STACK_POLICIES)
    assert set(POLICIES) <= in_pack


def test_resource_policy_reports_violation_and_passes_compliant(pack: ModuleType) -> None:
    validate = pack.kubernetes_validator("image-pinned-tag")
    bad = deployment()
    bad["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx"
    reports = Reports()
    validate(res_args(bad), reports)
    [(message, _)] = reports.messages
    assert "Deployment/apps/web spec.template.spec.containers[0].image" in message and "Fix:" in message
    ok = Reports()
    validate(res_args(deployment()), ok)
    assert ok.messages == []


def test_non_kubernetes_resources_are_ignored_by_kubernetes_policies(pack: ModuleType) -> None:
    reports = Reports()
    pack.kubernetes_validator("container-probes")(
        SimpleNamespace(resource_type="aws:s3/bucket:Bucket", props={"bucket": "x"}, urn="u", name="b"), reports)
    assert reports.messages == []


def test_aws_resource_policies(pack: ModuleType) -> None:
    reports = Reports()
    args = SimpleNamespace(resource_type="aws:rds/instance:Instance", props={"storageEncrypted": False},
                           urn="u", name="pg")
    pack.aws_validator("aws-data-store-encryption")(args, reports)
    assert len(reports.messages) == 1 and "storageEncrypted" in reports.messages[0][0]
    ok = Reports()
    args.props = {"storageEncrypted": True}
    pack.aws_validator("aws-data-store-encryption")(args, ok)
    assert ok.messages == []


def test_stack_pod_security_uses_the_namespace_allowance(pack: ModuleType) -> None:
    agent = deployment("agent", "nodes", hostNetwork=True)
    without = SimpleNamespace(resources=[res_args(namespace("nodes"), "urn:ns"), res_args(agent, "urn:agent")])
    reports = Reports()
    pack.validate_pod_security(without, reports)
    assert reports.messages and all(urn == "urn:agent" for _, urn in reports.messages)
    allowed = SimpleNamespace(resources=[res_args(namespace("nodes", "privileged", "node agent"), "urn:ns"),
                                         res_args(agent, "urn:agent")])
    ok = Reports()
    pack.validate_pod_security(allowed, ok)
    assert ok.messages == []


def test_stack_network_policy_check(pack: ModuleType) -> None:
    reports = Reports()
    pack.validate_network_policies(SimpleNamespace(resources=[res_args(deployment())]), reports)
    assert len(reports.messages) == 1 and "Namespace/apps" in reports.messages[0][0]
    ok = Reports()
    pack.validate_network_policies(
        SimpleNamespace(resources=[res_args(deployment()), res_args(network_policy("apps"))]), ok)
    assert ok.messages == []


def test_unknown_preview_values_are_left_out(pack: ModuleType) -> None:
    class Proxy(dict):  # type: ignore[type-arg]
        """Raises like CrossGuard's proxy when an unknown value is read."""

        def __getitem__(self, key: str) -> Any:
            if key == "image":
                raise pack._Unknown("unknown during preview")
            return super().__getitem__(key)

    assert pack.plain({"containers": [Proxy(name="app", image="?")]}) == {"containers": [{"name": "app"}]}


def test_pack_reports_what_omgml_check_reports(pack: ModuleType) -> None:
    from omgml.policy import check_manifests

    bad = deployment()
    bad["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "DB_PASSWORD", "value": "x1"}]
    items = [bad, namespace("apps")]
    assert pack.check_everything(items) == check_manifests(items)

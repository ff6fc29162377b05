from __future__ import annotations

from omgml.policy import check_manifests, context_for
from omgml.policy.pod_security import check_namespace, check_pod_security, namespace_allowances
from tests.policy.fixtures import cronjob, deployment, namespace


def _ids(findings: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(f.policy_id, f.field) for f in findings]


def test_restricted_pod_passes() -> None:
    assert check_pod_security(deployment(), {}) == []
    assert check_pod_security(cronjob(), {}) == []


def test_root_privileged_hostpath_pod_is_flagged_with_fields() -> None:
    d = deployment(hostNetwork=True, volumes=[{"name": "host", "hostPath": {"path": "/var"}}])
    c = d["spec"]["template"]["spec"]["containers"][0]
    c["securityContext"] = {"privileged": True, "runAsUser": 0}
    fields = {f.field for f in check_pod_security(d, {})}
    expected = {"hostNetwork", "volumes[0].hostPath",
                *(f"containers[0].securityContext.{k}" for k in (
                    "privileged", "allowPrivilegeEscalation", "runAsUser", "capabilities.drop"))}
    missing = {f"spec.template.spec.{e}" for e in expected} - fields
    assert not missing, missing


def test_missing_non_root_and_seccomp_on_pod_and_container() -> None:
    d = deployment(securityContext={})
    c = d["spec"]["template"]["spec"]["containers"][0]
    c["securityContext"] = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    fields = {f.field.rsplit(".", 1)[-1] for f in check_pod_security(d, {})}
    assert fields == {"runAsNonRoot", "seccompProfile"}


def test_cronjob_pod_spec_path_is_reported() -> None:
    cj = cronjob()
    cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["securityContext"] = {}
    findings = check_pod_security(cj, {})
    assert findings and all(f.field.startswith("spec.jobTemplate.spec.template.spec.containers[0]") for f in findings)
    assert findings[0].resource == "CronJob/apps/nightly"


def test_namespace_allowed_with_reason_exempts_its_pods_by_level() -> None:
    agent = deployment("agent", "nodes", volumes=[{"name": "h", "hostPath": {"path": "/dev"}}])
    agent["spec"]["template"]["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    allowed = namespace_allowances([namespace("nodes", "privileged", "device plugin talks to the kubelet")])
    assert check_pod_security(agent, allowed) == []
    # baseline still forbids privileged containers and hostPath
    baseline = namespace_allowances([namespace("nodes", "baseline", "needs to run as root")])
    assert {f.field.rsplit(".", 1)[-1] for f in check_pod_security(agent, baseline)} >= {"privileged", "hostPath"}


def test_weaker_label_without_reason_is_a_finding_and_pods_stay_restricted() -> None:
    ns = namespace("nodes", "privileged")
    assert [f.policy_id for f in check_namespace(ns)] == ["pod-security-restricted"]
    assert check_namespace(namespace("nodes", "privileged", "why")) == []
    pod = deployment("agent", "nodes", hostPID=True)
    items = [ns, pod]
    assert "nodes" not in context_for(items).allowances
    assert any(f.field.endswith("hostPID") for f in check_manifests(items))


def test_platform_namespace_writes_the_reason_annotation() -> None:
    from omgml.components.namespace import NamespaceArgs, PlatformNamespace
    from tests.synth_helpers import one, synth_manifests

    def privileged() -> None:
        PlatformNamespace("gpu", NamespaceArgs(
            "gpu-agents", pod_security="privileged", pod_security_reason="NVIDIA device plugin needs hostPath"))

    def restricted_ns() -> None:
        PlatformNamespace("apps", NamespaceArgs("apps"))

    items = synth_manifests(privileged)
    ns = one(items, "Namespace", "gpu-agents")
    assert ns["metadata"]["annotations"]["omgml.dev/pod-security-reason"].startswith("NVIDIA")
    assert namespace_allowances(items)["gpu-agents"].level == "privileged"
    restricted = synth_manifests(restricted_ns)
    assert "annotations" not in one(restricted, "Namespace", "apps")["metadata"]

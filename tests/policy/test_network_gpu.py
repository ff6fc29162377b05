from __future__ import annotations

from omgml.policy.gpu import check_gpu_scheduling, selects_gpu_pool
from omgml.policy.network import check_network_policies
from tests.policy.fixtures import deployment, gpu_deployment, network_policy


def test_namespace_with_workloads_needs_a_network_policy() -> None:
    items = [deployment("a", "apps"), deployment("b", "ml"), network_policy("ml")]
    [f] = check_network_policies(items)
    assert f.resource == "Namespace/apps" and "Deployment/a" in f.message
    assert check_network_policies([*items, network_policy("apps")]) == []


def test_namespaces_without_workloads_and_kube_system_need_none() -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "empty"}}
    assert check_network_policies([svc, deployment("agent", "kube-system")]) == []


def test_compliant_gpu_pod_passes() -> None:
    assert check_gpu_scheduling(gpu_deployment()) == []


def test_gpu_pod_without_toleration_never_schedules() -> None:
    [f] = check_gpu_scheduling(gpu_deployment(tolerations=[]))
    assert f.field == "spec.template.spec.tolerations"


def test_gpu_pod_without_gpu_pool_selector_is_flagged() -> None:
    [f] = check_gpu_scheduling(gpu_deployment(nodeSelector={"kubernetes.io/os": "linux"}))
    assert f.field == "spec.template.spec.nodeSelector" and "requests nvidia.com/gpu" in f.message


def test_pod_on_gpu_pool_without_gpu_limit_still_needs_the_toleration() -> None:
    # target local without a GPU: the limit is dropped but the pod still targets the tainted worker
    d = deployment("trainer", "training", nodeSelector={"accelerator": "nvidia"})
    [f] = check_gpu_scheduling(d)
    assert f.field.endswith("tolerations")


def test_cpu_pod_tolerating_the_gpu_taint_must_select_a_gpu_pool() -> None:
    d = deployment(tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}])
    [f] = check_gpu_scheduling(d)
    assert "tolerates the nvidia.com/gpu taint" in f.message
    # a node agent with a wildcard toleration runs everywhere on purpose
    agent = deployment(tolerations=[{"operator": "Exists"}])
    assert check_gpu_scheduling(agent) == []


def test_gpu_pool_selection_by_affinity_and_pool_names() -> None:
    term = {"matchExpressions": [{"key": "eks.amazonaws.com/nodegroup", "operator": "In", "values": ["a10"]}]}
    spec = {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [term]}}}}
    assert not selects_gpu_pool(spec)
    assert selects_gpu_pool(spec, gpu_pools=["a10"])
    # every term must be a GPU pool: one CPU alternative lets the pod land elsewhere
    cpu_term = {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["cpu"]}]}
    spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"].append(
        cpu_term)
    assert not selects_gpu_pool(spec, gpu_pools=["a10"])

"""GPU pools: one taint/label convention for every target, EKS node groups under mocks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from omgml.components.gpupool import (
    GPU_RESOURCE,
    POOL_LABEL,
    GpuPool,
    GpuPoolArgs,
    gpu_node_selector,
    gpu_pool_labels,
    gpu_pools_affinity,
    gpu_resources,
    gpu_taint,
    gpu_tolerations,
    pool_taints,
    with_gpu_limits,
)
from omgml.policy.gpu import is_gpu_label, tolerates_gpu_taint
from omgml.spec import GpuPoolSpec, spec_from_dict
from omgml.synth.manifests import manifests
from tests.synth_helpers import synth

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
TRAIN = GpuPoolSpec(name="train", instance_types=["g6.xlarge", "g5.xlarge"], min_size=0, desired_size=0,
                    max_size=4, spot=True, disk_size_gib=150)
INFER = GpuPoolSpec(name="infer", purpose="inference", instance_types=["g6.xlarge"], min_size=1,
                    desired_size=2, max_size=3)


def tolerates(toleration: dict[str, Any], taint_key: str, taint_value: str, effect: str) -> bool:
    """Kubernetes' matching rule for one toleration and one taint."""
    if toleration.get("effect") and toleration["effect"] != effect:
        return False
    if toleration.get("operator") == "Exists":
        return toleration.get("key") in (None, taint_key)
    return toleration.get("key") == taint_key and toleration.get("value") == taint_value


def test_gpu_taint_is_the_documented_one() -> None:
    t = gpu_taint()
    assert (t.key, t.value, t.effect) == ("nvidia.com/gpu", "present", "NoSchedule")
    assert t.kubelet_arg() == "nvidia.com/gpu=present:NoSchedule"
    assert t.eks_effect() == "NO_SCHEDULE"


def test_tolerations_are_derived_from_the_pools_taints() -> None:
    tols = gpu_tolerations([TRAIN, INFER])
    assert tols == [gpu_taint().toleration()]  # one distinct taint, listed once
    for pool in (TRAIN, INFER):
        for taint in pool_taints(pool):
            assert any(tolerates(t, taint.key, taint.value, taint.effect) for t in tols)
    # The policy checks read the same convention.
    assert tolerates_gpu_taint({"tolerations": tols})


def test_labels_and_selectors_name_the_pool() -> None:
    labels = gpu_pool_labels(TRAIN)
    assert labels[POOL_LABEL] == "train" and labels["omgml.dev/pool-purpose"] == "training"
    assert gpu_node_selector(TRAIN).items() <= labels.items()
    assert all(is_gpu_label(k, v, ["train"]) for k, v in gpu_node_selector(TRAIN).items())
    term = gpu_pools_affinity([TRAIN, INFER])["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    [expr] = term["nodeSelectorTerms"][0]["matchExpressions"]
    assert expr == {"key": POOL_LABEL, "operator": "In", "values": ["infer", "train"]}
    with pytest.raises(ValueError, match="no GPU pools"):
        gpu_pools_affinity([])


@pytest.mark.parametrize(("target", "gpu", "expected"), [
    ("local", "none", {}),
    ("local", "nvidia", {GPU_RESOURCE: "2"}),
    ("aws", "none", {GPU_RESOURCE: "2"}),
])
def test_gpu_resources_fall_back_to_cpu_without_a_gpu(target: str, gpu: str, expected: dict[str, str]) -> None:
    spec = spec_from_dict({"name": "demo", "target": target, "local": {"gpu": gpu}})
    assert gpu_resources(spec, 2) == expected
    base = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
    merged = with_gpu_limits(base, spec, 2)
    assert merged["limits"] == {"cpu": "2", "memory": "2Gi", **expected}
    assert base["limits"] == {"cpu": "2", "memory": "2Gi"}  # the input is not modified
    with pytest.raises(ValueError, match="count must be ≥ 1"):
        gpu_resources(spec, 0)


def node_pools(program_pools: list[GpuPoolSpec],
               profile: Callable[[], pulumi.Input[str]] = lambda: "demo-nodes") -> list[dict[str, Any]]:
    def program() -> None:
        for p in program_pools:
            GpuPool(f"pool-{p.name}", GpuPoolArgs(
                pool=p, target="aws", cluster_name="demo", instance_profile=profile(),
                subnet_ids=["subnet-a", "subnet-b"], security_group_id="sg-1", ami_release="v20260714",
                tags={"omgml.dev/platform": "demo"}))
    return [m for m in manifests(synth(program)) if m["kind"] in ("NodePool", "EC2NodeClass")]


def test_karpenter_node_pools_carry_the_pool_settings() -> None:
    items = node_pools([TRAIN, INFER])
    pools = {m["metadata"]["name"]: m["spec"] for m in items if m["kind"] == "NodePool"}
    classes = {m["metadata"]["name"]: m["spec"] for m in items if m["kind"] == "EC2NodeClass"}
    assert set(pools) == set(classes) == {"gpu-train", "gpu-infer"}
    for pool in (TRAIN, INFER):
        spec, node_class = pools[f"gpu-{pool.name}"], classes[f"gpu-{pool.name}"]
        assert spec["template"]["metadata"]["labels"] == gpu_pool_labels(pool)
        assert spec["template"]["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present",
                                                       "effect": "NoSchedule"}]
        types = next(r["values"] for r in spec["template"]["spec"]["requirements"]
                     if r["key"] == "node.kubernetes.io/instance-type")
        assert types[:len(pool.instance_types)] == pool.instance_types
        assert spec["limits"]["nodes"] == str(pool.max_size)
        assert node_class["subnetSelectorTerms"] == [{"id": "subnet-a"}, {"id": "subnet-b"}]
        assert node_class["tags"]["omgml.dev/pool"] == pool.name
        assert node_class["blockDeviceMappings"][0]["ebs"]["volumeSize"] == f"{pool.disk_size_gib}Gi"
    capacity = {n: next(r["values"] for r in p["template"]["spec"]["requirements"]
                        if r["key"] == "karpenter.sh/capacity-type") for n, p in pools.items()}
    assert capacity == {"gpu-train": ["on-demand", "spot"], "gpu-infer": ["on-demand"]}


def test_node_classes_accept_outputs_as_inputs() -> None:
    # As the training blueprint passes them: Outputs of a StackReference.
    items = node_pools([TRAIN], profile=lambda: pulumi.Output.from_input("from-another-stack"))
    [node_class] = [m for m in items if m["kind"] == "EC2NodeClass"]
    assert node_class["spec"]["instanceProfile"] == "from-another-stack"


def one_pool(args: GpuPoolArgs) -> Callable[[], None]:
    def program() -> None:
        GpuPool("pool", args)
    return program


def test_local_pools_create_no_cloud_resources() -> None:
    result = synth(one_pool(GpuPoolArgs(pool=TRAIN, target="local")))
    assert [r.type for r in result.resources if r.custom] == []


def test_aws_pool_needs_the_cluster_and_gpu_instance_types() -> None:
    with pytest.raises(ValueError, match="cluster_name, instance_profile, subnet_ids, security_group_id, ami_release missing"):
        synth(one_pool(GpuPoolArgs(pool=TRAIN, target="aws")))
    arm = GpuPoolSpec(name="arm", instance_types=["g5g.xlarge", "m5.large"])
    with pytest.raises(ValueError, match=r"\['g5g.xlarge', 'm5.large'\] are not x86_64 NVIDIA GPU types"):
        synth(one_pool(GpuPoolArgs(pool=arm, target="aws", cluster_name="c", instance_profile="p", subnet_ids=["s"],
                                   security_group_id="sg-1", ami_release="v20260714")))

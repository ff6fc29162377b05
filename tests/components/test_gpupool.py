"""GPU pools: one taint/label convention for every target, EKS node groups under mocks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from omgml.components.gpupool import (
    GPU_AMI_TYPE,
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
from omgml.synth.engine import RecordedResource
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


def node_groups(program_pools: list[GpuPoolSpec],
                cluster: Callable[[], pulumi.Input[str]] = lambda: "demo") -> list[RecordedResource]:
    def program() -> None:
        for p in program_pools:
            GpuPool(f"pool-{p.name}", GpuPoolArgs(
                pool=p, target="aws", cluster_name=cluster(),
                node_role_arn="arn:aws:iam::123456789012:role/demo-nodes",
                subnet_ids=["subnet-a", "subnet-b"], tags={"omgml.dev/platform": "demo"}))
    return [r for r in synth(program).resources if r.type == NODE_GROUP]


def test_eks_node_groups_carry_the_pool_settings() -> None:
    groups = {r.inputs["nodeGroupName"]: r for r in node_groups([TRAIN, INFER])}
    assert set(groups) == {"train", "infer"}
    train, infer = groups["train"], groups["infer"]
    for group, pool in ((train, TRAIN), (infer, INFER)):
        i = group.inputs
        assert i["amiType"] == GPU_AMI_TYPE == "AL2023_x86_64_NVIDIA"
        assert i["instanceTypes"] == pool.instance_types
        assert i["labels"] == gpu_pool_labels(pool)
        assert i["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
        assert i["clusterName"] == "demo" and i["subnetIds"] == ["subnet-a", "subnet-b"]
        assert i["tags"]["omgml.dev/pool"] == pool.name
        # The autoscaler owns the current size after creation.
        assert group.ignore_changes == ["scalingConfig.desiredSize"]
    assert train.inputs["capacityType"] == "SPOT" and infer.inputs["capacityType"] == "ON_DEMAND"
    # Training pools scale to zero; inference pools keep a node.
    assert train.inputs["scalingConfig"] == {"minSize": 0, "desiredSize": 0, "maxSize": 4}
    assert infer.inputs["scalingConfig"] == {"minSize": 1, "desiredSize": 2, "maxSize": 3}
    assert train.inputs["diskSize"] == 150 and infer.inputs["diskSize"] == 100


def test_node_groups_accept_outputs_as_cluster_inputs() -> None:
    # As the training blueprint passes them: Outputs of a StackReference.
    [group] = node_groups([TRAIN], cluster=lambda: pulumi.Output.from_input("from-another-stack"))
    assert group.inputs["clusterName"] == "from-another-stack"


def one_pool(args: GpuPoolArgs) -> Callable[[], None]:
    def program() -> None:
        GpuPool("pool", args)
    return program


def test_local_pools_create_no_cloud_resources() -> None:
    result = synth(one_pool(GpuPoolArgs(pool=TRAIN, target="local")))
    assert [r.type for r in result.resources if r.custom] == []


def test_aws_pool_needs_the_cluster_and_gpu_instance_types() -> None:
    with pytest.raises(ValueError, match="cluster_name, node_role_arn, subnet_ids missing"):
        synth(one_pool(GpuPoolArgs(pool=TRAIN, target="aws")))
    arm = GpuPoolSpec(name="arm", instance_types=["g5g.xlarge", "m5.large"])
    with pytest.raises(ValueError, match=r"\['g5g.xlarge', 'm5.large'\] are not x86_64 NVIDIA GPU types"):
        synth(one_pool(GpuPoolArgs(pool=arm, target="aws", cluster_name="c", node_role_arn="r", subnet_ids=["s"])))

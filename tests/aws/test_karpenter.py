"""Karpenter: GPU pools as NodePools + EC2NodeClasses (checked against Karpenter's own CRD
schemas), the controller's AWS side (node role, access entry, interruption queue and rules,
scoped IAM) and the controller itself."""

from __future__ import annotations

import json

import pytest

from omgml.components.aws.common import check_least_privilege
from omgml.components.aws.karpenter import (
    CRDS,
    INTERRUPTION_EVENTS,
    NODEPOOL_TAG,
    ami_alias,
    capacity_types,
    controller_statements,
    gpu_node_class,
    gpu_node_pool,
    pool_instance_types,
    queue_policy,
)
from omgml.components.gpupool import gpu_pool_labels, gpu_taint
from omgml.spec import GpuPoolSpec
from omgml.synth.manifests import manifests
from tests.aws.aws_helpers import of_type, only, plain, policy, synth_foundation
from tests.aws.crd_helpers import crd_problems, defaults_missing

TRAIN = GpuPoolSpec(name="train", instance_types=["g6.12xlarge"], min_size=0, desired_size=0, max_size=2,
                    spot=True, gpus_per_node=4, disk_size_gib=200)
INFER = GpuPoolSpec(name="infer", purpose="inference", instance_types=["g6e.xlarge"], min_size=1, desired_size=1,
                    max_size=3)


def node_pool(pool: GpuPoolSpec) -> dict[str, object]:
    return {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": f"gpu-{pool.name}"},
            "spec": gpu_node_pool(pool)}


def node_class(pool: GpuPoolSpec) -> dict[str, object]:
    return {"apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass", "metadata": {"name": f"gpu-{pool.name}"},
            "spec": gpu_node_class(pool, ["subnet-a", "subnet-b"], "sg-1", "demo-karpenter-node", "v20260714")}


@pytest.mark.parametrize("pool", [TRAIN, INFER], ids=["training", "inference"])
def test_node_pools_and_classes_validate_against_karpenters_crds(pool: GpuPoolSpec) -> None:
    assert crd_problems(node_pool(pool), "karpenter.sh_v1_NodePool") == []
    assert crd_problems(node_class(pool), "karpenter.k8s.aws_v1_EC2NodeClass") == []


@pytest.mark.parametrize("pool", [TRAIN, INFER], ids=["training", "inference"])
def test_nothing_depends_on_upstream_defaulting(pool: GpuPoolSpec) -> None:
    # omgml installs open CRD schemas: every field Karpenter's schema would default is written.
    assert defaults_missing(node_pool(pool), "karpenter.sh_v1_NodePool") == {}
    assert defaults_missing(node_class(pool), "karpenter.k8s.aws_v1_EC2NodeClass") == {}


def test_a_typo_in_a_node_pool_is_caught_by_the_schema() -> None:
    bad = node_pool(TRAIN)
    bad["spec"]["disruption"]["consolidationPolicy"] = "WhenIdle"  # type: ignore[index]
    bad["spec"]["template"]["spec"]["expireAfterr"] = "1h"  # type: ignore[index]
    problems = crd_problems(bad, "karpenter.sh_v1_NodePool")
    assert any("WhenIdle" in p for p in problems) and any("expireAfterr" in p for p in problems)


def test_nodes_carry_the_pools_labels_and_taint_and_follow_its_limits() -> None:
    spec = gpu_node_pool(TRAIN)
    assert spec["template"]["metadata"]["labels"] == gpu_pool_labels(TRAIN)
    taint = gpu_taint()
    assert spec["template"]["spec"]["taints"] == [{"key": taint.key, "value": taint.value, "effect": taint.effect}]
    assert spec["limits"] == {"nodes": "2", "nvidia.com/gpu": "8"}  # max_size × gpus_per_node
    assert spec["disruption"]["consolidationPolicy"] == "WhenEmpty"


def test_spot_pools_fall_back_to_on_demand_and_inference_stays_on_demand() -> None:
    def allowed(pool: GpuPoolSpec) -> list[str]:
        reqs = gpu_node_pool(pool)["template"]["spec"]["requirements"]
        return next(r["values"] for r in reqs if r["key"] == "karpenter.sh/capacity-type")

    assert sorted(allowed(TRAIN)) == ["on-demand", "spot"] == sorted(capacity_types(TRAIN))
    assert allowed(INFER) == ["on-demand"]


def test_a_pool_gets_its_same_size_siblings_to_survive_spot_shortages() -> None:
    assert pool_instance_types(TRAIN) == ["g6.12xlarge", "g5.12xlarge"]
    # No sibling for L40S (48 GB): other families are not equivalent.
    assert pool_instance_types(INFER) == ["g6e.xlarge"]
    reqs = gpu_node_pool(TRAIN)["template"]["spec"]["requirements"]
    types = next(r["values"] for r in reqs if r["key"] == "node.kubernetes.io/instance-type")
    assert types == ["g6.12xlarge", "g5.12xlarge"]


def test_node_class_encrypts_gp3_pins_the_ami_and_keeps_imds_from_pods() -> None:
    spec = node_class(TRAIN)["spec"]
    [root] = spec["blockDeviceMappings"]  # type: ignore[index]
    assert root["rootVolume"] is True
    assert root["ebs"] == {"volumeSize": "200Gi", "volumeType": "gp3", "encrypted": True, "deleteOnTermination": True,
                           "throughput": 250, "iops": 3000}
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1  # type: ignore[index]
    assert spec["metadataOptions"]["httpTokens"] == "required"  # type: ignore[index]
    assert spec["amiSelectorTerms"] == [{"alias": "al2023@v20260714"}]  # type: ignore[index]
    assert spec["subnetSelectorTerms"] == [{"id": "subnet-a"}, {"id": "subnet-b"}]  # type: ignore[index]
    with pytest.raises(ValueError, match="node_ami_release"):
        ami_alias("latest")


def test_controller_policy_is_scoped_to_the_cluster_region_and_account() -> None:
    statements = controller_statements("demo", "eu-west-1", "111122223333", "arn:role/node", "arn:profile", "arn:queue")
    check_least_privilege(statements, "karpenter")  # no unconditioned "*"
    by_sid = {s["Sid"]: s for s in statements}
    create = by_sid["CreateTaggedForCluster"]
    assert create["Condition"]["StringEquals"]["aws:RequestTag/kubernetes.io/cluster/demo"] == "owned"
    assert create["Condition"]["StringLike"][f"aws:RequestTag/{NODEPOOL_TAG}"] == "*"
    assert all(r.startswith("arn:aws:ec2:eu-west-1:111122223333:") for r in create["Resource"])
    assert by_sid["DeleteOwn"]["Condition"]["StringEquals"] == {"aws:ResourceTag/kubernetes.io/cluster/demo": "owned"}
    assert by_sid["PassNodeRole"]["Resource"] == "arn:role/node"
    assert by_sid["InterruptionQueue"]["Resource"] == "arn:queue"
    assert by_sid["RegionalReads"]["Condition"] == {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}
    # The instance profile is omgml's: the controller may not create or change profiles.
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert not {a for a in actions if a.startswith("iam:") and a not in ("iam:PassRole", "iam:GetInstanceProfile")}


def test_interruption_queue_accepts_only_eventbridge_over_tls() -> None:
    doc = queue_policy("arn:aws:sqs:us-east-1:1:q")
    allow, deny = doc["Statement"]
    assert allow["Principal"]["Service"] == ["events.amazonaws.com", "sqs.amazonaws.com"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_foundation_creates_karpenters_aws_side() -> None:
    result = synth_foundation()
    queue = only(result, "aws:sqs/queue:Queue")
    assert queue.inputs["sqsManagedSseEnabled"] is True and queue.inputs["messageRetentionSeconds"] == 300
    rules = of_type(result, "aws:cloudwatch/eventRule:EventRule")
    patterns = {(json.loads(r.inputs["eventPattern"])["source"][0], json.loads(r.inputs["eventPattern"])["detail-type"][0])
                for r in rules}
    assert patterns == set(INTERRUPTION_EVENTS)
    targets = of_type(result, "aws:cloudwatch/eventTarget:EventTarget")
    assert len(targets) == len(rules) and {t.inputs["arn"] for t in targets} == {"arn:aws:sqs:us-east-1:123456789012:demo-karpenter"}
    entries = {e.inputs["type"]: e for e in of_type(result, "aws:eks/accessEntry:AccessEntry")}
    assert entries["EC2_LINUX"].inputs["principalArn"].startswith("arn:aws:iam::123456789012:role/fnd-karpenter-node-role")
    profile = only(result, "aws:iam/instanceProfile:InstanceProfile")
    assert profile.inputs["role"].startswith("fnd-karpenter-node-role")
    controller = next(r for r in of_type(result, "aws:iam/role:Role") if r.name == "fnd-karpenter-controller-role")
    trust = policy(controller, "assumeRolePolicy")["Statement"][0]["Condition"]["StringEquals"]
    assert "system:serviceaccount:kube-system:karpenter" in trust.values()
    # GPU pools are not node groups any more: only the system group is.
    assert [g.inputs["nodeGroupName"] for g in of_type(result, "aws:eks/nodeGroup:NodeGroup")] == ["system"]


def test_controller_runs_on_system_nodes_with_its_crds_and_queue() -> None:
    result = synth_foundation()
    items = manifests(result)
    crds = {m["metadata"]["name"] for m in items if m["kind"] == "CustomResourceDefinition"}
    assert {c.name for c in CRDS} <= crds
    [deploy] = [m for m in items if m["kind"] == "Deployment" and m["metadata"]["name"] == "karpenter"]
    pod = deploy["spec"]["template"]["spec"]
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "omgml.dev/pool", "operator": "In", "values": ["system"]}]}]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["INTERRUPTION_QUEUE"] == "demo-karpenter" and env["CLUSTER_NAME"] == "demo"
    assert env["CLUSTER_ENDPOINT"].startswith("https://") and env["AWS_REGION"] == "us-east-1"
    assert pod["containers"][0]["image"] == "public.ecr.aws/karpenter/controller:1.14.3"
    sa = next(m for m in items if m["kind"] == "ServiceAccount" and m["metadata"]["name"] == "karpenter")
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::123456789012:role/")
    assert plain(only(result, "aws:sqs/queuePolicy:QueuePolicy").inputs["queueUrl"]).endswith("/demo-karpenter")

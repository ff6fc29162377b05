"""GPU node pools: one source of truth for how a GPU node is labelled, tainted and selected.

Every target shares the pure functions here. A GPU node carries the labels of
`gpu_pool_labels(pool)` and the taint `gpu_taint()`; a GPU pod selects its pool with
`gpu_node_selector(pool)` and tolerates the taint with `gpu_tolerations(pools)`. On `local` a
pool is a kind worker node labelled and tainted the same way (omgml.kind.kind_config), so GPU
scheduling rules are exercised on a laptop too. On `aws` a pool is a Karpenter NodePool with its EC2NodeClass (`GpuPool`, see
components/aws/karpenter.py): nodes appear for pending GPU pods and go when empty. Whether a pod
may actually ask for `nvidia.com/gpu` is `gpu_resources(spec, n)`:
nothing advertises GPUs on a kind node without a real GPU, so there the same workload runs on
CPU (and still lands on the tainted pool worker).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi

from omgml import k8s as kube
from omgml.labels import selector_labels, standard_labels
from omgml.spec import GpuPoolSpec, PlatformSpec, Target

TYPE_TOKEN = "omgml:compute:GpuPool"

GPU_RESOURCE = "nvidia.com/gpu"
# The pool a node belongs to (GPU pools by name; the kind CPU worker is "cpu"). The policy
# checks (omgml.policy.gpu) read the same key.
POOL_LABEL = "omgml.dev/pool"
PURPOSE_LABEL = "omgml.dev/pool-purpose"
ACCELERATOR_LABEL = "accelerator"
ACCELERATOR = "nvidia"
CPU_POOL = "cpu"

# AL2 GPU AMIs reached end of support in Nov 2025; AL2023's NVIDIA variant ships the driver and
# the container toolkit (the device plugin is still ours to run).
GPU_AMI_TYPE = "AL2023_x86_64_NVIDIA"
# Instance families the x86_64 NVIDIA AMI supports (AWS EKS guide "ml-eks-optimized-ami").
# g5g is ARM (AL2023_ARM_64_NVIDIA), so it is not here.
NVIDIA_X86_FAMILIES = frozenset({
    "g4dn", "g5", "g6", "g6e", "g6f", "gr6", "gr6f", "g7e",
    "p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200", "p6-b300",
})

TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
# The EKS API spells taint effects in its own enum casing.
_EKS_EFFECTS: dict[str, str] = {
    "NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: TaintEffect

    def toleration(self) -> kube.JsonDict:
        """The toleration that matches exactly this taint."""
        return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect}

    def kubelet_arg(self) -> str:
        """`key=value:Effect`, as kubelet's --register-with-taints takes it."""
        return f"{self.key}={self.value}:{self.effect}"

    def eks_effect(self) -> str:
        return _EKS_EFFECTS[self.effect]


def gpu_taint() -> Taint:
    """The taint every GPU node carries: only pods that mean to use a GPU land there."""
    return Taint(key=GPU_RESOURCE, value="present", effect="NoSchedule")


def pool_taints(pool: GpuPoolSpec) -> list[Taint]:
    # One taint for every pool today; a function so per-pool taints need no caller changes.
    del pool
    return [gpu_taint()]


def gpu_pool_labels(pool: GpuPoolSpec) -> dict[str, str]:
    """Labels of every node of `pool` (EKS node group labels, kind node labels)."""
    return {POOL_LABEL: pool.name, PURPOSE_LABEL: pool.purpose, ACCELERATOR_LABEL: ACCELERATOR}


def gpu_node_selector(pool: GpuPoolSpec) -> dict[str, str]:
    """nodeSelector that places a pod on `pool`'s nodes (the pool name is unique per spec)."""
    return {POOL_LABEL: pool.name}


def gpu_pools_affinity(pools: Sequence[GpuPoolSpec]) -> kube.JsonDict:
    """Required node affinity for "any of these pools" (node agents such as the device plugin)."""
    if not pools:
        raise ValueError("gpu_pools_affinity: no GPU pools given; the workload would match no node")
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": sorted(p.name for p in pools)}]},
    ]}}}


def gpu_tolerations(pools: Sequence[GpuPoolSpec]) -> list[kube.JsonDict]:
    """Tolerations for every distinct taint of `pools` (derived, never restated)."""
    seen: dict[Taint, None] = {}
    for pool in pools:
        for taint in pool_taints(pool):
            seen.setdefault(taint, None)
    return [t.toleration() for t in seen]


def gpu_node_agent_spec(app: str, instance: str, version: str, service_account: str, pools: Sequence[GpuPoolSpec],
                        container: kube.JsonDict, volumes: list[kube.JsonDict]) -> kube.JsonDict:
    """DaemonSet spec of an agent on every node of `pools` (the device plugin, the DCGM exporter).

    Such an agent talks to the node (kubelet sockets, host paths), not to the Kubernetes API, so
    its pods get no API token; it is node-critical (evicting it makes the node's GPUs
    unschedulable or unobserved) and is replaced one node at a time. Its container runs as root
    for the root-owned host sockets, so the pod asks only for RuntimeDefault seccomp."""
    return {
        "selector": {"matchLabels": selector_labels(app, instance)},
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
        "template": {
            "metadata": {"labels": standard_labels(app, instance, version=version)},
            "spec": {
                "serviceAccountName": service_account,
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "priorityClassName": "system-node-critical",
                "affinity": gpu_pools_affinity(pools),
                "tolerations": gpu_tolerations(pools),
                "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [container],
                "volumes": volumes,
            },
        },
    }


def gpu_resources(spec: PlatformSpec, count: int) -> dict[str, str]:
    """Extended-resource limits for `count` GPUs: `{"nvidia.com/gpu": "<count>"}` where the target
    has GPUs (aws, or local with `local.gpu: nvidia`), else `{}` (the CPU fallback: on a kind
    node nothing advertises nvidia.com/gpu, so a request would keep the pod Pending forever).

    Merge it into a container's `resources.limits` (with_gpu_limits does that); Kubernetes sets
    the request of an extended resource equal to its limit.
    """
    if count < 1:
        raise ValueError(f"gpu_resources: count must be ≥ 1, got {count}; drop the call for CPU-only workloads")
    return {GPU_RESOURCE: str(count)} if spec.gpu_available() else {}


def with_gpu_limits(resources: kube.JsonDict, spec: PlatformSpec, count: int) -> kube.JsonDict:
    """`resources` (requests/limits) plus the GPU limit from gpu_resources(spec, count)."""
    out = {k: dict(v) for k, v in resources.items()}
    out.setdefault("limits", {}).update(gpu_resources(spec, count))
    return out


def instance_family(instance_type: str) -> str:
    return instance_type.split(".", 1)[0]


def check_instance_types(pool: GpuPoolSpec) -> None:
    """Every instance type of an EKS GPU pool must be one the x86_64 NVIDIA AMI supports."""
    bad = [t for t in pool.instance_types if instance_family(t) not in NVIDIA_X86_FAMILIES]
    if bad:
        raise ValueError(
            f"gpu pool {pool.name!r}: instance_types {bad} are not x86_64 NVIDIA GPU types that "
            f"{GPU_AMI_TYPE} supports; use families such as g6, g5, g6e or p5 (e.g. g6.xlarge)"
        )


@dataclass(frozen=True)
class GpuPoolArgs:
    pool: GpuPoolSpec
    target: Target
    # aws only: the EKS cluster, the instance profile of Karpenter's nodes, the (private)
    # subnets, the cluster security group and the EKS AMI release (aws.node_ami_release).
    cluster_name: pulumi.Input[str] | None = None
    instance_profile: pulumi.Input[str] | None = None
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    security_group_id: pulumi.Input[str] | None = None
    ami_release: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


AWS_FIELDS = ("cluster_name", "instance_profile", "subnet_ids", "security_group_id", "ami_release")


def resolve(args: GpuPoolArgs) -> None:
    """Validate args before anything is created (pure)."""
    if args.target != "aws":
        return
    missing = [f for f in AWS_FIELDS if getattr(args, f) is None]
    if missing:
        raise ValueError(
            f"GpuPoolArgs for pool {args.pool.name!r} on target aws: {', '.join(missing)} missing; pass the "
            "foundation's EKS cluster name, Karpenter instance profile, private subnets, cluster security group "
            "and aws.node_ami_release"
        )
    check_instance_types(args.pool)


class GpuPool(pulumi.ComponentResource):
    """A Karpenter NodePool + EC2NodeClass on `aws`; on `local` nothing (the pool is a kind worker)."""

    pool_name: str
    labels: dict[str, str]
    node_pool_name: str | None

    def __init__(self, name: str, args: GpuPoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        resolve(args)
        pool = args.pool
        self.pool_name = pool.name
        self.labels = gpu_pool_labels(pool)
        self.node_pool_name = _karpenter_pool(name, args, self) if args.target == "aws" else None
        self.register_outputs({"pool_name": self.pool_name, "labels": self.labels,
                               "node_pool_name": self.node_pool_name})


def _karpenter_pool(name: str, args: GpuPoolArgs, parent: pulumi.Resource) -> str:
    """The pool's EC2NodeClass and NodePool (Karpenter's CRDs come with the foundation); returns
    the NodePool's name."""
    # Imported here: the AWS SDK is large, and local renders never need it.
    from omgml.components.aws.karpenter import (
        NODECLASS_API,
        NODEPOOL_API,
        custom_resource,
        gpu_node_class,
        gpu_node_pool,
        node_pool_annotations,
        node_pool_name,
    )

    pool = args.pool
    assert args.subnet_ids is not None and args.security_group_id is not None and args.instance_profile is not None
    assert args.ami_release is not None
    release, extra_tags = args.ami_release, dict(args.tags)
    class_spec = pulumi.Output.all(args.subnet_ids, args.security_group_id, args.instance_profile).apply(
        lambda v: gpu_node_class(pool, [str(s) for s in v[0]], str(v[1]), str(v[2]), release, extra_tags))
    object_name = node_pool_name(pool)
    labels = {**gpu_pool_labels(pool), "app.kubernetes.io/managed-by": "omgml"}
    node_class = custom_resource(f"{name}-nodeclass", NODECLASS_API, "EC2NodeClass", object_name, labels, class_spec,
                                 pulumi.ResourceOptions(parent=parent))
    custom_resource(f"{name}-nodepool", NODEPOOL_API, "NodePool", object_name, labels, gpu_node_pool(pool),
                    pulumi.ResourceOptions(parent=parent, depends_on=[node_class]), node_pool_annotations(pool))
    return object_name

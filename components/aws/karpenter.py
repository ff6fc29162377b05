"""Karpenter: nodes that follow the work. The controller, its AWS side, and a NodePool with an
EC2NodeClass per GPU pool.

Why Karpenter and not the Cluster Autoscaler (docs/adr-aws-node-autoscaling.md): GPU pools
start at zero nodes, want several instance types (Spot capacity for one type is often gone) and
Spot with an On-Demand fallback. Karpenter launches the cheapest type that fits the pending
pods from a list, falls back to On-Demand when Spot has no capacity, needs no scale-from-zero
hints (it reads instance types from EC2, not from a running node) and handles Spot
interruptions itself through an SQS queue. The Cluster Autoscaler would need one node group
per instance type and capacity type, scale-from-zero tags restating every label and taint,
and a separate termination handler.

`Karpenter` ("omgml:aws:Karpenter", foundation phase) creates:
- a node role (EKS worker + ECR read; the CNI permissions stay on the vpc-cni IRSA role), its
  instance profile, and an EKS access entry of type EC2_LINUX so its nodes may join;
- the interruption queue (SQS, SSE, TLS only, 5-minute retention) and the EventBridge rules that
  feed it (Spot interruption warnings, rebalance recommendations, instance state changes, AWS
  Health scheduled changes, capacity-reservation interruptions);
- the controller's IRSA role, scoped to this cluster's tag, region and account, its node role,
  instance profile and queue (the upstream getting-started policy, less the instance-profile
  management omgml does not need: the profile is created here, not by the controller);
- the CustomResourceDefinitions (open schemas, like Kubeflow's; the NodePools and
  EC2NodeClasses omgml writes are validated against the upstream schemas in its tests) and the
  controller in kube-system on the system node group: RBAC, Deployment, PDB, metrics Service.

`gpu_node_pool(pool, NodeClassTarget)` and `gpu_node_class(...)` (pure) give the NodePool and
EC2NodeClass of one GPU pool: the pool's labels and taint (components/gpupool.py), its
instance types and same-class siblings, Spot with On-Demand fallback where the pool allows
Spot, limits from max_size, an encrypted gp3 root volume sized for GPU images, local NVMe
(where the type has it) for containerd's image store, IMDSv2 with one hop, and the NVIDIA
AL2023 AMI of the pinned release.

Facts read from github.com/aws/karpenter-provider-aws@v1.14.3: charts/karpenter (deployment,
RBAC, values), pkg/apis/crds/*.yaml, and the getting-started CloudFormation of website v1.14.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml import sizes
from omgml.aws_versions import KARPENTER
from omgml.components.aws import common, system_controller
from omgml.components.aws.irsa import IrsaRole, IrsaRoleArgs
from omgml.components.aws.system_controller import SystemController
from omgml.components.gpupool import (
    NVIDIA_X86_FAMILIES,
    POOL_LABEL,
    gpu_pool_labels,
    instance_family,
    pool_taints,
)
from omgml.components.options import Children
from omgml.naming import k8s_name
from omgml.spec.common import Profile
from omgml.spec.training import GpuPoolSpec

TYPE_TOKEN = "omgml:aws:Karpenter"

APP = "karpenter"
NAMESPACE = system_controller.NAMESPACE
SERVICE_ACCOUNT = "karpenter"
NODEPOOL_API = "karpenter.sh/v1"
NODECLASS_API = "karpenter.k8s.aws/v1"
METRICS_PORT = 8080
HEALTH_PORT = 8081
UID = 65532  # the controller image's nonroot user (chart: runAsUser/fsGroup 65532)
CONTROLLER = SystemController(APP, SERVICE_ACCOUNT, UID, KARPENTER.version)
LEADER_LEASE = "karpenter-leader-election"
# Tags Karpenter puts on what it launches, and its policy's conditions read.
CLUSTER_TAG = "kubernetes.io/cluster/{cluster}"
EKS_CLUSTER_TAG = "eks:eks-cluster-name"
NODEPOOL_TAG = "karpenter.sh/nodepool"
ROOT_DEVICE = "/dev/xvda"
# A NodePool has no minimum or desired size (nodes follow pending pods); the pool's stated sizes
# ride along as annotations for what reads the render without the spec (the cost estimate).
MIN_NODES_ANNOTATION = "omgml.dev/min-nodes"
DESIRED_NODES_ANNOTATION = "omgml.dev/desired-nodes"
# Interruption events Karpenter reacts to (source, detail-type), from the getting-started stack.
INTERRUPTION_EVENTS: tuple[tuple[str, str], ...] = (
    ("aws.health", "AWS Health Event"),
    ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    ("aws.ec2", "EC2 Instance State-change Notification"),
    ("aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"),
)
QUEUE_RETENTION_SECONDS = 300
# The chart's defaults, restated: the controller reads every gate, none is on except reserved capacity.
FEATURE_GATES = ("ReservedCapacity=true,SpotToSpotConsolidation=false,NodeRepair=false,NodeOverlay=false,"
                 "StaticCapacity=false,CapacityBuffer=false")

SIZES = sizes.container("karpenter")

# Families that are interchangeable size for size (same vCPU, memory and GPU count per size,
# 24 GB GPUs: A10G and L4): a pool listing one may also take the other, so Spot capacity for
# one family running out does not leave the pool empty. Others are taken exactly as listed.
SIBLING_FAMILIES: dict[str, tuple[str, ...]] = {"g5": ("g6",), "g6": ("g5",)}
# Every resource the controller reads; NodeOverlay and CapacityBuffer are watched even while
# their feature gates are off, so their CRDs must exist.
CRDS: tuple[kube.CrdFacts, ...] = (
    kube.CrdFacts("karpenter.sh", "NodePool", "nodepools", version="v1", scope="Cluster", status_subresource=True,
             fields={"spec": kube.OPEN_OBJECT, "status": kube.OPEN_OBJECT}, required=("spec",), categories=("karpenter",),
             scale=(".spec.replicas", ".status.nodes")),
    kube.CrdFacts("karpenter.sh", "NodeClaim", "nodeclaims", version="v1", scope="Cluster", status_subresource=True,
             fields={"spec": kube.OPEN_OBJECT, "status": kube.OPEN_OBJECT}, required=("spec",), categories=("karpenter",)),
    kube.CrdFacts("karpenter.sh", "NodeOverlay", "nodeoverlays", ("overlays",), version="v1alpha1", scope="Cluster",
             status_subresource=True, fields={"spec": kube.OPEN_OBJECT, "status": kube.OPEN_OBJECT}, required=("spec",),
             categories=("karpenter",)),
    kube.CrdFacts("karpenter.k8s.aws", "EC2NodeClass", "ec2nodeclasses", ("ec2nc", "ec2ncs"), version="v1",
             scope="Cluster", status_subresource=True, fields={"spec": kube.OPEN_OBJECT, "status": kube.OPEN_OBJECT},
             required=(), categories=("karpenter",)),
    kube.CrdFacts("autoscaling.x-k8s.io", "CapacityBuffer", "capacitybuffers", ("cb",), version="v1beta1",
             status_subresource=True, fields={"spec": kube.OPEN_OBJECT, "status": kube.OPEN_OBJECT}, required=("spec",),
             categories=("autoscaling",)),
)


# --- the GPU pools' NodePools and EC2NodeClasses (pure) -------------------------------------------


@dataclass(frozen=True)
class NodeClassTarget:
    """Where a pool's nodes are launched: the cluster, its node instance profile, the private
    subnets and the cluster security group (Outputs from the foundation)."""

    cluster_name: pulumi.Input[str]
    instance_profile: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    security_group_id: pulumi.Input[str]
    ami_release: str
    tags: Mapping[str, str] = field(default_factory=dict)


def pool_instance_types(pool: GpuPoolSpec) -> list[str]:
    """The pool's instance types and their same-size siblings (SIBLING_FAMILIES), listed first."""
    out = list(dict.fromkeys(pool.instance_types))
    for t in pool.instance_types:
        family, _, size = t.partition(".")
        for sibling in SIBLING_FAMILIES.get(family, ()):
            candidate = f"{sibling}.{size}"
            if sibling in NVIDIA_X86_FAMILIES and candidate not in out:
                out.append(candidate)
    return out


def capacity_types(pool: GpuPoolSpec) -> list[str]:
    """Spot first where the pool allows it, On-Demand as the fallback Karpenter uses when Spot
    has no capacity; On-Demand only otherwise (inference pools must not be reclaimed)."""
    return ["on-demand", "spot"] if pool.spot else ["on-demand"]


def node_pool_name(pool: GpuPoolSpec) -> str:
    return k8s_name("gpu", pool.name)


def ami_alias(release: str) -> str:
    """Karpenter's alias for the EKS AL2023 AMI of one release; for NVIDIA instance types it
    resolves the NVIDIA variant of that release for the cluster's Kubernetes version."""
    if not (release.startswith("v") and release[1:].isdigit() and len(release) == 9):
        raise ValueError(f"aws.node_ami_release: {release!r} is not an AMI release (vYYYYMMDD, e.g. v20260714)")
    return f"al2023@{release}"


def gpu_node_class(pool: GpuPoolSpec, subnet_ids: Sequence[str], security_group_id: str, instance_profile: str,
                   ami_release: str, extra_tags: Mapping[str, str] | None = None) -> kube.JsonDict:
    """The EC2NodeClass spec of a pool (every field the upstream CRD would default is set, so the
    open CRD schema loses nothing)."""
    if not subnet_ids:
        raise ValueError(f"gpu pool {pool.name!r}: no subnets to launch nodes in; pass the foundation's private subnets")
    return {
        "amiFamily": "AL2023",
        "amiSelectorTerms": [{"alias": ami_alias(ami_release)}],
        "instanceProfile": instance_profile,
        "subnetSelectorTerms": [{"id": s} for s in subnet_ids],
        "securityGroupSelectorTerms": [{"id": security_group_id}],
        "metadataOptions": {"httpEndpoint": "enabled", "httpProtocolIPv6": "disabled",
                            "httpPutResponseHopLimit": 1, "httpTokens": "required"},
        "blockDeviceMappings": [{
            "deviceName": ROOT_DEVICE,
            "rootVolume": True,
            "ebs": {"volumeSize": f"{pool.disk_size_gib}Gi", "volumeType": "gp3", "encrypted": True,
                    "deleteOnTermination": True,
                    # Image pulls of 10 GB+ CUDA/Triton layers are throughput-bound; gp3's
                    # baseline is 125 MiB/s.
                    "throughput": 250, "iops": 3000},
        }],
        # Instance-store NVMe (g5, g6, g6e, p4d, p5 have it) becomes containerd's and the
        # kubelet's storage: image layers land on local disk, the EBS root keeps the OS.
        # Types without instance store keep everything on the root volume.
        "instanceStorePolicy": "RAID0",
        "detailedMonitoring": False,
        "associatePublicIPAddress": False,
        "tags": {**dict(extra_tags or {}), POOL_LABEL: pool.name},
    }


def node_pool_annotations(pool: GpuPoolSpec) -> dict[str, str]:
    return {MIN_NODES_ANNOTATION: str(pool.min_size), DESIRED_NODES_ANNOTATION: str(pool.desired_size)}


def gpu_node_pool(pool: GpuPoolSpec) -> kube.JsonDict:
    """The NodePool spec of a pool: what Karpenter may launch for it and how it retires nodes."""
    types = pool_instance_types(pool)
    bad = [t for t in types if instance_family(t) not in NVIDIA_X86_FAMILIES]
    if bad:
        raise ValueError(f"gpu pool {pool.name!r}: instance_types {bad} are not x86_64 NVIDIA GPU types; use "
                         "families such as g6, g5, g6e or p5")
    return {
        "template": {
            "metadata": {"labels": gpu_pool_labels(pool)},
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": node_pool_name(pool)},
                "taints": [{"key": t.key, "value": t.value, "effect": t.effect} for t in pool_taints(pool)],
                "requirements": [
                    {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": types},
                    {"key": "karpenter.sh/capacity-type", "operator": "In", "values": capacity_types(pool)},
                    {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                    {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                ],
                # A node lives at most 30 days (the upstream default, restated: newer AMIs and
                # patches reach long-lived pools too).
                "expireAfter": "720h",
            },
        },
        # max_size nodes of the pool's GPU count each.
        "limits": {"nodes": str(pool.max_size), "nvidia.com/gpu": str(pool.max_size * pool.gpus_per_node)},
        "disruption": {
            # GPU nodes are retired only when empty: moving a training job or a warmed-up model
            # to make room costs more than the idle node. Empty nodes go after the quiet period.
            "consolidationPolicy": "WhenEmpty",
            "consolidateAfter": "10m" if pool.purpose == "training" else "30m",
            "budgets": [{"nodes": "10%"}],
        },
        "weight": 10 if pool.purpose == "inference" else 1,
    }


# --- the controller (pure) -------------------------------------------------------------------------


@dataclass(frozen=True)
class KarpenterArgs(common.AwsComponentArgs):
    # The EKS cluster's name (known before it exists: omgml names it), and its endpoint.
    cluster_name: str
    cluster_endpoint: pulumi.Input[str]
    region: str
    account_id: str
    profile: Profile
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer_host: pulumi.Input[str]
    # The EKS node policies (the system nodes' set): worker + ECR read.
    node_policy_arns: tuple[str, ...]


def controller_statements(cluster: str, region: str, account: str, node_role_arn: pulumi.Input[str],
                          instance_profile_arn: pulumi.Input[str], queue_arn: pulumi.Input[str]) -> list[kube.JsonDict]:
    """The controller's permissions: launch and terminate only instances tagged for this cluster
    and one of its NodePools, in this region and account; pass only the node role; read only
    the public SSM parameters (AMI ids), its instance profile and its queue."""
    p = common.partition(region)
    ec2 = f"arn:{p}:ec2:{region}"
    cluster_tag = CLUSTER_TAG.format(cluster=cluster)
    launched = [f"{ec2}:{account}:{kind}/*" for kind in
                ("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")]
    request_tags = {"StringEquals": {f"aws:RequestTag/{cluster_tag}": "owned", f"aws:RequestTag/{EKS_CLUSTER_TAG}": cluster},
                    "StringLike": {f"aws:RequestTag/{NODEPOOL_TAG}": "*"}}
    own_resource = {"StringEquals": {f"aws:ResourceTag/{cluster_tag}": "owned"},
                    "StringLike": {f"aws:ResourceTag/{NODEPOOL_TAG}": "*"}}
    return [
        {"Sid": "LaunchFromImagesAndNetwork", "Effect": "Allow", "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
         "Resource": [f"{ec2}::image/*", f"{ec2}::snapshot/*", f"{ec2}:{account}:security-group/*",
                      f"{ec2}:{account}:subnet/*", f"{ec2}:{account}:capacity-reservation/*",
                      f"{ec2}:{account}:placement-group/*"]},
        {"Sid": "LaunchFromOwnTemplates", "Effect": "Allow", "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
         "Resource": f"{ec2}:{account}:launch-template/*", "Condition": own_resource},
        {"Sid": "CreateTaggedForCluster", "Effect": "Allow",
         "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
         "Resource": launched, "Condition": request_tags},
        {"Sid": "TagOnCreate", "Effect": "Allow", "Action": "ec2:CreateTags", "Resource": launched,
         "Condition": {**request_tags, "StringEquals": {
             **request_tags["StringEquals"], "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]}}},
        {"Sid": "TagOwnInstances", "Effect": "Allow", "Action": "ec2:CreateTags",
         "Resource": f"{ec2}:{account}:instance/*",
         "Condition": {**own_resource, "StringEqualsIfExists": {f"aws:RequestTag/{EKS_CLUSTER_TAG}": cluster},
                       "ForAllValues:StringEquals": {"aws:TagKeys": [EKS_CLUSTER_TAG, "karpenter.sh/nodeclaim", "Name"]}}},
        {"Sid": "DeleteOwn", "Effect": "Allow", "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
         "Resource": [f"{ec2}:{account}:instance/*", f"{ec2}:{account}:launch-template/*"], "Condition": own_resource},
        {"Sid": "PassNodeRole", "Effect": "Allow", "Action": "iam:PassRole", "Resource": node_role_arn,
         "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}},
        {"Sid": "ReadInstanceProfile", "Effect": "Allow", "Action": "iam:GetInstanceProfile",
         "Resource": instance_profile_arn},
        {"Sid": "DiscoverEndpoint", "Effect": "Allow", "Action": "eks:DescribeCluster",
         "Resource": f"arn:{p}:eks:{region}:{account}:cluster/{cluster}"},
        {"Sid": "InterruptionQueue", "Effect": "Allow",
         "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"], "Resource": queue_arn},
        {"Sid": "AmiParameters", "Effect": "Allow", "Action": "ssm:GetParameter",
         "Resource": f"arn:{p}:ssm:{region}::parameter/aws/service/*"},
        # EC2's describe calls have no resource-level permissions: "*", held to this region.
        {"Sid": "RegionalReads", "Effect": "Allow", "Resource": "*",
         "Action": ["ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances",
                    "ec2:DescribeInstanceStatus", "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplates", "ec2:DescribePlacementGroups", "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets"],
         "Condition": {"StringEquals": {"aws:RequestedRegion": region}}},
        # On-demand prices for choosing the cheapest type (a global API without resources).
        {"Sid": "Pricing", "Effect": "Allow", "Action": "pricing:GetProducts", "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-central-1", "ap-south-1"]}}},
    ]


def queue_policy(queue_arn: str) -> kube.JsonDict:
    """Only EventBridge (and SQS itself) may send to the queue, and only over TLS."""
    return {"Version": "2012-10-17", "Id": "EC2InterruptionPolicy", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
         "Action": "sqs:SendMessage", "Resource": queue_arn},
        {"Sid": "DenyHTTP", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": queue_arn,
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]}


def event_pattern(source: str, detail_type: str) -> str:
    return json.dumps({"source": [source], "detail-type": [detail_type]}, sort_keys=True)


def cluster_roles() -> dict[str, list[kube.JsonDict]]:
    """The controller's ClusterRoles: core (pods, nodes, NodePools/NodeClaims) and AWS (EC2NodeClasses)."""
    read = ["get", "list", "watch"]
    return {
        "karpenter-core": [
            {"apiGroups": ["karpenter.sh"], "verbs": read,
             "resources": ["nodepools", "nodepools/status", "nodeclaims", "nodeclaims/status", "nodeoverlays",
                           "nodeoverlays/status"]},
            {"apiGroups": ["autoscaling.x-k8s.io"], "resources": ["capacitybuffers", "capacitybuffers/status"],
             "verbs": read},
            {"apiGroups": [""], "resources": ["podtemplates"], "verbs": read},
            {"apiGroups": [""], "verbs": read,
             "resources": ["pods", "nodes", "persistentvolumes", "persistentvolumeclaims", "replicationcontrollers",
                           "namespaces"]},
            {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses", "csinodes", "volumeattachments"],
             "verbs": read},
            {"apiGroups": ["apps"], "resources": ["daemonsets", "deployments", "replicasets", "statefulsets"],
             "verbs": read},
            {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": read},
            {"apiGroups": [""], "resources": ["events"], "verbs": read},
            {"apiGroups": ["karpenter.sh"], "resources": ["nodeclaims", "nodeclaims/status"],
             "verbs": ["create", "delete", "update", "patch"]},
            {"apiGroups": ["karpenter.sh"], "resources": ["nodepools", "nodepools/status", "nodeoverlays/status"],
             "verbs": ["update", "patch"]},
            {"apiGroups": ["autoscaling.x-k8s.io"], "resources": ["capacitybuffers/status"], "verbs": ["update", "patch"]},
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["patch", "delete", "update"]},
            {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]},
        ],
        "karpenter": [
            {"apiGroups": ["karpenter.k8s.aws"], "resources": ["ec2nodeclasses"], "verbs": read},
            {"apiGroups": ["karpenter.k8s.aws"], "resources": ["ec2nodeclasses", "ec2nodeclasses/status"],
             "verbs": ["patch", "update"]},
        ],
    }


def namespace_roles() -> dict[str, tuple[str, list[kube.JsonDict]]]:
    """Roles in kube-system: its leader-election lease, and reading the DNS Service (for the
    cluster DNS address it gives new nodes)."""
    return {
        "karpenter": (NAMESPACE, [
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "watch"]},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["patch", "update"],
             "resourceNames": [LEADER_LEASE]},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        ]),
        "karpenter-dns": ("kube-system", [
            {"apiGroups": [""], "resources": ["services"], "resourceNames": ["kube-dns"], "verbs": ["get"]},
        ]),
    }


def controller_container(profile: Profile, cluster_name: pulumi.Input[str], endpoint: pulumi.Input[str],
                         queue: pulumi.Input[str], region: str) -> kube.JsonDict:
    def resource_env(name: str, resource: str, divisor: str) -> kube.JsonDict:
        return {"name": name, "valueFrom": {"resourceFieldRef": {"containerName": "controller", "resource": resource,
                                                                   "divisor": divisor}}}

    return {
        "name": "controller",
        "image": KARPENTER.image,
        "env": [
            {"name": "KUBERNETES_MIN_VERSION", "value": "1.19.0-0"},
            {"name": "KARPENTER_SERVICE", "value": APP},
            {"name": "METRICS_PORT", "value": str(METRICS_PORT)},
            {"name": "HEALTH_PROBE_PORT", "value": str(HEALTH_PORT)},
            {"name": "SYSTEM_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            resource_env("CPU_REQUESTS", "requests.cpu", "1m"),
            resource_env("MEMORY_LIMIT", "limits.memory", "0"),
            {"name": "FEATURE_GATES", "value": FEATURE_GATES},
            {"name": "BATCH_MAX_DURATION", "value": "10s"},
            {"name": "BATCH_IDLE_DURATION", "value": "1s"},
            {"name": "CLUSTER_NAME", "value": cluster_name},
            {"name": "CLUSTER_ENDPOINT", "value": endpoint},
            {"name": "INTERRUPTION_QUEUE", "value": queue},
            # The metadata service is one hop away from the node only (IMDS hop limit 1).
            {"name": "AWS_REGION", "value": region},
        ],
        "ports": [{"name": "http-metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
                  {"name": "http", "containerPort": HEALTH_PORT, "protocol": "TCP"}],
        "livenessProbe": {**kube.http_probe("/healthz", "http", period=10, failures=3, delay=30), "timeoutSeconds": 30},
        "readinessProbe": {**kube.http_probe("/readyz", "http", period=10, failures=3, delay=5), "timeoutSeconds": 30},
        "resources": SIZES[profile].resources(),
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                            "runAsUser": UID, "runAsGroup": UID, "privileged": False,
                            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
    }


class Karpenter(pulumi.ComponentResource):
    """Karpenter's AWS side and its controller (foundation phase). Kubernetes objects need the
    cluster's provider in `opts.providers`."""

    node_role_arn: pulumi.Output[str]
    instance_profile: pulumi.Output[str]
    queue_name: pulumi.Output[str]

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        tag_set = args.tag_set("karpenter")
        child = pulumi.ResourceOptions(parent=self)

        node_role = aws.iam.Role(
            f"{name}-node-role", assume_role_policy=common.service_trust_policy("ec2.amazonaws.com"),
            description=f"nodes Karpenter launches for {args.platform} (CNI permissions: the vpc-cni IRSA role)",
            tags=tag_set, opts=child)
        for i, arn in enumerate(args.node_policy_arns):
            aws.iam.RolePolicyAttachment(f"{name}-node-policy-{i}", role=node_role.id, policy_arn=arn, opts=child)
        profile = aws.iam.InstanceProfile(f"{name}-node-profile", role=node_role.name, tags=tag_set, opts=child)
        aws.eks.AccessEntry(f"{name}-node-access", cluster_name=args.cluster_name, principal_arn=node_role.arn,
                            type="EC2_LINUX", tags=tag_set, opts=child)

        queue = aws.sqs.Queue(
            f"{name}-interruptions", name=k8s_name(args.cluster_name, "karpenter"),
            message_retention_seconds=QUEUE_RETENTION_SECONDS, sqs_managed_sse_enabled=True, tags=tag_set, opts=child)
        aws.sqs.QueuePolicy(f"{name}-interruptions-policy", queue_url=queue.url,
                            policy=queue.arn.apply(lambda arn: json.dumps(queue_policy(arn), sort_keys=True)),
                            opts=child)
        for source, detail in INTERRUPTION_EVENTS:
            key = k8s_name(detail)
            rule = aws.cloudwatch.EventRule(
                f"{name}-{key}", description=f"{detail} → Karpenter's interruption queue",
                event_pattern=event_pattern(source, detail), tags=tag_set, opts=child)
            aws.cloudwatch.EventTarget(f"{name}-{key}-target", rule=rule.name, arn=queue.arn,
                                       target_id="KarpenterInterruptionQueueTarget", opts=child)

        statements = controller_statements(args.cluster_name, args.region, args.account_id, node_role.arn,
                                           profile.arn, queue.arn)
        role = IrsaRole(f"{name}-controller", IrsaRoleArgs(
            oidc_provider_arn=args.oidc_provider_arn, oidc_issuer_host=args.oidc_issuer_host,
            namespace=NAMESPACE, service_account=SERVICE_ACCOUNT, statements=statements,
            description=f"Karpenter controller of {args.platform}", tags=tag_set), child)

        children = Children(self, args.profile)
        crds = system_controller.crds(name, CRDS, CONTROLLER.labels, children)
        sa = system_controller.service_account(name, CONTROLLER, role.arn, children)
        rbac: list[pulumi.Resource] = [
            system_controller.bound_cluster_role(f"{name}-cr-{role_name}", f"{name}-crb-{role_name}", role_name, rules,
                                                 CONTROLLER, children)
            for role_name, rules in cluster_roles().items()]
        rbac += [system_controller.bound_role(f"{name}-role-{role_name}", f"{name}-rb-{role_name}", role_name, ns, rules,
                                              CONTROLLER, children)
                 for role_name, (ns, rules) in namespace_roles().items()]
        container = controller_container(args.profile, args.cluster_name, args.cluster_endpoint, queue.name,
                                         args.region)
        system_controller.deploy(name, CONTROLLER, CONTROLLER.pod_spec(container), args.profile, children,
                                 [sa, *crds, *rbac], ("service", "http-metrics", METRICS_PORT))
        self.node_role_arn = node_role.arn
        self.instance_profile = profile.name
        self.queue_name = queue.name
        self.register_outputs({"node_role_arn": self.node_role_arn, "instance_profile": self.instance_profile,
                               "queue_name": self.queue_name})


def custom_resource(name: str, api_version: str, kind: str, object_name: str, labels: Mapping[str, str],
                    spec: pulumi.Input[Any], opts: pulumi.ResourceOptions,
                    annotations: Mapping[str, str] | None = None) -> k8s.apiextensions.CustomResource:
    """A cluster-scoped Karpenter object (NodePool, EC2NodeClass)."""
    meta: dict[str, Any] = {"name": object_name, "labels": dict(labels)}
    if annotations:
        meta["annotations"] = dict(annotations)
    return k8s.apiextensions.CustomResource(name, api_version=api_version, kind=kind, metadata=meta, spec=spec,
                                            opts=opts)

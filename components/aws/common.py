"""Pieces every AWS component shares: partitions, tags, data-protection options, IAM documents,
KMS keys and security groups that admit only the cluster's nodes."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml.components.options import Children
from omgml.naming import k8s_name, service_host
from omgml.spec.common import Profile

JsonDict = dict[str, Any]
POLICY_VERSION = "2012-10-17"

# Tag keys on every AWS resource the platform creates (the inventory and cost reports group by them).
PLATFORM_TAG = "omgml.dev/platform"
COMPONENT_TAG = "omgml.dev/component"
MANAGED_BY_TAG = "managed-by"


def partition(region: str) -> str:
    """The ARN partition of a region: IAM policy ARNs differ in China and GovCloud."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def managed_policy_arn(region: str, name: str) -> str:
    """ARN of an AWS managed IAM policy, e.g. AmazonEKSWorkerNodePolicy."""
    return f"arn:{partition(region)}:iam::aws:policy/{name}"


def tags(platform: str, component: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    out = {PLATFORM_TAG: platform, COMPONENT_TAG: component, MANAGED_BY_TAG: "omgml"}
    out.update(extra or {})
    return out


def stateful_options(profile: Profile, parent: pulumi.Resource, **extra: Any) -> pulumi.ResourceOptions:
    """Options for data-bearing AWS resources (databases, clusters, buckets, KMS keys): the one
    retention rule (components/options.py): protected and retained outside the laptop profile."""
    return Children(parent, profile).data(**extra)


def policy_document(statements: Sequence[JsonDict]) -> str:
    """An IAM policy document; keys sorted so the same statements always render the same JSON."""
    return json.dumps({"Version": POLICY_VERSION, "Statement": list(statements)}, sort_keys=True)


def service_trust_policy(service: str, actions: Sequence[str] = ("sts:AssumeRole",)) -> str:
    """Trust policy letting one AWS service principal (e.g. eks.amazonaws.com) assume a role."""
    return policy_document([{
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": list(actions) if len(actions) > 1 else actions[0],
    }])


READ_ONLY_PREFIXES = ("Describe", "Get", "List")


def _read_only(actions: Any) -> bool:
    listed = actions if isinstance(actions, list) else [actions]
    return all(isinstance(a, str) and a.split(":", 1)[-1].startswith(READ_ONLY_PREFIXES) for a in listed)


def check_least_privilege(statements: Sequence[JsonDict], where: str) -> None:
    """Reject inline statements that grant on every resource: each must name its resources.

    The one exception: reads that AWS offers no resource-level permissions for (EC2's and ELB's
    Describe*, pricing:GetProducts) must say "*", and are accepted when they are read-only and
    held by a Condition (the region, a tag)."""
    for i, st in enumerate(statements):
        resources = st.get("Resource")
        listed = resources if isinstance(resources, list) else [resources]
        if st.get("Effect") != "Allow" or (resources and "*" not in listed):
            continue
        if resources and _read_only(st.get("Action")) and st.get("Condition"):
            continue
        raise ValueError(
            f"{where}: statement {i} ({st.get('Action')}) allows Resource {resources!r}; "
            "name the exact ARNs the role needs (a read AWS cannot scope to a resource needs a Condition)"
        )


@dataclass(frozen=True)
class DataStoreNetwork:
    """Where a managed data store lives and who may reach it: the private subnets of the VPC
    and only the EKS cluster's security group (which every managed node group carries)."""

    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    node_security_group_id: pulumi.Input[str]
    vpc_cidr: str


@dataclass(frozen=True)
class StoreSizing:
    """A managed data store's size in one profile: the instance class AWS bills it by
    (cache.*, db.*, kafka.*) and the days of automated backups or snapshots it keeps (0: none)."""

    instance_class: str
    backup_days: int = 0


@dataclass(frozen=True, kw_only=True)
class AwsComponentArgs:
    """What every AWS component is given: the platform it belongs to, which names and tags all
    it creates, and extra tags for all of it."""

    platform: str
    extra_tags: dict[str, str] = field(default_factory=dict)

    def tag_set(self, component: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The component's tags (`tags`), plus `extra` for one resource."""
        return tags(self.platform, component, {**self.extra_tags, **(extra or {})})


@dataclass(frozen=True, kw_only=True)
class ManagedStoreArgs(AwsComponentArgs):
    """What every managed data store (RDS, ElastiCache, MSK) is given besides: the profile that
    sizes it and where it lives."""

    profile: Profile
    network: DataStoreNetwork

    def sizing(self, table: Mapping[Profile, StoreSizing]) -> StoreSizing:
        """The profile's row of the store's sizing table."""
        if self.profile not in table:
            raise ValueError(f"{type(self).__name__}.profile={self.profile!r} is unknown; use one of {sorted(table)}")
        return table[self.profile]


def kms_key(name: str, description: str, profile: Profile, tag_set: dict[str, str],
            parent: pulumi.Resource) -> aws.kms.Key:
    """A customer-managed KMS key with yearly automatic rotation.

    The key policy is the AWS default (the account's IAM policies decide who uses it); the
    platform's roles get kms:* grants only on the keys of their own resources.
    """
    return aws.kms.Key(
        f"{name}-key",
        description=description,
        enable_key_rotation=True,
        # The longest waiting period: a key scheduled for deletion by mistake can be rescued
        # for a month, and every byte it encrypts with it.
        deletion_window_in_days=30,
        tags=tag_set,
        opts=stateful_options(profile, parent),
    )


def data_store_security_group(name: str, description: str, port: int, network: DataStoreNetwork,
                              tag_set: dict[str, str], parent: pulumi.Resource) -> aws.ec2.SecurityGroup:
    """A security group that admits `port` from the cluster's node security group and nothing
    else. It has no egress rules: a data store answers connections, it never opens any (the
    provider removes AWS's default allow-all egress from groups it creates)."""
    sg = aws.ec2.SecurityGroup(
        f"{name}-sg",
        description=description,
        vpc_id=network.vpc_id,
        tags=tag_set,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-from-nodes",
        security_group_id=sg.id,
        referenced_security_group_id=network.node_security_group_id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        description=f"{description}: port {port} from the EKS nodes only",
        tags=tag_set,
        opts=pulumi.ResourceOptions(parent=sg),
    )
    return sg


# --- in-cluster glue shared by the managed twins (pure manifest bodies) -------------------------


def external_name_service(address: str, port: int, port_name: str) -> JsonDict:
    """Service spec giving a managed endpoint a stable in-cluster name (a DNS CNAME): contracts
    carry plain-string hosts, but AWS endpoints are only known after creation."""
    if not address:
        raise ValueError("external_name_service: the managed endpoint address is empty")
    return {"type": "ExternalName", "externalName": address,
            "ports": [{"name": port_name, "port": port, "protocol": "TCP"}]}


def alias_host(instance: str, namespace: str) -> str:
    """The host clients use for a managed endpoint: its alias Service `<instance>` (below)."""
    return service_host(k8s_name(instance), namespace)


def alias_service(name: str, instance: str, namespace: str, labels: dict[str, str], address: pulumi.Input[str],
                  port: int, port_name: str, opts: pulumi.ResourceOptions) -> k8s.core.v1.Service:
    """The managed endpoint's alias: an ExternalName Service `<instance>` in `namespace`, the
    same name and host the in-cluster store's Service has."""
    return k8s.core.v1.Service(
        f"{name}-alias", metadata=kube.metadata(k8s_name(instance), namespace, labels),
        spec=pulumi.Output.from_input(address).apply(lambda a: external_name_service(a, port, port_name)), opts=opts)


def vpc_egress_policy(vpc_cidr: str, ports: Sequence[int], pod_selector: JsonDict | None = None) -> JsonDict:
    """NetworkPolicy spec: pods may open connections to the managed data stores inside the VPC.

    Managed stores are outside the cluster, so a namespace's default-deny blocks them; this
    opens exactly their ports towards the VPC's own range (never the internet)."""
    if not ports:
        raise ValueError("vpc_egress_policy: list the ports to open")
    return {
        "podSelector": pod_selector or {},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": vpc_cidr}}],
                    "ports": [{"protocol": "TCP", "port": p} for p in sorted(set(ports))]}],
    }


def aws_api_egress_policy(vpc_cidr: str, s3_cidrs: Sequence[str], pod_selector: JsonDict | None = None) -> JsonDict:
    """NetworkPolicy spec: HTTPS to the AWS APIs the platform's pods call, and nowhere else.

    STS (every IRSA credential), Secrets Manager, ECR and Logs answer at the VPC's interface
    endpoints (addresses inside `vpc_cidr`, through private DNS); S3 answers at the ranges of its
    regional prefix list, which the VPC's gateway endpoint routes. Anything else (the internet,
    other AWS services) stays closed, so `allow_external_egress: false` means what it says."""
    if not s3_cidrs:
        raise ValueError("aws_api_egress_policy: s3_cidrs is empty; pass the S3 prefix list's ranges "
                         "(Network.s3_cidrs, from the VPC's S3 gateway endpoint)")
    peers = [{"ipBlock": {"cidr": c}} for c in [vpc_cidr, *sorted(set(s3_cidrs))]]
    return {"podSelector": pod_selector or {}, "policyTypes": ["Egress"],
            "egress": [{"to": peers, "ports": [{"protocol": "TCP", "port": 443}]}]}

"""IAM roles for Kubernetes service accounts (IRSA), scoped to one namespace:serviceaccount and
to exactly the AWS resources that workload uses.

How a workload uses one: its ServiceAccount carries the annotation
`eks.amazonaws.com/role-arn: <role ARN>` (omgml.k8s.service_account_metadata); EKS's pod identity
webhook then mounts a projected token (audience sts.amazonaws.com) and sets AWS_ROLE_ARN and
AWS_WEB_IDENTITY_TOKEN_FILE, which every AWS SDK's default credential chain picks up. The role's
trust policy admits only tokens whose `sub` is that exact service account, so another pod in
the same namespace cannot assume it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from omgml.components.aws import common
from omgml.naming import require_dns_label
from omgml.spec.common import DNS_LABEL

TYPE_TOKEN = "omgml:aws:IrsaRole"

STS_AUDIENCE = "sts.amazonaws.com"


def oidc_issuer_host(issuer_url: str) -> str:
    """`https://oidc.eks.<region>.amazonaws.com/id/<ID>` → the host/path IAM condition keys use."""
    return re.sub(r"^https://", "", issuer_url).rstrip("/")


def irsa_trust_policy(oidc_provider_arn: str, oidc_issuer_host: str, namespace: str,
                      service_account: str) -> common.JsonDict:
    """Trust policy: only tokens of `namespace:service_account`, minted for STS, may assume the role.

    Both `sub` and `aud` are pinned with StringEquals (never StringLike): a wildcard here would
    let every service account of a namespace, or of the cluster, use the role.
    """
    require_dns_label("irsa_trust_policy: namespace", namespace)
    if not re.match(DNS_LABEL, service_account) and not re.match(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$",
                                                               service_account):
        raise ValueError(f"irsa_trust_policy: service_account={service_account!r} is not a valid "
                         "ServiceAccount name (lowercase DNS subdomain)")
    host = oidc_issuer_host.removeprefix("https://")
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": oidc_provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                f"{host}:aud": STS_AUDIENCE,
            }},
        }],
    }


# --- statements for the platform's resources (ARNs may be Outputs; resolved by the component) ----


def s3_bucket_statements(bucket_arns: Sequence[Any], kms_key_arn: Any, region: str,
                         read_only: bool = False) -> list[common.JsonDict]:
    """Object access to exactly these buckets, and the bucket's KMS key only as S3 uses it
    (SSE-KMS: reading needs kms:Decrypt, writing kms:GenerateDataKey)."""
    objects = [_concat(arn, "/*") for arn in bucket_arns]
    object_actions = ["s3:GetObject", "s3:GetObjectVersion"]
    if not read_only:
        object_actions += ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    kms_actions = ["kms:Decrypt"] if read_only else ["kms:Decrypt", "kms:GenerateDataKey"]
    return [
        {"Sid": "ListBuckets", "Effect": "Allow",
         "Action": ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
         "Resource": list(bucket_arns)},
        {"Sid": "Objects", "Effect": "Allow", "Action": object_actions, "Resource": objects},
        {"Sid": "BucketKey", "Effect": "Allow", "Action": kms_actions, "Resource": kms_key_arn,
         "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}},
    ]


def secret_read_statements(secret_arn: Any, kms_key_arn: Any | None, region: str) -> list[common.JsonDict]:
    """Read one Secrets Manager secret (and decrypt it with its key, only through Secrets Manager)."""
    out: list[common.JsonDict] = [{"Sid": "ReadSecret", "Effect": "Allow",
                            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                            "Resource": secret_arn}]
    if kms_key_arn is not None:
        out.append({"Sid": "DecryptSecret", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": kms_key_arn,
                    "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}}})
    return out


def msk_resource_arn(cluster_arn: str, kind: str, name: str) -> str:
    """MSK IAM resource ARNs share the cluster's name/uuid: `…:cluster/<n>/<uuid>` →
    `…:topic/<n>/<uuid>/<topic>` (kind topic | group | transactional-id)."""
    if ":cluster/" not in cluster_arn:
        raise ValueError(f"msk_resource_arn: {cluster_arn!r} is not an MSK cluster ARN (…:cluster/<name>/<uuid>)")
    return cluster_arn.replace(":cluster/", f":{kind}/", 1) + f"/{name}"


def _msk_arn(cluster_arn: Any, kind: str, name: str) -> Any:
    if isinstance(cluster_arn, pulumi.Output):
        return cluster_arn.apply(lambda a: msk_resource_arn(a, kind, name))
    return msk_resource_arn(cluster_arn, kind, name)


def msk_client_statements(cluster_arn: Any, topics: Sequence[str], group_prefix: str,
                          write: bool = True) -> list[common.JsonDict]:
    """Kafka over IAM auth for the listed topics and the client's own consumer groups only."""
    if not topics:
        raise ValueError("msk_client_statements: list the topics the client reads or writes")
    data_actions = ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"]
    if write:
        data_actions.append("kafka-cluster:WriteData")
    return [
        {"Sid": "Connect", "Effect": "Allow", "Action": ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"],
         "Resource": cluster_arn},
        {"Sid": "Topics", "Effect": "Allow", "Action": data_actions,
         "Resource": [_msk_arn(cluster_arn, "topic", t) for t in sorted(topics)]},
        {"Sid": "Groups", "Effect": "Allow", "Action": ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"],
         "Resource": _msk_arn(cluster_arn, "group", f"{group_prefix}*")},
    ]


def _concat(value: Any, suffix: str) -> Any:
    if isinstance(value, pulumi.Output):
        return value.apply(lambda v: f"{v}{suffix}")
    return f"{value}{suffix}"


@dataclass(frozen=True)
class IrsaRoleArgs:
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer_host: pulumi.Input[str]
    namespace: str
    service_account: str
    # Inline statements naming exact ARNs (values may be Outputs); "*" resources are rejected.
    statements: Sequence[common.JsonDict] = ()
    # AWS managed policies, for the add-ons whose permissions AWS maintains (VPC CNI, EBS CSI).
    managed_policy_arns: Sequence[str] = ()
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)


def resolve(args: IrsaRoleArgs) -> None:
    if not args.statements and not args.managed_policy_arns:
        raise ValueError(f"IrsaRoleArgs for {args.namespace}:{args.service_account}: give statements or "
                         "managed_policy_arns (a role that may do nothing is a mistake)")
    common.check_least_privilege(list(args.statements), f"IrsaRole {args.namespace}:{args.service_account}")


class IrsaRole(pulumi.ComponentResource):
    arn: pulumi.Output[str]
    name: pulumi.Output[str]
    namespace: str
    service_account: str

    def __init__(self, name: str, args: IrsaRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        resolve(args)
        child = pulumi.ResourceOptions(parent=self)
        trust = pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer_host).apply(
            lambda v: json.dumps(irsa_trust_policy(str(v[0]), str(v[1]), args.namespace, args.service_account),
                                 sort_keys=True))
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=trust,
            description=args.description or f"IRSA role of {args.namespace}:{args.service_account}",
            tags=args.tags,
            opts=child,
        )
        if args.statements:
            document = pulumi.Output.from_input(list(args.statements)).apply(common.policy_document)
            aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=document, opts=child)
        for i, arn in enumerate(args.managed_policy_arns):
            aws.iam.RolePolicyAttachment(f"{name}-managed-{i}", role=role.id, policy_arn=arn, opts=child)
        self.arn = role.arn
        self.name = role.id  # an IAM role's id is its name
        self.namespace = args.namespace
        self.service_account = args.service_account
        self.register_outputs({"arn": self.arn, "namespace": self.namespace,
                               "service_account": self.service_account})

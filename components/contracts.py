"""What components hand each other: typed endpoints instead of loose strings.

A consumer (MLflow, Feast, Triton, …) takes these as args; the producer (Postgres, Redis, the
object store, Kafka, or their managed AWS twins) fills them. Blueprints only pass them along.
Password fields are secret pulumi Outputs; Secret names/keys are what pods reference.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

import pulumi

from omgml import k8s as kube
from omgml.naming import k8s_name


@dataclass(frozen=True)
class SecretKeyRef:
    """A key in a Kubernetes Secret (what `secretKeyRef` points at)."""

    secret_name: str
    key: str


@dataclass(frozen=True)
class PostgresDatabase:
    """One consumer's own database and role on the shared Postgres."""

    host: str  # cluster DNS name of the Service (or the RDS endpoint on aws)
    port: int
    database: str
    username: str
    password: pulumi.Output[str] | None  # secret; None with credentials 'existing' (omgml never sees it)
    # Secret in the consumer's namespace with keys: host, port, database, username, password
    secret: str
    password_ref: SecretKeyRef
    # Managed twin (RDS) only: the endpoint's own DNS name, known at deploy time. `host` is then
    # an in-cluster ExternalName alias of it; a client that verifies the TLS server name
    # (sslmode=verify-full) must connect to this name instead. None in-cluster.
    managed_host: pulumi.Output[str] | None = None


@dataclass(frozen=True)
class RedisEndpoint:
    host: str
    port: int
    password: pulumi.Output[str] | None  # secret; None with credentials 'existing'
    password_ref: SecretKeyRef
    tls: bool = False
    # Managed twin (ElastiCache) only: the primary endpoint's own DNS name. `host` is then an
    # in-cluster ExternalName alias; clients that check the TLS host name (redis-py >= 6 does
    # by default) must use this name. None in-cluster.
    managed_host: pulumi.Output[str] | None = None


@dataclass(frozen=True)
class ObjectStoreEndpoint:
    """An S3-compatible endpoint and the credentials that reach it."""

    endpoint_url: str  # e.g. http://objectstore.omgml-data.svc.cluster.local:8333 ("" on AWS S3)
    region: str
    access_key_ref: SecretKeyRef  # AWS_ACCESS_KEY_ID
    secret_key_ref: SecretKeyRef  # AWS_SECRET_ACCESS_KEY
    access_key: pulumi.Output[str] | None  # secret; None with credentials 'existing'
    secret_key: pulumi.Output[str] | None  # secret; None with credentials 'existing'
    # logical bucket role → bucket name, e.g. {"mlflow": "omgml-mlflow", "models": "omgml-models"}
    buckets: dict[str, str] = field(default_factory=dict)
    # Managed twin (S3) only: credentials come from IRSA, not from static keys. The consumer's
    # pods run as `service_account` (in its own namespace), annotated
    # `eks.amazonaws.com/role-arn: <irsa_role_arn>`; the AWS SDKs then assume the role through
    # the web-identity token EKS mounts. The key refs still name a Secret, whose values are
    # empty: existing secretKeyRefs stay valid and the SDKs, finding no keys in the environment,
    # fall through to the web identity. None in-cluster.
    irsa_role_arn: pulumi.Output[str] | None = None
    service_account: str | None = None
    # False on S3 (IRSA): the key Secret exists but is empty, for every consumer, including
    # the role-less endpoint handed to things outside the platform (an existing Airflow).
    static_keys: bool = True

    def key_env(self) -> list[kube.JsonDict]:
        """AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY by secretKeyRef (leave them out on IRSA)."""
        return [kube.secret_env("AWS_ACCESS_KEY_ID", self.access_key_ref.secret_name, self.access_key_ref.key),
                kube.secret_env("AWS_SECRET_ACCESS_KEY", self.secret_key_ref.secret_name, self.secret_key_ref.key)]


@dataclass(frozen=True)
class StoreRef:
    """The object store as a later phase sees it: where it is and which Secret holds the keys.

    Values may be Outputs (the foundation's stack outputs); the Secret, with the same name,
    exists in every platform namespace (the foundation copies it there). On AWS S3 through
    IRSA the Secret's values are empty and consumers leave the key variables out.
    """

    endpoint_url: pulumi.Input[str]  # "" means AWS S3 in `region`
    region: pulumi.Input[str]
    secret_name: pulumi.Input[str]
    access_key_key: str = "AWS_ACCESS_KEY_ID"
    secret_key_key: str = "AWS_SECRET_ACCESS_KEY"

    def key_env(self) -> list[kube.JsonDict]:
        """AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY by secretKeyRef. On IRSA consumers leave
        them out, not even empty: a client that finds them set may sign with them instead of
        falling through to the web-identity token."""
        return [kube.secret_env("AWS_ACCESS_KEY_ID", self.secret_name, self.access_key_key),
                kube.secret_env("AWS_SECRET_ACCESS_KEY", self.secret_name, self.secret_key_key)]

    @classmethod
    def from_endpoint(cls, e: ObjectStoreEndpoint) -> StoreRef:
        """From an in-program ObjectStoreEndpoint (same phase as the store)."""
        return cls(e.endpoint_url, e.region, e.access_key_ref.secret_name, e.access_key_ref.key, e.secret_key_ref.key)


@dataclass(frozen=True)
class S3Consumer:
    """A workload that reaches S3 buckets through its own IRSA role (target aws, managed store).

    Its pods run as `service_account` in `namespace`; the role trusts exactly that pair and
    names only the buckets of `bucket_roles` (keys of the foundation's bucket_names). Each
    component declares its consumers with a pure function (e.g. `kubeflow.s3_consumers`), so
    the foundation can create the roles before the component's phase runs. `name` is unique
    in a platform and keys the `s3_irsa_roles` stack output."""

    name: str
    namespace: str
    service_account: str
    bucket_roles: tuple[str, ...]
    read_only: bool = False


@dataclass(frozen=True)
class KafkaEndpoint:
    bootstrap_servers: str  # host:port[,host:port]; "" when only known at deploy time (MSK)
    tls: bool = False
    # Managed twin (MSK) only: the brokers' own host:port list (TLS + IAM, port 9098), and the
    # SASL mechanism clients must use (AWS_MSK_IAM, with an IRSA role allowed kafka-cluster:*
    # on the topics; see omgml.components.aws.irsa.msk_client_statements). None in-cluster.
    managed_bootstrap_servers: pulumi.Output[str] | None = None
    sasl_mechanism: str | None = None


def tool_s3_consumers(tool: str, namespace: str, bucket_role: str,
                      accounts: Mapping[str, tuple[str, bool]]) -> tuple[S3Consumer, ...]:
    """Consumers of a tool with several ServiceAccounts: `accounts` maps each part that opens the
    store to (its ServiceAccount, read_only). Names are "<tool>-<part>", unique in a platform."""
    return tuple(S3Consumer(name=f"{tool}-{who}", namespace=namespace, service_account=sa,
                            bucket_roles=(bucket_role,), read_only=read_only)
                 for who, (sa, read_only) in accounts.items())


_Account = TypeVar("_Account", bound=str)


def account_s3_consumers(tool: str, namespace: str, instance: str, bucket_role: str,
                         access: Mapping[_Account, bool]) -> tuple[S3Consumer, ...]:
    """tool_s3_consumers of a tool whose ServiceAccounts are `<instance>-<account>`: `access`
    maps each account that opens the store to read_only."""
    return tool_s3_consumers(tool, namespace, bucket_role,
                             {who: (k8s_name(instance, who), read_only) for who, read_only in access.items()})


def irsa_roles_by_account(owner: str, tool: str, namespace: str, instance: str, access: Mapping[_Account, bool],
                          arns: Mapping[str, pulumi.Input[str]] | None,
                          endpoint_url: object) -> dict[_Account, pulumi.Input[str]]:
    """irsa_roles_by_consumer for account_s3_consumers, keyed by account instead of consumer name."""
    roles = irsa_roles_by_consumer(owner, account_s3_consumers(tool, namespace, instance, "", access), arns,
                                   endpoint_url)
    return {who: roles[f"{tool}-{who}"] for who in access if f"{tool}-{who}" in roles}


_Arn = TypeVar("_Arn")


def irsa_roles_by_consumer(owner: str, consumers: Sequence[S3Consumer], arns: Mapping[str, _Arn] | None,
                           endpoint_url: object) -> dict[str, _Arn]:
    """Check a component's `irsa_role_arns` (consumer name → role ARN) against its s3_consumers.

    Every consumer needs exactly one role (each role trusts one ServiceAccount; a pod left
    out would have no credentials at all, IRSA configures no keys), and IRSA reaches AWS S3
    only (endpoint_url "" ; an Output, known only at deploy time, is the caller's to check).
    Returns {} without IRSA. `owner` is the args class, e.g. "AirflowArgs"."""
    if arns is None:
        return {}
    names = {c.name for c in consumers}
    missing, unknown = sorted(names - set(arns)), sorted(set(arns) - names)
    if missing or unknown:
        raise ValueError(
            f"{owner}.irsa_role_arns: missing {missing}, unknown {unknown}; give one role ARN for each S3 consumer "
            f"of the component's s3_consumers(), exactly {sorted(names)} (the foundation exports them in "
            "s3_irsa_roles)")
    if isinstance(endpoint_url, str) and endpoint_url:
        raise ValueError(irsa_endpoint_error(owner, endpoint_url))
    return {c.name: arns[c.name] for c in consumers}


def irsa_endpoint_error(owner: str, endpoint_url: str) -> str:
    return (f"{owner}.irsa_role_arns: IRSA reaches AWS S3 only, but store.endpoint_url is {endpoint_url!r}; "
            "leave irsa_role_arns unset for an S3-compatible store, or use endpoint_url '' for AWS S3")


@dataclass(frozen=True)
class EksClusterOutputs:
    """What the AWS side of the foundation (components/aws/platform.py) exports as stack outputs:
    the VPC, the EKS cluster (its kubeconfig rebuilds the Kubernetes provider in later phases)
    and what GPU node groups join. Field names are the stack output keys."""

    aws_region: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    vpc_cidr: pulumi.Input[str]
    eks_cluster_name: pulumi.Input[str]
    eks_kubeconfig: pulumi.Input[str]  # JSON kubeconfig using `aws eks get-token` (no credentials in it)
    eks_node_role_arn: pulumi.Input[str]
    eks_node_security_group_id: pulumi.Input[str]
    eks_private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    eks_oidc_provider_arn: pulumi.Input[str]
    eks_oidc_issuer: pulumi.Input[str]
    # add-on → version installed (pinned in aws.addon_versions, or resolved at deploy time):
    # copy the resolved ones into aws.addon_versions to pin them.
    eks_addon_versions: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    # Karpenter's nodes: the instance profile every GPU pool's EC2NodeClass launches with.
    karpenter_instance_profile: pulumi.Input[str]
    # The model server's route from outside the cluster: the IngressClass of the AWS Load
    # Balancer Controller.
    ingress_class: pulumi.Input[str]


_Outputs = TypeVar("_Outputs")


def output_keys(cls: type[Any]) -> tuple[str, ...]:
    """The stack output keys of a phase-outputs dataclass: its field names."""
    return tuple(f.name for f in fields(cls))


def as_stack_outputs(outputs: Any) -> dict[str, Any]:
    """A phase-outputs dataclass as the dict its phase exports (one stack output per field)."""
    return {f.name: getattr(outputs, f.name) for f in fields(outputs)}


def read_stack_outputs(cls: type[_Outputs], get: Callable[[str], pulumi.Output[Any]]) -> _Outputs:
    """A phase-outputs dataclass read back from an earlier phase (`get` is e.g.
    StackReference.get_output): every field from the output of the same name."""
    return cls(**{key: get(key) for key in output_keys(cls)})


# Stack outputs of the foundation phase on aws only.
AWS_FOUNDATION_KEYS = output_keys(EksClusterOutputs)


# A dataset path of the spec: s3://bucket/prefix, or a prefix inside the platform's features bucket.
_S3_DATASET = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")
_RELATIVE_DATASET = re.compile(r"^[A-Za-z0-9_.=-]+(/[A-Za-z0-9_.=-]+)*/?$")


def is_s3_dataset(path: str) -> bool:
    """Whether `path` is a full s3://bucket/prefix (a relative one lives in the features bucket)."""
    return bool(_S3_DATASET.match(path))


def check_dataset_path(field_path: str, value: str, *, has_bucket: bool) -> None:
    """Raise, naming `field_path`, unless `value` is s3://bucket/prefix or a prefix that the
    features bucket (`has_bucket`) can resolve."""
    if is_s3_dataset(value):
        return
    if not _RELATIVE_DATASET.match(value):
        raise ValueError(f"{field_path}: {value!r} is neither s3://bucket/prefix nor a prefix inside the features "
                         "bucket")
    if not has_bucket:
        raise ValueError(f"{field_path}: {value!r} is relative, but there is no features bucket to resolve it "
                         "against; give a full s3://bucket/prefix")

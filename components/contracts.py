"""What components hand each other: typed endpoints instead of loose strings.

A consumer (MLflow, Feast, Triton, …) takes these as args; the producer (Postgres, Redis, the
object store, Kafka, or their managed AWS twins) fills them. Blueprints only pass them along.
Password fields are secret pulumi Outputs; Secret names/keys are what pods reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi


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
    password: pulumi.Output[str]  # secret
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
    password: pulumi.Output[str]  # secret
    password_ref: SecretKeyRef
    tls: bool = False
    # Managed twin (ElastiCache) only: the primary endpoint's own DNS name. `host` is then an
    # in-cluster ExternalName alias; clients that check the TLS host name (redis-py >= 6 does
    # by default) must use this name. None in-cluster.
    managed_host: pulumi.Output[str] | None = None


# The ServiceAccount annotation EKS's pod identity webhook reads (IRSA); the same string as
# omgml.components.aws.irsa.ROLE_ARN_ANNOTATION, here so consumers need not import pulumi_aws.
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"


@dataclass(frozen=True)
class ObjectStoreEndpoint:
    """An S3-compatible endpoint and the credentials that reach it."""

    endpoint_url: str  # e.g. http://objectstore.omgml-data.svc.cluster.local:8333 ("" on AWS S3)
    region: str
    access_key_ref: SecretKeyRef  # AWS_ACCESS_KEY_ID
    secret_key_ref: SecretKeyRef  # AWS_SECRET_ACCESS_KEY
    access_key: pulumi.Output[str]  # secret
    secret_key: pulumi.Output[str]  # secret
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


@dataclass(frozen=True)
class KafkaEndpoint:
    bootstrap_servers: str  # host:port[,host:port]; "" when only known at deploy time (MSK)
    tls: bool = False
    # Managed twin (MSK) only: the brokers' own host:port list (TLS + IAM, port 9098), and the
    # SASL mechanism clients must use (AWS_MSK_IAM, with an IRSA role allowed kafka-cluster:*
    # on the topics; see omgml.components.aws.irsa.msk_client_statements). None in-cluster.
    managed_bootstrap_servers: pulumi.Output[str] | None = None
    sasl_mechanism: str | None = None

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


@dataclass(frozen=True)
class RedisEndpoint:
    host: str
    port: int
    password: pulumi.Output[str]  # secret
    password_ref: SecretKeyRef
    tls: bool = False


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


@dataclass(frozen=True)
class KafkaEndpoint:
    bootstrap_servers: str  # host:port[,host:port]
    tls: bool = False

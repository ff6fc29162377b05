"""MLflow tracking server and model registry.

Backend store: the consumer database the Postgres component created for MLflow. Artifacts: a
bucket on the object store, proxied by the server (`--serve-artifacts`), so only the server
holds S3 credentials and clients need nothing but the tracking URI.

The backend URI is composed by Kubernetes from env vars (`$(VAR)` expansion): the password
comes from the database Secret by secretKeyRef and never appears in the manifest. A migration
Job (`mlflow db upgrade`) runs before the server on every new image, as the official chart does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml import sizes
from omgml.components.base import Component, ServerArgs, check_component_args, require_between
from omgml.components.contracts import ObjectStoreEndpoint, PostgresDatabase, S3Consumer
from omgml.components.credentials import checksum_annotations, secret_checksum
from omgml.components.options import Children
from omgml.labels import selector_labels, standard_labels
from omgml.naming import k8s_name, require_bucket_name, service_host, service_url

TYPE_TOKEN = "omgml:tracking:Mlflow"

APP = "mlflow"
VERSION = "3.17.0"
# The `-full` variant (mlflow[extras,db,…]) carries psycopg2 and boto3; the base image has
# neither. v3.17.0-full is the newest -full tag we found in use as a base image upstream.
IMAGE = f"ghcr.io/mlflow/mlflow:v{VERSION}-full"
# python:3.11-slim runs as root and has no other user: run as an unprivileged uid explicitly
# (the official chart uses 1000 too). Python needs no passwd entry for it.
UID = 1000
PORT = 5000
HOME = "/home/mlflow"


@dataclass(frozen=True)
class MlflowSizing:
    server: kube.Size
    workers: int  # uvicorn worker processes per pod


SIZING = sizes.rows("mlflow", MlflowSizing)
MIGRATION_SIZE = kube.Size("100m", "256Mi", "1", "768Mi")


DEFAULT_INSTANCE = "mlflow"

@dataclass(frozen=True, kw_only=True)
class MlflowArgs(ServerArgs):
    instance: str = DEFAULT_INSTANCE
    backend: PostgresDatabase
    store: ObjectStoreEndpoint
    artifacts_bucket: str


@dataclass(frozen=True)
class ResolvedMlflow:
    args: MlflowArgs
    sizing: MlflowSizing
    name: str  # Deployment, Service and ServiceAccount
    migration_job: str
    pdb: str | None

    @property
    def service_host(self) -> str:
        return service_host(self.name, self.args.namespace)

    @property
    def tracking_uri(self) -> str:
        return service_url(self.name, self.args.namespace, PORT)


def service_account_name(instance: str) -> str:
    """The server's (and migration Job's) ServiceAccount, also the name of its Deployment/Service."""
    return k8s_name(instance)


def s3_consumers(namespace: str, instance: str, bucket_role: str) -> tuple[S3Consumer, ...]:
    """The server proxies every artifact read and write (clients never reach the bucket)."""
    return (S3Consumer(name="mlflow", namespace=namespace, service_account=service_account_name(instance),
                       bucket_roles=(bucket_role,)),)


def resolve(args: MlflowArgs) -> ResolvedMlflow:
    """Defaults and validation; every error names the field, the value and the fix."""
    check_component_args("MlflowArgs", args, SIZING)
    require_between("MlflowArgs.replicas", args.replicas, 1, 10)
    require_bucket_name("MlflowArgs.artifacts_bucket", args.artifacts_bucket)
    if args.store.buckets and args.artifacts_bucket not in args.store.buckets.values():
        raise ValueError(
            f"MlflowArgs.artifacts_bucket: {args.artifacts_bucket!r} is not one of the object store's buckets "
            f"{sorted(args.store.buckets.values())}; add it to ObjectStoreArgs.buckets or pick one of them"
        )
    name = service_account_name(args.instance)
    if args.store.irsa_role_arn is not None and args.store.service_account not in (None, name):
        # The IRSA role trusts exactly one ServiceAccount; the server (and migration job) run as `name`.
        raise ValueError(
            f"MlflowArgs.store.service_account: {args.store.service_account!r} is not the ServiceAccount MLflow "
            f"runs as ({name!r}); declare the S3 consumer with service_account={name!r}"
        )
    image_digest = hashlib.sha256(IMAGE.encode()).hexdigest()[:8]
    return ResolvedMlflow(
        args=args,
        sizing=SIZING[args.profile],
        name=name,
        # Schema migrations belong to an image: a new image is a new Job, which runs again.
        migration_job=k8s_name(args.instance, "db-upgrade", image_digest),
        pdb=name if args.replicas > 1 else None,
    )


def allowed_hosts(service: str, namespace: str) -> list[str]:
    """Host headers the server accepts (MLflow ≥3.5 rejects others with 403 as DNS rebinding).

    Setting the list replaces MLflow's defaults, so loopback (port-forward) is listed again.
    Patterns match the raw Host header including the port, hence each name twice."""
    names = [
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.cluster.local",
        "localhost",
        "127.0.0.1",
    ]
    return [p for n in names for p in (n, f"{n}:*")]


def backend_store_uri_template(db: PostgresDatabase) -> str:
    """The SQLAlchemy URI with `$(MLFLOW_DB_PASSWORD)` for Kubernetes to fill from the Secret.

    psycopg2 is named explicitly: a bare postgresql:// would pick psycopg 3 in recent SQLAlchemy.
    The generated passwords are alphanumeric, so they need no URL quoting."""
    return f"postgresql+psycopg2://{db.username}:$(MLFLOW_DB_PASSWORD)@{db.host}:{db.port}/{db.database}"


def artifacts_destination(bucket: str) -> str:
    return f"s3://{bucket}/"


def server_env(r: ResolvedMlflow) -> list[kube.JsonDict]:
    db = r.args.backend
    store = r.args.store
    env = [
        # Must come before the URI that references it: $(VAR) only sees earlier entries.
        kube.secret_env("MLFLOW_DB_PASSWORD", db.password_ref.secret_name, db.password_ref.key),
        kube.plain_env("MLFLOW_BACKEND_STORE_URI", backend_store_uri_template(db)),
        # On IRSA the (empty) keys stay out, so boto3 reaches the web-identity token.
        *([] if store.irsa_role_arn is not None else store.key_env()),
        kube.plain_env("AWS_DEFAULT_REGION", store.region),
        kube.plain_env("HOME", HOME),
        # MLflow 3 starts a job runner beside the server: one Huey consumer process per kind of
        # server-side job (GenAI scorers, prompt optimisation, trace roll-ups), each importing
        # MLflow (~150 MB). The conformance tier saw the pod pass its 1 GiB laptop limit and get
        # OOM-killed; the tracking and registry server omgml deploys runs no server-side jobs.
        kube.plain_env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false"),
    ]
    if store.endpoint_url:
        # Empty on AWS S3, where boto3 finds the regional endpoint itself.
        env.append(kube.plain_env("MLFLOW_S3_ENDPOINT_URL", store.endpoint_url))
    return env


def server_command(r: ResolvedMlflow) -> list[str]:
    # No --backend-store-uri here: the CLI reads MLFLOW_BACKEND_STORE_URI, which keeps the
    # password out of the process arguments.
    return [
        "mlflow", "server",
        "--host", "0.0.0.0",
        "--port", str(PORT),
        "--workers", str(r.sizing.workers),
        "--serve-artifacts",
        "--artifacts-destination", artifacts_destination(r.args.artifacts_bucket),
        "--allowed-hosts", ",".join(allowed_hosts(r.name, r.args.namespace)),
    ]


def _labels(r: ResolvedMlflow, component: str) -> dict[str, str]:
    return standard_labels(APP, r.args.instance, component, VERSION)


def _pod_spec(r: ResolvedMlflow, container: kube.JsonDict, **fields: Any) -> kube.JsonDict:
    return kube.restricted_pod_spec(r.name, UID, [container], fs_group=UID, volumes=[
        {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
        {"name": "home", "emptyDir": {"sizeLimit": "256Mi"}},
    ], **fields)


_MOUNTS = [{"name": "tmp", "mountPath": "/tmp"}, {"name": "home", "mountPath": HOME}]


def mlflow_deployment(r: ResolvedMlflow, credentials_checksum: pulumi.Input[str] | None = None) -> kube.JsonDict:
    container: kube.JsonDict = {
        "name": "mlflow",
        "image": IMAGE,
        "command": server_command(r),
        "workingDir": HOME,
        "env": server_env(r),
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "resources": r.sizing.server.resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        # /health is exempt from the allowed-hosts check, so the kubelet's IP Host header passes.
        "startupProbe": kube.http_probe("/health", "http", period=10, failures=30, timeout=10),
        "readinessProbe": kube.http_probe("/health", "http", period=10, failures=3),
        "livenessProbe": kube.http_probe("/health", "http", period=20, failures=6, timeout=10),
        "volumeMounts": list(_MOUNTS),
    }
    # New database password or S3 keys → new pods that read them.
    annotations = checksum_annotations(credentials_checksum)
    # State lives in Postgres and S3: roll one new pod in before taking an old one out.
    return kube.deployment_spec(selector_labels(APP, r.args.instance, "server"),
                           kube.pod_template(_labels(r, "server"), _pod_spec(r, container), annotations),
                           replicas=r.args.replicas, strategy=kube.SURGE_ONE)


# `mlflow db upgrade` migrates an existing schema; some 3.x releases fail on an empty database
# (their first migration alters tables that do not exist yet). Opening the store creates a
# fresh schema at head, so it is the fallback; on an outdated schema it fails too, as it should.
MIGRATION_SCRIPT = """\
mlflow db upgrade "$MLFLOW_BACKEND_STORE_URI" && exit 0
echo "mlflow db upgrade failed; creating the schema in case the database is empty" >&2
exec python -c 'import os
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
SqlAlchemyStore(os.environ["MLFLOW_BACKEND_STORE_URI"], "mlflow-artifacts:/")'
"""


def migration_job(r: ResolvedMlflow) -> kube.JsonDict:
    """Schema migration of the backend database; safe to run on an up-to-date or empty schema."""
    db = r.args.backend
    container: kube.JsonDict = {
        "name": "db-upgrade",
        "image": IMAGE,
        "command": ["/bin/sh", "-c", MIGRATION_SCRIPT],
        "workingDir": HOME,
        "env": [
            kube.secret_env("MLFLOW_DB_PASSWORD", db.password_ref.secret_name, db.password_ref.key),
            kube.plain_env("MLFLOW_BACKEND_STORE_URI", backend_store_uri_template(db)),
            kube.plain_env("HOME", HOME),
        ],
        "resources": MIGRATION_SIZE.resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        # The Job has no port: its probes watch the database it migrates, so a run stuck on a
        # vanished server is restarted instead of idling until the deadline.
        "readinessProbe": kube.tcp_exec_probe(db.host, db.port, period=10, failures=3),
        "livenessProbe": kube.tcp_exec_probe(db.host, db.port, period=20, failures=6),
        "volumeMounts": list(_MOUNTS),
    }
    return kube.job_spec(kube.pod_template(_labels(r, "db-upgrade"), _pod_spec(r, container, restartPolicy="OnFailure")),
                    backoff_limit=6, active_deadline_seconds=1800)


class Mlflow(Component[MlflowArgs, ResolvedMlflow], type_token=TYPE_TOKEN, resolve=resolve):
    """Tracking server + model registry; `.tracking_uri` is what clients set as MLFLOW_TRACKING_URI."""

    tracking_uri: str
    service_name: str

    def build(self, name: str, args: MlflowArgs, r: ResolvedMlflow, children: Children) -> pulumi.Inputs:
        ns = args.namespace

        meta = kube.Metadata(ns, lambda part: _labels(r, part), "server")

        # AWS S3: the server reads and writes artifacts through its IRSA role, not static keys.
        sa = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=kube.service_account_metadata(r.name, ns, _labels(r, "server"), args.store.irsa_role_arn),
            automount_service_account_token=False,
            opts=children(),
        )
        migrate = k8s.batch.v1.Job(
            f"{name}-db-upgrade",
            # A failed migration (database not ready yet) is retried on the next `up`.
            metadata=meta(r.migration_job, "db-upgrade", annotations={"pulumi.com/replaceUnready": "true"}),
            spec=migration_job(r),
            opts=children(sa),
        )
        svc = k8s.core.v1.Service(f"{name}-svc", metadata=meta(r.name), spec=kube.service_spec(selector_labels(APP, args.instance, "server"), [("http", PORT)]), opts=children())
        checksum = secret_checksum(args.backend.password, args.store.access_key, args.store.secret_key)
        k8s.apps.v1.Deployment(
            f"{name}-server",
            metadata=meta(r.name),
            spec=mlflow_deployment(r, checksum),
            # Two fresh servers racing to create the schema would fail: migrate first.
            opts=children(migrate, svc),
        )
        if r.pdb is not None:
            k8s.policy.v1.PodDisruptionBudget(f"{name}-pdb", metadata=meta(r.pdb), spec=kube.pdb_spec(selector_labels(APP, args.instance, "server")),
                                              opts=children())
        self.tracking_uri = r.tracking_uri
        self.service_name = r.name
        return {"tracking_uri": self.tracking_uri, "service_name": self.service_name}

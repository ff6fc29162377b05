"""Apache Airflow 3 on the platform, and the connection bundle for a team's existing Airflow.

`Airflow` runs the four long-lived parts Airflow 3 requires (api-server, scheduler,
dag-processor, triggerer) from the official `apache/airflow` image, a re-runnable
`airflow db migrate` Job, and the KubernetesExecutor: every task is a pod in the same namespace,
built from a pod template this module writes.

Executor: KubernetesExecutor, not CeleryExecutor on the Redis component. Celery keeps worker
pods (and a broker) running while nothing is scheduled; on a laptop budget that idle memory
is the biggest cost, and Redis is optional in the spec (batch platforms have none). Each
Kubernetes task pod gets the task's own requests and is gone when the task ends. The price is
pod start latency per task, acceptable for training and batch pipelines.

Metadata DB: the foundation's Postgres, through this consumer's own database and role (the
Postgres component writes the Secret with host/port/database/username/password into this
namespace). The SQLAlchemy URL is composed by Kubernetes from secretKeyRef env (`$(VAR)`
expansion), so no password is ever in a manifest. Only the api-server, scheduler,
dag-processor, triggerer and the migrate Job get it: Airflow 3 task pods talk to the
execution API of the api-server, not to the database.

Auth: Airflow 3's SimpleAuthManager with one `admin` user whose password is generated in a
Secret. Upstream calls it a development auth manager; it has no user management, which is
why the api-server stays ClusterIP (port-forward). A team that needs SSO switches to the FAB
or Keycloak auth manager (`AIRFLOW__CORE__AUTH_MANAGER`). The auth manager opens its password
file read-write, so the api-server writes it at start into an emptyDir from the env var
(shell builtin `printf`: the password is never on a command line).

AWS S3 through IRSA (target aws, managed object store): the ServiceAccounts of `s3_consumers`
(the api-server reads task logs, the triggerer and the task pods write them) are annotated with
their own IAM roles (`irsa_role_arns`) and their pods carry no key variables at all, not even
empty ones: the key Secret holds empty values there, and a client that finds the variables
set may sign with them instead of falling through to the web-identity token the EKS
pod-identity webhook mounts. The `object_store` connection then holds only the region, so the
Amazon provider's hooks use boto3's default credential chain, which reads that token. The
scheduler, dag-processor and migrate Job never open the bucket and get no store settings.

`AirflowConnections` is the other path: the team keeps its Airflow, and the platform hands
it `AIRFLOW_CONN_*` values for MLflow, the object store, Feast and Redis (Secret + ConfigMap).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import yaml

from omgml import k8s as kube
from omgml import sizes
from omgml.components.base import Component, check_component_args
from omgml.components.contracts import (
    ObjectStoreEndpoint,
    RedisEndpoint,
    StoreRef,
)
from omgml.components.credentials import GeneratedSecret, GeneratedSecretArgs, checksum_annotations, secret_checksum
from omgml.components.options import Children
from omgml.components.orchestration import OrchestratorArgs, PartName, ResolvedOrchestrator, orchestrator_accounts
from omgml.components.postgres import consumer_database_url, consumer_env
from omgml.labels import selector_labels, standard_labels
from omgml.naming import k8s_name, require_dns_label, service_url
from omgml.spec.common import CredentialSource

TYPE_TOKEN = "omgml:orchestration:Airflow"
CONNECTIONS_TYPE_TOKEN = "omgml:orchestration:AirflowConnections"

APP = "airflow"
# The instance the training phase deploys; blueprints pass it to `s3_consumers` before Airflow exists.
DEFAULT_INSTANCE = "airflow"
VERSION = "3.3.2"
# Official image (apache/airflow on Docker Hub, `<version>-python<x.y>` tags). It ships the
# postgres (psycopg2), cncf.kubernetes and amazon providers the executor, metadata DB and
# remote logging below rely on.
IMAGE = f"apache/airflow:{VERSION}-python3.12"
# The image runs as `airflow` (uid 50000) with primary group 0: its AIRFLOW_HOME is group-owned
# by root and group-writable, the arbitrary-uid convention. gid 0 is allowed by Pod Security
# "restricted" (only uid 0 is not). No fsGroup: every writable path below is an emptyDir
# (created world-writable) or, for PVC DAGs, read-only.
UID = 50000
GID = 0
GIT_SYNC_IMAGE = "registry.k8s.io/git-sync/git-sync:v4.4.2"
GIT_SYNC_UID = 65533
GIT_SYNC_PORT = 2020
API_PORT = 8080
AIRFLOW_HOME = "/opt/airflow"
DAGS_ROOT = f"{AIRFLOW_HOME}/dags"
TEMPLATE_DIR = f"{AIRFLOW_HOME}/pod_templates"
TEMPLATE_FILE = "pod_template.yaml"
AUTH_DIR = f"{AIRFLOW_HOME}/auth"
PASSWORDS_FILE = f"{AUTH_DIR}/passwords.json"
# Every Airflow command writes a default airflow.cfg where AIRFLOW_CONFIG points when the file is
# missing (the image ships none), and the root filesystem is read-only: the file goes to the /tmp
# emptyDir. Every setting that matters comes from the environment, which overrides the file.
CONFIG_FILE = "/tmp/airflow.cfg"
ADMIN_USER = "admin"
# Keys of the generated Secret.
ADMIN_PASSWORD_KEY = "admin-password"
JWT_SECRET_KEY = "jwt-secret"
API_SECRET_KEY = "api-secret-key"
FERNET_KEY = "fernet-key"
# Keys of the Postgres consumer Secret (components/postgres.py).
SQL_ALCHEMY_CONN = consumer_database_url("AIRFLOW_DB", "psycopg2")
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"

Part = Literal["api-server", "scheduler", "dag-processor", "triggerer"]
PARTS: tuple[Part, ...] = ("api-server", "scheduler", "dag-processor", "triggerer")
JOB_TYPES: dict[Part, str] = {
    "scheduler": "SchedulerJob", "dag-processor": "DagProcessorJob", "triggerer": "TriggererJob",
}
# Every ServiceAccount Airflow runs as: the four parts, the task pods ("worker") and the migrate Job.
Account = Literal["api-server", "scheduler", "dag-processor", "triggerer", "worker", "migrate"]
ACCOUNTS: tuple[Account, ...] = (*PARTS, "worker", "migrate")
# Who opens the logs bucket, and whether it only reads (True). Task pods upload their log when
# the task ends and the triggerer uploads each trigger's log when it finishes (Airflow 3's
# supervisors call the remote handler's upload); the api-server reads both back for the UI.
# The scheduler only launches pods from the template, the dag-processor keeps its parse logs
# local, the migrate Job talks to Postgres: none of them gets the store.
S3_ACCESS: dict[Account, bool] = {"api-server": True, "triggerer": False, "worker": False}

# `airflow db check-migrations` before each part starts: a pod's effective request is the larger
# of its init containers' and the sum of its containers', so this stays below every part's.
WAIT_SIZE = kube.Size("25m", "128Mi", "500m", "768Mi")


@dataclass(frozen=True)
class AirflowSizing:
    parts: dict[Part, kube.Size]
    api_replicas: int
    worker: kube.Size  # each task pod
    git_sync: kube.Size
    migrate: kube.Size


SIZING = sizes.rows("airflow", AirflowSizing)


@dataclass(frozen=True)
class GitDags:
    """DAGs from a git repository, kept in sync by git-sync (anonymous HTTPS clone)."""

    url: str
    ref: str = "main"
    path: str = "."  # folder inside the repository holding the DAG files
    period_seconds: int = 60


@dataclass(frozen=True)
class PvcDags:
    """DAGs on a PVC the team fills (kubectl cp into the dag-processor pod, or a CI job).

    ReadWriteOnce works when every Airflow pod lands on one node (kind); a multi-node cluster
    needs ReadWriteMany storage, since task pods mount it too."""

    storage_gib: int = 1
    access_mode: Literal["ReadWriteOnce", "ReadWriteMany"] = "ReadWriteOnce"


@dataclass(frozen=True, kw_only=True)
class AirflowArgs(OrchestratorArgs):
    instance: str = DEFAULT_INSTANCE
    # Bucket for task logs (remote logging); task pods are deleted when they end.
    logs_bucket: pulumi.Input[str]
    dags: GitDags | PvcDags = PvcDags()
    credentials: CredentialSource = "generated"
    # The lineage API (foundation output); None: Airflow's OpenLineage provider stays unconfigured.
    lineage_url: pulumi.Input[str] | None = None
    lineage_namespace: str = "omgml"


@dataclass(frozen=True, kw_only=True)
class ResolvedAirflow(ResolvedOrchestrator[AirflowArgs, AirflowSizing], app=APP, version=VERSION,
                      s3_access=S3_ACCESS):
    secret = PartName("secrets")
    template_config = PartName("pod-template")
    api_service = PartName("api-server")
    dags_pvc = PartName("dags")
    egress_policy = PartName("egress")

    @property
    def migrate_job(self) -> str:
        # Another image is another Job (Job specs are immutable): an upgrade migrates again.
        return self.name("migrate", hashlib.sha256(IMAGE.encode()).hexdigest()[:8])

    @property
    def execution_api_url(self) -> str:
        return service_url(self.api_service, self.args.namespace, API_PORT, "/execution/")

    @property
    def dags_folder(self) -> str:
        dags = self.args.dags
        if isinstance(dags, GitDags):
            return posixpath.normpath(posixpath.join(DAGS_ROOT, "repo", dags.path))
        return DAGS_ROOT


# The ServiceAccounts whose pods read or write task logs in the bucket.
s3_consumers = ResolvedAirflow.s3_consumers


def resolve(args: AirflowArgs) -> ResolvedAirflow:
    """Defaults and validation; errors name the field, the value and the fix."""
    check_component_args("AirflowArgs", args, SIZING)
    dags = args.dags
    if isinstance(dags, GitDags):
        if not dags.url.startswith("https://"):
            raise ValueError(f"AirflowArgs.dags.url: {dags.url!r} is not an https:// URL; git-sync clones "
                             "anonymously over HTTPS, give the repository's https:// clone URL")
        path = posixpath.normpath(dags.path)
        if dags.path.startswith("/") or path == ".." or path.startswith("../"):
            raise ValueError(f"AirflowArgs.dags.path: {dags.path!r} must be relative to the repository, e.g. 'dags'")
        if dags.period_seconds < 10:
            raise ValueError(f"AirflowArgs.dags.period_seconds: {dags.period_seconds} is below 10; sync at most "
                             "every 10 seconds")
    elif dags.storage_gib < 1:
        raise ValueError(f"AirflowArgs.dags.storage_gib: {dags.storage_gib} must be at least 1")
    return ResolvedAirflow.of(args, SIZING[args.profile])


def database_env(database_secret: pulumi.Input[str]) -> list[kube.JsonDict]:
    return consumer_env(database_secret, "AIRFLOW_DB", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "psycopg2")


def object_store_connection(endpoint_url: str, region: str) -> str:
    """AIRFLOW_CONN_OBJECT_STORE for in-platform pods: no keys in it. The Amazon provider then
    uses boto3's default credential chain: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the
    environment in-cluster, the IRSA web-identity token on AWS S3 (endpoint_url "")."""
    extra: kube.JsonDict = {"region_name": region}
    if endpoint_url:
        extra["endpoint_url"] = endpoint_url
    return json.dumps({"conn_type": "aws", "extra": extra}, sort_keys=True)


def store_env(store: StoreRef, irsa: bool) -> list[kube.JsonDict]:
    """The object store for the long-lived parts of S3_ACCESS. On IRSA neither key nor endpoint
    variables: AWS S3 needs no endpoint override, and leaving both out (rather than empty) keeps
    every client on its default endpoint and credential chain, not only botocore."""
    keys = [] if irsa else store.key_env()
    endpoint = [] if irsa else [
        {"name": "AWS_ENDPOINT_URL", "value": store.endpoint_url},
        {"name": "MLFLOW_S3_ENDPOINT_URL", "value": store.endpoint_url},
    ]
    return [
        *keys,
        {"name": "AWS_DEFAULT_REGION", "value": store.region},
        # Newer SDKs (and the regional STS call of the web-identity exchange) read AWS_REGION.
        {"name": "AWS_REGION", "value": store.region},
        *endpoint,
        {"name": "AIRFLOW_CONN_OBJECT_STORE",
         "value": pulumi.Output.all(store.endpoint_url, store.region).apply(
             lambda v: object_store_connection(str(v[0]), str(v[1])))},
    ]


def openlineage_transport(url: str) -> str:
    """AIRFLOW__OPENLINEAGE__TRANSPORT: the provider's HTTP transport to the lineage API."""
    return json.dumps({"type": "http", "url": url, "endpoint": "api/v1/lineage"}, sort_keys=True)


def lineage_env(r: ResolvedAirflow) -> list[kube.JsonDict]:
    """Airflow's OpenLineage provider (in the official image's extras) reports every DAG and task
    run, with the datasets its operators declare, to the lineage API."""
    a = r.args
    if a.lineage_url is None:
        return []
    return [{"name": "AIRFLOW__OPENLINEAGE__TRANSPORT",
             "value": pulumi.Output.from_input(a.lineage_url).apply(lambda u: openlineage_transport(str(u)))},
            kube.plain_env("AIRFLOW__OPENLINEAGE__NAMESPACE", a.lineage_namespace)]


def common_env(r: ResolvedAirflow) -> list[kube.JsonDict]:
    """Settings every Airflow process shares (task pods get their own subset)."""
    a = r.args
    return [
        kube.plain_env("AIRFLOW_HOME", AIRFLOW_HOME),
        kube.plain_env("AIRFLOW_CONFIG", CONFIG_FILE),
        kube.plain_env("AIRFLOW__CORE__EXECUTOR", "KubernetesExecutor"),
        kube.plain_env("AIRFLOW__CORE__LOAD_EXAMPLES", "False"),
        kube.plain_env("AIRFLOW__CORE__DAGS_FOLDER", r.dags_folder),
        kube.plain_env("AIRFLOW__CORE__AUTH_MANAGER", SIMPLE_AUTH_MANAGER),
        kube.plain_env("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", f"{ADMIN_USER}:admin"),
        kube.plain_env("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", r.execution_api_url),
        # Every part signs or checks the execution API's task tokens: one shared secret.
        kube.secret_env("AIRFLOW__API_AUTH__JWT_SECRET", r.secret, JWT_SECRET_KEY),
        kube.secret_env("AIRFLOW__API__SECRET_KEY", r.secret, API_SECRET_KEY),
        kube.secret_env("AIRFLOW__CORE__FERNET_KEY", r.secret, FERNET_KEY),
        kube.plain_env("AIRFLOW__KUBERNETES_EXECUTOR__NAMESPACE", a.namespace),
        kube.plain_env("AIRFLOW__KUBERNETES_EXECUTOR__POD_TEMPLATE_FILE", f"{TEMPLATE_DIR}/{TEMPLATE_FILE}"),
        kube.plain_env("AIRFLOW__KUBERNETES_EXECUTOR__WORKER_CONTAINER_REPOSITORY", IMAGE.split(":")[0]),
        kube.plain_env("AIRFLOW__KUBERNETES_EXECUTOR__WORKER_CONTAINER_TAG", IMAGE.split(":")[1]),
        kube.plain_env("AIRFLOW__KUBERNETES_EXECUTOR__DELETE_WORKER_PODS", "True"),
        *logging_env(r),
        *lineage_env(r),
    ]


def logging_env(r: ResolvedAirflow) -> list[kube.JsonDict]:
    # Task pods are deleted when they end: their logs go to the object store.
    return [
        kube.plain_env("AIRFLOW__LOGGING__REMOTE_LOGGING", "True"),
        {"name": "AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER",
         "value": pulumi.Output.concat("s3://", r.args.logs_bucket, "/airflow/logs")},
        kube.plain_env("AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID", "object_store"),
    ]


def _tmp_mounts() -> list[kube.JsonDict]:
    return [{"name": "tmp", "mountPath": "/tmp"}, {"name": "logs", "mountPath": f"{AIRFLOW_HOME}/logs"}]


def _tmp_volumes() -> list[kube.JsonDict]:
    return [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}, {"name": "logs", "emptyDir": {"sizeLimit": "1Gi"}}]


def git_sync_container(r: ResolvedAirflow, one_time: bool) -> kube.JsonDict:
    """git-sync into the `dags` volume: a sidecar (dag-processor) or a one-shot init (task pods)."""
    dags = r.args.dags
    assert isinstance(dags, GitDags)
    args = [f"--repo={dags.url}", f"--ref={dags.ref}", f"--root={DAGS_ROOT}", "--link=repo", "--depth=1"]
    if one_time:
        args.append("--one-time")
    else:
        args += [f"--period={dags.period_seconds}s", f"--http-bind=:{GIT_SYNC_PORT}"]
    c: kube.JsonDict = {
        "name": "git-sync",
        "image": GIT_SYNC_IMAGE,
        "args": args,
        "env": [kube.plain_env("HOME", "/tmp")],
        "resources": r.sizing.git_sync.resources(),
        "securityContext": {**kube.restricted_container_security_context(read_only_root=True),
                            "runAsUser": GIT_SYNC_UID, "runAsGroup": GIT_SYNC_UID},
        "volumeMounts": [{"name": "dags", "mountPath": DAGS_ROOT}, {"name": "git-tmp", "mountPath": "/tmp"}],
    }
    if not one_time:
        c["ports"] = [{"name": "git-sync", "containerPort": GIT_SYNC_PORT, "protocol": "TCP"}]
        # git-sync answers 200 on / while its last sync succeeded (or within the error budget).
        c["readinessProbe"] = kube.http_probe("/", GIT_SYNC_PORT, period=30, failures=3)
        c["livenessProbe"] = kube.http_probe("/", GIT_SYNC_PORT, period=60, failures=5)
    return c


def dags_volume(r: ResolvedAirflow) -> kube.JsonDict:
    if isinstance(r.args.dags, GitDags):
        return {"name": "dags", "emptyDir": {"sizeLimit": "1Gi"}}
    return {"name": "dags", "persistentVolumeClaim": {"claimName": r.dags_pvc}}


def _dags_mount(r: ResolvedAirflow) -> kube.JsonDict:
    # Git DAGs are written by git-sync only; PVC DAGs are written by the team, not by Airflow.
    return {"name": "dags", "mountPath": DAGS_ROOT, "readOnly": True}


def wait_for_migrations(r: ResolvedAirflow) -> kube.JsonDict:
    return {
        "name": "wait-for-migrations",
        "image": IMAGE,
        "command": ["airflow", "db", "check-migrations", "--migration-wait-timeout", "600"],
        "env": [*common_env(r), *database_env(r.args.database_secret)],
        "resources": WAIT_SIZE.resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        "volumeMounts": _tmp_mounts(),
    }


def part_command(part: Part) -> list[str]:
    if part == "api-server":
        # The auth manager opens its password file read-write: write it into the emptyDir.
        script = (f"umask 077; printf '{{\"{ADMIN_USER}\": \"%s\"}}\\n' \"$AIRFLOW_ADMIN_PASSWORD\" "
                  f"> {PASSWORDS_FILE}; exec airflow api-server --port {API_PORT}")
        return ["/bin/bash", "-c", script]
    return ["airflow", part]


def part_probes(part: Part) -> kube.JsonDict:
    if part == "api-server":
        return kube.http_probes("/api/v2/monitor/health", "http", startup=(10, 30), ready_period=15)
    # The CLI takes seconds and a few hundred MiB to start: checks are sparse and patient.
    check = ["airflow", "jobs", "check", "--job-type", JOB_TYPES[part], "--local"]
    return {
        "startupProbe": kube.exec_probe(check, period=30, failures=20, timeout=60),
        "readinessProbe": kube.exec_probe(check, period=60, failures=3, timeout=60),
        "livenessProbe": kube.exec_probe(check, period=120, failures=5, timeout=60),
    }


def part_deployment(r: ResolvedAirflow, part: Part, checksum: pulumi.Input[str] | None = None) -> kube.JsonDict:
    env = [*common_env(r), *database_env(r.args.database_secret)]
    mounts = _tmp_mounts()
    volumes = _tmp_volumes()
    sidecars: list[kube.JsonDict] = []
    if part == "api-server":
        env += [kube.secret_env("AIRFLOW_ADMIN_PASSWORD", r.secret, ADMIN_PASSWORD_KEY),
                kube.plain_env("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", PASSWORDS_FILE),
                kube.plain_env("AIRFLOW__API__WORKERS", "1")]
        mounts.append({"name": "auth", "mountPath": AUTH_DIR})
        volumes.append({"name": "auth", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}})
    if part == "scheduler":
        # The executor reads the task pod template from here.
        mounts.append({"name": "pod-template", "mountPath": TEMPLATE_DIR, "readOnly": True})
        volumes.append({"name": "pod-template", "configMap": {"name": r.template_config}})
    if part == "dag-processor":
        mounts.append(_dags_mount(r))
        volumes.append(dags_volume(r))
        if isinstance(r.args.dags, GitDags):
            sidecars.append(git_sync_container(r, one_time=False))
            volumes.append({"name": "git-tmp", "emptyDir": {"sizeLimit": "64Mi"}})
    if part in S3_ACCESS:
        env += store_env(r.args.store, r.irsa)  # reading (api-server) and writing (triggerer) remote logs
    container: kube.JsonDict = {
        "name": part,
        "image": IMAGE,
        "command": part_command(part),
        "env": env,
        "resources": r.sizing.parts[part].resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        "volumeMounts": mounts,
        **part_probes(part),
    }
    if part == "api-server":
        container["ports"] = [{"name": "http", "containerPort": API_PORT, "protocol": "TCP"}]
    annotations = checksum_annotations(checksum)
    replicas = r.sizing.api_replicas if part == "api-server" else 1
    pod = kube.restricted_pod_spec(
        r.service_account(part), UID, [container, *sidecars], gid=GID,
        # Only the scheduler talks to the Kubernetes API (it launches task pods).
        automount_token=part == "scheduler", init_containers=[wait_for_migrations(r)], volumes=volumes,
        terminationGracePeriodSeconds=60)
    # One scheduler/dag-processor at a time keeps the laptop budget; Recreate avoids two
    # during a rollout (the api-server is stateless and rolls).
    return kube.deployment_spec(r.selector(part), kube.pod_template(r.labels(part), pod, annotations), replicas=replicas,
                           strategy={"type": "RollingUpdate"} if part == "api-server" else kube.RECREATE)


def migrate_job(r: ResolvedAirflow) -> kube.JsonDict:
    """`airflow db migrate`: idempotent, so the Job can run again on every new image."""
    db_check = ["python", "-c", "import os, socket; socket.create_connection("
                "(os.environ['AIRFLOW_DB_HOST'], int(os.environ['AIRFLOW_DB_PORT'])), 3).close()"]
    container: kube.JsonDict = {
        "name": "migrate",
        "image": IMAGE,
        "command": ["airflow", "db", "migrate"],
        "env": [*common_env(r), *database_env(r.args.database_secret)],
        "resources": r.sizing.migrate.resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        "readinessProbe": kube.exec_probe(db_check, period=10, failures=3),
        "livenessProbe": kube.exec_probe(db_check, period=30, failures=6),
        "volumeMounts": _tmp_mounts(),
    }
    pod = kube.restricted_pod_spec(r.service_account("migrate"), UID, [container], gid=GID, volumes=_tmp_volumes(),
                              restartPolicy="Never")
    return kube.job_spec(kube.pod_template(r.labels("migrate"), pod), backoff_limit=6, active_deadline_seconds=1800)


def task_pod_template(r: ResolvedAirflow, store: tuple[str, str, str], mlflow_uri: str, logs_bucket: str,
                      step_env: Sequence[kube.JsonDict] = (), lineage_url: str | None = None) -> kube.JsonDict:
    """The task pod the KubernetesExecutor clones for every task (container `base`).

    `store` is (endpoint_url, region, credentials Secret name), resolved values: the template is
    a file in a ConfigMap. Tasks get MLflow, the object store and the execution API; no
    database credentials and no Kubernetes API token. On IRSA no key variables: the pod's
    ServiceAccount carries the role."""
    endpoint, region, secret = store
    a = r.args
    env = [
        kube.plain_env("AIRFLOW_HOME", AIRFLOW_HOME),
        kube.plain_env("AIRFLOW_CONFIG", CONFIG_FILE),
        kube.plain_env("AIRFLOW__CORE__EXECUTOR", "KubernetesExecutor"),
        kube.plain_env("AIRFLOW__CORE__DAGS_FOLDER", r.dags_folder),
        kube.plain_env("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", r.execution_api_url),
        kube.plain_env("AIRFLOW__LOGGING__REMOTE_LOGGING", "True"),
        kube.plain_env("AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER", f"s3://{logs_bucket}/airflow/logs"),
        kube.plain_env("AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID", "object_store"),
        kube.plain_env("AIRFLOW_CONN_OBJECT_STORE", object_store_connection(endpoint, region)),
        kube.plain_env("MLFLOW_TRACKING_URI", mlflow_uri),
        kube.plain_env("AWS_DEFAULT_REGION", region),
        kube.plain_env("AWS_REGION", region),
    ]
    if lineage_url:
        env += [kube.plain_env("AIRFLOW__OPENLINEAGE__TRANSPORT", openlineage_transport(lineage_url)),
                kube.plain_env("AIRFLOW__OPENLINEAGE__NAMESPACE", a.lineage_namespace)]
    if not r.irsa:
        env += StoreRef(endpoint, region, secret).key_env()
    if endpoint:
        env += [kube.plain_env("AWS_ENDPOINT_URL", endpoint), kube.plain_env("MLFLOW_S3_ENDPOINT_URL", endpoint)]
    env += [dict(e) for e in step_env]
    init: list[kube.JsonDict] = []
    volumes = [*_tmp_volumes(), dags_volume(r)]
    if isinstance(a.dags, GitDags):
        init.append(git_sync_container(r, one_time=True))
        volumes.append({"name": "git-tmp", "emptyDir": {"sizeLimit": "64Mi"}})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "airflow-task", "labels": r.labels("worker")},
        "spec": {
            # No API token: the worker ServiceAccount has automount off (the pod field is left
            # unset so the ConfigMap holds no token-named key). The IRSA webhook mounts its own
            # web-identity token regardless, and this is the ServiceAccount its role trusts.
            "serviceAccountName": r.service_account("worker"),
            "enableServiceLinks": False,
            "restartPolicy": "Never",
            "securityContext": kube.restricted_pod_security_context(UID, GID),
            "initContainers": init,
            "containers": [{
                "name": "base",
                "image": IMAGE,
                "env": env,
                "resources": r.sizing.worker.resources(),
                "securityContext": kube.restricted_container_security_context(read_only_root=True),
                "volumeMounts": [*_tmp_mounts(), _dags_mount(r)],
            }],
            "volumes": volumes,
        },
    }


def scheduler_role_rules() -> list[kube.JsonDict]:
    """What the KubernetesExecutor does in its own namespace: launch, watch, adopt (patch
    labels) and delete task pods, read their logs for the UI, and list events to explain a pod
    that cannot start. No pods/exec: the executor never execs into a task pod."""
    return [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "delete", "get", "list", "patch", "watch"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["list"]},
    ]


def api_service(r: ResolvedAirflow) -> kube.JsonDict:
    return kube.service_spec(r.selector("api-server"), [("http", API_PORT)])


def egress_policy(r: ResolvedAirflow) -> kube.JsonDict:
    """Airflow's pods may open HTTPS (git host, for git-sync) and reach the Kubernetes API
    (kind: :6443; EKS: :443), whose address is not known at render time; nothing else leaves."""
    return kube.egress_policy_spec({"matchLabels": selector_labels(APP, r.args.instance)}, kube.KUBE_API_PORTS)


def dags_pvc(r: ResolvedAirflow) -> kube.JsonDict:
    dags = r.args.dags
    assert isinstance(dags, PvcDags)
    return {"accessModes": [dags.access_mode], "resources": {"requests": {"storage": f"{dags.storage_gib}Gi"}}}


class Airflow(Component[AirflowArgs, ResolvedAirflow], type_token=TYPE_TOKEN, resolve=resolve):
    """Airflow 3 with the KubernetesExecutor; `.api_endpoint`, `.admin_secret`."""

    api_endpoint: str
    admin_secret: str

    def build(self, name: str, args: AirflowArgs, r: ResolvedAirflow, children: Children) -> pulumi.Inputs:
        ns = args.namespace

        meta = kube.Metadata(ns, r.labels)

        passwords = (ADMIN_PASSWORD_KEY, JWT_SECRET_KEY, API_SECRET_KEY)
        if args.credentials == "generated":
            fernet = random.RandomId(f"{name}-fernet", byte_length=32, opts=children())
            secrets_args = GeneratedSecretArgs(
                namespace=ns, secret_name=r.secret, password_keys=passwords,
                # A Fernet key is 32 random bytes, URL-safe base64 with its padding.
                derived={FERNET_KEY: pulumi.Output.secret(pulumi.Output.concat(fernet.b64_url, "="))},
                app_name=APP, instance=args.instance)
        else:
            # The team's Secret holds the Fernet key too (format-checked before deploy).
            secrets_args = GeneratedSecretArgs(
                namespace=ns, secret_name=r.secret, password_keys=(*passwords, FERNET_KEY),
                formats={FERNET_KEY: "fernet"}, app_name=APP, instance=args.instance, source="existing")
        secrets = GeneratedSecret(f"{name}-secrets", secrets_args, children())
        # The accounts in S3_ACCESS wear their IAM roles on AWS S3; the scheduler starts task pods.
        accounts, binding = orchestrator_accounts(name, r, ACCOUNTS, "scheduler", scheduler_role_rules(), children)
        store = args.store
        template = pulumi.Output.all(store.endpoint_url, store.region, store.secret_name,
                                     args.mlflow_tracking_uri, args.logs_bucket,
                                     pulumi.Output.from_input(list(args.step_env)), args.lineage_url).apply(
            lambda v: yaml.safe_dump(task_pod_template(r, (str(v[0]), str(v[1]), str(v[2])), str(v[3]), str(v[4]),
                                                       v[5], str(v[6]) if v[6] else None), sort_keys=False))
        config = k8s.core.v1.ConfigMap(f"{name}-pod-template", metadata=meta(r.template_config, "worker"),
                                       data={TEMPLATE_FILE: template}, opts=children())
        egress = k8s.networking.v1.NetworkPolicy(f"{name}-egress", metadata=kube.with_egress_reason(
            meta(r.egress_policy, "network"), kube.KUBE_API_EGRESS_REASON),
                                                 spec=egress_policy(r), opts=children())
        deps: list[pulumi.Resource] = [secrets, egress]
        if isinstance(args.dags, PvcDags):
            deps.append(k8s.core.v1.PersistentVolumeClaim(
                f"{name}-dags", metadata=meta(r.dags_pvc, "dags"), spec=dags_pvc(r), opts=children.data()))
        k8s.batch.v1.Job(
            f"{name}-migrate", metadata=meta(r.migrate_job, "migrate", annotations={"pulumi.com/replaceUnready": "true"}),
            spec=migrate_job(r), opts=children(accounts["migrate"], *deps))
        checksum = secret_checksum(*secrets.passwords.values())
        svc = k8s.core.v1.Service(f"{name}-api-server-svc", metadata=meta(r.api_service, "api-server"),
                                  spec=api_service(r), opts=children())
        for part in PARTS:
            extra: list[pulumi.Resource] = [accounts[part], *deps]
            if part == "scheduler":
                extra += [binding, config]
            if part == "api-server":
                extra.append(svc)
            k8s.apps.v1.Deployment(f"{name}-{part}", metadata=meta(r.name(part), part),
                                   spec=part_deployment(r, part, checksum), opts=children(*extra))
        self.api_endpoint = service_url(r.api_service, ns, API_PORT)
        self.admin_secret = r.secret
        return {"api_endpoint": self.api_endpoint, "admin_secret": self.admin_secret}


# --- the team's existing Airflow ------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class AirflowConnectionsArgs:
    namespace: str
    instance: str = "airflow-connections"
    mlflow_tracking_uri: str | None
    store: ObjectStoreEndpoint | None
    feast_endpoint: str | None = None
    redis: RedisEndpoint | None = None


def connection_config(args: AirflowConnectionsArgs) -> dict[str, str]:
    """The non-secret half of the bundle: env values an Airflow can take as they are."""
    data: dict[str, str] = {}
    if args.mlflow_tracking_uri:
        data["MLFLOW_TRACKING_URI"] = args.mlflow_tracking_uri
        data["AIRFLOW_CONN_MLFLOW_DEFAULT"] = json.dumps({"conn_type": "http", "host": args.mlflow_tracking_uri})
    if args.feast_endpoint:
        data["FEAST_FEATURE_SERVER_URL"] = args.feast_endpoint
        data["AIRFLOW_CONN_FEAST"] = json.dumps({"conn_type": "http", "host": args.feast_endpoint})
    if args.store is not None and not args.store.static_keys:
        # S3 without keys: the team's Airflow reaches the buckets with its own AWS identity (give
        # its role the bucket names below); the connection only carries the region.
        data["AIRFLOW_CONN_OBJECT_STORE"] = json.dumps(
            {"conn_type": "aws", "extra": {"region_name": args.store.region}}, sort_keys=True)
    if args.store is not None:
        data["AWS_DEFAULT_REGION"] = args.store.region
        if args.store.endpoint_url:
            data["AWS_ENDPOINT_URL"] = args.store.endpoint_url
            data["MLFLOW_S3_ENDPOINT_URL"] = args.store.endpoint_url
        for role, bucket in sorted(args.store.buckets.items()):
            if not role.startswith("extra:"):
                data[f"OMGML_{role.upper()}_BUCKET"] = bucket
    return data


def store_connection_json(access_key: str, secret_key: str, endpoint_url: str, region: str) -> str:
    """AIRFLOW_CONN_OBJECT_STORE with the keys (aws conn type; endpoint_url as an extra)."""
    extra: kube.JsonDict = {"region_name": region}
    if endpoint_url:
        extra["endpoint_url"] = endpoint_url
    return json.dumps({"conn_type": "aws", "login": access_key, "password": secret_key, "extra": extra},
                      sort_keys=True)


def redis_connection_uri(host: str, port: int, password: str, tls: bool) -> str:
    scheme = "rediss" if tls else "redis"
    return f"{scheme}://:{quote(password, safe='')}@{host}:{port}/0"


class AirflowConnections(pulumi.ComponentResource):
    """`airflow-connections` Secret + ConfigMap for an Airflow the team already runs: load them
    with `envFrom` (in-cluster) or copy the values into its secrets backend."""

    secret_name: str
    config_name: str

    def __init__(self, name: str, args: AirflowConnectionsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(CONNECTIONS_TYPE_TOKEN, name, None, opts)
        require_dns_label("AirflowConnectionsArgs.namespace", args.namespace)
        children = Children(self)
        labels = standard_labels(APP, args.instance, "connections")
        self.secret_name = k8s_name(args.instance)
        self.config_name = k8s_name(args.instance)
        k8s.core.v1.ConfigMap(f"{name}-config", metadata={"name": self.config_name, "namespace": args.namespace,
                                                           "labels": labels},
                              data=connection_config(args), opts=children())
        secret: dict[str, pulumi.Input[str]] = {}
        store = args.store
        # The bundle is made of the values themselves: with credentials 'existing' omgml has none
        # (platform_problems refuses that combination).
        missing = ValueError(f"{name}: the connections bundle needs the store keys and the Redis password, "
                             "which omgml does not hold with credentials 'existing'")
        if store is not None and store.static_keys:
            access_key, secret_key = store.access_key, store.secret_key
            if access_key is None or secret_key is None:
                raise missing
            endpoint, region = store.endpoint_url, store.region
            secret["AIRFLOW_CONN_OBJECT_STORE"] = pulumi.Output.all(access_key, secret_key).apply(
                lambda v: store_connection_json(str(v[0]), str(v[1]), endpoint, region))
            secret["AWS_ACCESS_KEY_ID"] = access_key
            secret["AWS_SECRET_ACCESS_KEY"] = secret_key
        redis = args.redis
        if redis is not None:
            if redis.password is None:
                raise missing
            host, port, tls = redis.host, redis.port, redis.tls
            secret["AIRFLOW_CONN_REDIS_DEFAULT"] = redis.password.apply(
                lambda pw: redis_connection_uri(host, port, str(pw), tls))
        if secret:
            k8s.core.v1.Secret(f"{name}-secret", metadata={"name": self.secret_name, "namespace": args.namespace,
                                                           "labels": labels},
                               type="Opaque", string_data={k: pulumi.Output.secret(v) for k, v in secret.items()},
                               opts=children())
        self.register_outputs({"secret_name": self.secret_name, "config_name": self.config_name})

"""Prefect 3: the server (API + UI) and a Kubernetes work-pool worker that runs flows as Jobs.

- Server: the official `prefecthq/prefect` image, `prefect server start`, its database on the
  foundation's Postgres through this consumer's own database and role. The asyncpg URL is
  composed by Kubernetes from secretKeyRef env (`$(VAR)` expansion): no password in a manifest.
  The server migrates its schema at start (PREFECT_API_DATABASE_MIGRATE_ON_START, upstream's
  default), so there is no separate migration Job.
- Worker: the official `-kubernetes` flavour of the same release (Prefect's image build adds
  the prefect-kubernetes package to it); nothing is pip-installed at runtime. Its init container
  creates or updates the work pool with this module's base job template
  (`prefect work-pool create --overwrite`), so every flow-run Job gets the restricted
  securityContext, MLflow and the object store (keys by secretKeyRef, or an IRSA role, below).
- AWS S3 through IRSA (target aws, managed object store): only flow runs open buckets (the
  server keeps result references in its database, the worker only creates Jobs), so
  `s3_consumers` lists the flow-run ServiceAccount alone. With `irsa_role_arns` that account is
  annotated with its IAM role and the base job template carries no key variables, not even
  empty ones (a client that finds them set may sign with them instead of the web-identity
  token). prefect-aws' AwsCredentials without keys, and s3fs, then use boto3's default chain.
- RBAC: one namespaced Role for the worker: Jobs to create and watch, their pods and logs to
  follow, events to explain a pod that cannot start. No ClusterRole.

The image has no USER (root); every pod here runs as an arbitrary non-root uid with
PREFECT_HOME and /tmp on emptyDirs, which is all the server writes (the UI build it
rewrites at start lives under PREFECT_HOME).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml import sizes
from omgml.components.base import Component, check_component_args
from omgml.components.contracts import StoreRef
from omgml.components.options import Children
from omgml.components.orchestration import OrchestratorArgs, ResolvedOrchestrator, orchestrator_accounts
from omgml.components.postgres import consumer_database_url, consumer_env
from omgml.naming import service_url

TYPE_TOKEN = "omgml:orchestration:Prefect"

APP = "prefect"
# The instance the training phase deploys; blueprints pass it to `s3_consumers` before Prefect exists.
DEFAULT_INSTANCE = "prefect"
VERSION = "3.9.1"
SERVER_IMAGE = f"prefecthq/prefect:{VERSION}-python3.12"
# Same release, built by Prefect with EXTRA_PIP_PACKAGES=prefect-kubernetes (the `-kubernetes` flavour).
WORKER_IMAGE = f"prefecthq/prefect:{VERSION}-python3.12-kubernetes"
UID = 10001
PORT = 4200
WORKER_HEALTH_PORT = 8080
PREFECT_HOME = "/var/lib/prefect"
TEMPLATE_DIR = "/etc/prefect"
TEMPLATE_FILE = "base-job-template.json"
DATABASE_URL = consumer_database_url("PREFECT_DB", "asyncpg")

_POOL = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")

# Every ServiceAccount Prefect runs as.
Account = Literal["server", "worker", "flow-run"]
ACCOUNTS: tuple[Account, ...] = ("server", "worker", "flow-run")
# Who opens the object store, and whether it only reads (True): flow runs read and write
# results and artifacts of user code. The server stores only result references; the worker
# creates Jobs and runs no flow code (pull steps run in the flow-run pod).
S3_ACCESS: dict[Account, bool] = {"flow-run": False}


@dataclass(frozen=True)
class PrefectSizing:
    server: kube.Size
    worker: kube.Size
    flow_run: kube.Size  # each flow-run Job's pod


SIZING = sizes.rows("prefect", PrefectSizing)


@dataclass(frozen=True, kw_only=True)
class PrefectArgs(OrchestratorArgs):
    instance: str = DEFAULT_INSTANCE
    work_pool: str = "kubernetes"


@dataclass(frozen=True, kw_only=True)
class ResolvedPrefect(ResolvedOrchestrator[PrefectArgs, PrefectSizing], app=APP, version=VERSION,
                      s3_access=S3_ACCESS):
    @property
    def api_url(self) -> str:
        return service_url(self.name("server"), self.args.namespace, PORT, "/api")


# The ServiceAccounts whose pods read or write the object store.
s3_consumers = ResolvedPrefect.s3_consumers


def resolve(args: PrefectArgs) -> ResolvedPrefect:
    check_component_args("PrefectArgs", args, SIZING)
    if not _POOL.match(args.work_pool):
        raise ValueError(f"PrefectArgs.work_pool: {args.work_pool!r}: use lowercase letters, digits and '-'")
    return ResolvedPrefect.of(args, SIZING[args.profile])


def database_env(database_secret: pulumi.Input[str]) -> list[kube.JsonDict]:
    return consumer_env(database_secret, "PREFECT_DB", "PREFECT_API_DATABASE_CONNECTION_URL", "asyncpg")


def _home() -> tuple[list[kube.JsonDict], list[kube.JsonDict]]:
    mounts = [{"name": "home", "mountPath": PREFECT_HOME}, {"name": "tmp", "mountPath": "/tmp"}]
    volumes = [{"name": "home", "emptyDir": {"sizeLimit": "256Mi"}}, {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}]
    return mounts, volumes


def server_deployment(r: ResolvedPrefect) -> kube.JsonDict:
    mounts, volumes = _home()
    container: kube.JsonDict = {
        "name": "server",
        "image": SERVER_IMAGE,
        "command": ["prefect", "server", "start", "--host", "0.0.0.0", "--port", str(PORT)],
        "env": [
            kube.plain_env("HOME", "/tmp"),
            kube.plain_env("PREFECT_HOME", PREFECT_HOME),
            # The UI runs in the browser, reached through `kubectl port-forward svc/... 4200`.
            kube.plain_env("PREFECT_UI_API_URL", f"http://localhost:{PORT}/api"),
            kube.plain_env("PREFECT_SERVER_ANALYTICS_ENABLED", "false"),
            *database_env(r.args.database_secret),
        ],
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "resources": r.sizing.server.resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        # First start migrates the schema.
        **kube.http_probes("/api/health", "http", startup=(10, 60)),
        "volumeMounts": mounts,
    }
    pod = kube.restricted_pod_spec(r.service_account("server"), UID, [container], volumes=volumes)
    # The server also runs the scheduler services: never two at once.
    return kube.deployment_spec(r.selector("server"), kube.pod_template(r.labels("server"), pod), strategy=kube.RECREATE)


def flow_run_env(store: tuple[str, str, str], mlflow_uri: str, irsa: bool = False,
                 step_env: Sequence[kube.JsonDict] = ()) -> list[kube.JsonDict]:
    """`store` is (endpoint_url, region, key Secret name); on IRSA the keys stay out."""
    endpoint, region, secret = store
    env = [
        kube.plain_env("MLFLOW_TRACKING_URI", mlflow_uri),
        kube.plain_env("AWS_DEFAULT_REGION", region),
        # Newer SDKs (and the regional STS call of the web-identity exchange) read AWS_REGION.
        kube.plain_env("AWS_REGION", region),
        kube.plain_env("HOME", "/tmp"),
    ]
    if not irsa:
        env += StoreRef(endpoint, region, secret).key_env()
    if endpoint:
        env += [kube.plain_env("AWS_ENDPOINT_URL", endpoint), kube.plain_env("MLFLOW_S3_ENDPOINT_URL", endpoint)]
    return env + [dict(e) for e in step_env]


def base_job_template(r: ResolvedPrefect, store: tuple[str, str, str], mlflow_uri: str,
                      step_env: Sequence[kube.JsonDict] = ()) -> kube.JsonDict:
    """The work pool's base job template: Prefect's Kubernetes worker fills the `{{ }}` fields
    per flow run and prepends its own env vars to the fixed env list below."""
    a = r.args
    sizing = r.sizing.flow_run
    job_manifest = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"generateName": "{{ name }}-", "labels": "{{ labels }}", "namespace": "{{ namespace }}"},
        "spec": {
            "backoffLimit": 0,
            "ttlSecondsAfterFinished": "{{ finished_job_ttl }}",
            "template": {
                "metadata": {"labels": r.labels("flow-run")},
                "spec": {
                    # prefect-kubernetes (0.8) refuses a job manifest whose pod spec lacks these two
                    # keys of its own default template ("Job is missing required attributes at
                    # /spec/template/spec/completions, …"): without them every flow run crashes
                    # before its Job is created. The API server drops them from the pod spec.
                    "parallelism": 1,
                    "completions": 1,
                    "restartPolicy": "Never",
                    # No API token: the flow-run ServiceAccount has automount off (the pod
                    # field is left unset so templates stay free of token-named keys). Fixed,
                    # not a job variable: it is the one account whose IRSA role the object
                    # store trusts, and a deployment overriding it would lose the store.
                    "serviceAccountName": r.service_account("flow-run"),
                    "enableServiceLinks": False,
                    "securityContext": kube.restricted_pod_security_context(UID, UID),
                    "containers": [{
                        "name": "prefect-job",
                        "image": "{{ image }}",
                        "imagePullPolicy": "{{ image_pull_policy }}",
                        "args": "{{ command }}",
                        "env": flow_run_env(store, mlflow_uri, r.irsa, step_env),
                        "resources": sizing.resources(),
                        "securityContext": kube.restricted_container_security_context(read_only_root=True),
                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                    }],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}],
                },
            },
        },
    }
    variables: dict[str, Any] = {
        "name": {"type": "string", "title": "Name"},
        "command": {"type": "string", "title": "Command"},
        "labels": {"type": "object", "title": "Labels", "additionalProperties": {"type": "string"}},
        "env": {"type": "object", "title": "Environment Variables", "additionalProperties": {"type": "string"}},
        "namespace": {"type": "string", "title": "Namespace", "default": a.namespace},
        "image": {"type": "string", "title": "Image", "default": SERVER_IMAGE},
        "image_pull_policy": {"type": "string", "title": "Image Pull Policy", "default": "IfNotPresent",
                              "enum": ["IfNotPresent", "Always", "Never"]},
        "finished_job_ttl": {"type": "integer", "title": "Finished Job TTL", "default": 3600},
        "job_watch_timeout_seconds": {"type": "integer", "title": "Job Watch Timeout Seconds"},
        "pod_watch_timeout_seconds": {"type": "integer", "title": "Pod Watch Timeout Seconds", "default": 300},
        "stream_output": {"type": "boolean", "title": "Stream Output", "default": True},
    }
    return {
        "job_configuration": {
            "command": "{{ command }}",
            "env": "{{ env }}",
            "labels": "{{ labels }}",
            "name": "{{ name }}",
            "namespace": "{{ namespace }}",
            "job_manifest": job_manifest,
            "cluster_config": None,
            "job_watch_timeout_seconds": "{{ job_watch_timeout_seconds }}",
            "pod_watch_timeout_seconds": "{{ pod_watch_timeout_seconds }}",
            "stream_output": "{{ stream_output }}",
        },
        "variables": {"type": "object", "properties": variables},
    }


def worker_deployment(r: ResolvedPrefect) -> kube.JsonDict:
    a = r.args
    mounts, volumes = _home()
    mounts.append({"name": "job-template", "mountPath": TEMPLATE_DIR, "readOnly": True})
    volumes.append({"name": "job-template", "configMap": {"name": r.name("job-template")}})
    env = [
        kube.plain_env("HOME", "/tmp"),
        kube.plain_env("PREFECT_HOME", PREFECT_HOME),
        kube.plain_env("PREFECT_API_URL", r.api_url),
        kube.plain_env("PREFECT_WORKER_WEBSERVER_HOST", "0.0.0.0"),
        kube.plain_env("PREFECT_WORKER_WEBSERVER_PORT", str(WORKER_HEALTH_PORT)),
    ]
    pool_script = ('until prefect work-pool create "$POOL" --type kubernetes '
                   f'--base-job-template {TEMPLATE_DIR}/{TEMPLATE_FILE} --overwrite; '
                   'do echo "waiting for $PREFECT_API_URL"; sleep 5; done')
    init: kube.JsonDict = {
        "name": "work-pool",
        "image": WORKER_IMAGE,
        "command": ["/bin/sh", "-c", pool_script],
        "env": [*env, kube.plain_env("POOL", a.work_pool)],
        "resources": r.sizing.worker.resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        "volumeMounts": mounts,
    }
    container: kube.JsonDict = {
        "name": "worker",
        "image": WORKER_IMAGE,
        "command": ["prefect", "worker", "start", "--pool", a.work_pool, "--type", "kubernetes",
                    "--with-healthcheck"],
        "env": env,
        "ports": [{"name": "health", "containerPort": WORKER_HEALTH_PORT, "protocol": "TCP"}],
        "resources": r.sizing.worker.resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        # The health endpoint fails when the worker has not polled the server for a while.
        **kube.http_probes("/health", "health", startup=(10, 30), ready_period=15),
        "volumeMounts": mounts,
    }
    # The worker creates flow-run Jobs through the Kubernetes API.
    pod = kube.restricted_pod_spec(r.service_account("worker"), UID, [container], automount_token=True,
                              init_containers=[init], volumes=volumes)
    return kube.deployment_spec(r.selector("worker"), kube.pod_template(r.labels("worker"), pod), strategy=kube.RECREATE)


def worker_role_rules() -> list[kube.JsonDict]:
    """What prefect-kubernetes' worker does in its namespace: create and watch flow-run Jobs,
    find and follow their pods (stream_output reads pod logs), list events for crash reports,
    and delete a Job when a run is cancelled."""
    return [
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "delete", "get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["list", "watch"]},
    ]


def server_service(r: ResolvedPrefect) -> kube.JsonDict:
    return kube.service_spec(r.selector("server"), [("http", PORT)])


def api_egress_policy(r: ResolvedPrefect) -> kube.JsonDict:
    """The worker reaches the Kubernetes API (kind :6443, EKS :443), whose address is unknown at render time."""
    return kube.egress_policy_spec({"matchLabels": r.selector("worker")}, kube.KUBE_API_PORTS)


class Prefect(Component[PrefectArgs, ResolvedPrefect], type_token=TYPE_TOKEN, resolve=resolve):
    """Prefect server + Kubernetes worker; `.api_url`, `.work_pool`."""

    api_url: str
    work_pool: str

    def build(self, name: str, args: PrefectArgs, r: ResolvedPrefect, children: Children) -> pulumi.Inputs:
        ns = args.namespace

        meta = kube.Metadata(ns, r.labels)

        # The flow-run pods wear their IAM role on AWS S3; the worker starts them as Jobs.
        accounts, binding = orchestrator_accounts(name, r, ACCOUNTS, "worker", worker_role_rules(), children)
        store = args.store
        template = pulumi.Output.all(store.endpoint_url, store.region, store.secret_name,
                                     args.mlflow_tracking_uri, pulumi.Output.from_input(list(args.step_env))).apply(
            lambda v: json.dumps(base_job_template(r, (str(v[0]), str(v[1]), str(v[2])), str(v[3]), v[4]), indent=2))
        config = k8s.core.v1.ConfigMap(f"{name}-job-template", metadata=meta(r.name("job-template"), "worker"),
                                       data={TEMPLATE_FILE: template}, opts=children())
        svc = k8s.core.v1.Service(f"{name}-server-svc", metadata=meta(r.name("server"), "server"),
                                  spec=server_service(r), opts=children())
        server = k8s.apps.v1.Deployment(f"{name}-server", metadata=meta(r.name("server"), "server"),
                                        spec=server_deployment(r), opts=children(accounts["server"], svc))
        egress = k8s.networking.v1.NetworkPolicy(f"{name}-api-egress", metadata=kube.with_egress_reason(meta(r.name("api-egress"), "network"),
                                                                                     kube.KUBE_API_EGRESS_REASON),
                                                 spec=api_egress_policy(r), opts=children())
        k8s.apps.v1.Deployment(f"{name}-worker", metadata=meta(r.name("worker"), "worker"),
                               spec=worker_deployment(r),
                               opts=children(accounts["worker"], accounts["flow-run"], binding, config, egress, server))
        self.api_url = r.api_url
        self.work_pool = args.work_pool
        return {"api_url": self.api_url, "work_pool": self.work_pool}


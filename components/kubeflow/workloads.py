"""Pod templates of the KFP workloads (pure builders: plain dicts, values may be Outputs).

Every pod meets Pod Security "restricted": non-root uid, seccomp RuntimeDefault, no privilege
escalation, all capabilities dropped, read-only root filesystem with an emptyDir /tmp. Each
pod runs as its own ServiceAccount and mounts a token only if it talks to the Kubernetes API.
Service links are off, so the addresses the UI used to take from them are set explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from omgml import k8s as kube
from omgml.components.kubeflow.release import (
    API_GRPC_PORT,
    API_HTTP_PORT,
    API_SERVICE,
    ARGO_CONFIGMAP,
    ARGO_HEALTH_PORT,
    ARGO_METRICS_PORT,
    ARGO_VERSION,
    ARTIFACT_KEY_FORMAT,
    DRIVER_IMAGE,
    EXECUTOR_IMAGE,
    IMAGES,
    KFP_VERSION,
    LAUNCHER_IMAGE,
    METADATA_ENVOY_PORT,
    METADATA_ENVOY_SERVICE,
    METADATA_GRPC_PORT,
    METADATA_GRPC_SERVICE,
    MLMD_DB,
    MLMD_VERSION,
    MYSQL_PORT,
    MYSQL_SECRET,
    MYSQL_SERVICE,
    MYSQL_USER,
    PIPELINE_DB,
    SIZING,
    SWF_METRICS_PORT,
    UI_PORT,
    UI_SECRET,
    UI_SIGNING_KEY,
    WAIT_SIZE,
    WORKLOADS,
    Workload,
)
from omgml.labels import selector_labels, standard_labels
from omgml.spec import Profile

APP = "kubeflow-pipelines"
KFP_UID = 1000  # what the upstream manifests run the KFP images as
ARGO_UID = 8737  # USER of the workflow-controller image
MYSQL_UID = 999  # the mysql user of the official image
TOKEN_DIR = "/var/run/secrets/kubeflow/tokens"
PROMETHEUS_ANNOTATIONS = {"prometheus.io/scrape": "true"}


@dataclass(frozen=True)
class StoreView:
    """The object store as the KFP pods see it (values may be Outputs of the foundation)."""

    url: pulumi.Input[str]  # scheme://host:port
    host: pulumi.Input[str]
    port: pulumi.Input[str]
    secure: pulumi.Input[str]  # "true" / "false"
    region: pulumi.Input[str]
    endpoint_rewrite: pulumi.Input[str]  # config.ui_endpoint_rewrite
    bucket: pulumi.Input[str]
    secret_name: pulumi.Input[str]  # Secret in the KFP namespace with the access key pair
    access_key_key: str
    secret_key_key: str
    # AWS S3 through IRSA: no keys anywhere; each pod's ServiceAccount carries an IAM role and
    # the AWS SDKs find the web-identity token EKS mounts.
    irsa: bool = False


@dataclass(frozen=True)
class KfpPods:
    namespace: str  # where these pods run
    steps_namespace: str  # where workflows, step pods and scheduled runs live
    instance: str
    profile: Profile
    store: StoreView
    restricted_steps: bool = False


def workload(name: str) -> Workload:
    return next(w for w in WORKLOADS if w.name == name)


def version_of(component: str) -> str:
    return {"workflow-controller": ARGO_VERSION, "metadata-grpc": MLMD_VERSION, "mysql": "8.4"}.get(
        component, KFP_VERSION)


def workload_labels(p: KfpPods, w: Workload) -> dict[str, str]:
    return standard_labels(APP, p.instance, w.component, version_of(w.component))


def workload_selector(p: KfpPods, w: Workload) -> dict[str, str]:
    return selector_labels(APP, p.instance, w.component)


def field_env(name: str, path: str) -> kube.JsonDict:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}


def _container(p: KfpPods, w: Workload, **fields: Any) -> kube.JsonDict:
    c: kube.JsonDict = {
        "name": w.component,
        "image": IMAGES[w.component],
        "imagePullPolicy": "IfNotPresent",
        "resources": SIZING[p.profile][w.component].resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
    }
    c.update(fields)
    mounts = list(c.get("volumeMounts", []))
    c["volumeMounts"] = [*mounts, {"name": "tmp", "mountPath": "/tmp"}]
    return c


WAIT_SCRIPT = """\
i=0
until nc -z -w 2 "$WAIT_HOST" "$WAIT_PORT"; do
  i=$((i + 1))
  if [ "$i" -ge 120 ]; then echo "gave up waiting for $WAIT_HOST:$WAIT_PORT"; exit 1; fi
  echo "waiting for $WAIT_HOST:$WAIT_PORT ($i)"
  sleep 5
done
"""


def wait_for(name: str, host: str, port: int) -> kube.JsonDict:
    """Init container that blocks until a TCP service answers (orderly first start)."""
    return {
        "name": f"wait-for-{name}",
        "image": IMAGES["wait"],
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-ec", WAIT_SCRIPT],
        "env": [kube.plain_env("WAIT_HOST", host), kube.plain_env("WAIT_PORT", str(port))],
        "resources": WAIT_SIZE.resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
    }


def kfp_pod_template(p: KfpPods, w: Workload, containers: list[kube.JsonDict], *, uid: int = KFP_UID,
                     init: list[kube.JsonDict] | None = None, volumes: list[kube.JsonDict] | None = None,
                     fs_group: int | None = None, annotations: dict[str, str] | None = None) -> kube.JsonDict:
    spec = kube.restricted_pod_spec(w.service_account, uid, containers, fs_group=fs_group, automount_token=w.needs_api,
                               init_containers=init,
                               volumes=[*(volumes or []), {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}])
    return kube.pod_template(workload_labels(p, w), spec, annotations)


def kfp_deployment(p: KfpPods, w: Workload, template: kube.JsonDict) -> kube.JsonDict:
    return kube.deployment_spec(workload_selector(p, w), template)


def _token_volume(audience_file: str) -> kube.JsonDict:
    # A short-lived token for the API server (audience pipelines.kubeflow.org), as upstream.
    return {"name": "kfp-token", "projected": {"sources": [{"serviceAccountToken": {
        "path": audience_file, "expirationSeconds": 3600, "audience": "pipelines.kubeflow.org"}}]}}


# --- ML Metadata -----------------------------------------------------------------------

def metadata_grpc(p: KfpPods) -> kube.JsonDict:
    w = workload("metadata-grpc-deployment")
    c = _container(
        p, w,
        command=["/bin/metadata_store_server"],
        # The server takes its database password only as a flag ($(VAR) is expanded by the
        # kubelet from the secretKeyRef env, as upstream does); it stays inside this pod.
        args=[
            f"--grpc_port={METADATA_GRPC_PORT}",
            "--mysql_config_database=$(MYSQL_DATABASE)",
            "--mysql_config_host=$(MYSQL_HOST)",
            "--mysql_config_port=$(MYSQL_PORT)",
            "--mysql_config_user=$(DBCONFIG_USER)",
            "--mysql_config_password=$(DBCONFIG_PASSWORD)",
            "--enable_database_upgrade=true",
            "--grpc_channel_arguments=grpc.max_metadata_size=16384,grpc.max_receive_message_length=104857600,"
            "grpc.max_send_message_length=104857600",
        ],
        env=[
            kube.plain_env("MYSQL_DATABASE", MLMD_DB),
            kube.plain_env("MYSQL_HOST", MYSQL_SERVICE),
            kube.plain_env("MYSQL_PORT", str(MYSQL_PORT)),
            kube.plain_env("DBCONFIG_USER", MYSQL_USER),
            kube.secret_env("DBCONFIG_PASSWORD", MYSQL_SECRET, "password"),
        ],
        ports=[{"name": "grpc-api", "containerPort": METADATA_GRPC_PORT}],
        readinessProbe=kube.tcp_probe("grpc-api", period=5, delay=3),
        livenessProbe=kube.tcp_probe("grpc-api", period=10, delay=15),
    )
    tmpl = kfp_pod_template(p, w, [c], init=[wait_for("database", MYSQL_SERVICE, MYSQL_PORT)])
    return kfp_deployment(p, w, tmpl)


def metadata_envoy(p: KfpPods, config_map: str) -> kube.JsonDict:
    w = workload("metadata-envoy-deployment")
    c = _container(
        p, w,
        # The image's entrypoint is `envoy -c`; no hot restart, so no shared-memory files.
        args=["/etc/envoy/envoy.yaml", "--disable-hot-restart"],
        ports=[{"name": "grpc-web", "containerPort": METADATA_ENVOY_PORT}],
        volumeMounts=[{"name": "config", "mountPath": "/etc/envoy", "readOnly": True}],
        # The admin interface is loopback-only (see config.envoy_config), so the
        # listener itself is probed.
        readinessProbe=kube.tcp_probe("grpc-web", period=5, delay=2),
        livenessProbe=kube.tcp_probe("grpc-web", period=10, delay=10),
    )
    volumes = [{"name": "config", "configMap": {"name": config_map}}]
    return kfp_deployment(p, w, kfp_pod_template(p, w, [c], volumes=volumes))


# --- Argo -------------------------------------------------------------------------------

def workflow_controller(p: KfpPods, priority_class: str) -> kube.JsonDict:
    w = workload("workflow-controller")
    c = _container(
        p, w,
        command=["workflow-controller"],
        args=["--configmap", ARGO_CONFIGMAP, "--executor-image", EXECUTOR_IMAGE,
              # One namespace, so Roles suffice: configuration and leader lease in its own,
              # workflows and their pods in the steps namespace.
              "--namespaced", "--managed-namespace", p.steps_namespace],
        env=[
            field_env("LEADER_ELECTION_IDENTITY", "metadata.name"),
            # KFP's pattern: node shutdowns and spot reclaims are retried as transient.
            kube.plain_env("TRANSIENT_ERROR_PATTERN",
                      "(?i)(imminent node shutdown|node is shutting down|preempt|evict|spot|pod deleted)"),
        ],
        ports=[{"name": "metrics", "containerPort": ARGO_METRICS_PORT},
               {"name": "healthz", "containerPort": ARGO_HEALTH_PORT}],
        startupProbe=kube.http_probe("/healthz", "healthz", period=5, failures=30),
        readinessProbe=kube.http_probe("/healthz", "healthz", period=10),
        # Upstream: three failures a minute apart, tolerating transient API errors.
        livenessProbe=kube.http_probe("/healthz", "healthz", period=60, failures=3, timeout=30),
    )
    tmpl = kfp_pod_template(p, w, [c], uid=ARGO_UID)
    tmpl["spec"]["priorityClassName"] = priority_class
    tmpl["spec"]["nodeSelector"] = {"kubernetes.io/os": "linux"}
    return kfp_deployment(p, w, tmpl)


# --- KFP backend ------------------------------------------------------------------------

def _store_env(s: StoreView) -> list[kube.JsonDict]:
    if s.irsa:
        # Empty, not absent: the image's /config/config.json sets ObjectStoreConfig.AccessKey and
        # SecretAccessKey to minio/minio123, and only a variable that is present overrides them
        # (main.go initConfig: viper AllowEmptyEnv(true)). With both empty, client_manager.go
        # loadAWSConfig adds no static provider, so the SDK's default chain takes the web identity.
        keys = [kube.plain_env("OBJECTSTORECONFIG_ACCESSKEY", ""), kube.plain_env("OBJECTSTORECONFIG_SECRETACCESSKEY", "")]
    else:
        keys = [kube.secret_env("OBJECTSTORECONFIG_ACCESSKEY", s.secret_name, s.access_key_key),
                kube.secret_env("OBJECTSTORECONFIG_SECRETACCESSKEY", s.secret_name, s.secret_key_key)]
    return [
        # The API server accepts a full URL as host (client_manager.go ensureProtocol).
        {"name": "OBJECTSTORECONFIG_HOST", "value": s.url},
        {"name": "OBJECTSTORECONFIG_SECURE", "value": s.secure},
        {"name": "OBJECTSTORECONFIG_REGION", "value": s.region},
        {"name": "OBJECTSTORECONFIG_BUCKETNAME", "value": s.bucket},
        *keys,
    ]


def _step_security_env(restricted: bool) -> list[kube.JsonDict]:
    """KFP 2.17 compiles every step with no-escalation/drop-ALL/seccomp; these add a non-root
    uid so step pods meet "restricted" too (the namespace then enforces it)."""
    if not restricted:
        return []
    return [
        kube.plain_env("DEFAULT_SECURITY_CONTEXT_RUN_AS_USER", str(KFP_UID)),
        kube.plain_env("DEFAULT_SECURITY_CONTEXT_RUN_AS_GROUP", str(KFP_UID)),
        kube.plain_env("DEFAULT_SECURITY_CONTEXT_RUN_AS_NON_ROOT", "true"),
    ]


def api_server(p: KfpPods) -> kube.JsonDict:
    w = workload("ml-pipeline")
    health = "/apis/v1beta1/healthz"
    env = [
        # Where single-user KFP submits workflows and scheduled runs, reads step logs and
        # kfp-launcher; the compiler also derives the driver's service addresses from it
        # (`ml-pipeline.<ns>.svc`, `metadata-grpc-service.<ns>.svc`), which the ExternalName
        # Services of the steps namespace resolve back to this namespace.
        kube.plain_env("POD_NAMESPACE", p.steps_namespace),
        kube.plain_env("LOG_LEVEL", "info"),
        kube.plain_env("PIPELINE_LOG_LEVEL", "1"),
        kube.plain_env("PUBLISH_LOGS", "true"),
        kube.plain_env("AUTO_UPDATE_PIPELINE_DEFAULT_VERSION", "true"),
        kube.plain_env("CLUSTER_DOMAIN", "cluster.local"),
        kube.plain_env("DBCONFIG_CONMAXLIFETIME", "120s"),
        kube.plain_env("DBCONFIG_MYSQLCONFIG_HOST", MYSQL_SERVICE),
        kube.plain_env("DBCONFIG_MYSQLCONFIG_PORT", str(MYSQL_PORT)),
        kube.plain_env("DBCONFIG_MYSQLCONFIG_DBNAME", PIPELINE_DB),
        kube.plain_env("DBCONFIG_MYSQLCONFIG_USER", MYSQL_USER),
        kube.secret_env("DBCONFIG_MYSQLCONFIG_PASSWORD", MYSQL_SECRET, "password"),
        *_store_env(p.store),
        kube.plain_env("V2_DRIVER_IMAGE", DRIVER_IMAGE),
        kube.plain_env("V2_LAUNCHER_IMAGE", LAUNCHER_IMAGE),
        kube.plain_env("COMPILED_PIPELINE_SPEC_PATCH", "{}"),
        *_step_security_env(p.restricted_steps),
    ]
    c = _container(
        p, w,
        env=env,
        ports=[{"name": "http", "containerPort": API_HTTP_PORT}, {"name": "grpc", "containerPort": API_GRPC_PORT}],
        # Up to a minute for database migrations before liveness takes over (upstream).
        startupProbe=kube.http_probe(health, "http", period=5, failures=12, timeout=2),
        readinessProbe=kube.http_probe(health, "http", period=5, timeout=2),
        livenessProbe=kube.http_probe(health, "http", period=10, timeout=2),
    )
    init = [wait_for("database", MYSQL_SERVICE, MYSQL_PORT),
            wait_for("metadata-grpc", METADATA_GRPC_SERVICE, METADATA_GRPC_PORT)]
    annotations = {**PROMETHEUS_ANNOTATIONS, "prometheus.io/port": str(API_HTTP_PORT)}
    return kfp_deployment(p, w, kfp_pod_template(p, w, [c], init=init, annotations=annotations))


def persistence_agent(p: KfpPods) -> kube.JsonDict:
    w = workload("ml-pipeline-persistenceagent")
    token = "persistenceagent-sa-token"
    # No health endpoint (backend/src/agent/persistence/main.go serves nothing): the probe
    # checks the agent process runs and its API-server token is mounted, the two things it
    # cannot work without. Its calls to the API server retry on their own.
    alive = ["/bin/sh", "-c", f"pgrep persistence_agent >/dev/null && test -s {TOKEN_DIR}/{token}"]
    c = _container(
        p, w,
        env=[
            kube.plain_env("NAMESPACE", p.steps_namespace),  # workflows to report
            kube.plain_env("TTL_SECONDS_AFTER_WORKFLOW_FINISH", "86400"),
            kube.plain_env("NUM_WORKERS", "2"),
            kube.plain_env("LOG_LEVEL", "info"),
        ],
        volumeMounts=[{"name": "kfp-token", "mountPath": TOKEN_DIR, "readOnly": True}],
        readinessProbe=kube.exec_probe(alive, period=10, delay=5),
        livenessProbe=kube.exec_probe(alive, period=30, delay=30),
    )
    tmpl = kfp_pod_template(p, w, [c], init=[wait_for("ml-pipeline", API_SERVICE, API_HTTP_PORT)],
                        volumes=[_token_volume(token)])
    return kfp_deployment(p, w, tmpl)


def scheduled_workflow(p: KfpPods) -> kube.JsonDict:
    w = workload("ml-pipeline-scheduledworkflow")
    token = "scheduledworkflow-sa-token"
    c = _container(
        p, w,
        env=[
            kube.plain_env("NAMESPACE", p.steps_namespace),  # ScheduledWorkflows to run
            kube.plain_env("METRICS_PORT", str(SWF_METRICS_PORT)),
            kube.plain_env("CLIENT_QPS", "10"),
            kube.plain_env("CLIENT_BURST", "20"),
            kube.plain_env("RESYNC_INTERVAL_SECONDS", "30"),
            kube.plain_env("LOG_LEVEL", "info"),
            kube.plain_env("CRON_SCHEDULE_TIMEZONE", "UTC"),
        ],
        ports=[{"name": "metrics", "containerPort": SWF_METRICS_PORT}],
        volumeMounts=[{"name": "kfp-token", "mountPath": TOKEN_DIR, "readOnly": True}],
        # Its only HTTP endpoint is /metrics (crd/controller/scheduledworkflow/main.go).
        readinessProbe=kube.http_probe("/metrics", "metrics", period=10, delay=5),
        livenessProbe=kube.http_probe("/metrics", "metrics", period=30, delay=30),
    )
    tmpl = kfp_pod_template(p, w, [c], init=[wait_for("ml-pipeline", API_SERVICE, API_HTTP_PORT)],
                        volumes=[_token_volume(token)])
    return kfp_deployment(p, w, tmpl)


def _archive_env(artifactory: str, s: StoreView) -> list[kube.JsonDict]:
    """Where the UI server reads archived logs: the client kind (`s3` or `minio`), the bucket,
    and Argo's key layout (the same as the workflow controller's, or the logs are not found)."""
    return [
        kube.plain_env("ARGO_ARCHIVE_ARTIFACTORY", artifactory),
        {"name": "ARGO_ARCHIVE_BUCKETNAME", "value": s.bucket},
        kube.plain_env("ARGO_KEYFORMAT", ARTIFACT_KEY_FORMAT),
    ]


def _ui_store_env(s: StoreView) -> list[kube.JsonDict]:
    """How the UI server reads artifacts and archived logs (frontend/server, KFP 2.17.0)."""
    if s.irsa:
        # No key variables: the "s3" client (configs.ts `aws`) then has no keys, and
        # minio-helper.ts createMinioClient takes the AWS SDK's node provider chain (web
        # identity included) — only for an AWS endpoint (aws-helper.ts isAWSS3Endpoint), hence
        # AWS_S3_ENDPOINT. Artifact previews of s3:// roots use that client (their session info
        # says fromEnv). Archived logs are first read through the workflow's repository with
        # `MINIO_ACCESS_KEY || 'minio'` (workflow-helper.ts: always static keys, so AWS answers
        # 403), then through the ARGO_ARCHIVE_ARTIFACTORY client, which "s3" makes the keyless one.
        return [
            *_archive_env("s3", s),
            {"name": "AWS_S3_ENDPOINT", "value": s.host},
            {"name": "AWS_SSL", "value": s.secure},
            {"name": "AWS_REGION", "value": s.region},
        ]
    # Static keys (the in-cluster store). Three clients in the 2.17.0 server, all reaching the
    # store with the Secret's keys:
    # - "s3" (configs.ts `aws`): s3:// artifacts requested without usable provider info —
    #   download links (ArtifactPreview.tsx passes none) and any request naming another
    #   namespace than the server's (handlers/artifacts.ts then drops the provider info). Its
    #   endpoint defaults to s3.amazonaws.com, hence AWS_S3_ENDPOINT/AWS_SSL, and it has no
    #   port, hence MINIO_ENDPOINT_REWRITE.
    # - provider info (previews, visualizations): endpoint and SSL come from the session info,
    #   the keys from the Secret it names, read in this namespace (kubeflow_rbac
    #   ui_store_secret_rules).
    # - "minio": archived logs (ARGO_ARCHIVE_ARTIFACTORY); an empty MINIO_NAMESPACE keeps the
    #   host as is. Logs found through the workflow status use the MINIO_* keys too.
    return [
        *_archive_env("minio", s),
        {"name": "MINIO_HOST", "value": s.host},
        {"name": "MINIO_PORT", "value": s.port},
        {"name": "MINIO_SSL", "value": s.secure},
        kube.plain_env("MINIO_NAMESPACE", ""),
        kube.secret_env("MINIO_ACCESS_KEY", s.secret_name, s.access_key_key),
        kube.secret_env("MINIO_SECRET_KEY", s.secret_name, s.secret_key_key),
        {"name": "AWS_S3_ENDPOINT", "value": s.host},
        {"name": "AWS_SSL", "value": s.secure},
        {"name": "MINIO_ENDPOINT_REWRITE", "value": s.endpoint_rewrite},
        kube.secret_env("AWS_ACCESS_KEY_ID", s.secret_name, s.access_key_key),
        kube.secret_env("AWS_SECRET_ACCESS_KEY", s.secret_name, s.secret_key_key),
        {"name": "AWS_REGION", "value": s.region},
    ]


def ui(p: KfpPods) -> kube.JsonDict:
    w = workload("ml-pipeline-ui")
    env = [
        # frontend/server/configs.ts reads these; Kubernetes service links would have set the
        # *_SERVICE_HOST/PORT ones, but service links are off.
        kube.plain_env("ML_PIPELINE_SERVICE_HOST", f"{API_SERVICE}.{p.namespace}.svc.cluster.local"),
        kube.plain_env("ML_PIPELINE_SERVICE_PORT", str(API_HTTP_PORT)),
        kube.plain_env("METADATA_ENVOY_SERVICE_SERVICE_HOST", f"{METADATA_ENVOY_SERVICE}.{p.namespace}.svc.cluster.local"),
        kube.plain_env("METADATA_ENVOY_SERVICE_SERVICE_PORT", str(METADATA_ENVOY_PORT)),
        field_env("FRONTEND_SERVER_NAMESPACE", "metadata.namespace"),
        kube.plain_env("DISABLE_GKE_METADATA", "true"),
        kube.plain_env("ALLOW_CUSTOM_VISUALIZATIONS", "false"),
        kube.plain_env("ARTIFACTS_SERVICE_PROXY_ENABLED", "false"),
        # The TensorBoard proxy signs its paths with this. Upstream's default is MINIO_SECRET_KEY,
        # or "minio123" without it (so on IRSA anyone could forge a path); a store key should not
        # double as an HMAC key anyway.
        kube.secret_env("TENSORBOARD_PROXY_SIGNING_SECRET", UI_SECRET, UI_SIGNING_KEY),
        # Archived step logs: where Argo writes them (same bucket and key layout).
        kube.plain_env("ARGO_ARCHIVE_LOGS", "true"),
        *_ui_store_env(p.store),
    ]
    c = _container(
        p, w,
        env=env,
        ports=[{"name": "http", "containerPort": UI_PORT}],
        # The healthz path proxies to the API server: fine for readiness (no backend, no
        # traffic), wrong for liveness (restarting the UI would not fix the API server).
        readinessProbe=kube.http_probe("/apis/v1beta1/healthz", "http", period=5, delay=3, timeout=2),
        livenessProbe=kube.tcp_probe("http", period=10, delay=10),
    )
    return kfp_deployment(p, w, kfp_pod_template(p, w, [c]))


# --- MySQL ------------------------------------------------------------------------------

MYSQL_MOUNT = "/var/lib/mysql"
# A subdirectory: an ext4 volume's root holds lost+found, which mysqld refuses as a data dir.
MYSQL_DATA_DIR = f"{MYSQL_MOUNT}/data"


def mysql_statefulset(p: KfpPods, pvc: str, init_config_map: str, args: list[str]) -> kube.JsonDict:
    w = workload("mysql")
    ping = ["mysqladmin", "ping", "--host=127.0.0.1", "--silent"]
    c = _container(
        p, w,
        args=args,
        env=[
            kube.secret_env("MYSQL_ROOT_PASSWORD", MYSQL_SECRET, "root_password"),
            # root only from inside the pod; KFP uses its own user.
            kube.plain_env("MYSQL_ROOT_HOST", "localhost"),
            kube.plain_env("MYSQL_DATABASE", PIPELINE_DB),
            kube.plain_env("MYSQL_USER", MYSQL_USER),
            kube.secret_env("MYSQL_PASSWORD", MYSQL_SECRET, "password"),
        ],
        ports=[{"name": "mysql", "containerPort": MYSQL_PORT}],
        volumeMounts=[
            {"name": "data", "mountPath": MYSQL_MOUNT},
            {"name": "initdb", "mountPath": "/docker-entrypoint-initdb.d", "readOnly": True},
            {"name": "run", "mountPath": "/var/run/mysqld"},
        ],
        # First start initialises the data directory with networking off: allow 5 minutes.
        startupProbe=kube.tcp_probe("mysql", period=5, failures=60),
        # `mysqladmin ping` exits 0 whenever the server answers, even "access denied".
        readinessProbe=kube.exec_probe(ping, period=10, timeout=5),
        livenessProbe=kube.tcp_probe("mysql", period=20, failures=3),
    )
    volumes = [
        {"name": "data", "persistentVolumeClaim": {"claimName": pvc}},
        {"name": "initdb", "configMap": {"name": init_config_map}},
        {"name": "run", "emptyDir": {"sizeLimit": "16Mi"}},
    ]
    tmpl = kfp_pod_template(p, w, [c], uid=MYSQL_UID, fs_group=MYSQL_UID, volumes=volumes)
    return kube.statefulset_spec(workload_selector(p, w), MYSQL_SERVICE, tmpl)

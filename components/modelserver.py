"""Model servers with one contract: Triton, TorchServe and TF Serving.

Every server gets the same shape: its model repository on the platform's object store, an
HTTP(S) health contract (readiness, liveness and a generous startup probe), a named Prometheus
metrics port that is also annotated on the pod, a HorizontalPodAutoscaler on CPU, a
PodDisruptionBudget, and GPU scheduling (the pool's node selector and toleration, plus an
`nvidia.com/gpu` limit where the cluster really has GPUs).

How each server reaches the object store differs, for reasons in upstream code:
- Triton reads `s3://` repositories itself, including S3-compatible endpoints
  (`s3://host:port/bucket/path`, `s3://https://host:port/...` for TLS), with credentials from
  AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; on AWS S3 through IRSA those are left out and
  the AWS C++ SDK's default chain takes the web-identity token (users report it working on EKS,
  triton-inference-server/server#8090; Triton only passes explicit keys when they are set).
- TorchServe only loads archives from a local model store (or HTTP URLs through the management
  API), so an init container syncs the bucket into an emptyDir first.
- TF Serving images since 2.7 no longer include the S3 filesystem ("File system scheme 's3' not
  implemented", tensorflow/serving#1963, still open), so it gets the same sync; in poll mode a
  sidecar keeps syncing and TF Serving's own file-system polling picks new versions up.
The sync uses the official AWS CLI image, pinned (no package installs at runtime).

`model_server_for(kind)` maps the spec's `server.kind` to the component class.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal
from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml import sizes
from omgml.components.base import Component, require_between
from omgml.components.contracts import S3Consumer, StoreRef
from omgml.components.gpupool import GPU_RESOURCE, gpu_node_selector, gpu_tolerations
from omgml.components.options import Children
from omgml.labels import model_version_labels, selector_labels, standard_labels
from omgml.naming import k8s_name
from omgml.spec.common import Profile, per_profile
from omgml.spec.serving import check_server_scaling
from omgml.spec.training import GpuPoolSpec

ServerKind = Literal["triton", "torchserve", "tf-serving"]
ControlMode = Literal["none", "poll", "explicit"]
SERVER_KINDS: tuple[ServerKind, ...] = ("triton", "torchserve", "tf-serving")

# --- pinned images -------------------------------------------------------------------------
TRITON_VERSION = "26.07"  # Triton 2.71.0, the NGC monthly container
TRITON_IMAGE = f"nvcr.io/nvidia/tritonserver:{TRITON_VERSION}-py3"
# 0.12.0 is TorchServe's last release; upstream is in "limited maintenance" (no planned fixes).
TORCHSERVE_VERSION = "0.12.0"
TORCHSERVE_IMAGES = {"cpu": f"pytorch/torchserve:{TORCHSERVE_VERSION}-cpu",
                     "gpu": f"pytorch/torchserve:{TORCHSERVE_VERSION}-gpu"}
TFSERVING_VERSION = "2.18.0"
TFSERVING_IMAGES = {"cpu": f"tensorflow/serving:{TFSERVING_VERSION}",
                    "gpu": f"tensorflow/serving:{TFSERVING_VERSION}-gpu"}
SYNC_IMAGE = "amazon/aws-cli:2.32.8"
TFSERVING_METRICS_PATH = "/monitoring/prometheus/metrics"

# The images run as an unprivileged user; 1000 owns nothing we rely on, every writable path
# is an emptyDir, so the exact uid inside the image does not matter.
SERVER_UID = 1000
MODELS_DIR = "/models"
POLL_SECONDS = 30
# The poll-mode sync loop (a native sidecar) stamps this file after every round; its probes read it.
SYNC_HEARTBEAT = "/tmp/model-sync.heartbeat"
# A round that neither finishes nor fails for this long is stuck (the AWS CLI retries and times
# out on its own well before; big model versions take minutes, not half an hour).
SYNC_STALL_SECONDS = 1800
# Time for the server to come up after the container starts (model download + load): the
# startup probe allows this long before liveness takes over.
STARTUP_SECONDS = 600
STARTUP_PERIOD = 10

SERVER_SIZES = sizes.container("model-server")
# An A/B variant loads one version of one model: on a laptop it asks for less than a server
# of the whole repository (the limit stays, a big model still fits).
VARIANT_SIZES: dict[Profile, kube.Size] = {**SERVER_SIZES, "laptop": kube.Size("100m", "512Mi", "2", "2Gi")}
SYNC_SIZE = kube.Size("50m", "64Mi", "500m", "256Mi")
# Shared memory for Triton's Python backend and large batches (a memory-backed emptyDir).
SHM_SIZES = per_profile(laptop="256Mi", small="1Gi", production="2Gi")


@dataclass(frozen=True)
class ModelVariant:
    """One version of one model, held alone by a server (an A/B variant, omgml.spec.experiments):
    the server's repository is that model's `config.pbtxt` (when there is one) and `<version>/`
    directory only, synced from the bucket, so the server's default policy (the latest version)
    serves exactly it."""

    model: str
    version: int


@dataclass(frozen=True)
class ModelServerArgs:
    namespace: str
    instance: str
    kind: ServerKind
    # The object store (endpoint "" = AWS S3) with its key Secret in `namespace`, and the bucket
    # with the model repository.
    store: StoreRef
    bucket: pulumi.Input[str]
    replicas: int = 1
    max_replicas: int = 3
    model_control_mode: ControlMode = "poll"
    profile: Profile = "laptop"
    repository_prefix: str = ""
    models: tuple[str, ...] = ()
    gpu: bool = False
    gpu_pool: GpuPoolSpec | None = None
    # False on a local cluster without a GPU: keep the pool's selector and toleration (so the
    # scheduling rules are exercised) but drop the nvidia.com/gpu limit nothing advertises.
    gpu_available: bool = False
    gpu_count: int = 1
    # A ConfigMap in `namespace` whose keys become env vars of the server (online features).
    features_configmap: str | None = None
    # Further env entries, e.g. a secretKeyRef to the Redis password for online features.
    extra_env: tuple[kube.JsonDict, ...] = ()
    target_cpu_utilization: int = 70
    # Triton only, where prometheus-adapter serves Triton's queue time as a custom metric: the
    # HPA keeps the average queue time per request under this many microseconds instead of
    # watching CPU (a GPU server can be saturated with idle CPUs). None: CPU.
    queue_target_us: int | None = None
    # IRSA role on AWS S3 (endpoint_url ""): annotates the server's ServiceAccount, which every
    # container that reads the model repository (server, sync init/sidecar) runs as.
    irsa_role_arn: pulumi.Input[str] | None = None
    # An A/B variant: the server holds this one model version (see ModelVariant).
    variant: ModelVariant | None = None


@dataclass(frozen=True)
class ResolvedModelServer:
    """Validated args plus the decisions derived from them."""

    args: ModelServerArgs
    name: str  # Deployment, Service, HPA, PDB, ConfigMap and ServiceAccount name
    size: kube.Size
    on_gpu_pool: bool  # selector + toleration of the GPU pool
    gpu_limit: int  # nvidia.com/gpu per pod, 0 when the cluster has none to give


@dataclass(frozen=True)
class Port:
    name: str
    number: int


@dataclass(frozen=True)
class ServerLayout:
    """What differs between servers; the Deployment around it is shared."""

    app: str  # app.kubernetes.io/name
    version: str
    image: str
    ports: tuple[Port, ...]
    metrics_port: str  # name of the port that serves Prometheus metrics
    metrics_path: str
    command: tuple[pulumi.Input[str], ...]
    env: tuple[kube.JsonDict, ...]
    readiness: kube.JsonDict
    liveness: kube.JsonDict
    startup: kube.JsonDict
    volume_mounts: tuple[kube.JsonDict, ...]
    volumes: tuple[kube.JsonDict, ...]
    init_containers: tuple[kube.JsonDict, ...] = ()
    config_files: dict[str, str] = field(default_factory=dict)

    def port(self, name: str) -> int:
        for p in self.ports:
            if p.name == name:
                return p.number
        raise KeyError(f"no port named {name!r}; ports are {[p.name for p in self.ports]}")


def resolve_model_server(args: ModelServerArgs) -> ResolvedModelServer:
    """Defaults and validation; every error names the field, the value and the fix."""
    if args.kind not in SERVER_KINDS:
        raise ValueError(f"server kind {args.kind!r} is unknown; use one of {list(SERVER_KINDS)}")
    check_server_scaling(args.kind, args.replicas, args.max_replicas, args.model_control_mode)
    if args.gpu and args.gpu_pool is None:
        raise ValueError(
            "gpu=True needs gpu_pool (the pool to schedule on); set phases.serving.server.gpu_pool "
            "or add a GPU pool to phases.training.gpu_pools / phases.serving.gpu_pools"
        )
    require_between("ModelServerArgs.target_cpu_utilization", args.target_cpu_utilization, 1, 100,
                    "percent of the CPU request")
    if args.gpu_count < 1:
        raise ValueError(f"gpu_count={args.gpu_count} must be ≥ 1")
    if args.queue_target_us is not None and (args.kind != "triton" or args.queue_target_us < 1):
        raise ValueError(f"queue_target_us={args.queue_target_us} (server {args.kind}): queue-time scaling needs "
                         "Triton's queue metrics and a positive target; leave it unset for CPU scaling")
    if args.variant is not None:
        if args.kind == "torchserve":
            raise ValueError("ModelServerArgs.variant: TorchServe keeps versions inside .mar archives, so a variant "
                             "cannot hold one version directory; use kind triton or tf-serving")
        if args.variant.version < 1:
            raise ValueError(f"ModelServerArgs.variant.version: {args.variant.version} is not a version number (≥ 1)")
    name = (variant_server_name(args.instance, args.kind, args.variant.model, args.variant.version)
            if args.variant is not None else server_name(args.instance, args.kind))
    gpu_limit = args.gpu_count if (args.gpu and args.gpu_available) else 0
    sizes = VARIANT_SIZES if args.variant is not None else SERVER_SIZES
    return ResolvedModelServer(args, name, sizes[args.profile], args.gpu, gpu_limit)


def layout_app_name(kind: ServerKind) -> str:
    return {"triton": "triton", "torchserve": "torchserve", "tf-serving": "tf-serving"}[kind]


def server_name(instance: str, kind: ServerKind) -> str:
    """Name of the server's Deployment and Service (pure: Prometheus' targets need it)."""
    return k8s_name(instance, layout_app_name(kind))


def variant_server_name(instance: str, kind: ServerKind, model: str, version: int) -> str:
    """Name of an A/B variant's Deployment and Service (pure: the router's backends need it)."""
    return k8s_name(instance, layout_app_name(kind), model, f"v{version}")


def server_selector(r: ResolvedModelServer, app: str) -> dict[str, str]:
    """The selector of the server's pods; a variant's adds its model and version."""
    v = r.args.variant
    if v is None:
        return selector_labels(app, r.args.instance, "model-server")
    return {**selector_labels(app, r.args.instance, "model-variant"), **model_version_labels(v.model, v.version)}


def server_labels(r: ResolvedModelServer, layout: ServerLayout) -> dict[str, str]:
    v = r.args.variant
    if v is None:
        return standard_labels(layout.app, r.args.instance, "model-server", layout.version)
    return {**standard_labels(layout.app, r.args.instance, "model-variant", layout.version),
            **model_version_labels(v.model, v.version)}


def s3_consumers(namespace: str, instance: str, kind: ServerKind, bucket_role: str) -> tuple[S3Consumer, ...]:
    """The server's pods (model sync included) run as its own ServiceAccount and only read models."""
    return (S3Consumer(name="model-server", namespace=namespace, service_account=server_name(instance, kind),
                       bucket_roles=(bucket_role,), read_only=True),)


def variant_s3_consumer(namespace: str, instance: str, kind: ServerKind, variant: ModelVariant,
                        bucket_role: str) -> S3Consumer:
    """An A/B variant's pods read the models bucket as the variant's own ServiceAccount."""
    sa = variant_server_name(instance, kind, variant.model, variant.version)
    return S3Consumer(name=f"model-variant-{sa}", namespace=namespace, service_account=sa,
                      bucket_roles=(bucket_role,), read_only=True)


@dataclass(frozen=True)
class MetricsEndpoint:
    port_name: str  # the Service/container port name
    port: int
    path: str


def metrics_endpoint(kind: ServerKind) -> MetricsEndpoint:
    """Where each server serves Prometheus metrics (the layouts below agree; a test checks)."""
    return {
        "triton": MetricsEndpoint("metrics", 8002, "/metrics"),
        "torchserve": MetricsEndpoint("metrics", 8082, "/metrics"),
        "tf-serving": MetricsEndpoint("http", 8501, TFSERVING_METRICS_PATH),
    }[kind]


# --- object-store paths ----------------------------------------------------------------------
def _prefix(prefix: str) -> str:
    return prefix.strip("/")


def triton_repository_uri(endpoint_url: str, bucket: str, prefix: str = "") -> str:
    """Triton's `--model-repository` for a bucket: `s3://bucket/path` on AWS S3,
    `s3://host:port/bucket/path` for an S3-compatible endpoint over HTTP and
    `s3://https://host:port/bucket/path` over TLS (Triton wants the port spelled out)."""
    path = "/".join(p for p in (bucket, _prefix(prefix)) if p)
    if not endpoint_url:
        return f"s3://{path}"
    parts = urlsplit(endpoint_url if "://" in endpoint_url else f"http://{endpoint_url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"object store endpoint {endpoint_url!r} is not an http(s) URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    scheme = "https://" if parts.scheme == "https" else ""
    return f"s3://{scheme}{parts.hostname}:{port}/{path}"


def sync_script(loop_seconds: int | None = None) -> str:
    """Shell for the AWS CLI container: mirror the model repository into MODELS_DIR.

    The endpoint flag is only passed for S3-compatible stores (empty S3_ENDPOINT_URL = AWS S3).
    With `loop_seconds` it keeps mirroring (the poll-mode sidecar), and a failed round is
    retried instead of ending the container."""
    sync = ('aws s3 sync "s3://${MODELS_BUCKET}/${MODELS_PREFIX}" ' + MODELS_DIR
            + ' --only-show-errors --delete "$@"')
    head = 'set --\nif [ -n "${S3_ENDPOINT_URL:-}" ]; then set -- --endpoint-url "$S3_ENDPOINT_URL"; fi\n'
    if loop_seconds is None:
        return head + sync + "\n"
    return (head + "while true; do\n  " + sync + ' || echo "model sync failed; retrying" >&2\n'
            + f"  date +%s > {SYNC_HEARTBEAT}\n"
            + f"  sleep {loop_seconds}\ndone\n")


def variant_sync_script() -> str:
    """Shell for an A/B variant's sync: only VARIANT_MODEL's config.pbtxt and VARIANT_VERSION/
    directory, then a refusal naming the experiment when the version is not in the bucket."""
    source = 's3://${MODELS_BUCKET}/${MODELS_PREFIX:+$MODELS_PREFIX/}${VARIANT_MODEL}'
    return (
        'set --\nif [ -n "${S3_ENDPOINT_URL:-}" ]; then set -- --endpoint-url "$S3_ENDPOINT_URL"; fi\n'
        f'aws s3 sync "{source}" "{MODELS_DIR}/${{VARIANT_MODEL}}" --only-show-errors --exclude "*" '
        '--include config.pbtxt --include "${VARIANT_VERSION}/*" "$@"\n'
        f'if [ -z "$(ls -A "{MODELS_DIR}/${{VARIANT_MODEL}}/${{VARIANT_VERSION}}" 2>/dev/null)" ]; then\n'
        f'  echo "model ${{VARIANT_MODEL}} version ${{VARIANT_VERSION}} is not in {source}/${{VARIANT_VERSION}}/: '
        'upload it, or fix the version in phases.serving.experiments" >&2\n'
        "  exit 1\n"
        "fi\n"
    )


def sync_loop_probes() -> tuple[kube.JsonDict, kube.JsonDict]:
    """(readiness, liveness) of the sync loop: it runs for the pod's whole life, so it is
    probed like any container. Ready once a round has ended; alive while rounds keep ending."""
    ready = kube.exec_probe(["/bin/sh", "-c", f"test -s {SYNC_HEARTBEAT}"], period=10)
    age = f'$(( $(date +%s) - $(cat {SYNC_HEARTBEAT}) ))'
    alive = kube.exec_probe(["/bin/sh", "-c", f"test {age} -lt {SYNC_STALL_SECONDS}"], period=60, failures=3)
    return ready, alive


def store_env(r: ResolvedModelServer) -> list[kube.JsonDict]:
    """Credentials (by secretKeyRef only) and region of the object store.

    On IRSA the key variables are left out: their Secret holds empty values there, and a client
    that finds the variables set (even empty) may sign with them instead of falling through to
    the web-identity token the pod-identity webhook mounts."""
    a = r.args
    keys = [] if a.irsa_role_arn is not None else a.store.key_env()
    return [
        *keys,
        {"name": "AWS_DEFAULT_REGION", "value": a.store.region},
        {"name": "AWS_REGION", "value": a.store.region},
    ]


def sync_container(r: ResolvedModelServer, name: str, loop_seconds: int | None) -> kube.JsonDict:
    a = r.args
    variant_env: list[kube.JsonDict] = []
    script = sync_script(loop_seconds)
    if a.variant is not None:
        # A variant's version directory never changes: one sync at start, no loop.
        script = variant_sync_script()
        variant_env = [kube.plain_env("VARIANT_MODEL", a.variant.model),
                       kube.plain_env("VARIANT_VERSION", str(a.variant.version))]
    container: kube.JsonDict = {
        "name": name,
        "image": SYNC_IMAGE,
        "command": ["/bin/sh", "-ec", script],
        "env": [
            *variant_env,
            *store_env(r),
            {"name": "S3_ENDPOINT_URL", "value": a.store.endpoint_url},
            {"name": "MODELS_BUCKET", "value": a.bucket},
            kube.plain_env("MODELS_PREFIX", _prefix(a.repository_prefix)),
            # The CLI keeps a cache under $HOME; the root filesystem is read-only.
            kube.plain_env("HOME", "/tmp"),
            # AWS CLI ≥ 2.23 adds CRC checksums by default, which S3-compatible stores do not all
            # implement; ask for them only where S3 requires them.
            kube.plain_env("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required"),
            kube.plain_env("AWS_RESPONSE_CHECKSUM_VALIDATION", "when_required"),
        ],
        "resources": SYNC_SIZE.resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        "volumeMounts": [{"name": "models", "mountPath": MODELS_DIR},
                         {"name": "tmp", "mountPath": "/tmp"}],
    }
    if loop_seconds is not None and a.variant is None:
        # A native sidecar (an init container that keeps running): it starts before the server
        # and stops after it; `restartPolicy: Always` is what makes it one.
        container["restartPolicy"] = "Always"
        container["readinessProbe"], container["livenessProbe"] = sync_loop_probes()
    return container


# --- the three layouts -------------------------------------------------------------------------
def triton_args(r: ResolvedModelServer, repository: pulumi.Input[str]) -> list[pulumi.Input[str]]:
    a = r.args
    repo_arg: pulumi.Input[str] = (f"--model-repository={repository}" if isinstance(repository, str)
                                   else pulumi.Output.concat("--model-repository=", repository))
    args: list[pulumi.Input[str]] = [
        "tritonserver",
        repo_arg,
        f"--model-control-mode={a.model_control_mode}",
        "--http-port=8000",
        "--grpc-port=8001",
        "--metrics-port=8002",
        "--allow-metrics=true",
    ]
    if a.variant is not None:
        # The synced repository holds one model at one version: load exactly it.
        args[2] = "--model-control-mode=explicit"
        args.append(f"--load-model={a.variant.model}")
    elif a.model_control_mode == "poll":
        args.append(f"--repository-poll-secs={POLL_SECONDS}")
    elif a.model_control_mode == "explicit":
        args.extend(f"--load-model={m}" for m in a.models)
    if r.gpu_limit == 0:
        args.append("--allow-gpu-metrics=false")
    return args


def _triton(r: ResolvedModelServer, repository: pulumi.Input[str], *, env: tuple[kube.JsonDict, ...],
            readiness: kube.JsonDict, models_mount: kube.JsonDict,
            init_containers: tuple[kube.JsonDict, ...] = ()) -> ServerLayout:
    """Triton serving `repository`: what a whole-repository server and an A/B variant share (ports,
    liveness, the models/tmp/shared-memory volumes)."""
    return ServerLayout(
        app="triton",
        version=TRITON_VERSION,
        image=TRITON_IMAGE,
        ports=(Port("http", 8000), Port("grpc", 8001), Port("metrics", 8002)),
        metrics_port="metrics",
        metrics_path="/metrics",
        command=tuple(triton_args(r, repository)),
        env=env,
        readiness=readiness,
        liveness=kube.http_probe("/v2/health/live", "http", period=10, failures=3),
        startup=kube.http_probe("/v2/health/live", "http", period=STARTUP_PERIOD,
                                failures=STARTUP_SECONDS // STARTUP_PERIOD),
        volume_mounts=(
            models_mount,
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "dshm", "mountPath": "/dev/shm"},
        ),
        volumes=(
            {"name": "models", "emptyDir": {}},
            {"name": "tmp", "emptyDir": {}},
            {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": SHM_SIZES[r.args.profile]}},
        ),
        init_containers=init_containers,
    )


def triton_layout(r: ResolvedModelServer, repository: pulumi.Input[str]) -> ServerLayout:
    if r.args.variant is not None:
        return triton_variant_layout(r)
    return _triton(
        r, repository,
        env=(
            *store_env(r),
            # Where Triton downloads an s3:// repository; an emptyDir (read-only root).
            kube.plain_env("TRITON_AWS_MOUNT_DIRECTORY", "/var/lib/triton/models"),
        ),
        readiness=kube.http_probe("/v2/health/ready", "http", period=5),
        models_mount={"name": "models", "mountPath": "/var/lib/triton/models"},
    )


def triton_variant_layout(r: ResolvedModelServer) -> ServerLayout:
    """An A/B variant: the sync init container copies the one version into MODELS_DIR, which
    Triton serves as a local repository (no S3 credentials in the server container)."""
    assert r.args.variant is not None
    return _triton(
        r, MODELS_DIR, env=(),
        # Ready when the variant's model is: the router's health check asks the same.
        readiness=kube.http_probe(f"/v2/models/{r.args.variant.model}/ready", "http", period=5),
        models_mount={"name": "models", "mountPath": MODELS_DIR, "readOnly": True},
        init_containers=(sync_container(r, "model-sync", None),),
    )


def torchserve_config(r: ResolvedModelServer) -> str:
    """config.properties. Token authorization and the model API are set on the command line,
    so the file carries no security switch a reader could mistake for a credential."""
    lines = [
        "inference_address=http://0.0.0.0:8080",
        "management_address=http://0.0.0.0:8081",
        "metrics_address=http://0.0.0.0:8082",
        f"model_store={MODELS_DIR}",
        "metrics_mode=prometheus",
        "enable_metrics_api=true",
        # Never pip-install a model's requirements at runtime.
        "install_py_dep_per_model=false",
        "default_workers_per_model=1" if r.args.profile == "laptop" else "",
    ]
    return "\n".join(line for line in lines if line) + "\n"


def synced_model_volumes(r: ResolvedModelServer, config_dir: str) -> dict[str, tuple[kube.JsonDict, ...]]:
    """The volumes of a server that reads a synced local model store (TorchServe, TF Serving):
    the models the sync writes, scratch, and the server's config files (its ConfigMap)."""
    return {
        "volume_mounts": (
            {"name": "models", "mountPath": MODELS_DIR},
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "config", "mountPath": config_dir, "readOnly": True},
        ),
        "volumes": (
            {"name": "models", "emptyDir": {}},
            {"name": "tmp", "emptyDir": {}},
            {"name": "config", "configMap": {"name": r.name}},
        ),
    }


def torchserve_layout(r: ResolvedModelServer) -> ServerLayout:
    a = r.args
    command: list[str] = [
        "torchserve", "--start", "--foreground", "--ncs",
        "--ts-config", "/etc/torchserve/config.properties",
        "--model-store", MODELS_DIR,
        # TorchServe's token files expire hourly and live in the pod; access is limited by the
        # namespace's NetworkPolicies instead.
        "--disable-token-auth",
    ]
    if a.model_control_mode == "none":
        command += ["--models", *(f"{m}={m}.mar" for m in a.models)] if a.models else ["--models", "all"]
    else:  # explicit: models are registered through the management API (port 8081)
        command.append("--model-api-enabled")
    return ServerLayout(
        app="torchserve",
        version=TORCHSERVE_VERSION,
        image=TORCHSERVE_IMAGES["gpu" if r.gpu_limit else "cpu"],
        ports=(Port("http", 8080), Port("management", 8081), Port("metrics", 8082)),
        metrics_port="metrics",
        metrics_path="/metrics",
        command=tuple(command),
        env=(
            kube.plain_env("HOME", "/tmp"),
            kube.plain_env("TEMP", "/tmp"),
            kube.plain_env("LOG_LOCATION", "/tmp/logs"),
            kube.plain_env("METRICS_LOCATION", "/tmp/logs"),
        ),
        # /ping is 200 only when every model has its workers: the right readiness signal, but
        # too strict for liveness (one failing model would restart the server in a loop).
        readiness=kube.http_probe("/ping", "http", period=5),
        liveness=kube.http_probe("/metrics", "metrics", period=10, failures=3),
        startup=kube.tcp_probe("http", period=STARTUP_PERIOD, failures=STARTUP_SECONDS // STARTUP_PERIOD),
        **synced_model_volumes(r, "/etc/torchserve"),
        init_containers=(sync_container(r, "model-sync", None),),
        config_files={"config.properties": torchserve_config(r)},
    )


def tfserving_models(r: ResolvedModelServer) -> tuple[str, ...]:
    # TF Serving must be told what it serves; "model" is the official image's default name.
    if r.args.variant is not None:
        return (r.args.variant.model,)
    return r.args.models or ("model",)


def tfserving_model_config(models: Sequence[str]) -> str:
    """The ModelServerConfig text proto: one entry per model, under the synced MODELS_DIR."""
    entries = "".join(
        "  config {\n"
        f'    name: "{m}"\n'
        f'    base_path: "{MODELS_DIR}/{m}"\n'
        '    model_platform: "tensorflow"\n'
        "  }\n"
        for m in models
    )
    return "model_config_list {\n" + entries + "}\n"


def tfserving_monitoring_config() -> str:
    return f'prometheus_config {{\n  enable: true\n  path: "{TFSERVING_METRICS_PATH}"\n}}\n'


def tfserving_layout(r: ResolvedModelServer) -> ServerLayout:
    a = r.args
    models = tfserving_models(r)
    # A variant's one version directory never changes: nothing to poll for.
    poll = a.model_control_mode == "poll" and a.variant is None
    command = [
        "tensorflow_model_server",
        "--port=8500",
        "--rest_api_port=8501",
        "--model_config_file=/etc/tfserving/models.config",
        "--monitoring_config_file=/etc/tfserving/monitoring.config",
        # How often TF Serving looks for new versions on its (synced) file system.
        f"--file_system_poll_wait_seconds={POLL_SECONDS if poll else 0}",
    ]
    init = [sync_container(r, "model-sync", None)]
    if poll:
        init.append(sync_container(r, "model-sync-loop", POLL_SECONDS))
    return ServerLayout(
        app="tf-serving",
        version=TFSERVING_VERSION,
        image=TFSERVING_IMAGES["gpu" if r.gpu_limit else "cpu"],
        ports=(Port("http", 8501), Port("grpc", 8500)),
        # TF Serving serves its metrics on the REST port.
        metrics_port="http",
        metrics_path=TFSERVING_METRICS_PATH,
        command=tuple(command),
        env=(kube.plain_env("HOME", "/tmp"),),
        readiness=kube.http_probe(f"/v1/models/{models[0]}", "http", period=5),
        liveness=kube.http_probe(TFSERVING_METRICS_PATH, "http", period=10, failures=3),
        startup=kube.tcp_probe("grpc", period=STARTUP_PERIOD, failures=STARTUP_SECONDS // STARTUP_PERIOD),
        **synced_model_volumes(r, "/etc/tfserving"),
        init_containers=tuple(init),
        config_files={"models.config": tfserving_model_config(models),
                      "monitoring.config": tfserving_monitoring_config()},
    )


# --- the shared workload ---------------------------------------------------------------------
def config_checksum(files: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]


def metrics_annotations(layout: ServerLayout) -> dict[str, str]:
    """The prometheus.io/* convention, for any Prometheus that discovers annotated pods."""
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(layout.port(layout.metrics_port)),
        "prometheus.io/path": layout.metrics_path,
    }


def server_container(r: ResolvedModelServer, layout: ServerLayout) -> kube.JsonDict:
    a = r.args
    resources = r.size.resources()
    if r.gpu_limit:
        # gpupool.gpu_resources decides the same from a whole PlatformSpec; the server only gets
        # `gpu_available`, already folded into r.gpu_limit. Extended resources need only a limit.
        resources["limits"][GPU_RESOURCE] = str(r.gpu_limit)
    container: kube.JsonDict = {
        "name": layout.app,
        "image": layout.image,
        "command": list(layout.command),
        "ports": [{"name": p.name, "containerPort": p.number, "protocol": "TCP"} for p in layout.ports],
        "env": [*layout.env, *a.extra_env],
        "resources": resources,
        "readinessProbe": layout.readiness,
        "livenessProbe": layout.liveness,
        "startupProbe": layout.startup,
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        "volumeMounts": list(layout.volume_mounts),
    }
    if a.features_configmap:
        container["envFrom"] = [{"configMapRef": {"name": a.features_configmap}}]
    return container


def model_server_pod_spec(r: ResolvedModelServer, layout: ServerLayout) -> kube.JsonDict:
    a = r.args
    spec = kube.restricted_pod_spec(r.name, SERVER_UID, [server_container(r, layout)], fs_group=SERVER_UID,
                               init_containers=list(layout.init_containers), volumes=list(layout.volumes),
                               terminationGracePeriodSeconds=30)
    if r.on_gpu_pool and a.gpu_pool is not None:
        spec["nodeSelector"] = gpu_node_selector(a.gpu_pool)
        spec["tolerations"] = gpu_tolerations([a.gpu_pool])
    if a.replicas > 1:
        # Spread replicas over nodes when the cluster has several; never block scheduling.
        spec["topologySpreadConstraints"] = [{
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": server_selector(r, layout.app)},
        }]
    return spec


def model_server_deployment(r: ResolvedModelServer, layout: ServerLayout) -> kube.JsonDict:
    a = r.args
    annotations = metrics_annotations(layout)
    if layout.config_files:
        annotations["omgml.dev/config-checksum"] = config_checksum(layout.config_files)
    # A GPU node usually has no spare GPU for a surge pod: replace in place there instead.
    strategy = ({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}} if r.gpu_limit
                else kube.SURGE_ONE)
    return kube.deployment_spec(server_selector(r, layout.app),
                           kube.pod_template(server_labels(r, layout),
                                        model_server_pod_spec(r, layout), annotations),
                           replicas=a.replicas, strategy=strategy)


def model_server_service(r: ResolvedModelServer, layout: ServerLayout) -> kube.JsonDict:
    return kube.service_spec(server_selector(r, layout.app),
                        [(p.name, p.number) for p in layout.ports])


# The custom metric prometheus-adapter serves (components/prometheus/adapter.py).
QUEUE_METRIC = "triton_queue_time_per_request_us"


def model_server_hpa(r: ResolvedModelServer) -> kube.JsonDict:
    a = r.args
    metric: kube.JsonDict = {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": a.target_cpu_utilization}},
    }
    if a.queue_target_us is not None:
        metric = {"type": "Pods", "pods": {"metric": {"name": QUEUE_METRIC},
                                            "target": {"type": "AverageValue", "averageValue": str(a.queue_target_us)}}}
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": r.name},
        "minReplicas": a.replicas,
        "maxReplicas": a.max_replicas,
        "metrics": [metric],
    }


def model_server_pdb(r: ResolvedModelServer, layout: ServerLayout) -> kube.JsonDict:
    return kube.pdb_spec(server_selector(r, layout.app))


# --- components ------------------------------------------------------------------------------
class ModelServer(Component[ModelServerArgs, ResolvedModelServer], resolve=resolve_model_server):
    """The shared wiring; the subclasses fix the type token and the layout."""

    KIND: ClassVar[ServerKind]

    service_name: pulumi.Output[str]
    deployment_name: str
    # The server pods' labels and their readiness path (what a route outside the cluster needs).
    selector: dict[str, str]
    health_path: str
    metrics_port: str
    metrics_port_number: int
    metrics_path: str
    http_port: int

    def build(self, name: str, args: ModelServerArgs, r: ResolvedModelServer, children: Children) -> pulumi.Inputs:
        if args.kind != self.KIND:
            raise ValueError(f"{type(self).__name__} serves kind {self.KIND!r}, got args.kind={args.kind!r}; "
                             f"use model_server_for({args.kind!r})")
        layout = self.layout(r)
        labels = server_labels(r, layout)
        meta = kube.metadata(r.name, args.namespace, labels)

        sa = k8s.core.v1.ServiceAccount(
            f"{name}-sa", metadata=kube.service_account_metadata(r.name, args.namespace, labels, args.irsa_role_arn),
            automount_service_account_token=False, opts=children())
        deps: list[pulumi.Resource] = [sa]
        if layout.config_files:
            deps.append(k8s.core.v1.ConfigMap(f"{name}-config", metadata=meta, data=layout.config_files,
                                              opts=children()))
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=meta,
            spec=model_server_deployment(r, layout),
            # The HPA owns the replica count once it runs; an update must not reset it.
            opts=children(*deps, ignore_changes=["spec.replicas"]),
        )
        service = k8s.core.v1.Service(f"{name}-service", metadata=meta, spec=model_server_service(r, layout),
                                      opts=children())
        k8s.autoscaling.v2.HorizontalPodAutoscaler(f"{name}-hpa", metadata=meta, spec=model_server_hpa(r),
                                                   opts=children(deployment))
        k8s.policy.v1.PodDisruptionBudget(f"{name}-pdb", metadata=meta, spec=model_server_pdb(r, layout),
                                          opts=children())
        self.service_name = service.metadata.apply(lambda m: m["name"] if isinstance(m, dict) else m.name)
        self.deployment_name = r.name
        self.selector = selector_labels(layout.app, args.instance, "model-server")
        self.health_path = str(layout.readiness["httpGet"]["path"])
        self.metrics_port = layout.metrics_port
        self.metrics_port_number = layout.port(layout.metrics_port)
        self.metrics_path = layout.metrics_path
        self.http_port = layout.port("http")
        return {"service_name": self.service_name}

    def layout(self, r: ResolvedModelServer) -> ServerLayout:
        """Ports, image, command and volumes of the concrete server (each subclass defines it)."""
        raise NotImplementedError(f"{type(self).__name__} must define layout()")


class Triton(ModelServer, type_token="omgml:serving:Triton"):
    KIND = "triton"

    def layout(self, r: ResolvedModelServer) -> ServerLayout:
        a = r.args
        prefix = a.repository_prefix
        repository = pulumi.Output.all(a.store.endpoint_url, a.bucket).apply(
            lambda v: triton_repository_uri(str(v[0] or ""), str(v[1]), prefix))
        return triton_layout(r, repository)


class TorchServe(ModelServer, type_token="omgml:serving:TorchServe"):
    KIND = "torchserve"

    def layout(self, r: ResolvedModelServer) -> ServerLayout:
        return torchserve_layout(r)


class TfServing(ModelServer, type_token="omgml:serving:TfServing"):
    KIND = "tf-serving"

    def layout(self, r: ResolvedModelServer) -> ServerLayout:
        return tfserving_layout(r)


_SERVERS: dict[str, type[ModelServer]] = {"triton": Triton, "torchserve": TorchServe, "tf-serving": TfServing}


def model_server_for(kind: str) -> type[ModelServer]:
    """The component class for the spec's `phases.serving.server.kind`."""
    try:
        return _SERVERS[kind]
    except KeyError:
        raise ValueError(
            f"phases.serving.server.kind: {kind!r} is not a model server omgml deploys; "
            f"use one of {sorted(_SERVERS)}"
        ) from None


__all__ = [
    "SERVER_KINDS", "MetricsEndpoint", "ModelServer", "ModelServerArgs", "ModelVariant", "ResolvedModelServer", "ServerLayout", "TfServing",
    "TorchServe", "Triton", "metrics_endpoint", "model_server_for", "resolve_model_server",
    "server_name", "triton_repository_uri", "variant_server_name",
]

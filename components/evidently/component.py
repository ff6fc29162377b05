"""Evidently: the UI service (workspace on a PVC) and a drift-monitoring CronJob.

Image: the official `evidently/evidently-service` image, tagged with the release version
without a leading "v" (evidently's release workflow strips it from the git tag). Its entrypoint
is `evidently ui --host 0.0.0.0`; the write secret comes from EVIDENTLY_SECRET, which the
service reads when `--secret` is not given, so it never appears in the pod spec.

The drift job runs the same image, whose evidently install brings pandas and pyarrow: its
program is drift_job.py of this package (a real module, linted, typed and tested), shipped
verbatim in a ConfigMap with the job_runtime.py it imports beside it. It reads the datasets with pyarrow's S3 filesystem, which takes the
key Secret's env in-cluster and the IRSA web identity on AWS S3; nothing is installed at run
time. Each run computes an Evidently DataDriftPreset report, pushes the drift numbers to the
Pushgateway (the "drift detected" alert reads them) and uploads the snapshot to the UI.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

import pulumi
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml import sizes
from omgml.components import job_runtime
from omgml.components.base import Component
from omgml.components.contracts import S3Consumer, StoreRef, check_dataset_path, is_s3_dataset
from omgml.components.credentials import GeneratedSecret, GeneratedSecretArgs
from omgml.components.evidently import drift_job
from omgml.components.options import Children
from omgml.cron import check_schedule
from omgml.labels import selector_labels, standard_labels
from omgml.naming import k8s_name
from omgml.spec.common import CredentialSource, Profile

TYPE_TOKEN = "omgml:observability:Evidently"

VERSION = "0.7.23"
IMAGE = f"evidently/evidently-service:{VERSION}"
UI_PORT = 8000
WORKSPACE = "/app/workspace"  # the image's WORKDIR is /app
SCRIPT_DIR = "/opt/omgml"
SCRIPT_NAME = "drift_job.py"  # this package's module of that name, as the pod runs it
SECRET_KEY = "EVIDENTLY_SECRET"
UID = 1000  # the image has no USER; any non-root uid works, writable paths are volumes

UI_SIZES = sizes.container("evidently-ui")
JOB_SIZES = sizes.container("evidently-drift-job")


@dataclass(frozen=True)
class EvidentlyArgs:
    namespace: str
    instance: str
    # s3://bucket/prefix, or a prefix inside `default_bucket`.
    reference_path: str
    current_path: str
    # The object store (endpoint "" = AWS S3) and its key Secret in `namespace`.
    store: StoreRef
    # The bucket relative dataset paths live in (the platform's features bucket).
    default_bucket: pulumi.Input[str] | None = None
    # Where drift numbers go; None disables the push (the alert then has nothing to read).
    pushgateway_url: str | None = None
    schedule: str = "0 * * * *"
    profile: Profile = "laptop"
    storage_gib: int = 5
    project: str = "model-drift"
    drift_share: float = 0.5
    dataset_format: str = "parquet"
    # IRSA role for the drift job (AWS S3): annotates the job's ServiceAccount; the job's S3
    # client then takes the pod's web identity (no key variables are set).
    irsa_role_arn: pulumi.Input[str] | None = None
    credentials: CredentialSource = "generated"


@dataclass(frozen=True)
class ResolvedEvidently:
    args: EvidentlyArgs
    name: str  # UI Deployment/Service/PVC
    secret_name: str  # write secret
    job_name: str  # CronJob
    script_configmap: str
    ui_url: str


def evidently_name(instance: str) -> str:
    return k8s_name(instance, "evidently")


def drift_job_name(instance: str) -> str:
    """The drift CronJob and the ServiceAccount it runs as (the one its IRSA role trusts)."""
    return k8s_name(evidently_name(instance), "drift")


def dataset_buckets(*paths: str) -> list[str]:
    """Buckets named by full s3://bucket/prefix dataset paths (relative ones name none)."""
    return sorted({p.removeprefix("s3://").split("/", 1)[0] for p in paths if is_s3_dataset(p)})


def s3_consumers(namespace: str, instance: str, bucket_roles: tuple[str, ...]) -> tuple[S3Consumer, ...]:
    """Only the drift job reads datasets; the UI keeps its snapshots on its own volume."""
    return (S3Consumer(name="evidently-drift", namespace=namespace, service_account=drift_job_name(instance),
                       bucket_roles=bucket_roles, read_only=True),)


def resolve_evidently(args: EvidentlyArgs) -> ResolvedEvidently:
    check_schedule("phases.serving.evidently.schedule", args.schedule)
    for field_name in ("reference_path", "current_path"):
        check_dataset_path(f"phases.serving.evidently.{field_name}", getattr(args, field_name),
                           has_bucket=args.default_bucket is not None)
    if args.reference_path.rstrip("/") == args.current_path.rstrip("/"):
        raise ValueError("phases.serving.evidently: reference_path and current_path are the same location; "
                         "drift between a dataset and itself is always zero")
    if args.dataset_format not in ("parquet", "csv"):
        raise ValueError(f"phases.serving.evidently.dataset_format: {args.dataset_format!r}; use parquet or csv")
    if not 0 < args.drift_share <= 1:
        raise ValueError(f"phases.serving.evidently.drift_share: {args.drift_share} must be in (0, 1]")
    name = evidently_name(args.instance)
    return ResolvedEvidently(
        args=args,
        name=name,
        secret_name=k8s_name(name, "write"),
        job_name=drift_job_name(args.instance),
        script_configmap=k8s_name(name, "drift-script"),
        ui_url=f"http://{name}.{args.namespace}.svc:{UI_PORT}",
    )


def dataset_url(path: str, bucket: str) -> str:
    """A spec dataset path as s3://bucket/prefix (relative paths live in `bucket`)."""
    if path.startswith("s3://"):
        return path
    return f"s3://{bucket}/{path.lstrip('/')}"


def _dataset_env(env_name: str, path: str, bucket: pulumi.Input[str] | None) -> kube.JsonDict:
    if path.startswith("s3://") or bucket is None:
        return kube.plain_env(env_name, path)
    if isinstance(bucket, str):
        return kube.plain_env(env_name, dataset_url(path, bucket))
    value = pulumi.Output.concat(bucket).apply(lambda b: dataset_url(path, b))
    return {"name": env_name, "value": value}


def drift_job_script() -> str:
    """The drift job's source (drift_job.py of this package, read from the installed package),
    mounted from a ConfigMap; configuration comes from env."""
    return resources.files(__package__).joinpath(SCRIPT_NAME).read_text(encoding="utf-8")


def script_checksum(script: str) -> str:
    return hashlib.sha256(script.encode()).hexdigest()[:16]


def _labels(r: ResolvedEvidently, component: str) -> dict[str, str]:
    return standard_labels("evidently", r.args.instance, component, VERSION)


def ui_deployment(r: ResolvedEvidently) -> kube.JsonDict:
    a = r.args
    container: kube.JsonDict = {
        "name": "evidently",
        "image": IMAGE,
        # The image's entrypoint is `evidently ui --host 0.0.0.0`; these are its extra options.
        "args": ["--workspace", WORKSPACE, "--port", str(UI_PORT)],
        "env": [
            kube.secret_env(SECRET_KEY, r.secret_name, SECRET_KEY),
            kube.plain_env("HOME", "/tmp"),
            # No usage telemetry (and no internet egress to send it over).
            kube.plain_env("DO_NOT_TRACK", "1"),
        ],
        "ports": [{"name": "http", "containerPort": UI_PORT, "protocol": "TCP"}],
        "resources": UI_SIZES[a.profile].resources(),
        "readinessProbe": kube.http_probe("/api/version", "http", period=10),
        "livenessProbe": kube.http_probe("/api/version", "http", period=20, failures=5),
        "startupProbe": kube.http_probe("/api/version", "http", period=5, failures=60),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        "volumeMounts": [{"name": "workspace", "mountPath": WORKSPACE}, {"name": "tmp", "mountPath": "/tmp"}],
    }
    pod = kube.restricted_pod_spec(r.name, UID, [container], fs_group=UID, volumes=[
        {"name": "workspace", "persistentVolumeClaim": {"claimName": r.name}},
        {"name": "tmp", "emptyDir": {}},
    ])
    # A file workspace on a ReadWriteOnce volume has one writer.
    return kube.deployment_spec(selector_labels("evidently", a.instance, "ui"), kube.pod_template(_labels(r, "ui"), pod),
                           strategy=kube.RECREATE)


def ui_service(r: ResolvedEvidently) -> kube.JsonDict:
    return kube.service_spec(selector_labels("evidently", r.args.instance, "ui"), [("http", UI_PORT)])


def workspace_pvc(r: ResolvedEvidently) -> kube.JsonDict:
    return kube.claim_spec(r.args.storage_gib)


HEARTBEAT_FILE = drift_job.HEARTBEAT
# Exit 0 while the job's heartbeat thread (see the script) touched the file in the last minute.
HEARTBEAT_CHECK = ("import os, sys, time; "
                   f"sys.exit(0 if time.time() - os.path.getmtime({HEARTBEAT_FILE!r}) < 60 else 1)")


def drift_cronjob(r: ResolvedEvidently) -> kube.JsonDict:
    a = r.args
    env: list[kube.JsonDict] = [
        kube.plain_env("EVIDENTLY_URL", r.ui_url),
        kube.secret_env(SECRET_KEY, r.secret_name, SECRET_KEY),
        kube.plain_env("EVIDENTLY_PROJECT", a.project),
        _dataset_env("REFERENCE_PATH", a.reference_path, a.default_bucket),
        _dataset_env("CURRENT_PATH", a.current_path, a.default_bucket),
        kube.plain_env("DATASET_FORMAT", a.dataset_format),
        kube.plain_env("DRIFT_SHARE", repr(float(a.drift_share))),
        {"name": "S3_ENDPOINT_URL", "value": a.store.endpoint_url},
        {"name": "AWS_REGION", "value": a.store.region},
        # On IRSA the (empty) key variables stay out: the S3 client takes the web identity.
        *([] if a.irsa_role_arn is not None else a.store.key_env()),
        kube.plain_env("HOME", "/tmp"),
        kube.plain_env("DO_NOT_TRACK", "1"),
    ]
    if a.pushgateway_url:
        env.append(kube.plain_env("PUSHGATEWAY_URL", a.pushgateway_url))
    container: kube.JsonDict = {
        "name": "drift",
        "image": IMAGE,
        "command": ["python", f"{SCRIPT_DIR}/{SCRIPT_NAME}"],
        "env": env,
        "resources": JOB_SIZES[a.profile].resources(),
        # A batch step serves nothing: the probes watch its heartbeat, so a run wedged in a
        # dead connection is restarted instead of idling until activeDeadlineSeconds.
        "readinessProbe": kube.exec_probe(["python", "-c", HEARTBEAT_CHECK], period=30, delay=20),
        "livenessProbe": kube.exec_probe(["python", "-c", HEARTBEAT_CHECK], period=30, failures=4, delay=30),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        "volumeMounts": [{"name": "script", "mountPath": SCRIPT_DIR, "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}],
    }
    pod = kube.restricted_pod_spec(r.job_name, UID, [container], fs_group=UID, restartPolicy="Never", volumes=[
        {"name": "script", "configMap": {"name": r.script_configmap, "defaultMode": 0o444}},
        {"name": "tmp", "emptyDir": {}},
    ])
    job = kube.job_spec(kube.pod_template(_labels(r, "drift-job"), pod,
                                          {"omgml.dev/script-checksum": script_checksum(
                                              drift_job_script() + job_runtime.source())}),
                        backoff_limit=2, active_deadline_seconds=3600, ttl_seconds_after_finished=86400)
    return kube.cronjob_spec(a.schedule, job, starting_deadline_seconds=600, job_labels=_labels(r, "drift-job"))


class Evidently(Component[EvidentlyArgs, ResolvedEvidently], type_token=TYPE_TOKEN, resolve=resolve_evidently):
    """Evidently UI + drift CronJob; `ui_url` and the write secret's name are its outputs."""

    ui_url: str
    secret_name: str
    service_name: str

    def build(self, name: str, args: EvidentlyArgs, r: ResolvedEvidently, children: Children) -> pulumi.Inputs:
        ns = args.namespace

        meta = kube.Metadata(ns, lambda part: _labels(r, part))

        secret = GeneratedSecret(f"{name}-write-secret", GeneratedSecretArgs(
            namespace=ns, secret_name=r.secret_name, password_keys=(SECRET_KEY,),
            app_name="evidently", instance=args.instance, source=args.credentials), children())
        sa = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=meta(r.name, "ui"),
                                        automount_service_account_token=False, opts=children())
        pvc = k8s.core.v1.PersistentVolumeClaim(f"{name}-workspace", metadata=meta(r.name, "workspace"),
                                                spec=workspace_pvc(r), opts=children.data())
        k8s.apps.v1.Deployment(f"{name}-ui", metadata=meta(r.name, "ui"), spec=ui_deployment(r),
                               opts=children(sa, pvc, secret))
        k8s.core.v1.Service(f"{name}-service", metadata=meta(r.name, "ui"), spec=ui_service(r), opts=children())

        script = k8s.core.v1.ConfigMap(f"{name}-drift-script", metadata=meta(r.script_configmap, "drift-job"),
                                       data={SCRIPT_NAME: drift_job_script(), job_runtime.FILE_NAME: job_runtime.source()},
                                       opts=children())
        # Only the drift job reads the bucket, so only its ServiceAccount carries the IRSA role.
        job_sa = k8s.core.v1.ServiceAccount(
            f"{name}-drift-sa", metadata=kube.service_account_metadata(r.job_name, ns, _labels(r, "drift-job"),
                                                                  args.irsa_role_arn),
            automount_service_account_token=False, opts=children())
        k8s.batch.v1.CronJob(f"{name}-drift", metadata=meta(r.job_name, "drift-job"), spec=drift_cronjob(r),
                             opts=children(script, job_sa, secret))

        self.ui_url = r.ui_url
        self.secret_name = r.secret_name
        self.service_name = r.name
        return {"ui_url": self.ui_url, "secret_name": self.secret_name}

"""Batch predictions with Spark on a schedule (`phases.serving.batch_scoring`).

A CronJob in the serving namespace runs the Spark driver in client mode with the official
`apache/spark` image (Python variant); the driver starts its executors as pods through the
Kubernetes API (its ServiceAccount may create pods and ConfigMaps in this namespace only) from
a restricted pod template, and runs score.py of this package (shipped verbatim in a
ConfigMap): features from the lake (Parquet or Delta on the object store, through Hadoop's S3A),
the registered model loaded from MLflow by alias, predictions written back as Parquet.

What the official image lacks is fetched when a run starts, at pinned versions:
- Python: mlflow-skinny, pandas, pyarrow and the model's own packages (`python_packages`),
  installed by an init container into an emptyDir with the image's pip; the driver uses them
  from there and ships them to the executors as a Spark archive (`spark.archives`).
- Java: hadoop-aws (matching the image's Hadoop) and, for Delta, delta-spark, through
  `spark.jars.packages` from Maven Central; the executors fetch them from the driver.
So the job's pods (driver and init container only) may reach the internet on 443; a team
without egress sets `image` to its own build of this image with the packages baked in.

Orchestrators: the same Job runs on demand from a pipeline. `submit.py` of this package creates
a Job from the CronJob's template through the Kubernetes API, waits for it and prints the
driver's log, so the run shows in the orchestrator with its outcome and log. With Kubeflow
Pipelines the platform renders it as a KFP component (a ConfigMap in the pipelines' namespace
holding component.yaml) and lets the pipeline runner's ServiceAccount create that Job.

Sizing (`spark_sizing`): executors from the data a run reads (`input_gb`), each with the
profile's cores and memory; on the laptop profile one small executor.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources

import pulumi
import pulumi_kubernetes as k8s
import yaml

from omgml import k8s as kube
from omgml import sizes
from omgml.batch_sizing import SparkSizing, spark_sizing
from omgml.components.base import Component
from omgml.components.contracts import S3Consumer, StoreRef, check_dataset_path
from omgml.components.options import Children
from omgml.cron import check_schedule
from omgml.labels import selector_labels, standard_labels
from omgml.naming import k8s_name
from omgml.spec.common import Profile, per_profile

TYPE_TOKEN = "omgml:serving:SparkBatchScoring"

SPARK_VERSION = "4.1.2"
IMAGE = f"apache/spark:{SPARK_VERSION}-scala2.13-java21-python3-ubuntu"
UID = 185  # the image's `spark` user
# Hadoop the Spark 4.1.2 distribution is built against (its jars/hadoop-client-api-*.jar):
# hadoop-aws must be the same release.
HADOOP_VERSION = "3.4.2"
# Delta Lake's connector built for Spark 4.1 (artifact delta-spark_4.1_2.13; delta-spark 4.4 on PyPI
# requires pyspark >=4.0.1,<=4.2.0).
DELTA_VERSION = "4.4.0"
# What score.py needs besides the model's own packages (mlflow-skinny: the client without the
# server; the tier's MLflow is 3.17).
BASE_PACKAGES = ("mlflow-skinny==3.17.0", "pandas==2.3.3", "pyarrow==22.0.0")
SCRIPT_DIR = "/opt/omgml"
SCRIPT = "score.py"
SUBMIT_SCRIPT = "submit.py"
DEPS_DIR = "/deps"
DRIVER_PORT = 7078
BLOCK_MANAGER_PORT = 7079

DRIVER_SIZES = sizes.container("spark-driver")
# The driver JVM's heap (spark.driver.memory; the launcher applies it in client mode), leaving
# the rest of the container's request to Python (score.py, the model) and off-heap memory.
DRIVER_HEAP = per_profile(laptop="512m", small="1g", production="2g")
INIT_SIZE = kube.Size("100m", "256Mi", "1", "1Gi")


@dataclass(frozen=True)
class SparkBatchScoringArgs:
    namespace: str
    instance: str
    schedule: str
    model: str
    alias: str
    # s3://bucket/prefix, or a prefix inside `default_bucket` (the features bucket).
    features_path: str
    predictions_path: str
    store: StoreRef
    mlflow_tracking_uri: pulumi.Input[str]
    default_bucket: pulumi.Input[str] | None = None
    features_format: str = "parquet"
    keep_columns: tuple[str, ...] = ()
    python_packages: tuple[str, ...] = ()
    input_gb: float = 1.0
    executors: int | None = None
    profile: Profile = "laptop"
    image: str = IMAGE
    # Kubeflow Pipelines: the namespace pipeline steps run in and their ServiceAccount; the
    # platform renders the submit component there and lets that account start the Job.
    pipelines_namespace: str | None = None
    pipelines_service_account: str = "pipeline-runner"
    # IRSA role (AWS S3): the driver's and executors' ServiceAccount carries it; no keys are set.
    irsa_role_arn: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class ResolvedSparkBatchScoring:
    args: SparkBatchScoringArgs
    name: str  # CronJob, ServiceAccount, Role, ConfigMap prefix
    sizing: SparkSizing
    driver: kube.Size


# Why the driver's egress policy opens ports beyond the platform: the packages, and the API server
# (the shared reason every component that talks to the Kubernetes API states).
SPARK_EGRESS_REASON = ("the driver fetches the job's Python packages and spark.jars.packages from the package "
                       "registries when it starts (an image with them baked in would not need to); "
                       + kube.KUBE_API_EGRESS_REASON)


def job_name(instance: str) -> str:
    return k8s_name(instance, "batch-scoring")


def s3_consumers(namespace: str, instance: str, bucket_roles: tuple[str, ...]) -> tuple[S3Consumer, ...]:
    """The driver and its executors run as the job's ServiceAccount: read features, write predictions."""
    return (S3Consumer(name="spark-batch-scoring", namespace=namespace, service_account=job_name(instance),
                       bucket_roles=bucket_roles),)


def resolve(args: SparkBatchScoringArgs) -> ResolvedSparkBatchScoring:
    path = "phases.serving.batch_scoring"
    check_schedule(f"{path}.schedule", args.schedule)
    for field_name in ("features_path", "predictions_path"):
        check_dataset_path(f"{path}.{field_name}", getattr(args, field_name), has_bucket=args.default_bucket is not None)
    if args.features_format not in ("parquet", "delta"):
        raise ValueError(f"{path}.features_format: {args.features_format!r}; use parquet or delta")
    if args.input_gb <= 0:
        raise ValueError(f"{path}.input_gb: {args.input_gb} must be > 0")
    return ResolvedSparkBatchScoring(args, job_name(args.instance),
                                     spark_sizing(args.input_gb, args.profile, args.executors),
                                     DRIVER_SIZES[args.profile])


def s3a_url(path: str, bucket: str) -> str:
    """A spec path as Hadoop's s3a://bucket/prefix (relative paths live in `bucket`)."""
    if path.startswith("s3://"):
        return "s3a://" + path.removeprefix("s3://")
    return f"s3a://{bucket}/{path.lstrip('/')}"


def _path_env(env_name: str, path: str, bucket: pulumi.Input[str] | None) -> kube.JsonDict:
    if path.startswith("s3://") or bucket is None:
        return kube.plain_env(env_name, s3a_url(path, ""))
    if isinstance(bucket, str):
        return kube.plain_env(env_name, s3a_url(path, bucket))
    return {"name": env_name, "value": pulumi.Output.concat(bucket).apply(lambda b: s3a_url(path, b))}


def package_script(name: str) -> str:
    """A module of this package as the pods run it (read from the installed package)."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def checksum(*texts: str) -> str:
    return hashlib.sha256("\0".join(texts).encode()).hexdigest()[:16]


def labels(r: ResolvedSparkBatchScoring, component: str) -> dict[str, str]:
    return standard_labels("spark", r.args.instance, component, SPARK_VERSION)


def driver_selector(r: ResolvedSparkBatchScoring) -> dict[str, str]:
    return selector_labels("spark", r.args.instance, "batch-driver")


def jar_packages(r: ResolvedSparkBatchScoring) -> list[str]:
    jars = [f"org.apache.hadoop:hadoop-aws:{HADOOP_VERSION}"]
    if r.args.features_format == "delta":
        jars.append(f"io.delta:delta-spark_4.1_2.13:{DELTA_VERSION}")
    return jars


def executor_pod_template(r: ResolvedSparkBatchScoring) -> kube.JsonDict:
    """The executors' pod template (spark.kubernetes.executor.podTemplateFile): restricted like
    every pod here; Spark fills in the image, command, requests/limits and its own volumes."""
    container: kube.JsonDict = {
        "name": "executor",
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"},
                         {"name": "work-dir", "mountPath": "/opt/spark/work-dir"}],
    }
    spec = kube.restricted_pod_spec(r.name, UID, [container], fs_group=UID,
                               volumes=[{"name": "tmp", "emptyDir": {}}, {"name": "work-dir", "emptyDir": {}}])
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"labels": labels(r, "batch-executor")}, "spec": spec}


def spark_conf(r: ResolvedSparkBatchScoring) -> dict[str, str]:
    """spark-submit --conf values (strings; the driver's pod IP and name come from env). The S3A
    endpoint settings come from S3_ENDPOINT_URL in score.py (s3a_settings), known at deploy time."""
    a, z = r.args, r.sizing
    conf = {
        "spark.master": "k8s://https://kubernetes.default.svc:443",
        "spark.submit.deployMode": "client",
        "spark.kubernetes.namespace": a.namespace,
        "spark.kubernetes.container.image": a.image,
        "spark.kubernetes.executor.podTemplateFile": f"{SCRIPT_DIR}/executor-template.yaml",
        "spark.kubernetes.executor.podTemplateContainerName": "executor",
        "spark.kubernetes.authenticate.executor.serviceAccountName": r.name,
        # Executors belong to the driver pod: they go when it goes.
        "spark.kubernetes.driver.pod.name": "$(POD_NAME)",
        "spark.kubernetes.executor.podNamePrefix": r.name,
        "spark.kubernetes.executor.deleteOnTermination": "true",
        "spark.driver.host": "$(POD_IP)",
        "spark.driver.bindAddress": "0.0.0.0",
        "spark.driver.port": str(DRIVER_PORT),
        "spark.driver.blockManager.port": str(BLOCK_MANAGER_PORT),
        "spark.blockManager.port": str(BLOCK_MANAGER_PORT),
        "spark.executor.instances": str(z.executors),
        "spark.executor.cores": str(z.cores),
        "spark.executor.memory": f"{z.heap_mib}m",
        "spark.executor.memoryOverhead": f"{z.pod_memory_mib - z.heap_mib}m",
        "spark.kubernetes.executor.request.cores": z.request_cpu,
        "spark.driver.memory": DRIVER_HEAP[a.profile],
        "spark.kubernetes.executor.limit.cores": str(z.cores),
        "spark.ui.enabled": "false",
        "spark.jars.packages": ",".join(jar_packages(r)),
        "spark.jars.ivy": "/tmp/ivy",
        # The Python packages the init container installed, unpacked next to each executor.
        "spark.archives": f"{DEPS_DIR}/python.tar.gz#pydeps",
        "spark.executorEnv.PYTHONPATH": "pydeps",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
    }
    if a.irsa_role_arn is None:
        # Executors get the keys by secretKeyRef too (never as values).
        conf["spark.kubernetes.executor.secretKeyRef.AWS_ACCESS_KEY_ID"] = f"$(STORE_SECRET_NAME):{a.store.access_key_key}"
        conf["spark.kubernetes.executor.secretKeyRef.AWS_SECRET_ACCESS_KEY"] = \
            f"$(STORE_SECRET_NAME):{a.store.secret_key_key}"
    if a.features_format == "delta":
        conf["spark.sql.extensions"] = "io.delta.sql.DeltaSparkSessionExtension"
        conf["spark.sql.catalog.spark_catalog"] = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
    return conf


def submit_command(r: ResolvedSparkBatchScoring) -> list[str]:
    conf = spark_conf(r)
    args = ["/opt/spark/bin/spark-submit"]
    for key in sorted(conf):
        args += ["--conf", f"{key}={conf[key]}"]
    return [*args, f"{SCRIPT_DIR}/{SCRIPT}"]


HEARTBEAT_CHECK = ("import os, sys, time; "
                   "sys.exit(0 if time.time() - os.path.getmtime('/tmp/omgml-heartbeat') < 60 else 1)")


def deps_container(r: ResolvedSparkBatchScoring) -> kube.JsonDict:
    """Installs the pinned Python packages with the image's pip and packs them for the executors."""
    packages = [*BASE_PACKAGES, *r.args.python_packages]
    script = (f'python3 -m pip install --no-cache-dir --disable-pip-version-check --target {DEPS_DIR}/python "$@"\n'
              f"tar -czf {DEPS_DIR}/python.tar.gz -C {DEPS_DIR}/python .\n")
    return {
        "name": "python-packages",
        "image": r.args.image,
        "command": ["/bin/sh", "-ec", script, "install", *packages],
        "env": [kube.plain_env("HOME", "/tmp")],
        "resources": INIT_SIZE.resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        "volumeMounts": [{"name": "deps", "mountPath": DEPS_DIR}, {"name": "tmp", "mountPath": "/tmp"}],
    }


def driver_env(r: ResolvedSparkBatchScoring) -> list[kube.JsonDict]:
    a = r.args
    env: list[kube.JsonDict] = [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "STORE_SECRET_NAME", "value": a.store.secret_name},
        {"name": "MLFLOW_TRACKING_URI", "value": a.mlflow_tracking_uri},
        kube.plain_env("MODEL_URI", f"models:/{a.model}@{a.alias}"),
        _path_env("FEATURES_PATH", a.features_path, a.default_bucket),
        kube.plain_env("FEATURES_FORMAT", a.features_format),
        _path_env("PREDICTIONS_PATH", a.predictions_path, a.default_bucket),
        kube.plain_env("KEEP_COLUMNS", ",".join(a.keep_columns)),
        {"name": "S3_ENDPOINT_URL", "value": a.store.endpoint_url},
        {"name": "AWS_REGION", "value": a.store.region},
        *([] if a.irsa_role_arn is not None else a.store.key_env()),
        kube.plain_env("PYTHONPATH", f"{DEPS_DIR}/python"),
        kube.plain_env("HOME", "/tmp"),
        kube.plain_env("SPARK_LOCAL_DIRS", "/tmp/spark-local"),
    ]
    return env


def scoring_cronjob(r: ResolvedSparkBatchScoring, scripts_checksum: str) -> kube.JsonDict:
    a = r.args
    container: kube.JsonDict = {
        "name": "driver",
        "image": a.image,
        "command": submit_command(r),
        "env": driver_env(r),
        "ports": [{"name": "driver", "containerPort": DRIVER_PORT, "protocol": "TCP"},
                  {"name": "blockmanager", "containerPort": BLOCK_MANAGER_PORT, "protocol": "TCP"}],
        "resources": r.driver.resources(),
        # The driver serves nothing to probe: the probes watch score.py's heartbeat, so a run
        # wedged on a dead connection is restarted instead of idling until the deadline.
        "readinessProbe": kube.exec_probe(["python3", "-c", HEARTBEAT_CHECK], period=30, delay=60),
        "livenessProbe": kube.exec_probe(["python3", "-c", HEARTBEAT_CHECK], period=30, failures=4, delay=120),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        "volumeMounts": [{"name": "scripts", "mountPath": SCRIPT_DIR, "readOnly": True},
                         {"name": "deps", "mountPath": DEPS_DIR, "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"},
                         {"name": "work-dir", "mountPath": "/opt/spark/work-dir"}],
    }
    pod = kube.restricted_pod_spec(r.name, UID, [container], fs_group=UID, automount_token=True,
                              init_containers=[deps_container(r)], restartPolicy="Never", volumes=[
                                  {"name": "scripts", "configMap": {"name": k8s_name(r.name, "scripts"),
                                                                    "defaultMode": 0o444}},
                                  {"name": "deps", "emptyDir": {}},
                                  {"name": "tmp", "emptyDir": {}},
                                  {"name": "work-dir", "emptyDir": {}}])
    # The executors' requests, for the capacity check (they are pods the driver creates).
    annotations = {"omgml.dev/script-checksum": scripts_checksum,
                   "omgml.dev/child-pods": json.dumps({"count": r.sizing.executors, "cpu": r.sizing.request_cpu,
                                                       "memory": f"{r.sizing.pod_memory_mib}Mi"})}
    job = kube.job_spec(kube.pod_template({**labels(r, "batch-driver")}, pod, annotations),
                        backoff_limit=1, active_deadline_seconds=6 * 3600, ttl_seconds_after_finished=7 * 86400)
    return kube.cronjob_spec(a.schedule, job, starting_deadline_seconds=600, job_labels=labels(r, "batch-driver"),
                             successful_jobs_history=3)


def driver_role_rules() -> list[kube.JsonDict]:
    """What a client-mode driver does through the API: its executors (pods) and the ConfigMap
    Spark writes for them."""
    return [
        {"apiGroups": [""], "resources": ["pods"],
         "verbs": ["create", "get", "list", "watch", "delete", "deletecollection"]},
        {"apiGroups": [""], "resources": ["configmaps"],
         "verbs": ["create", "get", "list", "watch", "delete", "deletecollection"]},
        {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["list", "deletecollection"]},
    ]


def submit_role_rules(cronjob: str) -> list[kube.JsonDict]:
    """What an orchestrator step needs to run the job once (submit.py): read the CronJob, create
    and watch the Job, read the driver's log."""
    return [
        {"apiGroups": ["batch"], "resources": ["cronjobs"], "resourceNames": [cronjob], "verbs": ["get"]},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]},
    ]


def kfp_component(r: ResolvedSparkBatchScoring) -> str:
    """component.yaml of a KFP container component that runs one scoring run (submit.py, run by
    the Spark image's python3 from its own source) and fails the step when the run fails."""
    component = {
        "name": "omgml-batch-scoring",
        "description": (f"Runs the platform's Spark batch scoring once (CronJob {r.name} in {r.args.namespace}) "
                        "and fails when the run fails; the driver's log is this step's log."),
        "inputs": [{"name": "timeout_seconds", "type": "Integer", "default": "21600"}],
        "implementation": {"container": {
            "image": r.args.image,
            "command": ["python3", "-c", package_script(SUBMIT_SCRIPT), "--namespace", r.args.namespace,
                        "--cronjob", r.name, "--timeout-seconds", {"inputValue": "timeout_seconds"}],
        }},
    }
    return yaml.safe_dump(component, sort_keys=False, width=1000)


class SparkBatchScoring(Component[SparkBatchScoringArgs, ResolvedSparkBatchScoring], type_token=TYPE_TOKEN,
                        resolve=resolve):
    """The scoring CronJob, its scripts, ServiceAccount, RBAC and NetworkPolicies."""

    cronjob_name: str

    def build(self, name: str, args: SparkBatchScoringArgs, r: ResolvedSparkBatchScoring,
              children: Children) -> pulumi.Inputs:
        ns = args.namespace

        meta = kube.Metadata(ns, lambda part: labels(r, part))

        score, submit = package_script(SCRIPT), package_script(SUBMIT_SCRIPT)
        # One line of JSON (which Spark reads as YAML): a config-line scan for secrets finds no
        # `automountServiceAccountToken: false` line to mistake for a credential.
        template = json.dumps(executor_pod_template(r), sort_keys=True)
        scripts = k8s.core.v1.ConfigMap(f"{name}-scripts", metadata=meta(k8s_name(r.name, "scripts"), "batch-driver"),
                                        data={SCRIPT: score, SUBMIT_SCRIPT: submit,
                                              "executor-template.yaml": template}, opts=children())
        sa = k8s.core.v1.ServiceAccount(
            f"{name}-sa", metadata=kube.service_account_metadata(r.name, ns, labels(r, "batch-driver"), args.irsa_role_arn),
            automount_service_account_token=False, opts=children())
        role = k8s.rbac.v1.Role(f"{name}-role", metadata=meta(r.name, "batch-driver"), rules=driver_role_rules(),
                                opts=children())
        binding = k8s.rbac.v1.RoleBinding(
            f"{name}-rolebinding", metadata=meta(r.name, "batch-driver"),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": r.name},
            subjects=[{"kind": "ServiceAccount", "name": r.name, "namespace": ns}], opts=children(role))
        # The driver talks to the API server (executors) and, for the packages, to the internet.
        k8s.networking.v1.NetworkPolicy(
            f"{name}-egress", metadata=kube.with_egress_reason(meta(k8s_name(r.name, "egress"), "network"), SPARK_EGRESS_REASON),
            spec={"podSelector": {"matchLabels": driver_selector(r)}, "policyTypes": ["Egress"],
                  "egress": [kube.egress_policy_spec({}, kube.KUBE_API_PORTS)["egress"][0],
                             kube.egress_policy_spec({}, (443,), external_only=True)["egress"][0]]},
            opts=children())
        k8s.batch.v1.CronJob(f"{name}-cronjob", metadata=meta(r.name, "batch-driver"),
                             spec=scoring_cronjob(r, checksum(score, submit, template)),
                             opts=children(scripts, sa, binding))

        if args.pipelines_namespace is not None:
            submit_name = k8s_name(r.name, "submit")
            submit_role = k8s.rbac.v1.Role(f"{name}-submit-role", metadata=meta(submit_name, "batch-submit"),
                                           rules=submit_role_rules(r.name), opts=children())
            k8s.rbac.v1.RoleBinding(
                f"{name}-submit-rolebinding", metadata=meta(submit_name, "batch-submit"),
                role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": submit_name},
                subjects=[{"kind": "ServiceAccount", "name": args.pipelines_service_account,
                           "namespace": args.pipelines_namespace}], opts=children(submit_role))
            k8s.core.v1.ConfigMap(
                f"{name}-kfp-component",
                metadata=meta(k8s_name(args.instance, "batch-scoring-component"), "batch-submit",
                              namespace=args.pipelines_namespace),
                data={"component.yaml": kfp_component(r)}, opts=children())

        self.cronjob_name = r.name
        return {"cronjob_name": r.name}


__all__ = [
    "IMAGE", "SPARK_VERSION", "SparkBatchScoring", "SparkBatchScoringArgs", "SparkSizing", "executor_pod_template",
    "job_name", "kfp_component", "resolve", "s3_consumers", "scoring_cronjob", "spark_conf", "spark_sizing",
]

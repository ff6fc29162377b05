"""Great Expectations (GX Core): the project's suites run on a schedule and as a pipeline step.

- A ConfigMap holds the runner (gx_run.py of this package, a real module shipped verbatim, with
  the job_runtime.py it imports beside it), the checks (check → suite, dataset, format) and the
  suites (GX's own JSON, from the project).
- A CronJob runs every check on the schedule in the runner image (omgml.data_quality: the image
  omgml's Dockerfile builds; GX has no official image and pods install nothing at run time).
- The pipeline-step form: the same ConfigMap in each namespace where pipeline steps run, with a
  pod template (`step-pod.yaml`) that runs one check (`--check NAME`): Airflow's
  KubernetesPodOperator takes it as `pod_template_file`; a Kubeflow or Prefect step mounts the
  ConfigMap and runs the same command. The step exits 1 when its suite fails, which stops the
  pipeline. Steps push no metrics (their namespaces reach the data namespace only; the step's
  own status is the signal) but write data docs and lineage like the CronJob.
- Results: data docs (GX's static site) uploaded to s3://<features bucket>/<docs prefix>; per
  check `gx_suite_success` and per expectation `gx_expectation_success` pushed to the
  Pushgateway, where the `DataQualitySuiteFailed` alert reads them; OpenLineage events to the
  lineage API when lineage is on.

The Pushgateway lives in the serving namespace: the CronJob's pods get an egress policy to its
port, and the serving namespace an ingress policy from them (both created here: the foundation
owns every platform namespace's policies).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

import pulumi
import pulumi_kubernetes as k8s
import yaml

from omgml import k8s as kube
from omgml import sizes
from omgml.components import job_runtime
from omgml.components.base import Component, ComponentArgs, check_component_args
from omgml.components.contracts import ObjectStoreEndpoint, S3Consumer
from omgml.components.data_quality import gx_run
from omgml.components.options import Children
from omgml.cron import check_schedule
from omgml.data_quality import Suite
from omgml.labels import selector_labels, standard_labels
from omgml.naming import k8s_name

TYPE_TOKEN = "omgml:data:GreatExpectations"

APP = "great-expectations"
VERSION = "1.24.1"
DEFAULT_INSTANCE = "data-quality"
UID = 1000  # the runner image's user (images/data-quality/Dockerfile)
MOUNT = "/etc/omgml/data-quality"
SCRIPT_NAME = "gx_run.py"
CHECKS_FILE = "checks.json"
STEP_POD_FILE = "step-pod.yaml"
SUITE_PREFIX = "suite-"  # ConfigMap keys of the suites (`suite-<name>.json`), projected to suites/
PUSHGATEWAY_PORT = 9091
JOB_SIZES = sizes.container("data-quality-job")
HEARTBEAT_CHECK = ("import os, sys, time; "
                   f"sys.exit(0 if time.time() - os.path.getmtime({gx_run.HEARTBEAT!r}) < 60 else 1)")


@dataclass(frozen=True)
class QualityCheck:
    """One check with its dataset as a full s3:// URL."""

    name: str
    suite: str
    data: str
    format: str


@dataclass(frozen=True, kw_only=True)
class DataQualityArgs(ComponentArgs):
    instance: str = DEFAULT_INSTANCE
    image: str
    schedule: str
    checks: tuple[QualityCheck, ...]
    suites: Mapping[str, Suite]
    store: ObjectStoreEndpoint
    # s3://bucket/prefix/ of the data docs.
    docs_url: str
    # The Pushgateway (serving namespace) and the labels of its pods, for the network policies;
    # None: no metrics (and no alert).
    pushgateway_url: str | None = None
    pushgateway_namespace: str | None = None
    pushgateway_selector: Mapping[str, str] | None = None
    # The lineage API's base URL (OpenLineage HTTP transport) and the jobs' namespace.
    lineage_url: str | None = None
    lineage_namespace: str = "omgml"
    # Namespaces where pipeline steps run: each gets the ConfigMap and the step pod template.
    step_namespaces: tuple[str, ...] = ()
    irsa_role_arn: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class ResolvedDataQuality:
    args: DataQualityArgs
    name: str  # CronJob, ServiceAccount, ConfigMap
    egress_policy: str
    ingress_policy: str


def service_account_name(instance: str) -> str:
    return k8s_name(instance)


def s3_consumers(namespace: str, instance: str) -> tuple[S3Consumer, ...]:
    """The runs read datasets and write the data docs, both in the features bucket."""
    return (S3Consumer(name="data-quality", namespace=namespace, service_account=service_account_name(instance),
                       bucket_roles=("features",), read_only=False),)


def resolve(args: DataQualityArgs) -> ResolvedDataQuality:
    """Defaults and validation; errors name the field, the value and the fix."""
    check_component_args("DataQualityArgs", args, JOB_SIZES)
    check_schedule("phases.foundation.data_quality.schedule", args.schedule)
    if not args.checks:
        raise ValueError("DataQualityArgs.checks: no check to run; add one (phases.foundation.data_quality.checks)")
    for i, check in enumerate(args.checks):
        if check.suite not in args.suites:
            raise ValueError(f"phases.foundation.data_quality.checks[{i}].suite: {check.suite!r} is not among the "
                             f"project's suites {sorted(args.suites)}; write data-quality/suites/{check.suite}.json")
        if not check.data.startswith("s3://"):
            raise ValueError(f"DataQualityArgs.checks[{i}].data: {check.data!r} must be a full s3:// URL here "
                             "(the blueprint resolves relative paths against the features bucket)")
    if not args.docs_url.startswith("s3://"):
        raise ValueError(f"DataQualityArgs.docs_url: {args.docs_url!r} is not s3://bucket/prefix/")
    if args.pushgateway_url is not None and (args.pushgateway_namespace is None or not args.pushgateway_selector):
        raise ValueError("DataQualityArgs.pushgateway_url needs pushgateway_namespace and pushgateway_selector "
                         "(the network policies that let the runs reach it)")
    name = service_account_name(args.instance)
    return ResolvedDataQuality(args=args, name=name, egress_policy=k8s_name(name, "to-pushgateway"),
                               ingress_policy=k8s_name(name, "pushgateway-from-data-quality"))


def runner_script() -> str:
    """gx_run.py of this package, read from the installed package."""
    return resources.files(__package__).joinpath(SCRIPT_NAME).read_text(encoding="utf-8")


def checks_json(args: DataQualityArgs) -> str:
    return json.dumps([{"name": c.name, "suite": c.suite, "data": c.data, "format": c.format}
                       for c in args.checks], indent=2) + "\n"


def _labels(r: ResolvedDataQuality, component: str) -> dict[str, str]:
    return standard_labels(APP, r.args.instance, component, VERSION)


def run_selector(instance: str) -> dict[str, str]:
    """The labels of every run's pods (CronJob and pipeline steps)."""
    return selector_labels(APP, instance, "run")


def config_data(r: ResolvedDataQuality, step_namespace: str | None = None) -> dict[str, str]:
    """The ConfigMap: runner, checks, suites (and, in a step namespace, the step's pod template)."""
    data = {SCRIPT_NAME: runner_script(), job_runtime.FILE_NAME: job_runtime.source(), CHECKS_FILE: checks_json(r.args)}
    data.update({f"{SUITE_PREFIX}{name}.json": suite.text() for name, suite in sorted(r.args.suites.items())})
    if step_namespace is not None:
        data[STEP_POD_FILE] = yaml.safe_dump(step_pod(r, step_namespace), sort_keys=False)
    return data


def config_checksum(r: ResolvedDataQuality) -> str:
    return hashlib.sha256(json.dumps(config_data(r), sort_keys=True).encode()).hexdigest()[:16]


def _volumes(r: ResolvedDataQuality) -> list[kube.JsonDict]:
    items = [{"key": name, "path": name} for name in (SCRIPT_NAME, job_runtime.FILE_NAME, CHECKS_FILE)]
    items += [{"key": f"{SUITE_PREFIX}{n}.json", "path": f"suites/{n}.json"} for n in sorted(r.args.suites)]
    return [
        {"name": "config", "configMap": {"name": r.name, "defaultMode": 0o444, "items": items}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
    ]


_MOUNTS: list[kube.JsonDict] = [{"name": "config", "mountPath": MOUNT, "readOnly": True}, {"name": "tmp", "mountPath": "/tmp"}]


def run_env(r: ResolvedDataQuality, *, metrics: bool) -> list[kube.JsonDict]:
    a = r.args
    store = a.store
    env: list[kube.JsonDict] = [
        kube.plain_env("GX_CHECKS", f"{MOUNT}/{CHECKS_FILE}"),
        kube.plain_env("GX_SUITES_DIR", f"{MOUNT}/suites"),
        kube.plain_env("GX_DOCS_URL", a.docs_url),
        kube.plain_env("S3_ENDPOINT_URL", store.endpoint_url),
        kube.plain_env("AWS_REGION", store.region),
        # On IRSA the (empty) key variables stay out: the S3 client takes the web identity.
        *([] if store.irsa_role_arn is not None else store.key_env()),
        kube.plain_env("HOME", "/tmp"),
        # No usage analytics from the runs (and no internet egress to send them over).
        kube.plain_env("GX_ANALYTICS_ENABLED", "false"),
    ]
    if metrics and a.pushgateway_url:
        env.append(kube.plain_env("PUSHGATEWAY_URL", a.pushgateway_url))
    if a.lineage_url:
        env += [kube.plain_env("OPENLINEAGE_URL", a.lineage_url), kube.plain_env("OPENLINEAGE_ENDPOINT", "api/v1/lineage"),
                kube.plain_env("OPENLINEAGE_NAMESPACE", a.lineage_namespace)]
    return env


def run_container(r: ResolvedDataQuality, argv: list[str], *, metrics: bool) -> kube.JsonDict:
    return {
        "name": "gx",
        "image": r.args.image,
        "command": ["python", f"{MOUNT}/{SCRIPT_NAME}", *argv],
        "env": run_env(r, metrics=metrics),
        "resources": JOB_SIZES[r.args.profile].resources(),
        # A batch run serves nothing: the probes watch its heartbeat, so a run wedged on a dead
        # connection is restarted instead of idling until activeDeadlineSeconds.
        "readinessProbe": kube.exec_probe(["python", "-c", HEARTBEAT_CHECK], period=30, delay=20),
        "livenessProbe": kube.exec_probe(["python", "-c", HEARTBEAT_CHECK], period=30, failures=4, delay=30),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        "volumeMounts": list(_MOUNTS),
    }


def cronjob_spec(r: ResolvedDataQuality) -> kube.JsonDict:
    a = r.args
    pod = kube.restricted_pod_spec(r.name, UID, [run_container(r, [], metrics=True)], fs_group=UID,
                              restartPolicy="Never", volumes=_volumes(r))
    labels = {**_labels(r, "run"), **run_selector(a.instance)}
    # A failed suite is a verdict, not a crash: no retries (the alert fires once).
    job = kube.job_spec(kube.pod_template(labels, pod, {"omgml.dev/config-checksum": config_checksum(r)}),
                        backoff_limit=0, active_deadline_seconds=3600, ttl_seconds_after_finished=86400)
    return kube.cronjob_spec(a.schedule, job, starting_deadline_seconds=600, job_labels=labels)


def step_pod(r: ResolvedDataQuality, namespace: str) -> kube.JsonDict:
    """The pod a pipeline step runs one check in (`CHECK` is replaced by the check's name):
    the ServiceAccount of the step namespace's default, the ConfigMap of that namespace."""
    container = run_container(r, ["--check", "CHECK"], metrics=False)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "data-quality-", "namespace": namespace, "labels": _labels(r, "run")},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "securityContext": kube.restricted_pod_security_context(UID, fs_group=UID),
            "containers": [container],
            "volumes": _volumes(r),
        },
    }


def egress_policy(r: ResolvedDataQuality) -> kube.JsonDict:
    """The runs may open connections to the Pushgateway's port in the serving namespace."""
    a = r.args
    assert a.pushgateway_namespace is not None and a.pushgateway_selector is not None
    return kube.egress_to_spec(run_selector(a.instance), [kube.namespace_peer(a.pushgateway_namespace,
                                                                              a.pushgateway_selector)],
                               PUSHGATEWAY_PORT)


def ingress_policy(r: ResolvedDataQuality) -> kube.JsonDict:
    """The Pushgateway (serving namespace) accepts the runs' pushes."""
    a = r.args
    assert a.pushgateway_selector is not None
    return kube.ingress_from_spec(a.pushgateway_selector, [kube.namespace_peer(a.namespace, run_selector(a.instance))],
                                  PUSHGATEWAY_PORT)


class GreatExpectations(Component[DataQualityArgs, ResolvedDataQuality], type_token=TYPE_TOKEN, resolve=resolve):
    """Scheduled data-quality runs and the pipeline-step form; `.docs_url` is where results go."""

    docs_url: str
    config_map: str

    def build(self, name: str, args: DataQualityArgs, r: ResolvedDataQuality, children: Children) -> pulumi.Inputs:
        ns = args.namespace

        meta = kube.Metadata(ns, lambda part: _labels(r, part))

        # AWS S3: the runs read datasets and write docs through this role, not static keys.
        sa = k8s.core.v1.ServiceAccount(
            f"{name}-sa", metadata=kube.service_account_metadata(r.name, ns, _labels(r, "run"), args.irsa_role_arn),
            automount_service_account_token=False, opts=children())
        config = k8s.core.v1.ConfigMap(f"{name}-config", metadata=meta(r.name, "config"), data=config_data(r),
                                       opts=children())
        deps: list[pulumi.Resource] = [sa, config]
        if args.pushgateway_url is not None:
            deps.append(k8s.networking.v1.NetworkPolicy(
                f"{name}-egress", metadata=meta(r.egress_policy, "network"), spec=egress_policy(r), opts=children()))
            assert args.pushgateway_namespace is not None
            k8s.networking.v1.NetworkPolicy(
                f"{name}-pushgateway-ingress",
                metadata=meta(r.ingress_policy, "network", namespace=args.pushgateway_namespace),
                spec=ingress_policy(r), opts=children())
        k8s.batch.v1.CronJob(f"{name}-runs", metadata=meta(r.name, "run"), spec=cronjob_spec(r),
                             opts=children(*deps))
        for step_ns in args.step_namespaces:
            k8s.core.v1.ConfigMap(f"{name}-step-{step_ns}", metadata=meta(r.name, "config", namespace=step_ns),
                                  data=config_data(r, step_ns), opts=children())
        self.docs_url = args.docs_url
        self.config_map = r.name
        return {"docs_url": self.docs_url, "config_map": self.config_map}

"""Prometheus (no operator) with Alertmanager, Pushgateway and Grafana as optional parts.

The scrape configuration is generated from what the platform really deploys: the blueprint
passes one ScrapeTarget per component that serves Prometheus metrics (Service + port), and each
becomes a job that discovers exactly that Service's endpoints. Pods of other workloads that
carry the `prometheus.io/scrape: "true"` convention are picked up by one annotation job, which
skips omgml's own pods (`app.kubernetes.io/part-of: omgml`) so nothing is scraped twice.

Alerting rules come from a pure table; a rule is only rendered when every metric it reads is
exported by a deployed component (see METRIC_EXPORTERS, the documented metric → exporter map).

RBAC is the least that Kubernetes service discovery needs: a namespaced Role (pods, services,
endpointslices: get/list/watch) in each namespace a job looks at, and — only when kubelet
metrics are on, for the "PVC nearly full" and "container restarting" alerts — a ClusterRole
with get/list/watch on nodes and get on nodes/metrics.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import yaml

from omgml.components.credentials import GeneratedSecret, GeneratedSecretArgs
from omgml.k8s import (
    JsonDict,
    Size,
    http_probe,
    plain_env,
    restricted_container_security_context,
    restricted_pod_security_context,
    secret_env,
    service_spec,
)
from omgml.labels import selector_labels, standard_labels
from omgml.naming import k8s_name
from omgml.spec.common import Profile
from omgml.spec.serving import AlertReceiverSpec

TYPE_TOKEN = "omgml:observability:Prometheus"

PROMETHEUS_VERSION = "v3.14.0"
PROMETHEUS_IMAGE = f"prom/prometheus:{PROMETHEUS_VERSION}"
ALERTMANAGER_VERSION = "v0.34.0"
ALERTMANAGER_IMAGE = f"prom/alertmanager:{ALERTMANAGER_VERSION}"
PUSHGATEWAY_VERSION = "v1.11.3"
PUSHGATEWAY_IMAGE = f"prom/pushgateway:{PUSHGATEWAY_VERSION}"
GRAFANA_VERSION = "12.4.0"
GRAFANA_IMAGE = f"grafana/grafana:{GRAFANA_VERSION}"

PROMETHEUS_PORT = 9090
ALERTMANAGER_PORT = 9093
PUSHGATEWAY_PORT = 9091
GRAFANA_PORT = 3000
KUBELET_PORT = 10250
NOBODY = 65534  # the prom/* images run as nobody
GRAFANA_UID = 472  # the grafana image's user
# Siblings, not nested: a mount point inside a (read-only) ConfigMap volume cannot be created.
CONFIG_DIR = "/etc/prometheus/config"
RULES_DIR = "/etc/prometheus/rules"
DATA_DIR = "/prometheus"
SA_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
SA_CA = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"

RETENTION_DAYS: dict[Profile, int] = {"laptop": 2, "small": 15, "production": 30}
PROMETHEUS_SIZES: dict[Profile, Size] = {
    "laptop": Size("100m", "384Mi", "1", "1Gi"),
    "small": Size("250m", "1Gi", "2", "2Gi"),
    "production": Size("1", "4Gi", "4", "8Gi"),
}
ALERTMANAGER_SIZE = Size("20m", "48Mi", "200m", "128Mi")
PUSHGATEWAY_SIZE = Size("20m", "32Mi", "200m", "128Mi")
GRAFANA_SIZES: dict[Profile, Size] = {
    "laptop": Size("50m", "128Mi", "500m", "256Mi"),
    "small": Size("100m", "256Mi", "1", "512Mi"),
    "production": Size("200m", "512Mi", "2", "1Gi"),
}

# --- metric → exporter -------------------------------------------------------------------
# Every metric an alert or the dashboard reads, and the component that exports it. An alert is
# rendered only when all its metrics' exporters are deployed.
#   exporter      what it is
#   triton        Triton's metrics port (8002 /metrics)
#   torchserve    TorchServe's metrics API (8082 /metrics, metrics_mode=prometheus)
#   tf-serving    TF Serving's REST port (/monitoring/prometheus/metrics)
#   evidently     the drift CronJob, pushed through the Pushgateway
#   kubelet       the kubelets' /metrics (volume stats)
#   cadvisor      the kubelets' /metrics/cadvisor (container start times)
#   prometheus    Prometheus itself (`up` for every target)
METRIC_EXPORTERS: dict[str, str] = {
    "nv_inference_queue_duration_us": "triton",
    "nv_inference_request_success": "triton",
    "nv_inference_request_failure": "triton",
    "nv_inference_request_duration_us": "triton",
    "ts_queue_latency_microseconds": "torchserve",
    "ts_inference_latency_microseconds": "torchserve",
    "ts_inference_requests_total": "torchserve",
    "Requests2XX": "torchserve",
    "Requests4XX": "torchserve",
    "Requests5XX": "torchserve",
    ":tensorflow:serving:request_count": "tf-serving",
    ":tensorflow:serving:request_latency_bucket": "tf-serving",
    ":tensorflow:serving:request_latency_sum": "tf-serving",
    ":tensorflow:serving:request_latency_count": "tf-serving",
    "evidently_drift_detected": "evidently",
    "evidently_drift_share": "evidently",
    "evidently_drifted_columns": "evidently",
    "kubelet_volume_stats_available_bytes": "kubelet",
    "kubelet_volume_stats_capacity_bytes": "kubelet",
    "container_start_time_seconds": "cadvisor",
    "container_cpu_usage_seconds_total": "cadvisor",
    "container_memory_working_set_bytes": "cadvisor",
    "up": "prometheus",
}
# cAdvisor exposes hundreds of series per container; keep only what rules and the dashboard read.
CADVISOR_KEEP = tuple(sorted(m for m, e in METRIC_EXPORTERS.items() if e == "cadvisor"))


@dataclass(frozen=True)
class ScrapeTarget:
    """One component's metrics endpoint: a Service port (by name, or number) and a path."""

    job: str
    # A plain name (known from the spec): the discovery Role is created per namespace.
    namespace: str
    # May be an Output (a Service name exported by an earlier phase).
    service: pulumi.Input[str]
    port: str | int
    path: str = "/metrics"
    # Key of METRIC_EXPORTERS' values: which alert rules this target makes meaningful.
    exporter: str = ""
    # Keep the labels the scraped data carries (the Pushgateway's job/instance of the pusher).
    honor_labels: bool = False


@dataclass(frozen=True)
class ResolvedTarget:
    job: str
    namespace: str
    service: str
    port: str | int
    path: str
    exporter: str
    honor_labels: bool


@dataclass(frozen=True)
class PrometheusArgs:
    namespace: str
    instance: str
    profile: Profile = "laptop"
    targets: tuple[ScrapeTarget, ...] = ()
    # Further namespaces whose annotated pods are discovered (this namespace always is).
    pod_namespaces: tuple[str, ...] = ()
    retention_days: int | None = None
    storage_gib: int = 10
    scrape_interval_seconds: int = 30
    kubelet_metrics: bool = True
    alertmanager: bool = True
    receivers: tuple[AlertReceiverSpec, ...] = ()
    pushgateway: bool = True
    # Exporters that push to the Pushgateway (e.g. "evidently"), for alert selection.
    pushgateway_clients: tuple[str, ...] = ()
    grafana: bool = False
    # Which model server's panels the Grafana dashboard shows.
    dashboard_server: str | None = None


    def targets_as_resolved(self) -> list[ResolvedTarget]:
        """The targets without their (maybe not yet known) Service names: enough for anything
        that only needs jobs, namespaces and exporters."""
        return [ResolvedTarget(t.job, t.namespace, "", t.port, t.path, t.exporter, t.honor_labels)
                for t in self.targets]


@dataclass(frozen=True)
class ResolvedPrometheus:
    args: PrometheusArgs
    name: str
    alertmanager_name: str
    pushgateway_name: str
    grafana_name: str
    discovery_role: str  # Role/RoleBinding name in each discovered namespace
    kubelet_role: str  # ClusterRole/ClusterRoleBinding name (cluster-scoped: unique per instance+ns)
    retention_days: int
    size: Size
    receivers_secret: str


def resolve_prometheus(args: PrometheusArgs) -> ResolvedPrometheus:
    jobs = [t.job for t in args.targets]
    dupes = sorted({j for j in jobs if jobs.count(j) > 1})
    if dupes:
        raise ValueError(f"PrometheusArgs.targets: job names {dupes} repeat; give every target its own job")
    reserved = {"prometheus", "kubernetes-pods", "kubelet", "cadvisor", "pushgateway", "alertmanager", "grafana"}
    clash = sorted(reserved & set(jobs))
    if clash:
        raise ValueError(f"PrometheusArgs.targets: job names {clash} are used by Prometheus' own jobs; rename them")
    for t in args.targets:
        if t.exporter and t.exporter not in set(METRIC_EXPORTERS.values()):
            raise ValueError(f"ScrapeTarget {t.job!r}: exporter {t.exporter!r} is not in METRIC_EXPORTERS")
    names = [r.name for r in args.receivers]
    if len(set(names)) != len(names):
        raise ValueError(f"phases.serving.prometheus.receivers: names {names} must be unique")
    if "null" in names:
        raise ValueError("phases.serving.prometheus.receivers: 'null' is reserved for the drop-all receiver")
    if args.receivers and not args.alertmanager:
        raise ValueError("phases.serving.prometheus.receivers need alertmanager: true; enable it or drop them")
    retention = args.retention_days or RETENTION_DAYS[args.profile]
    return ResolvedPrometheus(
        args=args,
        name=k8s_name(args.instance, "prometheus"),
        alertmanager_name=k8s_name(args.instance, "alertmanager"),
        pushgateway_name=k8s_name(args.instance, "pushgateway"),
        grafana_name=k8s_name(args.instance, "grafana"),
        discovery_role=k8s_name(args.instance, "prometheus-discovery"),
        kubelet_role=k8s_name(args.instance, args.namespace, "prometheus-kubelet"),
        retention_days=retention,
        size=PROMETHEUS_SIZES[args.profile],
        receivers_secret=k8s_name(args.instance, "alertmanager-receivers"),
    )


def own_targets(r: ResolvedPrometheus) -> list[ResolvedTarget]:
    """Targets for the parts this component deploys itself."""
    a = r.args
    out = []
    if a.pushgateway:
        out.append(ResolvedTarget("pushgateway", a.namespace, r.pushgateway_name, "http", "/metrics",
                                  "", honor_labels=True))
    if a.alertmanager:
        out.append(ResolvedTarget("alertmanager", a.namespace, r.alertmanager_name, "http", "/metrics", "", False))
    if a.grafana:
        out.append(ResolvedTarget("grafana", a.namespace, r.grafana_name, "http", "/metrics", "", False))
    return out


def deployed_exporters(r: ResolvedPrometheus, targets: Iterable[ResolvedTarget]) -> set[str]:
    a = r.args
    found = {"prometheus"} | {t.exporter for t in targets if t.exporter}
    if a.kubelet_metrics:
        found |= {"kubelet", "cadvisor"}
    if a.pushgateway:
        found |= set(a.pushgateway_clients)
    return found


# --- prometheus.yml --------------------------------------------------------------------------
def regex_literal(text: str) -> str:
    """`text` as an RE2 pattern matching exactly itself (Kubernetes names only need '.')."""
    return re.sub(r"([.\\+*?()|\[\]{}^$])", r"\\\1", text)


def _keep_service_port(t: ResolvedTarget) -> JsonDict:
    port_label = ("__meta_kubernetes_endpointslice_port_name" if isinstance(t.port, str)
                  else "__meta_kubernetes_endpointslice_port")
    return {
        "source_labels": ["__meta_kubernetes_service_name", port_label],
        "regex": f"{regex_literal(t.service)};{regex_literal(str(t.port))}",
        "action": "keep",
    }


def _target_labels() -> list[JsonDict]:
    # Fresh dicts per job: shared ones would come out of the YAML dump as anchors and aliases.
    return [
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": ["__meta_kubernetes_service_name"], "target_label": "service"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
    ]


def service_job(t: ResolvedTarget) -> JsonDict:
    """A job that scrapes exactly one Service port, through its EndpointSlices."""
    job: JsonDict = {
        "job_name": t.job,
        "metrics_path": t.path,
        "kubernetes_sd_configs": [{"role": "endpointslice", "namespaces": {"names": [t.namespace]}}],
        "relabel_configs": [_keep_service_port(t), *_target_labels()],
    }
    if t.honor_labels:
        job["honor_labels"] = True
    return job


def annotated_pods_job(namespaces: Sequence[str]) -> JsonDict:
    """Pods following the prometheus.io/* annotation convention, except omgml's own (those have
    their explicit jobs)."""
    return {
        "job_name": "kubernetes-pods",
        "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": sorted(set(namespaces))}}],
        "relabel_configs": [
            {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
             "regex": "true", "action": "keep"},
            {"source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_part_of"],
             "regex": "omgml", "action": "drop"},
            {"source_labels": ["__meta_kubernetes_pod_phase"],
             "regex": "Pending|Succeeded|Failed|Completed", "action": "drop"},
            {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_path"],
             "regex": "(.+)", "target_label": "__metrics_path__"},
            {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_port", "__meta_kubernetes_pod_ip"],
             "regex": r"(\d+);(([0-9]+\.){3}[0-9]+)", "replacement": "$2:$1", "target_label": "__address__"},
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        ],
    }


def kubelet_jobs() -> list[JsonDict]:
    """The kubelets' own metrics (volume stats) and cAdvisor (container starts), with the
    ServiceAccount token. Kubelet serving certificates are self-signed on kind and on EKS
    nodes, hence insecure_skip_verify: the token is still checked by the kubelet."""
    base: JsonDict = {
        "scheme": "https",
        "authorization": {"credentials_file": SA_TOKEN},
        "tls_config": {"ca_file": SA_CA, "insecure_skip_verify": True},
        "kubernetes_sd_configs": [{"role": "node"}],
        "relabel_configs": [{"source_labels": ["__meta_kubernetes_node_name"], "target_label": "node"}],
    }
    kubelet = {"job_name": "kubelet", "metrics_path": "/metrics", **base,
               "metric_relabel_configs": [{"source_labels": ["__name__"],
                                           "regex": "kubelet_volume_stats_.*", "action": "keep"}]}
    cadvisor = {"job_name": "cadvisor", "metrics_path": "/metrics/cadvisor", **base,
                "metric_relabel_configs": [{"source_labels": ["__name__"],
                                            "regex": "|".join(CADVISOR_KEEP), "action": "keep"}]}
    return [kubelet, cadvisor]


def prometheus_config(r: ResolvedPrometheus, targets: Sequence[ResolvedTarget],
                      pod_namespaces: Sequence[str]) -> JsonDict:
    """prometheus.yml as a dict: global settings, alerting, rule files and every scrape job."""
    a = r.args
    interval = f"{a.scrape_interval_seconds}s"
    all_targets = [*targets, *own_targets(r)]
    jobs: list[JsonDict] = [{
        "job_name": "prometheus",
        "static_configs": [{"targets": [f"localhost:{PROMETHEUS_PORT}"]}],
    }]
    jobs += [service_job(t) for t in all_targets]
    jobs.append(annotated_pods_job([a.namespace, *pod_namespaces]))
    if a.kubelet_metrics:
        jobs += kubelet_jobs()
    config: JsonDict = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval,
                   "external_labels": {"platform": a.instance}},
        "rule_files": [f"{RULES_DIR}/*.yml"],
        "scrape_configs": jobs,
    }
    if a.alertmanager:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{
            "targets": [f"{r.alertmanager_name}.{a.namespace}.svc:{ALERTMANAGER_PORT}"]}]}]}
    return config


def discovery_namespaces(r: ResolvedPrometheus, targets: Sequence[ResolvedTarget],
                         pod_namespaces: Sequence[str]) -> list[str]:
    """Every namespace a Kubernetes SD config looks at: each needs the discovery Role."""
    return sorted({r.args.namespace, *pod_namespaces, *(t.namespace for t in targets)})


# --- alerting rules -------------------------------------------------------------------------
@dataclass(frozen=True)
class AlertRule:
    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str


_BY = "namespace, pod"
# ContainerRestartingOften: more than this many container starts within the window.
RESTART_MAX_STARTS = 3
RESTART_WINDOW_MINUTES = 30


def _ratio(num: str, den: str) -> str:
    return f"({num}) / ({den})"


def serving_alerts(namespaces_regex: str) -> list[AlertRule]:
    """The rule table. Thresholds: queue time > 100 ms, failure ratio > 5 %, drift flag set,
    > 2 container restarts in 30 min, < 10 % free on a PVC."""
    ns = f'namespace=~"{namespaces_regex}"'
    rate = "sum by ({by}) (rate({m}[5m]))"

    def r(metric: str) -> str:
        return rate.format(by=_BY, m=metric)

    return [
        AlertRule("TritonQueueTimeHigh",
                  _ratio(r("nv_inference_queue_duration_us"), r("nv_inference_request_success")) + " / 1000 > 100",
                  "10m", "warning", "Triton requests wait more than 100 ms in the queue",
                  "Average queue time of {{ $labels.pod }} is {{ $value | humanize }} ms: add replicas "
                  "or instances (instance_group) of the busy model."),
        AlertRule("TritonInferenceFailures",
                  _ratio(r("nv_inference_request_failure"),
                         f"{r('nv_inference_request_success')} + {r('nv_inference_request_failure')}") + " > 0.05",
                  "5m", "critical", "More than 5 % of Triton inferences fail",
                  "{{ $labels.pod }}: {{ $value | humanizePercentage }} of requests failed in 5 minutes."),
        AlertRule("TorchServeQueueTimeHigh",
                  _ratio(r("ts_queue_latency_microseconds"), r("ts_inference_requests_total")) + " / 1000 > 100",
                  "10m", "warning", "TorchServe requests wait more than 100 ms in the queue",
                  "Average queue time of {{ $labels.pod }} is {{ $value | humanize }} ms."),
        AlertRule("TorchServeRequestFailures",
                  _ratio(r("Requests5XX"), f"{r('Requests2XX')} + {r('Requests4XX')} + {r('Requests5XX')}")
                  + " > 0.05",
                  "5m", "critical", "More than 5 % of TorchServe requests fail with 5xx",
                  "{{ $labels.pod }}: {{ $value | humanizePercentage }} of requests failed in 5 minutes."),
        AlertRule("TfServingRequestFailures",
                  _ratio('sum by (namespace, pod) (rate(:tensorflow:serving:request_count{status!="OK"}[5m]))',
                         r(":tensorflow:serving:request_count")) + " > 0.05",
                  "5m", "critical", "More than 5 % of TF Serving requests fail",
                  "{{ $labels.pod }}: {{ $value | humanizePercentage }} of requests failed in 5 minutes."),
        AlertRule("TfServingLatencyHigh",
                  "histogram_quantile(0.95, sum by (namespace, pod, le) "
                  "(rate(:tensorflow:serving:request_latency_bucket[5m]))) / 1000 > 500",
                  "10m", "warning", "TF Serving p95 latency above 500 ms",
                  "{{ $labels.pod }}: p95 request latency is {{ $value | humanize }} ms."),
        AlertRule("DataDriftDetected",
                  "max by (project) (evidently_drift_detected) > 0",
                  "0m", "warning", "Evidently detected data drift",
                  "Project {{ $labels.project }}: the last drift run found drift (share of drifted "
                  "columns over the threshold). Check the Evidently UI and consider retraining."),
        # The expression counts starts (each start is a new cAdvisor series), so the text speaks
        # of starts too: "more than 3 starts" is 3 or more restarts.
        AlertRule("ContainerRestartingOften",
                  "count by (namespace, pod, container) (count_over_time("
                  f'container_start_time_seconds{{container!="", container!="POD", {ns}}}'
                  f"[{RESTART_WINDOW_MINUTES}m])) > {RESTART_MAX_STARTS}",
                  "0m", "warning",
                  f"A container started more than {RESTART_MAX_STARTS} times in {RESTART_WINDOW_MINUTES} minutes",
                  "{{ $labels.namespace }}/{{ $labels.pod }} container {{ $labels.container }} started "
                  f"{{{{ $value }}}} times in the last {RESTART_WINDOW_MINUTES} minutes: it keeps restarting."),
        AlertRule("PersistentVolumeNearlyFull",
                  _ratio(f"kubelet_volume_stats_available_bytes{{{ns}}}",
                         f"kubelet_volume_stats_capacity_bytes{{{ns}}}") + " < 0.10",
                  "10m", "warning", "A persistent volume has less than 10 % free space",
                  "PVC {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has "
                  "{{ $value | humanizePercentage }} free."),
        AlertRule("ScrapeTargetDown",
                  "up == 0",
                  "5m", "warning", "Prometheus cannot scrape a target",
                  "Job {{ $labels.job }} ({{ $labels.instance }}) has been down for 5 minutes."),
    ]


_PROMQL_WORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
                           "unless", "offset", "inf", "nan", "atan2"})


def expr_metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression reads (a small tokenizer: enough for our rules)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for m in re.finditer(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", text):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in _PROMQL_WORDS:
            continue
        names.add(word)
    return names


def alert_rules(exporters: set[str], namespaces: Sequence[str]) -> JsonDict:
    """The rules file: only rules whose every metric is exported by something deployed."""
    regex = "|".join(regex_literal(n) for n in sorted(set(namespaces)))
    rules = []
    for rule in serving_alerts(regex):
        metrics = expr_metric_names(rule.expr)
        unknown = metrics - set(METRIC_EXPORTERS)
        if unknown:
            raise ValueError(f"alert {rule.name}: metrics {sorted(unknown)} have no entry in METRIC_EXPORTERS")
        if not all(METRIC_EXPORTERS[m] in exporters for m in metrics):
            continue
        rules.append({
            "alert": rule.name,
            "expr": rule.expr,
            "for": rule.for_,
            "labels": {"severity": rule.severity},
            "annotations": {"summary": rule.summary, "description": rule.description},
        })
    return {"groups": [{"name": "omgml-serving", "rules": rules}]}


# --- alertmanager.yml ------------------------------------------------------------------------
RECEIVER_FILES_DIR = "/etc/alertmanager/receivers"
EXTERNAL_FILES_DIR = "/etc/alertmanager/external"


def receiver_file(rec: AlertReceiverSpec) -> str:
    """Where Alertmanager reads the receiver's URL or routing key."""
    if rec.secret_name:
        return f"{EXTERNAL_FILES_DIR}/{rec.name}/{rec.secret_key}"
    return f"{RECEIVER_FILES_DIR}/{rec.name}"


def alertmanager_config(receivers: Sequence[AlertReceiverSpec]) -> JsonDict:
    """Every alert goes to every receiver; values are read from files (*_file), never inlined."""
    out: list[JsonDict] = [{"name": "null"}]
    for rec in receivers:
        path = receiver_file(rec)
        if rec.kind == "webhook":
            out.append({"name": rec.name, "webhook_configs": [{"url_file": path, "send_resolved": True}]})
        elif rec.kind == "slack":
            out.append({"name": rec.name, "slack_configs": [{"api_url_file": path, "send_resolved": True}]})
        else:
            out.append({"name": rec.name, "pagerduty_configs": [{"routing_key_file": path, "send_resolved": True}]})
    return {
        "route": {
            "receiver": "null",
            "group_by": ["alertname", "namespace"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [{"receiver": rec.name, "continue": True} for rec in receivers],
        },
        "receivers": out,
    }


# --- grafana -----------------------------------------------------------------------------------
def grafana_datasource(prometheus_url: str) -> JsonDict:
    return {"apiVersion": 1, "datasources": [{
        "name": "Prometheus", "uid": "prometheus", "type": "prometheus", "access": "proxy",
        "url": prometheus_url, "isDefault": True, "editable": False}]}


def grafana_dashboard_provider() -> JsonDict:
    return {"apiVersion": 1, "providers": [{
        "name": "omgml", "folder": "omgml", "type": "file", "disableDeletion": True,
        "allowUiUpdates": False, "options": {"path": "/etc/grafana/dashboards"}}]}


SERVER_PANELS: dict[str, list[tuple[str, str, str]]] = {
    # (title, expr, unit)
    "triton": [
        ("Inference rate", "sum by (model) (rate(nv_inference_request_success[5m]))", "reqps"),
        ("Failure ratio", "sum(rate(nv_inference_request_failure[5m])) / (sum(rate(nv_inference_request_success[5m]))"
                          " + sum(rate(nv_inference_request_failure[5m])))", "percentunit"),
        ("Average queue time (ms)", "sum by (model) (rate(nv_inference_queue_duration_us[5m])) / "
                                    "sum by (model) (rate(nv_inference_request_success[5m])) / 1000", "ms"),
        ("Average request time (ms)", "sum by (model) (rate(nv_inference_request_duration_us[5m])) / "
                                      "sum by (model) (rate(nv_inference_request_success[5m])) / 1000", "ms"),
    ],
    "torchserve": [
        ("Inference rate", "sum by (model_name) (rate(ts_inference_requests_total[5m]))", "reqps"),
        ("5xx ratio", "sum(rate(Requests5XX[5m])) / (sum(rate(Requests2XX[5m])) + sum(rate(Requests4XX[5m]))"
                      " + sum(rate(Requests5XX[5m])))", "percentunit"),
        ("Average queue time (ms)", "sum by (model_name) (rate(ts_queue_latency_microseconds[5m])) / "
                                    "sum by (model_name) (rate(ts_inference_requests_total[5m])) / 1000", "ms"),
        ("Average inference time (ms)", "sum by (model_name) (rate(ts_inference_latency_microseconds[5m])) / "
                                        "sum by (model_name) (rate(ts_inference_requests_total[5m])) / 1000", "ms"),
    ],
    "tf-serving": [
        ("Request rate", "sum by (model_name) (rate(:tensorflow:serving:request_count[5m]))", "reqps"),
        ("Failure ratio", 'sum(rate(:tensorflow:serving:request_count{status!="OK"}[5m])) / '
                          "sum(rate(:tensorflow:serving:request_count[5m]))", "percentunit"),
        ("p95 latency (ms)", "histogram_quantile(0.95, sum by (le) "
                             "(rate(:tensorflow:serving:request_latency_bucket[5m]))) / 1000", "ms"),
    ],
}
COMMON_PANELS: list[tuple[str, str, str, str]] = [
    # (title, expr, unit, exporter)
    ("Drift share (Evidently)", "max by (project) (evidently_drift_share)", "percentunit", "evidently"),
    ("Drift detected", "max by (project) (evidently_drift_detected)", "short", "evidently"),
    ("Container CPU (cores)", 'sum by (pod) (rate(container_cpu_usage_seconds_total{container!=""}[5m]))',
     "short", "cadvisor"),
    ("Container memory", 'sum by (pod) (container_memory_working_set_bytes{container!=""})', "bytes", "cadvisor"),
    ("Targets up", "sum by (job) (up)", "short", "prometheus"),
]


def serving_dashboard(server: str | None, exporters: set[str]) -> JsonDict:
    """The ML-serving dashboard: the model server's traffic, drift and resource panels."""
    panels_src: list[tuple[str, str, str]] = []
    if server is not None and server in exporters:
        panels_src += SERVER_PANELS.get(server, [])
    panels_src += [(t, e, u) for t, e, u, exp in COMMON_PANELS if exp in exporters]
    panels = []
    for i, (title, expr, unit) in enumerate(panels_src):
        panels.append({
            "id": i + 1,
            "type": "timeseries",
            "title": title,
            "datasource": {"type": "prometheus", "uid": "prometheus"},
            "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i // 2) * 8},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "targets": [{"refId": "A", "expr": expr, "datasource": {"type": "prometheus", "uid": "prometheus"}}],
        })
    return {
        "uid": "omgml-serving",
        "title": "omgml / ML serving",
        "tags": ["omgml", "serving"],
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "panels": panels,
    }


def dashboard_metrics(dashboard: JsonDict) -> set[str]:
    return {m for p in dashboard["panels"] for t in p["targets"] for m in expr_metric_names(t["expr"])}


# --- workloads -------------------------------------------------------------------------------
def _checksum(*texts: str) -> str:
    return hashlib.sha256("\0".join(texts).encode()).hexdigest()[:16]


def _labels(r: ResolvedPrometheus, app: str, version: str | None = None) -> dict[str, str]:
    return standard_labels(app, r.args.instance, "monitoring", version)


def _pod_base(sa: str, uid: int) -> JsonDict:
    return {
        "serviceAccountName": sa,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": restricted_pod_security_context(uid, uid, uid),
    }


def prometheus_deployment(r: ResolvedPrometheus, config_checksum: pulumi.Input[str]) -> JsonDict:
    a = r.args
    # Keep 20 % of the volume free for compaction and WAL; retention by size is the backstop.
    size_gb = max(1, int(a.storage_gib * 0.8))
    container: JsonDict = {
        "name": "prometheus",
        "image": PROMETHEUS_IMAGE,
        "args": [
            f"--config.file={CONFIG_DIR}/prometheus.yml",
            f"--storage.tsdb.path={DATA_DIR}",
            f"--storage.tsdb.retention.time={r.retention_days}d",
            f"--storage.tsdb.retention.size={size_gb}GB",
        ],
        "ports": [{"name": "http", "containerPort": PROMETHEUS_PORT, "protocol": "TCP"}],
        "resources": r.size.resources(),
        "readinessProbe": http_probe("/-/ready", "http", period=10),
        "livenessProbe": http_probe("/-/healthy", "http", period=15, failures=4),
        # Replaying a big WAL after a restart takes minutes.
        "startupProbe": http_probe("/-/ready", "http", period=10, failures=60),
        "securityContext": restricted_container_security_context(read_only_root=True),
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "rules", "mountPath": RULES_DIR, "readOnly": True},
            {"name": "data", "mountPath": DATA_DIR},
        ],
    }
    pod = _pod_base(r.name, NOBODY)
    # Kubernetes service discovery talks to the API server with this pod's token.
    pod["automountServiceAccountToken"] = True
    pod["containers"] = [container]
    pod["volumes"] = [
        {"name": "config", "configMap": {"name": r.name}},
        {"name": "rules", "configMap": {"name": k8s_name(r.name, "rules")}},
        {"name": "data", "persistentVolumeClaim": {"claimName": r.name}},
    ]
    return {
        "replicas": 1,
        # One writer on a ReadWriteOnce volume: stop the old pod before starting the new one.
        "strategy": {"type": "Recreate"},
        "selector": {"matchLabels": selector_labels("prometheus", a.instance, "monitoring")},
        "template": {
            "metadata": {"labels": _labels(r, "prometheus", PROMETHEUS_VERSION),
                         "annotations": {"omgml.dev/config-checksum": config_checksum}},
            "spec": pod,
        },
    }


def prometheus_pvc(r: ResolvedPrometheus) -> JsonDict:
    return {"accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": f"{r.args.storage_gib}Gi"}}}


def simple_service(app: str, instance: str, port: int) -> JsonDict:
    return service_spec(selector_labels(app, instance, "monitoring"), [("http", port)])


def pushgateway_deployment(r: ResolvedPrometheus) -> JsonDict:
    a = r.args
    container: JsonDict = {
        "name": "pushgateway",
        "image": PUSHGATEWAY_IMAGE,
        "args": [f"--web.listen-address=:{PUSHGATEWAY_PORT}"],
        "ports": [{"name": "http", "containerPort": PUSHGATEWAY_PORT, "protocol": "TCP"}],
        "resources": PUSHGATEWAY_SIZE.resources(),
        "readinessProbe": http_probe("/-/ready", "http", period=10),
        "livenessProbe": http_probe("/-/healthy", "http", period=15),
        "securityContext": restricted_container_security_context(read_only_root=True),
    }
    pod = _pod_base(r.pushgateway_name, NOBODY)
    pod["containers"] = [container]
    return {
        "replicas": 1,
        "selector": {"matchLabels": selector_labels("pushgateway", a.instance, "monitoring")},
        "template": {"metadata": {"labels": _labels(r, "pushgateway", PUSHGATEWAY_VERSION)}, "spec": pod},
    }


def alertmanager_deployment(r: ResolvedPrometheus, config_checksum: str) -> JsonDict:
    a = r.args
    mounts: list[JsonDict] = [
        {"name": "config", "mountPath": "/etc/alertmanager/config", "readOnly": True},
        {"name": "data", "mountPath": "/alertmanager"},
    ]
    volumes: list[JsonDict] = [
        {"name": "config", "configMap": {"name": r.alertmanager_name}},
        # Silences and notification state; losing them on a restart is acceptable here.
        {"name": "data", "emptyDir": {}},
    ]
    inline = [rec for rec in a.receivers if rec.url is not None]
    if inline:
        mounts.append({"name": "receivers", "mountPath": RECEIVER_FILES_DIR, "readOnly": True})
        volumes.append({"name": "receivers", "secret": {"secretName": r.receivers_secret, "defaultMode": 0o440}})
    for rec in a.receivers:
        if rec.secret_name:
            vol = k8s_name("ext", rec.name)
            mounts.append({"name": vol, "mountPath": f"{EXTERNAL_FILES_DIR}/{rec.name}", "readOnly": True})
            volumes.append({"name": vol, "secret": {"secretName": rec.secret_name, "defaultMode": 0o440,
                                                    "items": [{"key": rec.secret_key, "path": rec.secret_key}]}})
    container: JsonDict = {
        "name": "alertmanager",
        "image": ALERTMANAGER_IMAGE,
        "args": [
            "--config.file=/etc/alertmanager/config/alertmanager.yml",
            "--storage.path=/alertmanager",
            # One replica: no gossip cluster (an empty address turns HA mode off).
            "--cluster.listen-address=",
        ],
        "ports": [{"name": "http", "containerPort": ALERTMANAGER_PORT, "protocol": "TCP"}],
        "resources": ALERTMANAGER_SIZE.resources(),
        "readinessProbe": http_probe("/-/ready", "http", period=10),
        "livenessProbe": http_probe("/-/healthy", "http", period=15),
        "securityContext": restricted_container_security_context(read_only_root=True),
        "volumeMounts": mounts,
    }
    pod = _pod_base(r.alertmanager_name, NOBODY)
    pod["containers"] = [container]
    pod["volumes"] = volumes
    return {
        "replicas": 1,
        "selector": {"matchLabels": selector_labels("alertmanager", a.instance, "monitoring")},
        "template": {"metadata": {"labels": _labels(r, "alertmanager", ALERTMANAGER_VERSION),
                                  "annotations": {"omgml.dev/config-checksum": config_checksum}},
                     "spec": pod},
    }


def grafana_deployment(r: ResolvedPrometheus, admin_secret: str, checksum: str) -> JsonDict:
    a = r.args
    container: JsonDict = {
        "name": "grafana",
        "image": GRAFANA_IMAGE,
        "ports": [{"name": "http", "containerPort": GRAFANA_PORT, "protocol": "TCP"}],
        "env": [
            plain_env("GF_SECURITY_ADMIN_USER", "admin"),
            secret_env("GF_SECURITY_ADMIN_PASSWORD", admin_secret, "GF_SECURITY_ADMIN_PASSWORD"),
            plain_env("GF_PATHS_DATA", "/var/lib/grafana"),
            plain_env("GF_PATHS_PROVISIONING", "/etc/grafana/provisioning"),
            # No phoning home: the namespace has no internet egress anyway.
            plain_env("GF_ANALYTICS_REPORTING_ENABLED", "false"),
            plain_env("GF_ANALYTICS_CHECK_FOR_UPDATES", "false"),
            plain_env("GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES", "false"),
        ],
        "resources": GRAFANA_SIZES[a.profile].resources(),
        "readinessProbe": http_probe("/api/health", "http", period=10),
        "livenessProbe": http_probe("/api/health", "http", period=15, failures=5),
        "securityContext": restricted_container_security_context(read_only_root=True),
        "volumeMounts": [
            {"name": "data", "mountPath": "/var/lib/grafana"},
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "datasources", "mountPath": "/etc/grafana/provisioning/datasources", "readOnly": True},
            {"name": "providers", "mountPath": "/etc/grafana/provisioning/dashboards", "readOnly": True},
            {"name": "dashboards", "mountPath": "/etc/grafana/dashboards", "readOnly": True},
        ],
    }
    cm = k8s_name(r.grafana_name, "provisioning")
    pod = _pod_base(r.grafana_name, GRAFANA_UID)
    pod["containers"] = [container]
    pod["volumes"] = [
        # Everything Grafana needs is provisioned from ConfigMaps; its database is scratch.
        {"name": "data", "emptyDir": {}},
        {"name": "tmp", "emptyDir": {}},
        {"name": "datasources", "configMap": {"name": cm, "items": [{"key": "datasource.yaml", "path": "datasource.yaml"}]}},
        {"name": "providers", "configMap": {"name": cm, "items": [{"key": "provider.yaml", "path": "provider.yaml"}]}},
        {"name": "dashboards", "configMap": {"name": cm, "items": [{"key": "serving.json", "path": "serving.json"}]}},
    ]
    return {
        "replicas": 1,
        "selector": {"matchLabels": selector_labels("grafana", a.instance, "monitoring")},
        "template": {"metadata": {"labels": _labels(r, "grafana", GRAFANA_VERSION),
                                  "annotations": {"omgml.dev/config-checksum": checksum}},
                     "spec": pod},
    }


def discovery_role_rules() -> list[JsonDict]:
    return [
        {"apiGroups": [""], "resources": ["pods", "services"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
    ]


def kubelet_cluster_role_rules() -> list[JsonDict]:
    return [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]},
    ]


def prometheus_egress_policy(r: ResolvedPrometheus) -> JsonDict:
    """Prometheus reaches the API server (service discovery) and the kubelets. Their addresses
    are node/control-plane IPs that differ per cluster, so the rule is by port only."""
    ports = [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]
    if r.args.kubelet_metrics:
        ports.append({"protocol": "TCP", "port": KUBELET_PORT})
    return {
        "podSelector": {"matchLabels": selector_labels("prometheus", r.args.instance, "monitoring")},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": ports}],
    }


def alertmanager_egress_policy(r: ResolvedPrometheus) -> JsonDict:
    """Receivers (Slack, PagerDuty, webhooks) are outside the cluster, over HTTPS."""
    return {
        "podSelector": {"matchLabels": selector_labels("alertmanager", r.args.instance, "monitoring")},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                    "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 80}]}],
    }


def resolve_targets(targets: Sequence[ScrapeTarget], services: Sequence[object]) -> list[ResolvedTarget]:
    """ScrapeTargets with their (now known) Service names."""
    return [ResolvedTarget(t.job, t.namespace, str(svc), t.port, t.path, t.exporter, t.honor_labels)
            for t, svc in zip(targets, services, strict=True)]


class Prometheus(pulumi.ComponentResource):
    """Prometheus server plus the optional Alertmanager, Pushgateway and Grafana."""

    url: str
    pushgateway_url: str | None
    alertmanager_url: str | None
    grafana_secret_name: str | None

    def __init__(self, name: str, args: PrometheusArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        r = resolve_prometheus(args)
        ns = args.namespace
        child = pulumi.ResourceOptions(parent=self)
        keep = args.profile != "laptop"

        def meta(obj_name: str, app: str, namespace: pulumi.Input[str] | None = ns) -> JsonDict:
            m: JsonDict = {"name": obj_name, "labels": _labels(r, app)}
            if namespace is not None:
                m["namespace"] = namespace
            return m

        pod_ns = list(args.pod_namespaces)
        # Service names exported by earlier phases resolve here, in one place; the rest is pure.
        targets: pulumi.Output[list[ResolvedTarget]] = pulumi.Output.all(
            *(t.service for t in args.targets)).apply(lambda svcs: resolve_targets(args.targets, svcs))
        config_text = targets.apply(lambda ts: yaml.safe_dump(prometheus_config(r, ts, pod_ns), sort_keys=False))
        exporters = deployed_exporters(r, [*args.targets_as_resolved(), *own_targets(r)])
        namespaces = discovery_namespaces(r, args.targets_as_resolved(), pod_ns)
        rules_text = yaml.safe_dump(alert_rules(exporters, namespaces), sort_keys=False)

        k8s.core.v1.ConfigMap(f"{name}-config", metadata=meta(r.name, "prometheus"),
                              data={"prometheus.yml": config_text}, opts=child)
        k8s.core.v1.ConfigMap(f"{name}-rules", metadata=meta(k8s_name(r.name, "rules"), "prometheus"),
                              data={"serving.yml": rules_text}, opts=child)
        sa = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=meta(r.name, "prometheus"), opts=child)

        # One Role + RoleBinding in each namespace that service discovery watches.
        for namespace in namespaces:
            k8s.rbac.v1.Role(f"{name}-discovery-{namespace}",
                             metadata=meta(r.discovery_role, "prometheus", namespace),
                             rules=discovery_role_rules(), opts=child)
            k8s.rbac.v1.RoleBinding(
                f"{name}-discovery-{namespace}", metadata=meta(r.discovery_role, "prometheus", namespace),
                role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": r.discovery_role},
                subjects=[{"kind": "ServiceAccount", "name": r.name, "namespace": ns}], opts=child)
        if args.kubelet_metrics:
            k8s.rbac.v1.ClusterRole(f"{name}-kubelet", metadata=meta(r.kubelet_role, "prometheus", None),
                                    rules=kubelet_cluster_role_rules(), opts=child)
            k8s.rbac.v1.ClusterRoleBinding(
                f"{name}-kubelet", metadata=meta(r.kubelet_role, "prometheus", None),
                role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": r.kubelet_role},
                subjects=[{"kind": "ServiceAccount", "name": r.name, "namespace": ns}], opts=child)
        k8s.networking.v1.NetworkPolicy(f"{name}-egress", metadata=meta(k8s_name(r.name, "egress"), "prometheus"),
                                        spec=prometheus_egress_policy(r), opts=child)

        pvc = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-data", metadata=meta(r.name, "prometheus"), spec=prometheus_pvc(r),
            opts=pulumi.ResourceOptions(parent=self, protect=keep, retain_on_delete=keep))
        checksum = config_text.apply(lambda text: _checksum(text, rules_text))
        k8s.apps.v1.Deployment(f"{name}-server", metadata=meta(r.name, "prometheus"),
                               spec=prometheus_deployment(r, checksum),
                               opts=pulumi.ResourceOptions(parent=self, depends_on=[sa, pvc]))
        k8s.core.v1.Service(f"{name}-service", metadata=meta(r.name, "prometheus"),
                            spec=simple_service("prometheus", args.instance, PROMETHEUS_PORT), opts=child)
        self.url = f"http://{r.name}.{ns}.svc:{PROMETHEUS_PORT}"

        self.pushgateway_url = None
        if args.pushgateway:
            k8s.core.v1.ServiceAccount(f"{name}-pushgateway-sa", metadata=meta(r.pushgateway_name, "pushgateway"),
                                       automount_service_account_token=False, opts=child)
            k8s.apps.v1.Deployment(f"{name}-pushgateway", metadata=meta(r.pushgateway_name, "pushgateway"),
                                   spec=pushgateway_deployment(r), opts=child)
            k8s.core.v1.Service(f"{name}-pushgateway-service", metadata=meta(r.pushgateway_name, "pushgateway"),
                                spec=simple_service("pushgateway", args.instance, PUSHGATEWAY_PORT), opts=child)
            self.pushgateway_url = f"http://{r.pushgateway_name}.{ns}.svc:{PUSHGATEWAY_PORT}"

        self.alertmanager_url = None
        if args.alertmanager:
            am_config = yaml.safe_dump(alertmanager_config(args.receivers), sort_keys=False)
            inline = {rec.name: rec.url for rec in args.receivers if rec.url is not None}
            if inline:
                # The URLs are secrets (Slack webhook URLs carry the token): encrypted in state.
                k8s.core.v1.Secret(f"{name}-receivers", metadata=meta(r.receivers_secret, "alertmanager"),
                                   type="Opaque", string_data=pulumi.Output.secret(inline), opts=child)
            if args.receivers:
                k8s.networking.v1.NetworkPolicy(
                    f"{name}-alertmanager-egress",
                    metadata=meta(k8s_name(r.alertmanager_name, "egress"), "alertmanager"),
                    spec=alertmanager_egress_policy(r), opts=child)
            k8s.core.v1.ConfigMap(f"{name}-alertmanager-config", metadata=meta(r.alertmanager_name, "alertmanager"),
                                  data={"alertmanager.yml": am_config}, opts=child)
            k8s.core.v1.ServiceAccount(f"{name}-alertmanager-sa", metadata=meta(r.alertmanager_name, "alertmanager"),
                                       automount_service_account_token=False, opts=child)
            k8s.apps.v1.Deployment(f"{name}-alertmanager", metadata=meta(r.alertmanager_name, "alertmanager"),
                                   spec=alertmanager_deployment(r, _checksum(am_config, json.dumps(sorted(inline)))),
                                   opts=child)
            k8s.core.v1.Service(f"{name}-alertmanager-service", metadata=meta(r.alertmanager_name, "alertmanager"),
                                spec=simple_service("alertmanager", args.instance, ALERTMANAGER_PORT), opts=child)
            self.alertmanager_url = f"http://{r.alertmanager_name}.{ns}.svc:{ALERTMANAGER_PORT}"

        self.grafana_secret_name = None
        if args.grafana:
            admin_secret = k8s_name(r.grafana_name, "admin")
            GeneratedSecret(f"{name}-grafana-admin", GeneratedSecretArgs(
                namespace=ns, secret_name=admin_secret, password_keys=("GF_SECURITY_ADMIN_PASSWORD",),
                app_name="grafana", instance=args.instance), child)
            dashboard_text = json.dumps(serving_dashboard(args.dashboard_server, exporters), indent=1,
                                        sort_keys=True)
            datasource = yaml.safe_dump(grafana_datasource(self.url), sort_keys=False)
            provider = yaml.safe_dump(grafana_dashboard_provider(), sort_keys=False)
            k8s.core.v1.ConfigMap(f"{name}-grafana-provisioning",
                                  metadata=meta(k8s_name(r.grafana_name, "provisioning"), "grafana"),
                                  data={"datasource.yaml": datasource, "provider.yaml": provider,
                                        "serving.json": dashboard_text}, opts=child)
            k8s.core.v1.ServiceAccount(f"{name}-grafana-sa", metadata=meta(r.grafana_name, "grafana"),
                                       automount_service_account_token=False, opts=child)
            k8s.apps.v1.Deployment(f"{name}-grafana", metadata=meta(r.grafana_name, "grafana"),
                                   spec=grafana_deployment(r, admin_secret,
                                                           _checksum(datasource, provider, dashboard_text)),
                                   opts=child)
            k8s.core.v1.Service(f"{name}-grafana-service", metadata=meta(r.grafana_name, "grafana"),
                                spec=simple_service("grafana", args.instance, GRAFANA_PORT), opts=child)
            self.grafana_secret_name = admin_secret

        self.register_outputs({"url": self.url, "pushgateway_url": self.pushgateway_url,
                               "alertmanager_url": self.alertmanager_url})

"""The alerting rules: a pure table, rendered only where every metric a rule reads is exported."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from omgml import k8s as kube
from omgml.components.prometheus.exporters import METRIC_EXPORTERS
from omgml.components.prometheus.promql import expr_metric_names, regex_literal


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


# A/B variants of the model router (components/router.py): backends named ab_<model>_v<n>.
VARIANTS = 'proxy=~"ab_.+"'
VARIANT_ERROR_RATIO = 0.05
VARIANT_SLOWER_FACTOR = 1.5
VARIANT_SLOW_FLOOR_SECONDS = 0.05


def variant_latency() -> str:
    """Each variant's average response time with its model as a label, for variants that had
    traffic in the last 5 minutes (an idle backend's average is 0 and would be 'fastest')."""
    busy = f"sum by (namespace, proxy) (rate(haproxy_backend_http_requests_total{{{VARIANTS}}}[5m])) > 0"
    return ('label_replace(max by (namespace, proxy) (haproxy_backend_response_time_average_seconds'
            f'{{{VARIANTS}}}), "model", "$1", "proxy", "ab_(.+)_v[0-9]+") and on (namespace, proxy) ({busy})')


def variant_alerts() -> list[AlertRule]:
    """A variant that degrades: more errors than the threshold, or clearly slower than the
    fastest variant of its model."""
    def responses(code: str) -> str:
        return f"sum by (namespace, proxy) (rate(haproxy_backend_http_responses_total{{{VARIANTS}{code}}}[5m]))"

    latency = variant_latency()
    return [
        AlertRule("ModelVariantErrors",
                  _ratio(responses(',code="5xx"'), responses(""))
                  + f" > {VARIANT_ERROR_RATIO}",
                  "5m", "critical", "An A/B variant answers more than 5 % of its requests with 5xx",
                  "Router backend {{ $labels.proxy }} (ab_<model>_v<version>): {{ $value | humanizePercentage }} of its "
                  "requests failed in 5 minutes. Set its weight to 0 in phases.serving.experiments to drain it."),
        AlertRule("ModelVariantSlower",
                  f"({latency}) > on (namespace, model) group_left {VARIANT_SLOWER_FACTOR} * "
                  f"min by (namespace, model) ({latency}) and ({latency}) > {VARIANT_SLOW_FLOOR_SECONDS}",
                  "10m", "warning", "An A/B variant is 1.5 times slower than the fastest variant of its model",
                  "Router backend {{ $labels.proxy }} answers in {{ $value | humanizeDuration }} on average, more "
                  "than 1.5 times the fastest variant of model {{ $labels.model }}."),
    ]


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
        AlertRule("DataQualitySuiteFailed",
                  "min by (check, suite, dataset) (gx_suite_success) == 0",
                  "0m", "warning", "A data-quality suite failed",
                  "Check {{ $labels.check }}: suite {{ $labels.suite }} failed on {{ $labels.dataset }} in its last "
                  "run. gx_expectation_success shows which expectations; the data docs on the object store show "
                  "the failing values."),
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
        AlertRule("GpuXidError",
                  "max by (Hostname, gpu) (DCGM_FI_DEV_XID_ERRORS) > 0",
                  "0m", "critical", "A GPU reported an XID error",
                  "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} reported XID {{ $value }}: check the driver log; "
                  "XIDs 48, 63, 64, 74, 79 and 94/95 usually need the node replaced."),
        AlertRule("GpuRowRemapFailed",
                  "max by (Hostname, gpu) (DCGM_FI_DEV_ROW_REMAP_FAILURE) > 0",
                  "0m", "critical", "A GPU could not remap failing memory rows",
                  "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} has a memory row it cannot remap: drain the node."),
        AlertRule("GpuTemperatureHigh",
                  "max by (Hostname, gpu) (DCGM_FI_DEV_GPU_TEMP) > 85",
                  "10m", "warning", "A GPU runs hotter than 85 °C",
                  "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} is at {{ $value }} °C and may throttle."),
        AlertRule("GpuMemoryNearlyFull",
                  _ratio("DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE") + " > 0.95",
                  "15m", "warning", "A GPU's memory is more than 95 % used",
                  "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} ({{ $labels.pod }}): the next batch or model "
                  "load may fail with out-of-memory."),
        AlertRule("GpuIdle",
                  "avg by (Hostname, gpu) (avg_over_time(DCGM_FI_DEV_GPU_UTIL[1h])) < 5",
                  "1h", "warning", "A GPU was nearly idle for an hour",
                  "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} averaged {{ $value }} % for an hour: a GPU node "
                  "costs the same busy or idle; check the pool's sizes."),
        *variant_alerts(),
        AlertRule("ScrapeTargetDown",
                  "up == 0",
                  "5m", "warning", "Prometheus cannot scrape a target",
                  "Job {{ $labels.job }} ({{ $labels.instance }}) has been down for 5 minutes."),
    ]


def alert_rules(exporters: set[str], namespaces: Sequence[str], extra: Sequence[AlertRule] = ()) -> kube.JsonDict:
    """The rules file: only rules whose every metric is exported by something deployed. `extra`
    are rules of other parts of the platform (the backups' age), under the same condition."""
    regex = "|".join(regex_literal(n) for n in sorted(set(namespaces)))
    rules = []
    for rule in [*serving_alerts(regex), *extra]:
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

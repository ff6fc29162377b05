"""The ML-serving Grafana dashboard: the model server's traffic, drift and resource panels."""

from __future__ import annotations

from omgml import k8s as kube
from omgml.components.prometheus.promql import expr_metric_names

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
    ("GPU utilization", "avg by (Hostname, gpu) (DCGM_FI_DEV_GPU_UTIL)", "percent", "dcgm"),
    ("GPU memory used", "sum by (Hostname, gpu) (DCGM_FI_DEV_FB_USED) * 1024 * 1024", "bytes", "dcgm"),
    ("GPU utilization by pod", 'avg by (namespace, pod) (DCGM_FI_DEV_GPU_UTIL{pod!=""})', "percent", "dcgm"),
    ("GPU temperature", "max by (Hostname, gpu) (DCGM_FI_DEV_GPU_TEMP)", "celsius", "dcgm"),
    ("GPU power", "sum by (Hostname) (DCGM_FI_DEV_POWER_USAGE)", "watt", "dcgm"),
    # A/B variants behind the model router: one series per variant backend (ab_<model>_v<n>).
    ("A/B variants: requests/s", 'sum by (proxy) (rate(haproxy_backend_http_requests_total{proxy=~"ab_.+"}[5m]))',
     "reqps", "haproxy"),
    ("A/B variants: 5xx ratio", 'sum by (proxy) (rate(haproxy_backend_http_responses_total{proxy=~"ab_.+",code="5xx"}'
     '[5m])) / sum by (proxy) (rate(haproxy_backend_http_responses_total{proxy=~"ab_.+"}[5m]))', "percentunit",
     "haproxy"),
    ("A/B variants: average response time",
     'max by (proxy) (haproxy_backend_response_time_average_seconds{proxy=~"ab_.+"})', "s", "haproxy"),
]


def serving_dashboard(server: str | None, exporters: set[str]) -> kube.JsonDict:
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


def dashboard_metrics(dashboard: kube.JsonDict) -> set[str]:
    return {m for p in dashboard["panels"] for t in p["targets"] for m in expr_metric_names(t["expr"])}

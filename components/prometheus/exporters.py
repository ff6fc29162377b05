"""Every metric an alert or the dashboard reads, and the component that exports it."""

from __future__ import annotations

# Every metric an alert or the dashboard reads, and the component that exports it. An alert is
# rendered only when all its metrics' exporters are deployed.
#   exporter      what it is
#   triton        Triton's metrics port (8002 /metrics)
#   torchserve    TorchServe's metrics API (8082 /metrics, metrics_mode=prometheus)
#   tf-serving    TF Serving's REST port (/monitoring/prometheus/metrics)
#   evidently     the drift CronJob, pushed through the Pushgateway
#   great_expectations  the data-quality CronJob (foundation), pushed through the Pushgateway
#   kubelet       the kubelets' /metrics (volume stats)
#   cadvisor      the kubelets' /metrics/cadvisor (container start times)
#   haproxy       the model router's built-in exporter (per-variant backends ab_<model>_v<n>)
#   prometheus    Prometheus itself (`up` for every target)
#   dcgm          NVIDIA's DCGM exporter on the GPU nodes (components/dcgm_exporter.py)
#   backup        the backup CronJobs (components/backup), pushed through the Pushgateway
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
    "gx_suite_success": "great_expectations",
    "gx_suite_unsuccessful_expectations": "great_expectations",
    "gx_suite_evaluated_expectations": "great_expectations",
    "gx_expectation_success": "great_expectations",
    "gx_suite_last_run_timestamp_seconds": "great_expectations",
    "kubelet_volume_stats_available_bytes": "kubelet",
    "kubelet_volume_stats_capacity_bytes": "kubelet",
    "container_start_time_seconds": "cadvisor",
    "container_cpu_usage_seconds_total": "cadvisor",
    "container_memory_working_set_bytes": "cadvisor",
    "haproxy_backend_http_requests_total": "haproxy",
    "haproxy_backend_http_responses_total": "haproxy",
    "haproxy_backend_response_time_average_seconds": "haproxy",
    "haproxy_backend_active_servers": "haproxy",
    "up": "prometheus",
    "DCGM_FI_DEV_GPU_UTIL": "dcgm",
    "DCGM_FI_DEV_FB_USED": "dcgm",
    "DCGM_FI_DEV_FB_FREE": "dcgm",
    "DCGM_FI_DEV_GPU_TEMP": "dcgm",
    "DCGM_FI_DEV_POWER_USAGE": "dcgm",
    "DCGM_FI_DEV_XID_ERRORS": "dcgm",
    "DCGM_FI_DEV_ROW_REMAP_FAILURE": "dcgm",


    "omgml_backup_last_success_timestamp_seconds": "backup",
    "omgml_backup_last_size_bytes": "backup",
    "omgml_backup_last_duration_seconds": "backup",
}
# cAdvisor exposes hundreds of series per container; keep only what rules and the dashboard read.
CADVISOR_KEEP = tuple(sorted(m for m, e in METRIC_EXPORTERS.items() if e == "cadvisor"))

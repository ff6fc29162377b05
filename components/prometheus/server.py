"""The Prometheus server: its scrape configuration (generated from what the platform deploys),
its Deployment, volume, RBAC rules and egress."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from omgml import k8s as kube
from omgml.components.prometheus.alertmanager import ALERTMANAGER_PORT
from omgml.components.prometheus.exporters import CADVISOR_KEEP
from omgml.components.prometheus.model import (
    NOBODY,
    ResolvedPrometheus,
    ResolvedTarget,
    own_targets,
    part_deployment,
    pod_base,
)
from omgml.components.prometheus.promql import regex_literal
from omgml.labels import selector_labels
from omgml.naming import k8s_name

PROMETHEUS_VERSION = "v3.14.0"
PROMETHEUS_IMAGE = f"prom/prometheus:{PROMETHEUS_VERSION}"
PROMETHEUS_PORT = 9090
KUBELET_PORT = 10250
# Siblings, not nested: a mount point inside a (read-only) ConfigMap volume cannot be created.
CONFIG_DIR = "/etc/prometheus/config"
RULES_DIR = "/etc/prometheus/rules"
DATA_DIR = "/prometheus"
SA_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
SA_CA = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"


def _keep_service_port(t: ResolvedTarget) -> kube.JsonDict:
    port_label = ("__meta_kubernetes_endpointslice_port_name" if isinstance(t.port, str)
                  else "__meta_kubernetes_endpointslice_port")
    return {
        "source_labels": ["__meta_kubernetes_service_name", port_label],
        "regex": f"{regex_literal(t.service)};{regex_literal(str(t.port))}",
        "action": "keep",
    }


def _target_labels() -> list[kube.JsonDict]:
    # Fresh dicts per job: shared ones would come out of the YAML dump as anchors and aliases.
    return [
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": ["__meta_kubernetes_service_name"], "target_label": "service"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
    ]


def service_job(t: ResolvedTarget) -> kube.JsonDict:
    """A job that scrapes exactly one Service port, through its EndpointSlices."""
    job: kube.JsonDict = {
        "job_name": t.job,
        "metrics_path": t.path,
        "kubernetes_sd_configs": [{"role": "endpointslice", "namespaces": {"names": [t.namespace]}}],
        "relabel_configs": [_keep_service_port(t), *_target_labels()],
    }
    if t.honor_labels:
        job["honor_labels"] = True
    return job


def annotated_pods_job(namespaces: Sequence[str]) -> kube.JsonDict:
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


def kubelet_jobs() -> list[kube.JsonDict]:
    """The kubelets' own metrics (volume stats) and cAdvisor (container starts), with the
    ServiceAccount token. Kubelet serving certificates are self-signed on kind and on EKS
    nodes, hence insecure_skip_verify: the token is still checked by the kubelet."""
    base: kube.JsonDict = {
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
                      pod_namespaces: Sequence[str]) -> kube.JsonDict:
    """prometheus.yml as a dict: global settings, alerting, rule files and every scrape job."""
    a = r.args
    interval = f"{a.scrape_interval_seconds}s"
    all_targets = [*targets, *own_targets(r)]
    jobs: list[kube.JsonDict] = [{
        "job_name": "prometheus",
        "static_configs": [{"targets": [f"localhost:{PROMETHEUS_PORT}"]}],
    }]
    jobs += [service_job(t) for t in all_targets]
    jobs.append(annotated_pods_job([a.namespace, *pod_namespaces]))
    if a.kubelet_metrics:
        jobs += kubelet_jobs()
    config: kube.JsonDict = {
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


def prometheus_deployment(r: ResolvedPrometheus, config_checksum: pulumi.Input[str]) -> kube.JsonDict:
    a = r.args
    # Keep 20 % of the volume free for compaction and WAL; retention by size is the backstop.
    size_gb = max(1, int(a.storage_gib * 0.8))
    container: kube.JsonDict = {
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
        "readinessProbe": kube.http_probe("/-/ready", "http", period=10),
        "livenessProbe": kube.http_probe("/-/healthy", "http", period=15, failures=4),
        # Replaying a big WAL after a restart takes minutes.
        "startupProbe": kube.http_probe("/-/ready", "http", period=10, failures=60),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "rules", "mountPath": RULES_DIR, "readOnly": True},
            {"name": "data", "mountPath": DATA_DIR},
        ],
    }
    # Kubernetes service discovery talks to the API server with this pod's token.
    pod = pod_base(r.name, NOBODY, container, automount_token=True)
    pod["volumes"] = [
        {"name": "config", "configMap": {"name": r.name}},
        {"name": "rules", "configMap": {"name": k8s_name(r.name, "rules")}},
        {"name": "data", "persistentVolumeClaim": {"claimName": r.name}},
    ]
    # One writer on a ReadWriteOnce volume: stop the old pod before starting the new one.
    return part_deployment(r, "prometheus", PROMETHEUS_VERSION, pod, config_checksum=config_checksum, recreate=True)


def prometheus_pvc(r: ResolvedPrometheus) -> kube.JsonDict:
    return {"accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": f"{r.args.storage_gib}Gi"}}}


def discovery_role_rules() -> list[kube.JsonDict]:
    return [
        {"apiGroups": [""], "resources": ["pods", "services"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
    ]


def kubelet_cluster_role_rules() -> list[kube.JsonDict]:
    return [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]},
    ]


def prometheus_egress_policy(r: ResolvedPrometheus, targets: Sequence[ResolvedTarget] = ()) -> kube.JsonDict:
    """Prometheus reaches the API server (service discovery) and the kubelets. Their addresses
    are node/control-plane IPs that differ per cluster, so the rule is by port only. Targets in
    other namespaces (the DCGM exporter on the GPU nodes) are reached in their namespace, on
    their metrics port only."""
    ports = (*kube.KUBE_API_PORTS, KUBELET_PORT) if r.args.kubelet_metrics else kube.KUBE_API_PORTS
    spec = kube.egress_policy_spec({"matchLabels": selector_labels("prometheus", r.args.instance, "monitoring")}, ports)
    for t in sorted({(t.namespace, str(t.port)): t for t in targets if t.namespace != r.args.namespace}.values(),
                    key=lambda t: (t.namespace, str(t.port))):
        spec["egress"].append({
            "to": [kube.namespace_peer(t.namespace)],
            "ports": [{"protocol": "TCP", "port": t.port}],
        })
    return spec



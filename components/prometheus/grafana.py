"""Grafana, provisioned from ConfigMaps: the Prometheus datasource and omgml's dashboards."""

from __future__ import annotations

from omgml import k8s as kube
from omgml import sizes
from omgml.components.prometheus.model import ResolvedPrometheus, part_deployment, pod_base
from omgml.naming import k8s_name

GRAFANA_VERSION = "12.4.0"
GRAFANA_IMAGE = f"grafana/grafana:{GRAFANA_VERSION}"
GRAFANA_PORT = 3000
GRAFANA_UID = 472  # the grafana image's user
GRAFANA_SIZES = sizes.container("grafana")


def grafana_datasource(prometheus_url: str) -> kube.JsonDict:
    return {"apiVersion": 1, "datasources": [{
        "name": "Prometheus", "uid": "prometheus", "type": "prometheus", "access": "proxy",
        "url": prometheus_url, "isDefault": True, "editable": False}]}


def grafana_dashboard_provider() -> kube.JsonDict:
    return {"apiVersion": 1, "providers": [{
        "name": "omgml", "folder": "omgml", "type": "file", "disableDeletion": True,
        "allowUiUpdates": False, "options": {"path": "/etc/grafana/dashboards"}}]}


def grafana_deployment(r: ResolvedPrometheus, admin_secret: str, checksum: str) -> kube.JsonDict:
    a = r.args
    container: kube.JsonDict = {
        "name": "grafana",
        "image": GRAFANA_IMAGE,
        "ports": [{"name": "http", "containerPort": GRAFANA_PORT, "protocol": "TCP"}],
        "env": [
            kube.plain_env("GF_SECURITY_ADMIN_USER", "admin"),
            kube.secret_env("GF_SECURITY_ADMIN_PASSWORD", admin_secret, "GF_SECURITY_ADMIN_PASSWORD"),
            kube.plain_env("GF_PATHS_DATA", "/var/lib/grafana"),
            kube.plain_env("GF_PATHS_PROVISIONING", "/etc/grafana/provisioning"),
            # No phoning home: the namespace has no internet egress anyway.
            kube.plain_env("GF_ANALYTICS_REPORTING_ENABLED", "false"),
            kube.plain_env("GF_ANALYTICS_CHECK_FOR_UPDATES", "false"),
            kube.plain_env("GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES", "false"),
        ],
        "resources": GRAFANA_SIZES[a.profile].resources(),
        "readinessProbe": kube.http_probe("/api/health", "http", period=10),
        "livenessProbe": kube.http_probe("/api/health", "http", period=15, failures=5),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        "volumeMounts": [
            {"name": "data", "mountPath": "/var/lib/grafana"},
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "datasources", "mountPath": "/etc/grafana/provisioning/datasources", "readOnly": True},
            {"name": "providers", "mountPath": "/etc/grafana/provisioning/dashboards", "readOnly": True},
            {"name": "dashboards", "mountPath": "/etc/grafana/dashboards", "readOnly": True},
        ],
    }
    cm = k8s_name(r.grafana_name, "provisioning")
    pod = pod_base(r.grafana_name, GRAFANA_UID, container)
    pod["volumes"] = [
        # Everything Grafana needs is provisioned from ConfigMaps; its database is scratch.
        {"name": "data", "emptyDir": {}},
        {"name": "tmp", "emptyDir": {}},
        {"name": "datasources", "configMap": {"name": cm, "items": [{"key": "datasource.yaml", "path": "datasource.yaml"}]}},
        {"name": "providers", "configMap": {"name": cm, "items": [{"key": "provider.yaml", "path": "provider.yaml"}]}},
        {"name": "dashboards", "configMap": {"name": cm, "items": [{"key": "serving.json", "path": "serving.json"}]}},
    ]
    return part_deployment(r, "grafana", GRAFANA_VERSION, pod, config_checksum=checksum)



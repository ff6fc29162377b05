"""Alertmanager: every alert to every receiver, their URLs and keys read from files."""

from __future__ import annotations

from collections.abc import Sequence

from omgml import k8s as kube
from omgml.components.prometheus.model import NOBODY, ResolvedPrometheus, part_deployment, pod_base
from omgml.labels import selector_labels
from omgml.naming import k8s_name
from omgml.spec.serving import AlertReceiverSpec

ALERTMANAGER_VERSION = "v0.34.0"
ALERTMANAGER_IMAGE = f"prom/alertmanager:{ALERTMANAGER_VERSION}"
ALERTMANAGER_PORT = 9093
ALERTMANAGER_SIZE = kube.Size("20m", "48Mi", "200m", "128Mi")
RECEIVER_FILES_DIR = "/etc/alertmanager/receivers"
EXTERNAL_FILES_DIR = "/etc/alertmanager/external"


def receiver_file(rec: AlertReceiverSpec) -> str:
    """Where Alertmanager reads the receiver's URL or routing key."""
    if rec.secret_name:
        return f"{EXTERNAL_FILES_DIR}/{rec.name}/{rec.secret_key}"
    return f"{RECEIVER_FILES_DIR}/{rec.name}"


def alertmanager_config(receivers: Sequence[AlertReceiverSpec]) -> kube.JsonDict:
    """Every alert goes to every receiver; values are read from files (*_file), never inlined."""
    out: list[kube.JsonDict] = [{"name": "null"}]
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


def alertmanager_deployment(r: ResolvedPrometheus, config_checksum: str) -> kube.JsonDict:
    a = r.args
    mounts: list[kube.JsonDict] = [
        {"name": "config", "mountPath": "/etc/alertmanager/config", "readOnly": True},
        {"name": "data", "mountPath": "/alertmanager"},
    ]
    volumes: list[kube.JsonDict] = [
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
    container: kube.JsonDict = {
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
        "readinessProbe": kube.http_probe("/-/ready", "http", period=10),
        "livenessProbe": kube.http_probe("/-/healthy", "http", period=15),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        "volumeMounts": mounts,
    }
    pod = pod_base(r.alertmanager_name, NOBODY, container)
    pod["volumes"] = volumes
    return part_deployment(r, "alertmanager", ALERTMANAGER_VERSION, pod, config_checksum=config_checksum)


def alertmanager_egress_policy(r: ResolvedPrometheus) -> kube.JsonDict:
    """Receivers (Slack, PagerDuty, webhooks) are outside the cluster, over HTTPS."""
    return kube.egress_policy_spec({"matchLabels": selector_labels("alertmanager", r.args.instance, "monitoring")},
                              (443, 80))



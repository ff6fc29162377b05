"""The Pushgateway: where batch jobs (the drift job) leave metrics for Prometheus."""

from __future__ import annotations

from omgml import k8s as kube
from omgml.components.prometheus.model import NOBODY, ResolvedPrometheus, part_deployment, pod_base

PUSHGATEWAY_VERSION = "v1.11.3"
PUSHGATEWAY_IMAGE = f"prom/pushgateway:{PUSHGATEWAY_VERSION}"
PUSHGATEWAY_PORT = 9091
PUSHGATEWAY_SIZE = kube.Size("20m", "32Mi", "200m", "128Mi")


def pushgateway_deployment(r: ResolvedPrometheus) -> kube.JsonDict:
    container: kube.JsonDict = {
        "name": "pushgateway",
        "image": PUSHGATEWAY_IMAGE,
        "args": [f"--web.listen-address=:{PUSHGATEWAY_PORT}"],
        "ports": [{"name": "http", "containerPort": PUSHGATEWAY_PORT, "protocol": "TCP"}],
        "resources": PUSHGATEWAY_SIZE.resources(),
        "readinessProbe": kube.http_probe("/-/ready", "http", period=10),
        "livenessProbe": kube.http_probe("/-/healthy", "http", period=15),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
    }
    pod = pod_base(r.pushgateway_name, NOBODY, container)
    return part_deployment(r, "pushgateway", PUSHGATEWAY_VERSION, pod)

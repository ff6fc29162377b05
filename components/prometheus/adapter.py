"""prometheus-adapter: Prometheus series as the custom metrics API, so an HPA can scale the model
server on what its users wait for (Triton's queue time per request) instead of CPU.

One rule only: `triton_queue_time_per_request_us`, Triton's queue duration over its successful
requests, per pod (`nv_inference_queue_duration_us` / `nv_inference_request_success`, the
counters the Triton dashboard and alert read). Idle pods report 0. The adapter serves
custom.metrics.k8s.io v1beta1 and v1beta2 (APIServices with `insecureSkipTLSVerify`: the adapter
generates its serving certificate at start, as upstream deploys it); the HPA controller may read
them, and the adapter may delegate authentication and authorization to the API server.

It runs in the serving namespace next to Prometheus. The API server calls it from the
control-plane's addresses (the VPC on EKS), so its NetworkPolicy admits those on 6443; it
calls the API server the same way.

Facts from github.com/kubernetes-sigs/prometheus-adapter at tag v0.12.0 (deploy/manifests:
deployment, RBAC, APIService, service; Dockerfile: USER 65534; docs/config.md: rule syntax).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import yaml

from omgml import k8s as kube
from omgml import sizes
from omgml.aws_versions import PROMETHEUS_ADAPTER
from omgml.components.base import ComponentArgs
from omgml.labels import selector_labels, standard_labels
from omgml.naming import k8s_name
from omgml.spec.common import Profile

TYPE_TOKEN = "omgml:monitoring:PrometheusAdapter"

APP = "prometheus-adapter"
PORT = 6443
UID = 65534
QUEUE_METRIC = "triton_queue_time_per_request_us"
API_VERSIONS = ("v1beta1", "v1beta2")
CUSTOM_METRICS = "custom.metrics.k8s.io"

SIZES = sizes.container("prometheus-adapter")


@dataclass(frozen=True, kw_only=True)
class PrometheusAdapterArgs(ComponentArgs):
    prometheus_url: str
    # Where the API server calls from and is called at (the VPC on EKS).
    api_server_cidrs: tuple[str, ...]


def adapter_name(instance: str) -> str:
    return k8s_name(instance, APP)


def adapter_config() -> kube.JsonDict:
    """The adapter's rules (docs/config.md): Triton's average queue time per request, per pod."""
    rate = "sum by (<<.GroupBy>>) (rate({m}{{<<.LabelMatchers>>}}[2m]))"
    query = (rate.format(m="nv_inference_queue_duration_us") + " / clamp_min("
             + rate.format(m="nv_inference_request_success") + ", 0.001)")
    return {"rules": [{
        "seriesQuery": 'nv_inference_queue_duration_us{namespace!="",pod!=""}',
        "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
        "name": {"matches": "^nv_inference_queue_duration_us$", "as": QUEUE_METRIC},
        "metricsQuery": query,
    }]}


def adapter_container(url: str, profile: Profile) -> kube.JsonDict:
    probe = {"httpGet": {"path": "/readyz", "port": "https", "scheme": "HTTPS"}, "periodSeconds": 10,
             "failureThreshold": 5, "initialDelaySeconds": 10, "timeoutSeconds": 5}
    return {
        "name": APP,
        "image": PROMETHEUS_ADAPTER.image,
        "args": ["--cert-dir=/var/run/serving-cert", "--config=/etc/adapter/config.yaml",
                 "--metrics-relist-interval=1m", f"--prometheus-url={url}", f"--secure-port={PORT}"],
        "ports": [{"name": "https", "containerPort": PORT, "protocol": "TCP"}],
        "readinessProbe": probe,
        "livenessProbe": {**probe, "httpGet": {"path": "/livez", "port": "https", "scheme": "HTTPS"},
                          "initialDelaySeconds": 30},
        "resources": SIZES[profile].resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"},
                         {"name": "serving-cert", "mountPath": "/var/run/serving-cert"},
                         {"name": "config", "mountPath": "/etc/adapter", "readOnly": True}],
    }


def adapter_network_policy(instance: str, api_server_cidrs: Sequence[str]) -> kube.JsonDict:
    """The API server may call the adapter on 6443; the adapter may call the API server on 443
    (both at the control plane's addresses). Prometheus is in the same namespace (allowed)."""
    if not api_server_cidrs:
        raise ValueError("PrometheusAdapterArgs.api_server_cidrs is empty; pass the VPC's range")
    peers = [{"ipBlock": {"cidr": c}} for c in api_server_cidrs]
    return {
        "podSelector": {"matchLabels": selector_labels(APP, instance)},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": peers, "ports": [{"protocol": "TCP", "port": PORT}]}],
        "egress": [{"to": peers, "ports": [{"protocol": "TCP", "port": 443}]}],
    }


def cluster_roles(name: str) -> dict[str, list[kube.JsonDict]]:
    return {
        # What the adapter looks up to map series to objects.
        name: [{"apiGroups": [""], "resources": ["nodes", "namespaces", "pods", "services"],
                "verbs": ["get", "list", "watch"]}],
        # What the HPA controller may read from it.
        k8s_name(name, "custom-metrics-reader"): [{"apiGroups": [CUSTOM_METRICS], "resources": ["*"],
                                                   "verbs": ["get", "list", "watch"]}],
    }


class PrometheusAdapter(pulumi.ComponentResource):
    """The adapter and its APIServices (custom metrics)."""

    def __init__(self, name: str, args: PrometheusAdapterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        object_name = adapter_name(args.instance)
        labels = standard_labels(APP, args.instance, "custom-metrics", PROMETHEUS_ADAPTER.version)
        meta = kube.metadata(object_name, args.namespace, labels)
        sa = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=meta, opts=child)
        config = k8s.core.v1.ConfigMap(f"{name}-config", metadata=meta,
                                       data={"config.yaml": yaml.safe_dump(adapter_config(), sort_keys=False)},
                                       opts=child)
        subject = [{"kind": "ServiceAccount", "name": object_name, "namespace": args.namespace}]
        bindings: list[pulumi.Resource] = []
        roles = cluster_roles(object_name)
        for role_name, rules in roles.items():
            k8s.rbac.v1.ClusterRole(f"{name}-cr-{role_name}", metadata={"name": role_name, "labels": labels},
                                    rules=rules, opts=child)
        for binding, role, subjects in (
            (object_name, object_name, subject),
            (k8s_name(object_name, "auth-delegator"), "system:auth-delegator", subject),
            (k8s_name(object_name, "hpa"), k8s_name(object_name, "custom-metrics-reader"),
             [{"kind": "ServiceAccount", "name": "horizontal-pod-autoscaler", "namespace": "kube-system"}]),
        ):
            bindings.append(k8s.rbac.v1.ClusterRoleBinding(
                f"{name}-crb-{binding}", metadata={"name": binding, "labels": labels},
                role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                subjects=subjects, opts=child))
        bindings.append(k8s.rbac.v1.RoleBinding(
            f"{name}-auth-reader", metadata=kube.metadata(k8s_name(object_name, "auth-reader"), "kube-system", labels),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                      "name": "extension-apiserver-authentication-reader"},
            subjects=subject, opts=child))
        sel = selector_labels(APP, args.instance)
        pod = kube.restricted_pod_spec(object_name, UID, [adapter_container(args.prometheus_url, args.profile)],
                                  automount_token=True,
                                  volumes=[{"name": "tmp", "emptyDir": {}}, {"name": "serving-cert", "emptyDir": {}},
                                           {"name": "config", "configMap": {"name": object_name}}])
        k8s.apps.v1.Deployment(f"{name}-deployment", metadata=meta,
                               spec=kube.deployment_spec(sel, kube.pod_template(labels, pod),
                                                    replicas=1 if args.profile == "laptop" else 2),
                               opts=pulumi.ResourceOptions(parent=self, depends_on=[sa, config, *bindings]))
        service = k8s.core.v1.Service(
            f"{name}-service", metadata=meta,
            spec={"selector": sel, "ports": [{"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}]},
            opts=child)
        k8s.policy.v1.PodDisruptionBudget(f"{name}-pdb", metadata=meta, spec=kube.pdb_spec(sel), opts=child)
        k8s.networking.v1.NetworkPolicy(f"{name}-policy", metadata=meta,
                                        spec=adapter_network_policy(args.instance, args.api_server_cidrs), opts=child)
        for version in API_VERSIONS:
            k8s.apiregistration.v1.APIService(
                f"{name}-{version}", metadata={"name": f"{version}.{CUSTOM_METRICS}", "labels": labels},
                spec={"group": CUSTOM_METRICS, "version": version, "groupPriorityMinimum": 100,
                      "versionPriority": 100, "insecureSkipTLSVerify": True,
                      "service": {"name": object_name, "namespace": args.namespace, "port": 443}},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[service]))
        self.register_outputs({})

"""The model server's route from outside the cluster, the same shape on both targets.

- `aws`: an Ingress of the `alb` class (the AWS Load Balancer Controller, components/aws/
  lbcontroller.py) → an Application Load Balancer sending to the pods directly (target type ip).
  Internal by default; the IngressClassParams of the class pin the scheme, the admitted source
  ranges and the ACM certificate, so this Ingress only says where to route and how the ALB
  checks health. With a certificate the ALB listens on 443 and redirects 80 to it.
- `local`: a NodePort Service on a fixed port, which the generated kind config forwards from
  127.0.0.1 on the laptop (omgml.kind.serving_port_mappings): `curl http://127.0.0.1:8000`
  reaches the model server the same way the ALB does on AWS.

Either way the serving namespace denies ingress by default; a NetworkPolicy admits the route's
sources (the VPC, where the ALB's addresses are; the kind nodes' private range, from which
NodePort traffic arrives) on the server's HTTP port only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml.components.base import require_between
from omgml.kind import LOCAL_HOST_PORT, MODEL_SERVER_NODE_PORT
from omgml.labels import standard_labels
from omgml.naming import k8s_name
from omgml.spec.common import Target

TYPE_TOKEN = "omgml:serving:ModelServerRoute"

ALB = "alb.ingress.kubernetes.io/"


@dataclass(frozen=True)
class ModelServerRouteArgs:
    namespace: str
    instance: str
    target: Target
    service_name: pulumi.Input[str]
    selector: dict[str, str]
    http_port: int
    health_path: str
    # Source ranges admitted to the pods: the VPC on aws (an Output in the serving phase), the
    # private ranges of the kind nodes.
    sources: pulumi.Input[Sequence[str]]
    # aws: the IngressClass, and whether the class has an ACM certificate (HTTPS).
    ingress_class: pulumi.Input[str] | None = None
    https: bool = False
    node_port: int = MODEL_SERVER_NODE_PORT
    labels: dict[str, str] = field(default_factory=dict)


def route_name(instance: str) -> str:
    return k8s_name(instance, "model-server-route")


def ingress_annotations(health_path: str, https: bool) -> dict[str, str]:
    """How the ALB listens and checks the pods; scheme, sources and certificate come from the
    class's IngressClassParams."""
    listen = [{"HTTP": 80}, {"HTTPS": 443}] if https else [{"HTTP": 80}]
    out = {
        f"{ALB}target-type": "ip",
        f"{ALB}listen-ports": json.dumps(listen, separators=(",", ":")),
        f"{ALB}healthcheck-path": health_path,
        f"{ALB}success-codes": "200",
        # Connections drain for 30 s when a pod leaves, then the target is gone.
        f"{ALB}target-group-attributes": "deregistration_delay.timeout_seconds=30",
    }
    if https:
        out[f"{ALB}ssl-redirect"] = "443"
    return out


def model_server_ingress(service_name: str, ingress_class: str) -> kube.JsonDict:
    return {
        "ingressClassName": ingress_class,
        "rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix",
                                       "backend": {"service": {"name": service_name, "port": {"name": "http"}}}}]}}],
    }


def node_port_service(selector: dict[str, str], http_port: int, node_port: int) -> kube.JsonDict:
    require_between("node_port", node_port, 30000, 32767, "Kubernetes' NodePort range")
    return {"type": "NodePort", "selector": dict(selector),
            "ports": [{"name": "http", "port": http_port, "targetPort": "http", "nodePort": node_port,
                       "protocol": "TCP"}]}


def route_ingress_policy(selector: dict[str, str], http_port: int, sources: Sequence[str]) -> kube.JsonDict:
    """NetworkPolicy spec: the route's sources may open the server's HTTP port, nothing else."""
    if not sources:
        raise ValueError("ModelServerRouteArgs.sources is empty; name the ranges the route's traffic comes from")
    return {
        "podSelector": {"matchLabels": dict(selector)},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"ipBlock": {"cidr": c}} for c in sources],
                     "ports": [{"protocol": "TCP", "port": http_port}]}],
    }


class ModelServerRoute(pulumi.ComponentResource):
    """Ingress (aws) or NodePort Service (local) for the model server, and its NetworkPolicy."""

    endpoint: pulumi.Output[str]

    def __init__(self, name: str, args: ModelServerRouteArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        object_name = route_name(args.instance)
        labels = {**standard_labels("model-server-route", args.instance, "network"), **args.labels}
        meta = kube.metadata(object_name, args.namespace, labels)
        selector, port = args.selector, args.http_port
        k8s.networking.v1.NetworkPolicy(
            f"{name}-policy", metadata=meta,
            spec=pulumi.Output.from_input(args.sources).apply(
                lambda src: route_ingress_policy(selector, port, [str(c) for c in src])),
            opts=child)
        if args.target == "aws":
            if args.ingress_class is None:
                raise ValueError("ModelServerRouteArgs.ingress_class is missing on target aws; pass the foundation's "
                                 "ingress_class output")
            service = args.service_name
            ingress = k8s.networking.v1.Ingress(
                f"{name}-ingress",
                metadata={**meta, "annotations": ingress_annotations(args.health_path, args.https)},
                spec=pulumi.Output.all(service, args.ingress_class).apply(
                    lambda v: model_server_ingress(str(v[0]), str(v[1]))),
                opts=child)
            scheme = "https" if args.https else "http"
            self.endpoint = ingress.status.apply(
                lambda st: f"{scheme}://{st.load_balancer.ingress[0].hostname}"
                if st and st.load_balancer and st.load_balancer.ingress else "")
        else:
            k8s.core.v1.Service(f"{name}-nodeport", metadata=meta,
                                spec=node_port_service(args.selector, args.http_port, args.node_port), opts=child)
            self.endpoint = pulumi.Output.from_input(f"http://127.0.0.1:{LOCAL_HOST_PORT}")
        self.register_outputs({"endpoint": self.endpoint})

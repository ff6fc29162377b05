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

import json

import pulumi
import pulumi_kubernetes as k8s
import yaml

from omgml import k8s as kube
from omgml.components.base import Component
from omgml.components.credentials import GeneratedSecret, GeneratedSecretArgs
from omgml.components.options import Children
from omgml.components.prometheus.alertmanager import (
    ALERTMANAGER_PORT,
    alertmanager_config,
    alertmanager_deployment,
    alertmanager_egress_policy,
)
from omgml.components.prometheus.dashboards import serving_dashboard
from omgml.components.prometheus.grafana import (
    GRAFANA_PORT,
    grafana_dashboard_provider,
    grafana_datasource,
    grafana_deployment,
)
from omgml.components.prometheus.model import (
    PrometheusArgs,
    ResolvedPrometheus,
    ResolvedTarget,
    checksum_of,
    deployed_exporters,
    monitoring_labels,
    own_targets,
    resolve_prometheus,
    resolve_targets,
    simple_service,
)
from omgml.components.prometheus.pushgateway import PUSHGATEWAY_PORT, pushgateway_deployment
from omgml.components.prometheus.rules import alert_rules
from omgml.components.prometheus.server import (
    PROMETHEUS_PORT,
    discovery_namespaces,
    discovery_role_rules,
    kubelet_cluster_role_rules,
    prometheus_config,
    prometheus_deployment,
    prometheus_egress_policy,
    prometheus_pvc,
)
from omgml.naming import k8s_name

TYPE_TOKEN = "omgml:observability:Prometheus"


class Prometheus(Component[PrometheusArgs, ResolvedPrometheus], type_token=TYPE_TOKEN, resolve=resolve_prometheus):
    """Prometheus server plus the optional Alertmanager, Pushgateway and Grafana."""

    url: str
    pushgateway_url: str | None
    alertmanager_url: str | None
    grafana_secret_name: str | None

    def build(self, name: str, args: PrometheusArgs, r: ResolvedPrometheus, children: Children) -> pulumi.Inputs:
        ns = args.namespace
        child = children()

        def meta(obj_name: str, app: str, namespace: pulumi.Input[str] | None = ns) -> kube.JsonDict:
            m: kube.JsonDict = {"name": obj_name, "labels": monitoring_labels(r, app)}
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
        rules_text = yaml.safe_dump(alert_rules(exporters, namespaces, args.extra_rules), sort_keys=False)

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
        k8s.networking.v1.NetworkPolicy(f"{name}-egress", metadata=kube.with_egress_reason(
            meta(k8s_name(r.name, "egress"), "prometheus"),
            "service discovery calls the Kubernetes API and scrapes the kubelets, at node and control-plane "
            "addresses no NetworkPolicy peer can name; the rule opens their ports only"),
                                        spec=prometheus_egress_policy(r, args.targets_as_resolved()), opts=child)

        pvc = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-data", metadata=meta(r.name, "prometheus"), spec=prometheus_pvc(r),
            opts=children.data())
        checksum = config_text.apply(lambda text: checksum_of(text, rules_text))
        k8s.apps.v1.Deployment(f"{name}-server", metadata=meta(r.name, "prometheus"),
                               spec=prometheus_deployment(r, checksum),
                               opts=children(sa, pvc))
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
                    metadata=kube.with_egress_reason(meta(k8s_name(r.alertmanager_name, "egress"), "alertmanager"),
                                                "alerts go to the receivers the spec lists (webhooks, Slack, "
                                                "PagerDuty), outside the cluster"),
                    spec=alertmanager_egress_policy(r), opts=child)
            k8s.core.v1.ConfigMap(f"{name}-alertmanager-config", metadata=meta(r.alertmanager_name, "alertmanager"),
                                  data={"alertmanager.yml": am_config}, opts=child)
            k8s.core.v1.ServiceAccount(f"{name}-alertmanager-sa", metadata=meta(r.alertmanager_name, "alertmanager"),
                                       automount_service_account_token=False, opts=child)
            k8s.apps.v1.Deployment(f"{name}-alertmanager", metadata=meta(r.alertmanager_name, "alertmanager"),
                                   spec=alertmanager_deployment(r, checksum_of(am_config, json.dumps(sorted(inline)))),
                                   opts=child)
            k8s.core.v1.Service(f"{name}-alertmanager-service", metadata=meta(r.alertmanager_name, "alertmanager"),
                                spec=simple_service("alertmanager", args.instance, ALERTMANAGER_PORT), opts=child)
            self.alertmanager_url = f"http://{r.alertmanager_name}.{ns}.svc:{ALERTMANAGER_PORT}"

        self.grafana_secret_name = None
        if args.grafana:
            admin_secret = k8s_name(r.grafana_name, "admin")
            GeneratedSecret(f"{name}-grafana-admin", GeneratedSecretArgs(
                namespace=ns, secret_name=admin_secret, password_keys=("GF_SECURITY_ADMIN_PASSWORD",),
                app_name="grafana", instance=args.instance, source=args.credentials), child)
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
                                                           checksum_of(datasource, provider, dashboard_text)),
                                   opts=child)
            k8s.core.v1.Service(f"{name}-grafana-service", metadata=meta(r.grafana_name, "grafana"),
                                spec=simple_service("grafana", args.instance, GRAFANA_PORT), opts=child)
            self.grafana_secret_name = admin_secret

        return {"url": self.url, "pushgateway_url": self.pushgateway_url,
                "alertmanager_url": self.alertmanager_url}


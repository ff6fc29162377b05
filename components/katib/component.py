"""Katib v0.19.0 beside Kubeflow Pipelines, as typed Kubernetes resources.

What runs (in the KFP namespace): the controller (reconciles experiments, trials and
suggestions, serves the admission webhooks, issues its own webhook certificate), the db-manager
(gRPC; trial metrics on the platform's Postgres, database `katib`, DB_NAME=postgres as upstream's
katib-standalone-postgres overlay), and the UI. Experiments, their suggestion services and
trial Jobs run in the steps namespace, which carries the label that opts it into metrics-collector
injection; the foundation creates both namespaces and labels.

Not installed: upstream's MySQL/Postgres (the platform's Postgres is used), cert-manager
(the controller's cert generator issues the webhook certificate), the Kubeflow dashboard's Istio
policies (omgml runs Katib standalone; reach the UI with `kubectl port-forward`).

Pod Security: every Katib pod is "restricted" (upstream's manifests already drop all
capabilities and run as uid 1000; omgml adds the pod-level seccomp, read-only roots and
ServiceAccounts that mount a token only where the binary talks to the API server).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml.components.base import Component
from omgml.components.katib import config as katib_config
from omgml.components.katib.crds import CRDS, crd_spec
from omgml.components.katib.rbac import Grant, grants
from omgml.components.katib.release import (
    APP,
    CERT_DIR,
    CONFIG_MAP,
    CONTROLLER,
    DB_MANAGER,
    DB_MANAGER_PORT,
    HEALTHZ_PORT,
    IMAGES,
    METRICS_PORT,
    SIZING,
    UI,
    UI_PORT,
    UID,
    VERSION,
    WEBHOOK_CONFIGURATION,
    WEBHOOK_PORT,
    WEBHOOK_SECRET,
    KatibSizing,
)
from omgml.components.options import Children
from omgml.components.postgres import CONSUMER_SECRET_KEYS
from omgml.labels import selector_labels, standard_labels
from omgml.naming import require_dns_label, service_url
from omgml.spec.common import Profile

TYPE_TOKEN = "omgml:training:Katib"


@dataclass(frozen=True, kw_only=True)
class KatibArgs:
    namespace: str  # Katib's own namespace (the KFP control plane's)
    steps_namespace: str  # where experiments, suggestions and trials run
    profile: Profile = "laptop"
    # The Postgres consumer Secret of `katib` in `namespace` (host, port, database, username, password).
    database_secret: pulumi.Input[str]
    ui: bool = True
    # lib/pq's sslmode: "disable" for the in-cluster Postgres (no TLS), "require" for RDS, which
    # the platform creates with rds.force_ssl (lib/pq has no "prefer").
    database_ssl_mode: Literal["disable", "require"] = "disable"
    instance: str = APP
    # CRDs and webhook configurations are cluster singletons.
    install_crds: bool = True


@dataclass(frozen=True)
class ResolvedKatib:
    args: KatibArgs
    sizing: KatibSizing

    def labels(self, component: str) -> dict[str, str]:
        return standard_labels(APP, self.args.instance, component, VERSION)

    def selector(self, component: str) -> dict[str, str]:
        return selector_labels(APP, self.args.instance, component)

    @property
    def ui_url(self) -> str:
        return service_url(UI, self.args.namespace, path="/katib/")

    @property
    def db_manager_address(self) -> str:
        return f"{DB_MANAGER}.{self.args.namespace}:{DB_MANAGER_PORT}"


def resolve(args: KatibArgs) -> ResolvedKatib:
    require_dns_label("KatibArgs.namespace", args.namespace)
    require_dns_label("KatibArgs.steps_namespace", args.steps_namespace)
    if args.namespace == args.steps_namespace:
        raise ValueError(f"KatibArgs.steps_namespace: equals namespace ({args.namespace!r}); experiments run in the "
                         "steps namespace so the controller's write rights stay out of its own")
    if args.profile not in SIZING:
        raise ValueError(f"KatibArgs.profile: {args.profile!r} is unknown; use one of {sorted(SIZING)}")
    return ResolvedKatib(args, SIZING[args.profile])


def _container(r: ResolvedKatib, component: str, **fields: object) -> kube.JsonDict:
    c: kube.JsonDict = {
        "name": f"katib-{component}",
        "image": IMAGES[component],
        "imagePullPolicy": "IfNotPresent",
        "resources": getattr(r.sizing, component.replace("-", "_")).resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
    }
    c.update(fields)
    return c


def _namespace_env() -> kube.JsonDict:
    return {"name": "KATIB_CORE_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}


def controller_deployment(r: ResolvedKatib) -> kube.JsonDict:
    c = _container(
        r, "controller",
        command=["./katib-controller"],
        args=["--katib-config=/katib-config.yaml"],
        env=[_namespace_env()],
        ports=[{"name": "webhook", "containerPort": WEBHOOK_PORT, "protocol": "TCP"},
               {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
               {"name": "healthz", "containerPort": HEALTHZ_PORT, "protocol": "TCP"}],
        # /readyz turns ready once the webhook server runs, i.e. after the certificate exists.
        startupProbe=kube.http_probe("/readyz", "healthz", period=5, failures=60),
        readinessProbe=kube.http_probe("/readyz", "healthz", period=10),
        livenessProbe=kube.http_probe("/healthz", "healthz", period=20, failures=6),
        volumeMounts=[
            {"name": "cert", "mountPath": CERT_DIR, "readOnly": True},
            {"name": "katib-config", "mountPath": "/katib-config.yaml", "subPath": "katib-config.yaml",
             "readOnly": True},
        ],
    )
    pod = kube.restricted_pod_spec(CONTROLLER, UID, [c], automount_token=True, volumes=[
        {"name": "cert", "secret": {"secretName": WEBHOOK_SECRET, "defaultMode": 0o444}},
        {"name": "katib-config", "configMap": {"name": CONFIG_MAP}},
    ])
    annotations = {"prometheus.io/scrape": "true", "prometheus.io/port": str(METRICS_PORT)}
    # One controller at a time: two would race on the certificate and the reconcilers.
    return kube.deployment_spec(r.selector("controller"), kube.pod_template(r.labels("controller"), pod, annotations),
                           strategy=kube.RECREATE)


def db_manager_env(database_secret: pulumi.Input[str], ssl_mode: str = "disable") -> list[kube.JsonDict]:
    """The db-manager's Postgres connection (pkg/db/v1beta1/common/const.go names), from the consumer Secret."""
    keys = {v: k for k, v in CONSUMER_SECRET_KEYS.items()}
    assert set(keys) == {"host", "port", "database", "username", "password"}
    return [
        kube.plain_env("DB_NAME", "postgres"),
        kube.secret_env("DB_USER", database_secret, "username"),
        kube.secret_env("DB_PASSWORD", database_secret, "password"),
        kube.secret_env("KATIB_POSTGRESQL_DB_HOST", database_secret, "host"),
        kube.secret_env("KATIB_POSTGRESQL_DB_PORT", database_secret, "port"),
        kube.secret_env("KATIB_POSTGRESQL_DB_DATABASE", database_secret, "database"),
        kube.plain_env("KATIB_POSTGRESQL_SSL_MODE", ssl_mode),
    ]


def _grpc_probe(period: int, failures: int, delay: int = 0) -> kube.JsonDict:
    probe: kube.JsonDict = {"grpc": {"port": DB_MANAGER_PORT}, "periodSeconds": period, "failureThreshold": failures,
                       "timeoutSeconds": 5}
    if delay:
        probe["initialDelaySeconds"] = delay
    return probe


def db_manager_deployment(r: ResolvedKatib) -> kube.JsonDict:
    c = _container(
        r, "db-manager",
        command=["./katib-db-manager"],
        env=db_manager_env(r.args.database_secret, r.args.database_ssl_mode),
        ports=[{"name": "api", "containerPort": DB_MANAGER_PORT, "protocol": "TCP"}],
        # The gRPC health check runs `SELECT 1` on the database (cmd/db-manager Check).
        startupProbe=_grpc_probe(5, 60),
        readinessProbe=_grpc_probe(10, 3),
        livenessProbe=_grpc_probe(60, 5),
    )
    pod = kube.restricted_pod_spec(DB_MANAGER, UID, [c])
    return kube.deployment_spec(r.selector("db-manager"), kube.pod_template(r.labels("db-manager"), pod))


def ui_deployment(r: ResolvedKatib) -> kube.JsonDict:
    c = _container(
        r, "ui",
        command=["./katib-ui"],
        args=[f"--port={UI_PORT}", f"--db-manager-address={r.db_manager_address}"],
        env=[_namespace_env()],
        ports=[{"name": "ui", "containerPort": UI_PORT, "protocol": "TCP"}],
        readinessProbe=kube.http_probe("/katib/", "ui", period=10),
        livenessProbe=kube.http_probe("/katib/", "ui", period=30, failures=5),
    )
    pod = kube.restricted_pod_spec(UI, UID, [c], automount_token=True)
    return kube.deployment_spec(r.selector("ui"), kube.pod_template(r.labels("ui"), pod))


def services(r: ResolvedKatib) -> list[tuple[str, str, kube.JsonDict]]:
    """(name, component, spec); the controller's webhook answers on 443 as the webhooks expect."""
    def port(name: str, number: int, target: str) -> kube.JsonDict:
        return {"name": name, "port": number, "targetPort": target, "protocol": "TCP"}

    out = [
        (CONTROLLER, "controller", {"type": "ClusterIP", "selector": r.selector("controller"), "ports": [
            port("webhook", 443, "webhook"), port("metrics", METRICS_PORT, "metrics")]}),
        (DB_MANAGER, "db-manager", {"type": "ClusterIP", "selector": r.selector("db-manager"), "ports": [
            port("api", DB_MANAGER_PORT, "api")]}),
    ]
    if r.args.ui:
        out.append((UI, "ui", {"type": "ClusterIP", "selector": r.selector("ui"), "ports": [port("ui", 80, "ui")]}))
    return out


def webhook_ingress_policy(r: ResolvedKatib) -> kube.JsonDict:
    """The API server calls the admission webhooks from the control plane, whose address is not
    known at render time: the webhook port is open to any source, every other port stays closed."""
    return {"podSelector": {"matchLabels": r.selector("controller")}, "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"protocol": "TCP", "port": WEBHOOK_PORT}]}]}


def kube_api_policy(r: ResolvedKatib) -> kube.JsonDict:
    """The controller and the UI talk to the Kubernetes API (kind :6443, EKS :443)."""
    return kube.egress_policy_spec({"matchExpressions": [
        {"key": "app.kubernetes.io/name", "operator": "In", "values": [APP]},
        {"key": "app.kubernetes.io/component", "operator": "In", "values": ["controller", "ui"]},
    ]}, kube.KUBE_API_PORTS)


class Katib(Component[KatibArgs, ResolvedKatib], type_token=TYPE_TOKEN, resolve=resolve):
    """Katib in `args.namespace`, experiments in `args.steps_namespace`; `.ui_url`, `.db_manager_address`."""

    ui_url: str
    db_manager_address: str

    def build(self, name: str, args: KatibArgs, r: ResolvedKatib, children: Children) -> pulumi.Inputs:
        ns = args.namespace
        where = {"katib": ns, "steps": args.steps_namespace}

        cluster: list[pulumi.Resource] = []
        if args.install_crds:
            for crd in CRDS:
                cluster.append(k8s.apiextensions.v1.CustomResourceDefinition(
                    f"{name}-crd-{crd.plural}",
                    metadata={"name": crd.name, "labels": r.labels("crd")}, spec=crd_spec(crd), opts=children()))

        def child(*deps: pulumi.Resource, **options: object) -> pulumi.ResourceOptions:
            return children(*cluster, *deps, **options)

        meta = kube.Metadata(ns, r.labels)

        accounts = {
            who: k8s.core.v1.ServiceAccount(
                f"{name}-sa-{who}", metadata=kube.service_account_metadata(who, ns, r.labels("rbac")),
                automount_service_account_token=who != DB_MANAGER, opts=child())
            for who in (CONTROLLER, DB_MANAGER, *([UI] if args.ui else []))
        }
        bindings: dict[str, list[pulumi.Resource]] = {}
        for g in grants(CONTROLLER, UI if args.ui else None):
            bindings.setdefault(g.account, []).append(self._grant(name, r, g, where, accounts[g.account], child))

        config = k8s.core.v1.ConfigMap(f"{name}-config", metadata=meta(CONFIG_MAP, "controller"),
                                       data={"katib-config.yaml": katib_config.katib_config_yaml(r.sizing)},
                                       opts=child())
        # Empty until the controller's cert generator writes the certificate into it.
        cert = k8s.core.v1.Secret(f"{name}-webhook-cert", metadata=meta(WEBHOOK_SECRET, "controller"),
                                  type="Opaque", opts=child(ignore_changes=["data", "stringData"]))
        svcs = {component: k8s.core.v1.Service(f"{name}-svc-{component}", metadata=meta(svc_name, component),
                                               spec=spec, opts=child())
                for svc_name, component, spec in services(r)}
        k8s.networking.v1.NetworkPolicy(f"{name}-webhook-ingress", metadata=meta("katib-webhook-ingress", "network"),
                                        spec=webhook_ingress_policy(r), opts=child())
        api = k8s.networking.v1.NetworkPolicy(f"{name}-kube-api", metadata=kube.with_egress_reason(meta("katib-kube-api", "network"), kube.KUBE_API_EGRESS_REASON),
                                              spec=kube_api_policy(r), opts=child())
        db = k8s.apps.v1.Deployment(f"{name}-db-manager", metadata=meta(DB_MANAGER, "db-manager"),
                                    spec=db_manager_deployment(r),
                                    opts=child(accounts[DB_MANAGER], svcs["db-manager"]))
        controller = k8s.apps.v1.Deployment(
            f"{name}-controller", metadata=meta(CONTROLLER, "controller"), spec=controller_deployment(r),
            opts=child(accounts[CONTROLLER], *bindings[CONTROLLER], config, cert, svcs["controller"], api, db))
        k8s.admissionregistration.v1.ValidatingWebhookConfiguration(
            f"{name}-validating-webhook", metadata={"name": WEBHOOK_CONFIGURATION, "labels": r.labels("webhook")},
            webhooks=katib_config.validating_webhooks(ns),
            # The controller patches the CA bundle in; a later `up` must not take it out again.
            opts=child(controller, ignore_changes=["webhooks[*].clientConfig.caBundle"]))
        k8s.admissionregistration.v1.MutatingWebhookConfiguration(
            f"{name}-mutating-webhook", metadata={"name": WEBHOOK_CONFIGURATION, "labels": r.labels("webhook")},
            webhooks=katib_config.mutating_webhooks(ns),
            opts=child(controller, ignore_changes=["webhooks[*].clientConfig.caBundle"]))
        if args.ui:
            k8s.apps.v1.Deployment(f"{name}-ui", metadata=meta(UI, "ui"), spec=ui_deployment(r),
                                   opts=child(accounts[UI], *bindings[UI], svcs["ui"], api, db))
        self.ui_url = r.ui_url if args.ui else ""
        self.db_manager_address = r.db_manager_address
        return {"ui_url": self.ui_url, "db_manager_address": self.db_manager_address}

    def _grant(self, name: str, r: ResolvedKatib, g: Grant, where: dict[str, str], account: pulumi.Resource,
               child: Callable[..., pulumi.ResourceOptions]) -> pulumi.Resource:
        subject = [{"kind": "ServiceAccount", "name": g.account, "namespace": r.args.namespace}]
        labels = r.labels("rbac")
        if g.where == "cluster":
            # Cluster-scoped, so named after the namespace: two installs never share one.
            obj = f"{r.args.namespace}-{g.name}"
            role = k8s.rbac.v1.ClusterRole(f"{name}-clusterrole-{g.name}", metadata={"name": obj, "labels": labels},
                                           rules=g.rules, opts=child())
            binding: pulumi.Resource = k8s.rbac.v1.ClusterRoleBinding(
                f"{name}-clusterrolebinding-{g.name}", metadata={"name": obj, "labels": labels},
                role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": obj},
                subjects=subject, opts=child(role, account))
            return binding
        namespace = where[g.where]
        ns_role = k8s.rbac.v1.Role(f"{name}-role-{g.name}-{g.where}",
                                   metadata=kube.metadata(g.name, namespace, labels), rules=g.rules, opts=child())
        ns_binding: pulumi.Resource = k8s.rbac.v1.RoleBinding(
            f"{name}-rolebinding-{g.name}-{g.where}", metadata=kube.metadata(g.name, namespace, labels),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": g.name},
            subjects=subject, opts=child(ns_role, account))
        return ns_binding

"""What the Prometheus component decides (pure): args, scrape targets, names and sizes, and the
pieces every part's workload shares."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pulumi

from omgml import k8s as kube
from omgml import sizes
from omgml.components.prometheus.exporters import METRIC_EXPORTERS
from omgml.components.prometheus.rules import AlertRule
from omgml.labels import selector_labels, standard_labels
from omgml.naming import k8s_name
from omgml.spec.common import CredentialSource, Profile, per_profile
from omgml.spec.serving import AlertReceiverSpec

NOBODY = 65534  # the prom/* images run as nobody

RETENTION_DAYS = per_profile(laptop=2, small=15, production=30)
PROMETHEUS_SIZES = sizes.container("prometheus")


@dataclass(frozen=True)
class ScrapeTarget:
    """One component's metrics endpoint: a Service port (by name, or number) and a path."""

    job: str
    # A plain name (known from the spec): the discovery Role is created per namespace.
    namespace: str
    # May be an Output (a Service name exported by an earlier phase).
    service: pulumi.Input[str]
    port: str | int
    path: str = "/metrics"
    # Key of METRIC_EXPORTERS' values: which alert rules this target makes meaningful.
    exporter: str = ""
    # Keep the labels the scraped data carries (the Pushgateway's job/instance of the pusher).
    honor_labels: bool = False


@dataclass(frozen=True)
class ResolvedTarget:
    job: str
    namespace: str
    service: str
    port: str | int
    path: str
    exporter: str
    honor_labels: bool


@dataclass(frozen=True)
class PrometheusArgs:
    namespace: str
    instance: str
    profile: Profile = "laptop"
    targets: tuple[ScrapeTarget, ...] = ()
    # Further namespaces whose annotated pods are discovered (this namespace always is).
    pod_namespaces: tuple[str, ...] = ()
    retention_days: int | None = None
    storage_gib: int = 10
    scrape_interval_seconds: int = 30
    kubelet_metrics: bool = True
    alertmanager: bool = True
    receivers: tuple[AlertReceiverSpec, ...] = ()
    pushgateway: bool = True
    # Exporters that push to the Pushgateway (e.g. "evidently"), for alert selection.
    pushgateway_clients: tuple[str, ...] = ()
    grafana: bool = False
    # Which model server's panels the Grafana dashboard shows.
    dashboard_server: str | None = None
    # Rules of other parts of the platform (the backups' age), rendered like the own ones.
    extra_rules: tuple[AlertRule, ...] = ()
    credentials: CredentialSource = "generated"


    def targets_as_resolved(self) -> list[ResolvedTarget]:
        """The targets without their (maybe not yet known) Service names: enough for anything
        that only needs jobs, namespaces and exporters."""
        return [ResolvedTarget(t.job, t.namespace, "", t.port, t.path, t.exporter, t.honor_labels)
                for t in self.targets]


@dataclass(frozen=True)
class ResolvedPrometheus:
    args: PrometheusArgs
    name: str
    alertmanager_name: str
    pushgateway_name: str
    grafana_name: str
    discovery_role: str  # Role/RoleBinding name in each discovered namespace
    kubelet_role: str  # ClusterRole/ClusterRoleBinding name (cluster-scoped: unique per instance+ns)
    retention_days: int
    size: kube.Size
    receivers_secret: str


def resolve_prometheus(args: PrometheusArgs) -> ResolvedPrometheus:
    jobs = [t.job for t in args.targets]
    dupes = sorted({j for j in jobs if jobs.count(j) > 1})
    if dupes:
        raise ValueError(f"PrometheusArgs.targets: job names {dupes} repeat; give every target its own job")
    reserved = {"prometheus", "kubernetes-pods", "kubelet", "cadvisor", "pushgateway", "alertmanager", "grafana"}
    clash = sorted(reserved & set(jobs))
    if clash:
        raise ValueError(f"PrometheusArgs.targets: job names {clash} are used by Prometheus' own jobs; rename them")
    for t in args.targets:
        if t.exporter and t.exporter not in set(METRIC_EXPORTERS.values()):
            raise ValueError(f"ScrapeTarget {t.job!r}: exporter {t.exporter!r} is not in METRIC_EXPORTERS")
    names = [r.name for r in args.receivers]
    if len(set(names)) != len(names):
        raise ValueError(f"phases.serving.prometheus.receivers: names {names} must be unique")
    if "null" in names:
        raise ValueError("phases.serving.prometheus.receivers: 'null' is reserved for the drop-all receiver")
    if args.receivers and not args.alertmanager:
        raise ValueError("phases.serving.prometheus.receivers need alertmanager: true; enable it or drop them")
    retention = args.retention_days or RETENTION_DAYS[args.profile]
    return ResolvedPrometheus(
        args=args,
        name=k8s_name(args.instance, "prometheus"),
        alertmanager_name=k8s_name(args.instance, "alertmanager"),
        pushgateway_name=k8s_name(args.instance, "pushgateway"),
        grafana_name=k8s_name(args.instance, "grafana"),
        discovery_role=k8s_name(args.instance, "prometheus-discovery"),
        kubelet_role=k8s_name(args.instance, args.namespace, "prometheus-kubelet"),
        retention_days=retention,
        size=PROMETHEUS_SIZES[args.profile],
        receivers_secret=k8s_name(args.instance, "alertmanager-receivers"),
    )


def own_targets(r: ResolvedPrometheus) -> list[ResolvedTarget]:
    """Targets for the parts this component deploys itself."""
    a = r.args
    out = []
    if a.pushgateway:
        out.append(ResolvedTarget("pushgateway", a.namespace, r.pushgateway_name, "http", "/metrics",
                                  "", honor_labels=True))
    if a.alertmanager:
        out.append(ResolvedTarget("alertmanager", a.namespace, r.alertmanager_name, "http", "/metrics", "", False))
    if a.grafana:
        out.append(ResolvedTarget("grafana", a.namespace, r.grafana_name, "http", "/metrics", "", False))
    return out


def deployed_exporters(r: ResolvedPrometheus, targets: Iterable[ResolvedTarget]) -> set[str]:
    a = r.args
    found = {"prometheus"} | {t.exporter for t in targets if t.exporter}
    if a.kubelet_metrics:
        found |= {"kubelet", "cadvisor"}
    if a.pushgateway:
        found |= set(a.pushgateway_clients)
    return found


def resolve_targets(targets: Sequence[ScrapeTarget], services: Sequence[object]) -> list[ResolvedTarget]:
    """ScrapeTargets with their (now known) Service names."""
    return [ResolvedTarget(t.job, t.namespace, str(svc), t.port, t.path, t.exporter, t.honor_labels)
            for t, svc in zip(targets, services, strict=True)]


def checksum_of(*texts: str) -> str:
    return hashlib.sha256("\0".join(texts).encode()).hexdigest()[:16]


def monitoring_labels(r: ResolvedPrometheus, app: str, version: str | None = None) -> dict[str, str]:
    return standard_labels(app, r.args.instance, "monitoring", version)


def pod_base(sa: str, uid: int, container: kube.JsonDict, *, automount_token: bool = False) -> kube.JsonDict:
    """The pod spec of one part: its own ServiceAccount and the image's uid."""
    return kube.restricted_pod_spec(sa, uid, [container], fs_group=uid, automount_token=automount_token)


def simple_service(app: str, instance: str, port: int) -> kube.JsonDict:
    return kube.service_spec(selector_labels(app, instance, "monitoring"), [("http", port)])


def part_deployment(r: ResolvedPrometheus, app: str, version: str, pod: kube.JsonDict, *,
                    config_checksum: pulumi.Input[str] | None = None, recreate: bool = False) -> kube.JsonDict:
    """The Deployment of one part (one replica); a config checksum restarts it when its files change."""
    annotations = {"omgml.dev/config-checksum": config_checksum} if config_checksum is not None else None
    return kube.deployment_spec(selector_labels(app, r.args.instance, "monitoring"),
                           kube.pod_template(monitoring_labels(r, app, version), pod, annotations),
                           strategy=kube.RECREATE if recreate else None)

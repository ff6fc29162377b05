"""`omgml status`: one view of the platform across phases.

Per phase the stack (deployed?, resources, last update, pending changes on request) from the
Pulumi state — or, for a platform applied from `omgml render`'s manifests (kubectl, Argo CD,
Flux), the phase's declared workloads checked against the cluster; per component its workloads
(ready/desired, restarts, images, volume usage where the kubelet reports it) and endpoints from
the Kubernetes API; and the platform's own signals —
firing alerts (Alertmanager), drift (Prometheus), the last pipeline runs (the orchestrator).

`problems(report)` is pure: what makes the platform unhealthy (the command exits 1 on any).
A signal that cannot be read is a warning, not a problem: status still tells what it saw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

PART_OF = "app.kubernetes.io/part-of=omgml"


@dataclass
class StackState:
    phase: str
    stack: str  # the Pulumi stack, or (source "render") the phase's manifest file
    enabled: bool
    deployed: bool = False
    resources: int = 0
    last_update: str | None = None
    last_result: str | None = None
    pending: dict[str, int] | None = None
    error: str | None = None
    source: str = "pulumi"  # pulumi | render
    missing: list[str] = field(default_factory=list)  # source "render": declared, not in the cluster


@dataclass
class VolumeState:
    claim: str
    used_bytes: int | None = None
    capacity_bytes: int | None = None


@dataclass
class ObjectState:
    """Which platform object a row is about: its component (app.kubernetes.io/name), kind and place."""

    component: str
    kind: str
    namespace: str
    name: str


@dataclass
class WorkloadState(ObjectState):
    ready: int
    desired: int
    restarts: int = 0
    images: list[str] = field(default_factory=list)
    volumes: list[VolumeState] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.ready >= self.desired


@dataclass
class JobState(ObjectState):  # kind: Job | CronJob
    state: str  # complete | running | failed | scheduled
    last_schedule: str | None = None
    last_success: str | None = None


@dataclass
class EndpointState:
    component: str
    namespace: str
    service: str
    ports: list[int]
    port_forward: str
    urls: list[str] = field(default_factory=list)


@dataclass
class Signals:
    alerts: list[dict[str, Any]] | None = None
    drift: list[dict[str, Any]] | None = None
    pipeline_runs: list[dict[str, Any]] | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class StatusReport:
    project: str
    target: str
    context: str | None
    stacks: list[StackState] = field(default_factory=list)
    workloads: list[WorkloadState] = field(default_factory=list)
    jobs: list[JobState] = field(default_factory=list)
    endpoints: list[EndpointState] = field(default_factory=list)
    signals: Signals = field(default_factory=Signals)
    cluster_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["problems"] = problems(self)
        data["warnings"] = warnings(self)
        data["healthy"] = not data["problems"]
        return data


def problems(report: StatusReport) -> list[str]:
    """What makes the platform unhealthy, one line each."""
    out: list[str] = []
    for s in report.stacks:
        if s.source == "render":
            out += _render_problems(report, s)
        elif s.error:
            out.append(f"stack {s.stack}: {s.error}")
        elif s.enabled and not s.deployed:
            out.append(f"phase {s.phase} is not deployed (stack {s.stack}); deploy it with "
                       f"`omgml up {report.project} --phase {s.phase}`")
        elif s.last_result == "failed":
            out.append(f"stack {s.stack}: the last update failed; run `omgml up {report.project} --phase {s.phase}`")
    if report.cluster_error:
        out.append(report.cluster_error)
    for w in report.workloads:
        if not w.healthy:
            out.append(f"{w.kind} {w.namespace}/{w.name} ({w.component}): {w.ready}/{w.desired} ready")
    for j in report.jobs:
        if j.state == "failed":
            out.append(f"{j.kind} {j.namespace}/{j.name} ({j.component}): failed")
    for a in report.signals.alerts or []:
        labels = a.get("labels", {})
        out.append(f"alert {labels.get('alertname', '?')} firing (severity {labels.get('severity', '-')})"
                   + (f": {a['summary']}" if a.get("summary") else ""))
    for d in report.signals.drift or []:
        if d.get("drift_detected"):
            out.append(f"data drift detected for project {d.get('project')!r} (share {d.get('drift_share')})")
    for r in report.signals.pipeline_runs or []:
        if r.get("state") == "failed":
            out.append(f"pipeline {r['pipeline']}: last run {r['run_id']} failed")
    return out


def _render_problems(report: StatusReport, s: StackState) -> list[str]:
    # Without the cluster nothing can be told about what was applied; cluster_error says why.
    if not s.enabled or report.cluster_error:
        return []
    apply = f"apply it: `omgml render {report.project} --phase {s.phase}`, then `kubectl apply -f rendered/{s.stack}`"
    if not s.deployed:
        return [f"phase {s.phase} is not applied: none of its {len(s.missing)} workloads is in the cluster; {apply}"]
    return [f"{m} ({s.phase}) is declared by the render but not in the cluster; {apply}" for m in s.missing]


def warnings(report: StatusReport) -> list[str]:
    return list(report.signals.warnings)


# --- stacks -----------------------------------------------------------------------------------------
class StateReader(Protocol):
    def stack_state(self, phase: str, stack: str, preview: bool) -> StackState: ...


class AutomationState:
    """The phase stacks' state through the Pulumi Automation API (the project's backend)."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner  # omgml.deploy.runner.AutomationRunner

    def stack_state(self, phase: str, stack: str, preview: bool) -> StackState:
        from pulumi import automation as auto

        state = StackState(phase, stack, True)
        try:
            st = self.runner._stack(stack, phase, create=False)
        except auto.StackNotFoundError:
            return state
        except Exception as exc:  # the CLI is missing, the backend unreachable, …
            state.error = f"cannot read the Pulumi state: {str(exc).strip().splitlines()[-1] if str(exc) else exc}"
            return state
        resources = (st.export_stack().deployment or {}).get("resources") or []
        state.resources = len(resources)
        state.deployed = bool(resources)
        info = st.info()
        if info is not None:
            state.last_update = str(info.end_time or info.start_time)
            state.last_result = str(info.result)
        if preview and state.deployed:
            state.pending = {k: v for k, v in dict(st.preview().change_summary).items() if k != "same" and v}
        return state


# --- stacks of a platform applied from rendered manifests ----------------------------------------------
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


@dataclass(frozen=True)
class Declared:
    """A workload a phase's render declares."""

    phase: str
    kind: str
    namespace: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def declared_workloads(phase_manifests: dict[str, list[dict[str, Any]]]) -> list[Declared]:
    """The workloads (Deployments, StatefulSets, DaemonSets, Jobs, CronJobs) each phase's render declares."""
    return [Declared(phase, m["kind"], m["metadata"].get("namespace", "default"), m["metadata"]["name"])
            for phase, items in phase_manifests.items() for m in items if m.get("kind") in WORKLOAD_KINDS]


def rendered_stacks(report: StatusReport, declared: list[Declared], phases: list[str],
                    files: dict[str, str]) -> list[StackState]:
    """Each phase judged by its declared workloads: applied when the cluster holds any of them;
    the ones it does not hold are listed (a partly applied phase, a deleted workload)."""
    present = {(w.kind, w.namespace, w.name) for w in report.workloads}
    present |= {(j.kind, j.namespace, j.name) for j in report.jobs}
    out = []
    for phase in phases:
        mine = [d for d in declared if d.phase == phase]
        found = [d for d in mine if (d.kind, d.namespace, d.name) in present]
        out.append(StackState(phase, files.get(phase, "-"), bool(mine), deployed=bool(found),
                              resources=len(found), source="render",
                              missing=[d.label for d in mine if d not in found]))
    return out


# --- the cluster --------------------------------------------------------------------------------------
def _component(labels: dict[str, str] | None) -> str:
    return (labels or {}).get("app.kubernetes.io/name", "?")


def _selector(match: dict[str, str] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((match or {}).items()))


def cluster_state(api_client: Any, report: StatusReport) -> None:
    """Workloads, Jobs and endpoints of the platform (everything labelled part-of=omgml)."""
    from kubernetes import client

    apps = client.AppsV1Api(api_client)
    core = client.CoreV1Api(api_client)
    batch = client.BatchV1Api(api_client)
    pods = core.list_pod_for_all_namespaces(label_selector=PART_OF).items
    usage = volume_usage(core)
    for kind, items in (("Deployment", apps.list_deployment_for_all_namespaces(label_selector=PART_OF).items),
                        ("StatefulSet", apps.list_stateful_set_for_all_namespaces(label_selector=PART_OF).items),
                        ("DaemonSet", apps.list_daemon_set_for_all_namespaces(label_selector=PART_OF).items)):
        for obj in items:
            ns = obj.metadata.namespace
            if kind == "DaemonSet":
                ready, desired = obj.status.number_ready or 0, obj.status.desired_number_scheduled or 0
            else:
                ready = (obj.status.ready_replicas if kind == "StatefulSet" else obj.status.available_replicas) or 0
                desired = obj.spec.replicas if obj.spec.replicas is not None else 1
            match = obj.spec.selector.match_labels or {}
            mine = [p for p in pods if p.metadata.namespace == ns
                    and all((p.metadata.labels or {}).get(k) == v for k, v in match.items())]
            restarts = sum(cs.restart_count or 0 for p in mine for cs in (p.status.container_statuses or []))
            images = sorted({c.image for c in obj.spec.template.spec.containers})
            claims = sorted({v.persistent_volume_claim.claim_name for p in mine for v in (p.spec.volumes or [])
                             if v.persistent_volume_claim is not None})
            if kind == "StatefulSet":
                claims = sorted({*claims, *(f"{t.metadata.name}-{obj.metadata.name}-{i}"
                                            for t in (obj.spec.volume_claim_templates or [])
                                            for i in range(desired))})
            volumes = [VolumeState(c, *usage.get((ns, c), (None, None))) for c in claims]
            report.workloads.append(WorkloadState(_component(obj.metadata.labels), kind, ns, obj.metadata.name,
                                                  int(ready), int(desired), int(restarts), images, volumes))
    for job in batch.list_job_for_all_namespaces(label_selector=PART_OF).items:
        if job.metadata.owner_references:  # a CronJob's run: reported with its CronJob
            continue
        st = job.status
        state = "complete" if (st.succeeded or 0) > 0 else "failed" if any(
            c.type == "Failed" and c.status == "True" for c in (st.conditions or [])) else "running"
        report.jobs.append(JobState(_component(job.metadata.labels), "Job", job.metadata.namespace,
                                    job.metadata.name, state))
    for cj in batch.list_cron_job_for_all_namespaces(label_selector=PART_OF).items:
        st = cj.status
        last, ok = st.last_schedule_time, st.last_successful_time
        failed = last is not None and (ok is None or ok < last) and not (st.active or [])
        report.jobs.append(JobState(_component(cj.metadata.labels), "CronJob", cj.metadata.namespace,
                                    cj.metadata.name, "failed" if failed else "scheduled",
                                    str(last) if last else None, str(ok) if ok else None))
    ingresses = client.NetworkingV1Api(api_client).list_ingress_for_all_namespaces(label_selector=PART_OF).items
    for svc in core.list_service_for_all_namespaces(label_selector=PART_OF).items:
        ports = [int(p.port) for p in svc.spec.ports or []]
        if not ports or svc.spec.cluster_ip == "None":
            continue
        ns, name = svc.metadata.namespace, svc.metadata.name
        urls = [f"{'https' if ing.spec.tls else 'http'}://{rule.host or '*'}{path.path or '/'}"
                for ing in ingresses if ing.metadata.namespace == ns for rule in ing.spec.rules or []
                for path in (rule.http.paths if rule.http else []) if path.backend.service
                and path.backend.service.name == name]
        ctx = f"--context {report.context} " if report.context else ""
        report.endpoints.append(EndpointState(_component(svc.metadata.labels), ns, name, ports,
                                              f"kubectl {ctx}-n {ns} port-forward svc/{name} {ports[0]}:{ports[0]}",
                                              urls))
    report.workloads.sort(key=lambda w: (w.component, w.namespace, w.name))
    report.endpoints.sort(key=lambda e: (e.component, e.namespace, e.service))


def volume_usage(core: Any) -> dict[tuple[str, str], tuple[int | None, int | None]]:
    """(namespace, claim) → (used, capacity) bytes from each node's kubelet stats summary.
    Simulated nodes (kwok) and kubelets the API cannot proxy to report nothing."""
    import json

    out: dict[tuple[str, str], tuple[int | None, int | None]] = {}
    try:
        nodes = core.list_node().items
    except Exception:
        return out
    for node in nodes:
        try:
            raw = core.connect_get_node_proxy_with_path(node.metadata.name, "stats/summary",
                                                        _preload_content=False, _request_timeout=5)
            summary = json.loads(raw.data)
        except Exception:
            continue
        for pod in summary.get("pods", []) or []:
            for vol in pod.get("volume", []) or []:
                ref = vol.get("pvcRef")
                if ref:
                    out[(ref["namespace"], ref["name"])] = (vol.get("usedBytes"), vol.get("capacityBytes"))
    return out


# --- signals --------------------------------------------------------------------------------------------
def firing_alerts(api: Any) -> list[dict[str, Any]]:
    """Alertmanager's active, unsilenced, uninhibited alerts."""
    rows = api.get("api/v2/alerts", {"active": "true", "silenced": "false", "inhibited": "false"})
    return [{"labels": a.get("labels", {}), "summary": (a.get("annotations") or {}).get("summary", ""),
             "since": a.get("startsAt")} for a in rows
            if (a.get("status") or {}).get("state", "active") == "active"]


def drift_signals(api: Any) -> list[dict[str, Any]]:
    """The drift job's last pushed result per Evidently project, read from Prometheus."""
    out: dict[str, dict[str, Any]] = {}
    for metric, key in (("evidently_drift_detected", "drift_detected"), ("evidently_drift_share", "drift_share")):
        body = api.get("api/v1/query", {"query": metric})
        for r in body.get("data", {}).get("result", []):
            project = r["metric"].get("project", "?")
            value = float(r["value"][1])
            out.setdefault(project, {"project": project})[key] = bool(value) if key == "drift_detected" else value
    return sorted(out.values(), key=lambda d: str(d["project"]))


def last_runs(orch: Any, limit_pipelines: int = 20) -> list[dict[str, Any]]:
    """The last run of each pipeline (up to `limit_pipelines` pipelines)."""
    out = []
    for p in orch.pipelines()[:limit_pipelines]:
        runs = orch.runs(p.name, 1)
        if runs:
            out.append(runs[0].as_dict())
    return out


def gather_signals(report: StatusReport, fetch: dict[str, Callable[[], list[dict[str, Any]]]]) -> None:
    """Run each signal's fetcher; an unreachable source becomes a warning."""
    from omgml.errors import OmgmlError

    for name, fn in fetch.items():
        try:
            setattr(report.signals, name, fn())
        except OmgmlError as exc:
            report.signals.warnings.append(f"{name.replace('_', ' ')}: {exc}")

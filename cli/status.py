"""`omgml status PROJECT`: stacks, workloads, endpoints and signals in one view; exit 1 when unhealthy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from omgml.cli.common import load_project_spec, user_errors
from omgml.cli.daytwo import ContextOpt, InClusterOpt, PrefixOpt, ProjectArg, deployed_orchestrators, reach_for
from omgml.cli.output import JsonOption, Table, console, print_json, print_table

if TYPE_CHECKING:
    from omgml.daytwo.status import StatusReport


def _gib(n: int | None) -> str | None:
    return None if n is None else f"{n / 2**30:.2f}"


def status(project: ProjectArg, stack_prefix: PrefixOpt = "dev", context: ContextOpt = None,
           in_cluster: InClusterOpt = False,
           preview: Annotated[bool, typer.Option("--preview", help="Also preview each stack's pending changes.")]
           = False,
           no_signals: Annotated[bool, typer.Option(
               "--no-signals", help="Skip alerts, drift and pipeline runs (no connection to the services).")] = False,
           from_render: Annotated[bool, typer.Option(
               "--from-render", help="The platform was applied from `omgml render`'s manifests (kubectl, GitOps): "
                                     "check each phase's declared workloads in the cluster instead of reading "
                                     "Pulumi stacks.")] = False,
           json_out: JsonOption = False) -> None:
    """One view of the platform: per phase its stack, per component its workloads and endpoints,
    and the platform's signals (firing alerts, drift, last pipeline runs). Exit 1 when unhealthy."""
    if from_render and preview:
        from omgml.cli.common import fail

        raise fail("--preview needs the Pulumi stacks; a platform applied from rendered manifests has none "
                   "(diff it with `omgml render` and `kubectl diff -f rendered/`)")
    with user_errors():
        report = build_report(project, stack_prefix, context, in_cluster, preview, not no_signals, from_render)
    from omgml.daytwo.status import problems, warnings

    found = problems(report)
    if json_out:
        print_json(report.to_json())
    else:
        _print(report, found, warnings(report))
    if found:
        raise typer.Exit(1)


def build_report(project: Any, prefix: str, context: str | None, in_cluster: bool, preview: bool,
                 signals: bool, from_render: bool = False) -> StatusReport:
    from omgml.daytwo.status import StatusReport, cluster_state

    spec = load_project_spec(project)
    reach = reach_for(project, spec, None, in_cluster, context, prefix)
    report = StatusReport(str(project), spec.target, reach.context)
    if not from_render:
        _stacks(project, spec, prefix, preview, report)
    try:
        from omgml.daytwo.reach import kube_api_client

        if in_cluster:
            from kubernetes import client, config

            config.load_incluster_config()
            cluster_state(client.ApiClient(), report)
        else:
            cluster_state(kube_api_client(reach.context), report)
    except Exception as exc:  # the API server is not there, or refuses us
        from omgml.errors import OmgmlError

        text = str(exc) if isinstance(exc, OmgmlError) else f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        report.cluster_error = f"cannot read the cluster ({reach.context or 'in-cluster'}): {text}"
    if from_render:
        _rendered_stacks(project, spec, report)
    if signals:
        _signals(spec, reach, report)
    return report


def _stacks(project: Any, spec: Any, prefix: str, preview: bool, report: StatusReport) -> None:
    from pathlib import Path

    from omgml.cli.deploy import engine_env
    from omgml.daytwo.status import AutomationState, StackState
    from omgml.deploy.plan import phase_steps
    from omgml.deploy.runner import AutomationRunner
    from omgml.naming import stack_name
    from omgml.spec import PHASES

    enabled = {s.phase for s in phase_steps(spec, "up", "all", prefix)}
    root = Path(project) if Path(project).is_dir() else Path(project).parent
    try:
        reader = AutomationState(AutomationRunner(root, spec, prefix, engine_env(root), echo=lambda _: None))
    except Exception as exc:
        for phase in PHASES:
            report.stacks.append(StackState(phase, stack_name(prefix, phase), phase in enabled,
                                            error=None if phase not in enabled else f"cannot read the state: {exc}"))
        return
    for phase in PHASES:
        name = stack_name(prefix, phase)
        if phase in enabled:
            report.stacks.append(reader.stack_state(phase, name, preview))
        else:
            report.stacks.append(StackState(phase, name, False))


def _rendered_stacks(project: Any, spec: Any, report: StatusReport) -> None:
    """Phases judged against the project's render (the same offline synthesis as `omgml render`)."""
    from omgml.cli.common import spec_path
    from omgml.daytwo.status import declared_workloads, rendered_stacks
    from omgml.spec import PHASES
    from omgml.synth.render import phase_file_name, render_platform

    render = render_platform(spec, list(PHASES), spec_path(project).parent)
    declared = declared_workloads({p.phase: p.manifests for p in render.phases})
    files: dict[str, str] = {p: phase_file_name(p) for p in PHASES}
    report.stacks = rendered_stacks(report, declared, list(PHASES), files)


def _signals(spec: Any, reach: Any, report: StatusReport) -> None:
    from omgml.cli.daytwo import orchestrator
    from omgml.daytwo.http import JsonApi
    from omgml.daytwo.reach import platform_endpoints
    from omgml.daytwo.status import drift_signals, firing_alerts, gather_signals, last_runs

    endpoints = platform_endpoints(spec)

    def via(service: str, fn: Any) -> Any:
        def fetch() -> Any:
            e = endpoints[service]
            with reach.open(e, e.title) as base:
                return fn(JsonApi(e.title, base, timeout=10, hint=reach.hint(e)))
        return fetch

    fetch: dict[str, Any] = {}
    if "alertmanager" in endpoints:
        fetch["alerts"] = via("alertmanager", firing_alerts)
    if "prometheus" in endpoints and "evidently" in endpoints:
        fetch["drift"] = via("prometheus", drift_signals)
    kinds = [k for k in deployed_orchestrators(spec) if k in endpoints]
    if kinds:
        def runs() -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = []
            for kind in kinds:
                with orchestrator(spec, reach, kind) as orch:
                    out += [{**r, "orchestrator": kind} for r in last_runs(orch)]
            return out
        fetch["pipeline_runs"] = runs
    gather_signals(report, fetch)


def _print(report: StatusReport, found: list[str], warned: list[str]) -> None:
    out = console()
    stacks = Table("stacks", ("phase", "stack", "state", "resources", "last update", "pending"))
    for s in report.stacks:
        state = ("disabled" if not s.enabled else f"error: {s.error}" if s.error else
                 ("applied" if s.deployed else "NOT APPLIED") + (f", {len(s.missing)} missing" if s.missing else "")
                 if s.source == "render" else
                 ("deployed" if s.deployed else "NOT DEPLOYED") + (f" ({s.last_result})" if s.last_result else ""))
        pending = ", ".join(f"{v} {k}" for k, v in (s.pending or {}).items()) if s.pending is not None else None
        stacks.add(s.phase, s.stack, state, s.resources or None, s.last_update, pending if s.pending is None or pending
                   else "no changes")
    print_table(out, stacks)
    if report.cluster_error:
        out.print(report.cluster_error, markup=False)
    if report.workloads:
        w = Table("workloads", ("component", "workload", "ready", "restarts", "images", "volumes (GiB used/size)"))
        for x in report.workloads:
            vols = ", ".join(f"{v.claim} {_gib(v.used_bytes) or '?'}/{_gib(v.capacity_bytes) or '?'}" for v in x.volumes)
            w.add(x.component, f"{x.kind}/{x.namespace}/{x.name}", f"{x.ready}/{x.desired}", x.restarts,
                  ", ".join(x.images), vols or None)
        print_table(out, w)
    if report.jobs:
        j = Table("jobs", ("component", "job", "state", "last schedule", "last success"))
        for y in report.jobs:
            j.add(y.component, f"{y.kind}/{y.namespace}/{y.name}", y.state, y.last_schedule, y.last_success)
        print_table(out, j)
    if report.endpoints:
        e = Table("endpoints", ("component", "service", "ports", "reach it"))
        for z in report.endpoints:
            e.add(z.component, f"{z.namespace}/{z.service}", ", ".join(map(str, z.ports)),
                  ", ".join(z.urls) or z.port_forward)
        print_table(out, e)
    sig = report.signals
    if sig.alerts is not None:
        out.print(f"firing alerts: {len(sig.alerts)}", markup=False)
    if sig.drift is not None:
        for d in sig.drift:
            out.print(f"drift {d['project']}: {'DETECTED' if d.get('drift_detected') else 'none'} "
                      f"(share {d.get('drift_share')})", markup=False)
    if sig.pipeline_runs is not None:
        r = Table("last pipeline runs", ("orchestrator", "pipeline", "run", "state", "started"))
        for x2 in sig.pipeline_runs:
            r.add(x2["orchestrator"], x2["pipeline"], x2["run_id"], x2["state"], x2["started"])
        print_table(out, r)
    for line in warned:
        typer.secho(f"warning: {line}", err=True, fg=typer.colors.YELLOW)
    if found:
        typer.secho("UNHEALTHY:", err=True, fg=typer.colors.RED, bold=True)
        for line in found:
            typer.secho(f"  - {line}", err=True, fg=typer.colors.RED)
    else:
        typer.secho("healthy", fg=typer.colors.GREEN)

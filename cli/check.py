"""`omgml check`: schema, policies and capacity on a fresh render; non-zero on any error."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from omgml.cli.common import ProjectArgument, fail, load_project_spec, spec_path, user_errors
from omgml.cli.output import OutputOption, WideOption

if TYPE_CHECKING:
    from rich.console import Console

    from omgml.capacity import CapacityReport
    from omgml.cli.output import Table
    from omgml.policy.findings import Finding


def check(
    project: ProjectArgument,
    budget_cpu: Annotated[float | None, typer.Option(
        metavar="CPU", help="CPU the cluster gives the platform (default: the profile's; laptop 4).")] = None,
    budget_memory_gib: Annotated[float | None, typer.Option(
        metavar="GIB", help="Memory in GiB the cluster gives the platform (default: the profile's; laptop 8).")] = None,
    budget_gpu: Annotated[int | None, typer.Option(metavar="N", help="GPUs the cluster has (laptop default 0).")] = None,
    schema: Annotated[bool, typer.Option(
        "--schema/--no-schema",
        help="Validate against the Kubernetes schemas of the project's Kubernetes version (strict).")] = True,
    output: OutputOption = "text",
    wide: WideOption = False,
) -> None:
    """Render the platform and run every check: schema, policies, capacity. Exit 1 on any error."""
    with user_errors():
        spec = load_project_spec(project)
        from omgml.capacity import budget_for
        from omgml.policy.check import check_render
        from omgml.synth.render import render_platform
        from omgml.validate import ValidatorMissing

        render = render_platform(spec, project_dir=spec_path(project).parent)
        budget = budget_for(spec.profile, budget_cpu, budget_memory_gib, budget_gpu)
        try:
            result = check_render(render, budget, schema=schema)
        except ValidatorMissing as exc:
            raise fail(str(exc)) from None
        if project.is_dir():
            from omgml.consistency import project_findings
            from omgml.policy.check import CheckResult

            # The project's own files first: a stack config pointing at the wrong cluster outranks
            # anything inside the manifests.
            result = CheckResult([*project_findings(project, spec), *result.findings], result.capacity)
    if output == "json":
        import json

        from omgml.policy.check import result_json

        typer.echo(json.dumps(result_json(result), indent=2, sort_keys=True))
        raise typer.Exit(1 if result.failed else 0)
    if output == "markdown":
        from omgml.policy.check import check_markdown

        typer.echo(check_markdown(result), nl=False)
        raise typer.Exit(1 if result.failed else 0)
    from omgml.cli.output import console as make_console

    console = make_console(wide)
    print_findings(console, result.findings)
    print_capacity(console, result.capacity)
    n_err = sum(1 for f in result.findings if f.severity == "error")
    n_warn = len(result.findings) - n_err
    objects = len(render.all_manifests())
    if result.failed:
        console.print(f"[bold red]check failed[/]: {n_err} error(s), {n_warn} warning(s) "
                      f"over {objects} objects", soft_wrap=True)
        raise typer.Exit(1)
    console.print(f"[bold green]check passed[/]: {objects} objects, {n_warn} warning(s)", soft_wrap=True)


def print_findings(console: Console, findings: list[Finding]) -> None:
    from rich.markup import escape

    for f in sorted(findings, key=lambda f: (f.severity != "error", f.policy_id, f.resource, f.field)):
        colour = "red" if f.severity == "error" else "yellow"
        field = f" [dim]{escape(f.field)}[/]" if f.field else ""
        console.print(f"[{colour}]{f.severity}[/] [bold]{f.policy_id}[/] {escape(f.resource)}{field}",
                      soft_wrap=True)
        console.print(f"    {escape(f.message)}", soft_wrap=True)
        console.print(f"    [cyan]fix:[/] {escape(f.fix)}", soft_wrap=True)


def capacity_tables(report: CapacityReport) -> list[Table]:
    """The capacity report as tables: requests per phase (with total and budget), top consumers."""
    from omgml.capacity import format_bytes, format_cpu
    from omgml.cli.output import Table

    numbers = frozenset({"CPU", "memory", "GPU", "storage"})
    per_phase = Table("Requests per phase (steady state)", ("phase", "CPU", "memory", "GPU", "storage"),
                      numeric=numbers)
    for phase, t in report.phase_totals():
        per_phase.add(phase, format_cpu(t.cpu_m), format_bytes(t.memory_b), t.gpus, format_bytes(t.storage_b))
    b = report.budget
    if b is not None:
        per_phase.add("budget", format_cpu(b.cpu_m) if b.cpu_m is not None else None,
                      format_bytes(b.memory_b) if b.memory_b is not None else None, b.gpus, None)
    top = Table("Top consumers", ("component", "phase", "CPU", "memory", "GPU", "storage"), numeric=numbers)
    for r in report.top(5):
        t = r.totals
        top.add(r.component, r.phase, format_cpu(t.cpu_m), format_bytes(t.memory_b), t.gpus, format_bytes(t.storage_b))
    return [per_phase, top] if top.rows else [per_phase]


def print_capacity(console: Console, report: CapacityReport) -> None:
    from omgml.capacity import format_bytes, format_cpu
    from omgml.cli.output import print_table

    for table in capacity_tables(report):
        print_table(console, table)
    if report.batch.cpu_m or report.batch.memory_b:
        console.print(f"batch jobs (not budgeted, need headroom while running): {format_cpu(report.batch.cpu_m)}, "
                      f"{format_bytes(report.batch.memory_b)}")
    if report.budget is not None:
        console.print(f"budget: {report.budget.source}", markup=False)

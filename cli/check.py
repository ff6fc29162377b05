"""`omgml check`: schema, policies and capacity on a fresh render; non-zero on any error."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from omgml.cli.common import fail, load_project_spec, spec_path, user_errors

if TYPE_CHECKING:
    from rich.console import Console

    from omgml.capacity import CapacityReport
    from omgml.policy.findings import Finding


def check(
    project: Annotated[Path, typer.Argument(help="Project folder (with omgml.yaml) or a spec file.")],
    budget_cpu: Annotated[float | None, typer.Option(
        help="CPU the cluster gives the platform (default: the profile's; laptop 4).")] = None,
    budget_memory_gib: Annotated[float | None, typer.Option(
        help="Memory in GiB the cluster gives the platform (default: the profile's; laptop 8).")] = None,
    budget_gpu: Annotated[int | None, typer.Option(help="GPUs the cluster has (laptop default 0).")] = None,
    schema: Annotated[bool, typer.Option("--schema/--no-schema",
                                         help="Validate against the Kubernetes schemas (strict).")] = True,
    output: Annotated[str, typer.Option("--output", "-o", help="text, json or markdown (for CI).")] = "text",
) -> None:
    """Render the platform and run every check: schema, policies, capacity. Exit 1 on any error."""
    from rich.console import Console

    if output not in ("text", "json", "markdown"):
        raise fail(f"--output must be text, json or markdown, got {output!r}")
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
    if output == "json":
        import json

        from omgml.policy.check import result_json

        typer.echo(json.dumps(result_json(result), indent=2, sort_keys=True))
        raise typer.Exit(1 if result.failed else 0)
    if output == "markdown":
        from omgml.policy.check import check_markdown

        typer.echo(check_markdown(result), nl=False)
        raise typer.Exit(1 if result.failed else 0)
    console = Console(highlight=False)
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


def print_capacity(console: Console, report: CapacityReport) -> None:
    from rich.table import Table

    from omgml.capacity import format_bytes, format_cpu

    table = Table(title="Requests per phase (steady state)")
    for col in ("phase", "CPU", "memory", "GPU", "storage"):
        table.add_column(col, justify="left" if col == "phase" else "right")
    for phase, t in report.per_phase().items():
        table.add_row(phase, format_cpu(t.cpu_m), format_bytes(t.memory_b), str(t.gpus), format_bytes(t.storage_b))
    total = report.total
    table.add_row("[bold]total[/]", format_cpu(total.cpu_m), format_bytes(total.memory_b), str(total.gpus),
                  format_bytes(total.storage_b))
    b = report.budget
    if b is not None:
        table.add_row("[bold]budget[/]", format_cpu(b.cpu_m) if b.cpu_m is not None else "-",
                      format_bytes(b.memory_b) if b.memory_b is not None else "-",
                      str(b.gpus) if b.gpus is not None else "-", "-")
    console.print(table)
    top = Table(title="Top consumers")
    for col in ("component", "phase", "CPU", "memory", "GPU", "storage"):
        top.add_column(col, justify="left" if col in ("component", "phase") else "right")
    for r in report.top(5):
        t = r.totals
        top.add_row(r.component, r.phase, format_cpu(t.cpu_m), format_bytes(t.memory_b), str(t.gpus),
                    format_bytes(t.storage_b))
    if report.top(5):
        console.print(top)
    if report.batch.cpu_m or report.batch.memory_b:
        console.print(f"batch jobs (not budgeted, need headroom while running): {format_cpu(report.batch.cpu_m)}, "
                      f"{format_bytes(report.batch.memory_b)}")
    if b is not None:
        console.print(f"budget: {b.source}")

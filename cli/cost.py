"""`omgml cost`: monthly list-price estimate of the platform on aws, from a fresh render."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from omgml.cli.common import ProjectArgument, fail, load_project_spec, spec_path, user_errors
from omgml.cli.output import OutputOption, WideOption

if TYPE_CHECKING:
    from rich.console import Console

    from omgml.cost import CostEstimate, Usage


def cost(
    project: ProjectArgument,
    prices: Annotated[Path | None, typer.Option(
        metavar="FILE", help="YAML price file merged over the shipped us-east-1 list prices (same layout).")] = None,
    budget_usd_month: Annotated[float | None, typer.Option(
        metavar="USD", help="Monthly budget (default: requirements.budget_usd_month in omgml.yaml).")] = None,
    baseline: Annotated[Path | None, typer.Option(
        metavar="PROJECT", help="Another spec file or project to compare with (e.g. the base branch's omgml.yaml).")] = None,
    output: OutputOption = "text",
    wide: WideOption = False,
) -> None:
    """Estimate the monthly cost per phase and component (target aws); on local, the footprint.

    Usage the render cannot know (data volume, training hours, log bytes) comes from the project's
    requirements in omgml.yaml, as `omgml recommend` and `omgml init` use them, so all three print
    the same total."""
    from omgml.cli.output import console as make_console

    console = make_console(wide)
    with user_errors():
        spec = load_project_spec(project)
        from omgml.synth.render import render_platform

        render = render_platform(spec)
        if spec.target != "aws":
            if output == "json":
                from omgml.cli.output import print_json

                print_json({"target": spec.target, "total_usd_month": None,
                            "note": "cost estimates apply to target aws", "footprint": _footprint_json(render)})
                return
            if output == "markdown":
                typer.echo("**omgml cost**: cost estimates apply to target aws; this platform targets a local "
                           "cluster (its footprint is in the capacity table of `omgml check`).")
                return
            _print_footprint(console, render)
            return
        from omgml.cost import load_prices, render_cost

        try:
            table = load_prices(prices)
        except (OSError, ValueError) as exc:
            raise fail(f"--prices: {exc}") from None
        usage, budget_stated = project_usage(project)
        budget = budget_usd_month if budget_usd_month is not None else budget_stated
        estimate = render_cost(render, usage, table, budget)
        before = None
        if baseline is not None:
            base_spec = load_project_spec(baseline)
            before = render_cost(render_platform(base_spec), project_usage(baseline)[0], table, None)
    if output == "json":
        from omgml.cli.output import print_json

        data = estimate.to_json()
        if before is not None:
            data["baseline_total_usd_month"] = before.total
        print_json(data)
        return
    if output == "markdown":
        from omgml.cost import cost_markdown

        typer.echo(cost_markdown(estimate, before), nl=False)
        return
    if table.get("region") != spec.aws.region:
        console.print(f"[yellow]note[/]: the prices are for {table.get('region')}, the platform runs in "
                      f"{spec.aws.region}; pass --prices with that region's list prices for a closer estimate",
                      soft_wrap=True)
    print_estimate(console, estimate)
    if before is not None:
        console.print(f"baseline {baseline}: {before.total:,.2f} USD/month; change {estimate.total - before.total:+,.2f}")


def project_usage(project: Path) -> tuple[Usage, float | None]:
    """(usage assumptions, stated budget) from the project's requirements; the defaults without them."""
    from omgml.cost import default_usage, project_requirements, usage_from_requirements

    path = spec_path(project)
    req = project_requirements(path)
    if req is None:
        return default_usage(), None
    return usage_from_requirements(req, f"the requirements in {path}"), req.budget_usd_month


def _footprint_json(render: object) -> dict[str, object]:
    from dataclasses import asdict

    from omgml.capacity import capacity_report

    report = capacity_report(render, None)
    return {"per_phase": {p: asdict(t) for p, t in report.per_phase().items()}, "total": asdict(report.total)}


def _print_footprint(console: Console, render: object) -> None:
    from omgml.capacity import capacity_report

    report = capacity_report(render, None)
    console.print("cost estimates apply to target aws; this platform targets a local cluster, "
                  "so here is what it asks of the machine:", soft_wrap=True)
    for phase, t in report.phase_totals():
        cpu, memory, gpus, storage = t.formatted()
        console.print(f"  {phase}: {cpu}, {memory} memory, {gpus} GPU, {storage} storage")


def print_estimate(console: Console, est: CostEstimate) -> None:
    from rich.markup import escape
    from rich.table import Table

    p = est.prices
    if not est.items:
        console.print("no priced resources in this render (no AWS resources, volumes or node groups yet)")
    items = Table(title=f"Monthly cost estimate, {p.get('region')} list prices as of {p.get('as_of')} ({p.get('currency')})")
    for col in ("phase", "component", "resource", "what", "USD/month"):
        items.add_column(col, justify="right" if col == "USD/month" else "left")
    for i in est.items:
        usd = "?" if i.monthly_usd is None else f"{i.monthly_usd:,.2f}"
        what = i.description + (f" [dim]({i.note})[/]" if i.note else "")
        items.add_row(i.phase, escape(i.component), escape(i.resource), what, usd)
    if est.items:
        console.print(items)
    phases = Table(title="Per phase")
    phases.add_column("phase")
    phases.add_column("USD/month", justify="right")
    for phase, phase_usd in est.per_phase().items():
        phases.add_row(phase, f"{phase_usd:,.2f}")
    phases.add_row("[bold]total[/]", f"[bold]{est.total:,.2f}[/]")
    console.print(phases)
    if est.items:
        components = Table(title="Per component")
        components.add_column("component")
        components.add_column("USD/month", justify="right")
        for component, component_usd in est.per_component().items():
            components.add_row(escape(component), f"{component_usd:,.2f}")
        console.print(components)
    drivers = est.drivers(5)
    if drivers:
        console.print("biggest cost drivers:")
        for i in drivers:
            console.print(f"  {i.monthly_usd:,.2f}  {escape(i.resource)}: {i.description}", soft_wrap=True)
    for i in est.unpriced():
        console.print(f"[yellow]unpriced[/] {escape(i.resource)}: {i.note}", soft_wrap=True)
    if est.budget_usd_month is not None and est.budget_left is not None:
        colour = "green" if est.budget_left >= 0 else "red"
        console.print(f"budget {est.budget_usd_month:,.2f} USD/month: [{colour}]{est.budget_left:,.2f} left[/]")
    if est.usage is not None:
        console.print(f"usage assumptions from {escape(est.usage.source)}", soft_wrap=True)
    console.print(f"[dim]{escape(str(p.get('source', '')))}; list prices, before discounts and taxes[/]",
                  soft_wrap=True)

"""`omgml recommend`: the engine's decisions for a template or a requirements file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from omgml.cli.common import fail, user_errors

if TYPE_CHECKING:
    from omgml.recommend import Recommendation
    from omgml.spec.requirements import Requirements

TARGETS = ("local", "aws")

TemplateOption = Annotated[str | None, typer.Option(
    "--template", metavar="NAME", help="A shipped preset: starter, enterprise, fintech, research or batch.")]
RequirementsOption = Annotated[Path | None, typer.Option(
    "--requirements", metavar="FILE", help="A requirements YAML file (or a project's omgml.yaml).")]
TargetOption = Annotated[str | None, typer.Option(
    "--target", metavar="TARGET", help="Override the requirements' target: local or aws.")]


def load_requirements_from(template: str | None, requirements: Path | None, target: str | None) -> Requirements:
    """Exactly one of --template / --requirements, plus an optional --target override.

    Raises typer.Exit (code 2, with a message) for bad usage and OmgmlError for bad content.
    """
    if (template is None) == (requirements is None):
        raise fail("give exactly one of --template NAME or --requirements FILE")
    if target is not None and target not in TARGETS:
        raise fail(f"--target must be one of {', '.join(TARGETS)}, got {target!r}")
    from omgml.spec.requirements import load_requirements, requirements_from_dict

    if template is not None:
        from omgml.templates import load_template

        req = load_template(template)
    else:
        assert requirements is not None
        req = load_requirements(requirements)
    if target is not None and target != req.target:
        # Re-validate (model_copy would not), keeping which fields were stated.
        req = requirements_from_dict({**req.model_dump(mode="json", exclude_unset=True), "target": target})
    return req


def recommend(
    template: TemplateOption = None,
    requirements: RequirementsOption = None,
    target: TargetOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print decisions, warnings and phases as JSON.")] = False,
) -> None:
    """Recommend a platform: one explained decision per area, warnings, and the components per phase."""
    with user_errors():
        req = load_requirements_from(template, requirements, target)
        from omgml.recommend import recommend as run_engine

        rec = run_engine(req)
    if as_json:
        typer.echo(json.dumps(rec.to_json(), indent=2))
        return
    print_recommendation(rec)


def print_recommendation(rec: Recommendation) -> None:
    from rich.markup import escape
    from rich.table import Table

    # Rationales quote lists like [pytorch, onnx], which rich would take for markup tags.
    from omgml.cli.output import console as make_console

    console = make_console()
    spec = rec.platform
    table = Table(title=f"{spec.name}: target {spec.target}, profile {spec.profile}", show_lines=True)
    table.add_column("area", no_wrap=True)
    table.add_column("choice", no_wrap=True, style="bold")
    table.add_column("drivers", overflow="fold")
    table.add_column("rationale", ratio=3)
    for d in rec.decisions:
        table.add_row(d.area, d.choice, "\n".join(d.drivers) or "(default)", escape(d.rationale))
    console.print(table)
    for phase, ids in rec.phases.items():
        console.print(f"[bold]{phase}[/]: {', '.join(ids) or '(nothing)'}", soft_wrap=True)
    if rec.controls:
        console.print("[bold]compliance controls[/]:")
        for c in rec.controls:
            console.print(f"  - {escape(c)}", soft_wrap=True)
    if rec.cost is not None:
        console.print(f"[bold]rough AWS cost[/]: ~${rec.cost.total:,.0f}/month")
    for w in rec.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}", soft_wrap=True)

"""`omgml render`: the platform as plain manifests + inventory.json, no cluster needed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from omgml.cli.common import fail, load_project_spec, spec_path, user_errors

PHASE_CHOICES = ("foundation", "training", "serving", "all")


def render(
    project: Annotated[Path, typer.Argument(help="Project folder (with omgml.yaml) or a spec file.")],
    phase: Annotated[str, typer.Option(help="foundation, training, serving or all.")] = "all",
    out: Annotated[Path | None, typer.Option(help="Output folder (default: PROJECT/rendered).")] = None,
    validate: Annotated[bool, typer.Option(
        "--validate/--no-validate", help="Check every manifest against the Kubernetes schemas (strict).")] = False,
) -> None:
    """Synthesize the platform offline and write one YAML file per phase plus inventory.json."""
    if phase not in PHASE_CHOICES:
        raise fail(f"--phase must be one of {', '.join(PHASE_CHOICES)}, got {phase!r}")
    with user_errors():
        spec = load_project_spec(project)
        from omgml.spec import PHASES
        from omgml.synth.render import render_platform, summary_rows, write_render

        phases = list(PHASES) if phase == "all" else [phase]
        result = render_platform(spec, phases, spec_path(project).parent)  # type: ignore[arg-type]
        target = out or ((project if project.is_dir() else project.parent) / "rendered")
        written = write_render(result, target)
        problems: list[str] = []
        if validate:
            from omgml.validate import KUBERNETES_VERSION, validate_manifests

            problems = validate_manifests(result.all_manifests())
        _print_summary(result, summary_rows(result), written)
        if validate:
            from rich.console import Console

            console = Console(highlight=False)
            if problems:
                for p in problems:
                    console.print(f"[red]invalid[/] {p}", soft_wrap=True)
                raise fail(f"{len(problems)} manifest problem(s) against Kubernetes {KUBERNETES_VERSION}", 1)
            console.print(f"[green]valid[/]: {len(result.all_manifests())} manifests against Kubernetes "
                          f"{KUBERNETES_VERSION} schemas (strict)")


def _print_summary(result: object, rows: tuple[object, object], written: list[Path]) -> None:
    from collections import Counter

    from rich.console import Console
    from rich.table import Table

    kinds, components = rows
    assert isinstance(kinds, Counter) and isinstance(components, Counter)
    console = Console(highlight=False)
    t1 = Table(title="Kubernetes objects per kind")
    t1.add_column("kind")
    t1.add_column("count", justify="right")
    for kind, n in sorted(kinds.items()):
        t1.add_row(kind, str(n))
    t2 = Table(title="Resources per component")
    t2.add_column("component")
    t2.add_column("resources", justify="right")
    for comp, n in sorted(components.items()):
        t2.add_row(comp, str(n))
    console.print(t1)
    console.print(t2)
    for path in written:
        console.print(f"wrote {path}")

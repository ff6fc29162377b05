"""`omgml render`: the platform as plain manifests + inventory.json, no cluster needed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from omgml.cli.common import ProjectArgument, fail, load_project_spec, user_errors
from omgml.cli.output import JsonOption, Table, WideOption

if TYPE_CHECKING:
    from omgml.policy.findings import Finding
    from omgml.synth.render import PlatformRender

PHASE_CHOICES = ("foundation", "training", "serving", "all")


def render(
    project: ProjectArgument,
    phase: Annotated[str, typer.Option(metavar="PHASE", help="foundation, training, serving or all.")] = "all",
    out: Annotated[Path | None, typer.Option(metavar="DIR", help="Output folder (default: PROJECT/rendered).")] = None,
    validate: Annotated[bool, typer.Option(
        "--validate/--no-validate",
        help="Check every manifest against the Kubernetes schemas of the project's Kubernetes version "
             "(strict).")] = False,
    wide: WideOption = False,
    as_json: JsonOption = False,
) -> None:
    """Synthesize the platform offline and write one YAML file per phase plus inventory.json."""
    if phase not in PHASE_CHOICES:
        raise fail(f"--phase must be one of {', '.join(PHASE_CHOICES)}, got {phase!r}")
    with user_errors():
        spec = load_project_spec(project)
        findings: list[Finding] = []
        if project.is_dir():
            from omgml.consistency import project_findings

            findings = project_findings(project, spec)
        from omgml.spec import PHASES
        from omgml.synth.render import render_platform, write_render

        phases = list(PHASES) if phase == "all" else [phase]
        result = render_platform(spec, phases)  # type: ignore[arg-type]
        target = out or ((project if project.is_dir() else project.parent) / "rendered")
        written = write_render(result, target)
        version: str | None = None
        problems: list[str] = []
        if validate:
            from omgml.validate import schema_version, validate_manifests

            version = schema_version(spec)
            problems = validate_manifests(result.all_manifests(), version=version)
    tables = summary_tables(result)
    if as_json:
        from dataclasses import asdict

        from omgml.cli.output import print_json

        validation = None if version is None else {"kubernetes_version": version, "problems": problems}
        print_json({"tables": [t.to_json() for t in tables], "written": [str(p) for p in written],
                    "validation": validation, "project_findings": [asdict(f) for f in findings]})
        if problems:
            raise typer.Exit(1)
        return
    from omgml.cli.output import console, print_table

    con = console(wide)
    _print_findings(findings)
    for table in tables:
        print_table(con, table)
    for path in written:
        con.print(f"wrote {path}", markup=False)
    if version is not None:
        if problems:
            from rich.markup import escape

            for p in problems:
                con.print(f"[red]invalid[/] {escape(p)}", soft_wrap=True)
            raise fail(f"{len(problems)} manifest problem(s) against the Kubernetes {version} schemas", 1)
        con.print(f"[green]valid[/]: {len(result.all_manifests())} manifests against the Kubernetes {version} "
                  "schemas (strict)")


def _print_findings(findings: list[Finding]) -> None:
    """The project's files that disagree with omgml.yaml, on stderr (the render itself is fine)."""
    if not findings:
        return
    from rich.markup import escape

    from omgml.cli.output import console

    err = console(stderr=True)
    for f in findings:
        where = f"{f.resource} {f.field}".strip()
        err.print(f"[yellow]{f.severity}[/]: {escape(where)}: {escape(f.message)}", soft_wrap=True)
        err.print(f"    [cyan]fix:[/] {escape(f.fix)}", soft_wrap=True)


def summary_tables(result: PlatformRender) -> list[Table]:
    from omgml.synth.render import summary_rows

    kinds, components = summary_rows(result)
    per_kind = Table("Kubernetes objects per kind", ("kind", "count"), numeric=frozenset({"count"}))
    for kind, n in sorted(kinds.items()):
        per_kind.add(kind, n)
    per_component = Table("Resources per component", ("component", "resources"), numeric=frozenset({"resources"}))
    for comp, n in sorted(components.items()):
        per_component.add(comp, n)
    return [per_kind, per_component]

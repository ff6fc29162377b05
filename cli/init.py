"""`omgml init`: write a complete Pulumi project from a template or a requirements file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from omgml.cli.common import user_errors
from omgml.cli.recommend import (
    RequirementsOption,
    StrictOption,
    TargetOption,
    TemplateOption,
    load_requirements_from,
    strict_refusal,
)

# The platform name limits (omgml.spec.requirements.Requirements.name).
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$")


def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new project (new or empty).")],
    template: TemplateOption = None,
    requirements: RequirementsOption = None,
    target: TargetOption = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Write into a non-empty folder, replacing the files omgml writes (others are kept).")] = False,
    strict: StrictOption = False,
) -> None:
    """Write omgml.yaml, the Pulumi project, stack configs, ADRs, architecture, interfaces, failure modes,
    roadmap and cost pages, and a README."""
    with user_errors():
        req = load_requirements_from(template, requirements, target)
        if template is not None and _NAME.match(directory.absolute().name) and directory.absolute().name != req.name:
            # A template's name is a placeholder: the platform is named after its folder.
            from omgml.spec.requirements import requirements_from_dict

            req = requirements_from_dict({**req.model_dump(mode="json", exclude_unset=True),
                                          "name": directory.absolute().name})
        from omgml.project import cost_markdown_for, platform_render, project_files, write_project
        from omgml.recommend import priced_recommendation

        rec = priced_recommendation(req)
        if strict and rec.unmet:
            raise strict_refusal(rec)
        source = f"the `{template}` template" if template is not None else f"`{requirements}`"
        # One render for every page that reads it (on aws, the one the cost was computed from).
        render = platform_render(rec)
        files = project_files(rec, source, cost_markdown_for(rec, render), render.all_manifests())
        written = write_project(directory, files, force=force)
    _print_summary(directory, rec.platform.name, written, rec.warnings)


def _print_summary(directory: Path, name: str, written: list[str], warnings: tuple[str, ...]) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False)
    console.print(f"[green]created[/] {escape(str(directory))} (platform [bold]{name}[/], {len(written)} files)",
                  soft_wrap=True)
    for rel in written:
        console.print(f"  {escape(rel)}", soft_wrap=True)
    for w in warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}", soft_wrap=True)
    console.print(f"next: omgml render {escape(str(directory))}   (then README.md for pulumi up, phase by phase)",
                  soft_wrap=True)

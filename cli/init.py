"""`omgml init`: write a complete Pulumi project from a template or a requirements file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from omgml.cli.common import ProjectArgument, user_errors
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
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Folder for the new project (new or empty).")],
    template: TemplateOption = None,
    requirements: RequirementsOption = None,
    target: TargetOption = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Write into a non-empty folder, replacing the files omgml writes (others are kept; "
                        "so are the Pulumi state and the stacks' own settings in their config files).")] = False,
    strict: StrictOption = False,
    omgml_pip_spec: Annotated[str | None, typer.Option(
        "--omgml-pip-spec", metavar="SPEC",
        help="How the project's README and CI workflow install omgml: a pip requirement such as "
             "'omgml[validate] @ git+https://GIT-HOST/ORG/omgml.git@vVERSION' or "
             "'omgml[validate] @ file:///PATH/omgml-VERSION-py3-none-any.whl' (default: "
             "omgml[validate]==VERSION, this version, from your package index). Recorded in omgml.yaml.")] = None,
) -> None:
    """Write omgml.yaml, the Pulumi project, stack configs, ADRs, architecture, interfaces, failure modes,
    roadmap and cost pages, and a README."""
    with user_errors():
        from omgml.project import DEFAULT_PIP_SPEC, check_pip_spec

        pip_spec = check_pip_spec(omgml_pip_spec) if omgml_pip_spec is not None else DEFAULT_PIP_SPEC
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
        from omgml.sync import keep_stack_state

        # One render for every page that reads it (on aws, the one the cost was computed from).
        render = platform_render(rec)
        files = project_files(rec, source, cost_markdown_for(rec, render), render.all_manifests(), pip_spec)
        if force:
            files = keep_stack_state(directory, files, rec.platform)
        written = write_project(directory, files, force=force)
    _print_summary(directory, rec.platform.name, written, rec.warnings)


def sync(project: ProjectArgument) -> None:
    """Rewrite the files derived from omgml.yaml (stack configs, kind config, README, docs, CI workflow).

    Your own files, rendered/ and the Pulumi state are left alone; in the stack configs only omgml's
    keys change (Pulumi's encryptionsalt and the stacks' secrets stay). Run it after editing omgml.yaml.
    """
    from rich.markup import escape

    from omgml.cli.output import console

    with user_errors():
        from omgml.consistency import profile_for_target, requirements_vs_platform
        from omgml.project import SPEC_FILE
        from omgml.spec import load_spec
        from omgml.sync import sync_project

        directory = project if project.is_dir() else project.parent
        report = sync_project(directory)
        spec = load_spec(directory / SPEC_FILE)
        warnings = (requirements_vs_platform(directory / SPEC_FILE, spec, directory)
                    + profile_for_target(directory / SPEC_FILE, spec))
    out = console()
    for rel in report.written:
        out.print(f"[green]rewrote[/] {escape(rel)}")
    for rel in report.removed:
        out.print(f"[yellow]removed[/] {escape(rel)} (platform.target is {spec.target})")
    out.print(f"{len(report.written)} file(s) rewritten, {len(report.unchanged)} unchanged, "
              f"{len(report.removed)} removed; your own files and the Pulumi state were not touched", soft_wrap=True)
    for w in warnings:
        out.print(f"[yellow]warning:[/] {escape(w.field)}: {escape(w.message)}; {escape(w.fix)}", soft_wrap=True)


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

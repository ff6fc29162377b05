"""`omgml diff OLD NEW`: what changes between two renders, and which changes endanger data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from omgml.cli.common import fail
from omgml.cli.output import OutputOption

_MARK = {"added": "[green]+[/]", "removed": "[red]-[/]", "changed": "[yellow]~[/]"}


def diff(
    old: Annotated[str, typer.Argument(
        metavar="OLD", help="The earlier render folder (written by `omgml render`), or a git revision with --project.")],
    new: Annotated[str, typer.Argument(
        metavar="NEW", help="The later render folder, or a git revision ('.': the working tree).")],
    project: Annotated[Path | None, typer.Option(
        metavar="DIR", help="Project folder in git: OLD and NEW are revisions of its omgml.yaml, rendered now.")] = None,
    fields: Annotated[bool, typer.Option("--fields/--no-fields", help="List each changed field.")] = True,
    output: OutputOption = "text",
    fail_on_data_risk: Annotated[bool, typer.Option(
        "--fail-on-data-risk", help="Exit 1 when a change replaces or deletes a stateful resource.")] = False,
) -> None:
    """Per-resource and per-field differences between two renders, flagging risks to stateful data."""
    from rich.markup import escape

    from omgml.cli.common import user_errors
    from omgml.diff import MISSING, data_risks, diff_markdown, diff_render_dirs, diff_revisions

    try:
        with user_errors():
            diffs = diff_revisions(project, old, new) if project else diff_render_dirs(Path(old), Path(new))
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    if output == "markdown":
        typer.echo(diff_markdown(diffs), nl=False)
        raise typer.Exit(1 if fail_on_data_risk and data_risks(diffs) else 0)
    if output == "json":
        from omgml.cli.output import print_json

        print_json({"diffs": [diff_json(d) for d in diffs], "data_risks": len(data_risks(diffs))})
        raise typer.Exit(1 if fail_on_data_risk and data_risks(diffs) else 0)
    from omgml.cli.output import console as make_console

    console = make_console()
    if not diffs:
        console.print("no differences")
        return
    for d in diffs:
        console.print(f"{_MARK[d.kind]} {escape(d.key)} [dim]({d.phase})[/]", soft_wrap=True)
        if d.risk:
            colour = "bold red" if d.risk == "data" else "yellow"
            label = "DATA RISK" if d.risk == "data" else "replacement"
            console.print(f"    [{colour}]{label}[/]: {escape(d.note)}", soft_wrap=True)
        elif d.note:
            console.print(f"    [dim]{escape(d.note)}[/]", soft_wrap=True)
        if fields:
            for c in d.changes:
                before = "(absent)" if c.old is MISSING else _short(c.old)
                after = "(absent)" if c.new is MISSING else _short(c.new)
                console.print(f"    {escape(c.path)}: {escape(before)} → {escape(after)}", soft_wrap=True)
    counts = {k: sum(1 for d in diffs if d.kind == k) for k in ("added", "removed", "changed")}
    risky = data_risks(diffs)
    console.print(f"{counts['added']} added, {counts['removed']} removed, {counts['changed']} changed; "
                  f"{len(risky)} with a risk to stateful data")
    if risky and fail_on_data_risk:
        raise typer.Exit(1)


def diff_json(d: Any) -> dict[str, Any]:
    """One resource's difference as data; an absent side of a field change is null."""
    from omgml.diff import MISSING

    return {"kind": d.kind, "key": d.key, "phase": d.phase, "risk": d.risk, "note": d.note,
            "changes": [{"path": c.path, "old": None if c.old is MISSING else c.old,
                         "new": None if c.new is MISSING else c.new} for c in d.changes]}


def _short(value: Any, limit: int = 80) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"

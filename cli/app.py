"""The typer app. Keep module-level imports light: `omgml --help` must not import pulumi."""

from __future__ import annotations

from typing import Annotated

import typer

from omgml import __version__
from omgml.cli import render as render_cmd

app = typer.Typer(
    name="omgml",
    help="Requirements-driven ML platforms: recommend a stack, write a Pulumi project, render or deploy it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"omgml {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """omgml turns a team's requirements into a deployable ML platform."""


app.command("render")(render_cmd.render)


def main() -> None:
    app()

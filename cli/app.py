"""The typer app. Keep module-level imports light: `omgml --help` must not import pulumi."""

from __future__ import annotations

from typing import Annotated

import typer

from omgml import __version__
from omgml.cli import check as check_cmd
from omgml.cli import cost as cost_cmd
from omgml.cli import deploy as deploy_cmd
from omgml.cli import diff as diff_cmd
from omgml.cli import init as init_cmd
from omgml.cli import recommend as recommend_cmd
from omgml.cli import render as render_cmd
from omgml.cli import schema as schema_cmd
from omgml.cli.local import local_app
from omgml.cli.secrets import secrets_app

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


app.command("recommend")(recommend_cmd.recommend)
app.command("init")(init_cmd.init)
app.command("render")(render_cmd.render)
app.command("check")(check_cmd.check)
app.command("diff")(diff_cmd.diff)
app.command("cost")(cost_cmd.cost)
app.command("schema")(schema_cmd.schema)
app.command("preview")(deploy_cmd.preview)
app.command("up")(deploy_cmd.up)
app.command("destroy")(deploy_cmd.destroy)
app.add_typer(local_app, name="local")
app.add_typer(secrets_app, name="secrets")


def main() -> None:
    app()

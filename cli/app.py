"""The typer app. Each command's module is imported only when the command runs or prints its
help (cli/groups.py), and every command module keeps its module-level imports to typer and
the standard library: `omgml --help` and `omgml X --help` must import no pydantic model,
pulumi, rich or yaml (tests/cli/test_help.py checks this in a subprocess)."""

from __future__ import annotations

from typing import Annotated

import typer

from omgml import __version__
from omgml.cli.groups import LazyGroup

# name → (module, attribute): a typer command function or a typer.Typer sub-app. The order is
# the order of `omgml --help`.
COMMANDS: dict[str, tuple[str, str]] = {
    "recommend": ("omgml.cli.recommend", "recommend"),
    "init": ("omgml.cli.init", "init"),
    "sync": ("omgml.cli.init", "sync"),
    "render": ("omgml.cli.render", "render"),
    "check": ("omgml.cli.check", "check"),
    "diff": ("omgml.cli.diff", "diff"),
    "cost": ("omgml.cli.cost", "cost"),
    "preview": ("omgml.cli.deploy", "preview"),
    "up": ("omgml.cli.deploy", "up"),
    "destroy": ("omgml.cli.deploy", "destroy"),
    "local": ("omgml.cli.local", "local_app"),
}


class OmgmlCli(LazyGroup):
    lazy_commands = COMMANDS


app = typer.Typer(
    name="omgml",
    cls=OmgmlCli,
    help="Requirements-driven ML platforms: recommend a stack, write a Pulumi project, render or deploy it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
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


def main() -> None:
    app()

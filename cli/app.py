"""The typer app. Each command's module is imported only when the command runs or prints its
help (cli/groups.py), and every command module keeps its module-level imports to typer and
the standard library: `omgml --help` and `omgml X --help` must import no pydantic model,
pulumi, rich or yaml (tests/cli/test_help.py checks this in a subprocess)."""

from __future__ import annotations

import gc
import sys
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
    "schema": ("omgml.cli.schema", "schema"),
    "preview": ("omgml.cli.deploy", "preview"),
    "up": ("omgml.cli.deploy", "up"),
    "destroy": ("omgml.cli.deploy", "destroy"),
    "local": ("omgml.cli.local", "local_app"),
    "backup": ("omgml.cli.backup", "backup_app"),
    "restore": ("omgml.cli.backup", "restore"),
    "secrets": ("omgml.cli.secrets", "secrets_app"),
}


# Commands that drive the Pulumi engine and may run for many minutes; the others run once and exit.
ENGINE_COMMANDS = frozenset({"preview", "up", "destroy", "local"})


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
    command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
    if command not in ENGINE_COMMANDS:
        # A one-shot command's heap is mostly the typed Pulumi SDK modules a render imports, live
        # until exit: the cyclic collector would walk it again and again for nothing (a quarter
        # of a render's CPU time), and exiting returns the memory anyway. Engine commands run
        # long and keep it. (Renders inside them pause it themselves: omgml.synth.render.)
        gc.disable()
    app()

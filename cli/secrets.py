"""`omgml secrets template|check`: the Secrets a platform with `credentials: existing` needs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from omgml.cli.common import ProjectArgument, fail, load_project_spec, user_errors
from omgml.cli.groups import OmgmlCommand, OmgmlGroup

secrets_app = typer.Typer(help="Secrets the team provides when omgml.yaml says `credentials: existing`.",
                          no_args_is_help=True, cls=OmgmlGroup, rich_markup_mode=None)


def _required(project: Path) -> list:  # type: ignore[type-arg]
    from omgml.existing_secrets import required_secrets

    spec = load_project_spec(project)
    if spec.credentials != "existing":
        raise fail(f"{project}: credentials is {spec.credentials!r}, so omgml generates every credential itself; "
                   "set `credentials: existing` in omgml.yaml (platform section) to provide your own Secrets")
    return required_secrets(spec)


@secrets_app.command("template", cls=OmgmlCommand)
def template(
    project: ProjectArgument,
    fmt: Annotated[Literal["manifests", "commands"], typer.Option(
        "--format", metavar="FORMAT", help="manifests: YAML with marked placeholders to fill in; commands: a shell script "
        "that makes the values with openssl and creates the Secrets with kubectl.")] = "manifests",
) -> None:
    """Print every Secret (namespace, name, keys) the platform reads, ready to fill in or run."""
    from omgml.existing_secrets import template_commands, template_manifests

    with user_errors():
        required = _required(project)
        typer.echo(template_manifests(required) if fmt == "manifests" else template_commands(required), nl=False)


@secrets_app.command("check", cls=OmgmlCommand)
def check(
    project: ProjectArgument,
    context: Annotated[str | None, typer.Option(metavar="CONTEXT", help="kubeconfig context (default: the current one).")] = None,
) -> None:
    """Check the cluster holds every Secret and key (what `omgml preview|up` check first)."""
    from omgml.deploy.preflight import check_cluster, check_existing_secrets, cluster_secret_reader

    with user_errors():
        required = _required(project)
        check_cluster(context)
        check_existing_secrets(required, cluster_secret_reader(context), str(project))
        typer.echo(f"all {len(required)} Secrets present with their keys")

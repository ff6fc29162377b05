"""`omgml backup list|now` and `omgml restore`: Jobs in the platform's cluster (omgml.backup_ops)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from omgml.cli.common import ProjectArgument, fail, load_project_spec, user_errors
from omgml.cli.groups import OmgmlCommand, OmgmlGroup

if TYPE_CHECKING:
    from omgml.backup_ops import Cluster

backup_app = typer.Typer(help="List the platform's backups or take one now (Jobs in the cluster).",
                         no_args_is_help=True, cls=OmgmlGroup, rich_markup_mode=None)

Project = ProjectArgument
Context = Annotated[str | None, typer.Option(help="kubeconfig context of the platform's cluster (default: current).")]
Timeout = Annotated[float, typer.Option(help="Seconds to wait for the Job.")]


def _cluster(context: str | None) -> Cluster:
    """The cluster the commands act on; tests replace this function."""
    from omgml.backup_ops import KubeCluster

    return KubeCluster(context)


def _say(text: str) -> None:
    typer.echo(text, err=True)


@backup_app.command("list", cls=OmgmlCommand)
def list_(
    project: Project,
    component: Annotated[str | None, typer.Option(help="Only this component's backups (postgres, kfp-mysql).")] = None,
    context: Context = None,
    timeout: Timeout = 600,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object per backup.")] = False,
) -> None:
    """List the complete backups in the backup bucket, oldest first."""
    import json

    with user_errors():
        from omgml.backup_ops import list_backups

        spec = load_project_spec(project)
        rows = list_backups(spec, lambda: _cluster(context), component, timeout, _say)
    if json_output:
        for row in rows:
            typer.echo(json.dumps(row, sort_keys=True))
        return
    if not rows:
        typer.echo("no backups yet")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Backups")
    for col in ("id", "started (UTC)", "size", "files"):
        table.add_column(col)
    import datetime as dt

    for row in rows:
        started = dt.datetime.fromtimestamp(float(row["started_at"]), dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(str(row["id"]), started, f"{int(row['size_bytes']):,} B", ", ".join(row.get("files", [])))
    Console(highlight=False).print(table)


@backup_app.command("now", cls=OmgmlCommand)
def now(
    project: Project,
    component: Annotated[str, typer.Option(help="postgres or kfp-mysql.")] = "postgres",
    context: Context = None,
    timeout: Timeout = 3600,
) -> None:
    """Run a component's backup now (a Job from its CronJob) and wait for it."""
    with user_errors():
        from omgml.backup_ops import backup_now

        spec = load_project_spec(project)
        run = backup_now(spec, lambda: _cluster(context), component, timeout, _say)
    for line in run.json_lines():
        if "uploaded" in line:
            typer.echo(f"backup {line['uploaded']}: {line['files']} file(s), {int(line['size_bytes']):,} bytes")
            return
    typer.echo(f"backup Job {run.namespace}/{run.name} succeeded")


def restore(
    component: Annotated[str, typer.Argument(help="postgres, kfp-mysql or objectstore.")],
    project: Project,
    from_: Annotated[str, typer.Option("--from", help="Backup id from `omgml backup list` (objectstore: any "
                                                      "backup's id or stamp, the point in time).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be replaced; change nothing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite databases that hold data (objects that exist).")]
    = False,
    context: Context = None,
    timeout: Timeout = 3600,
) -> None:
    """Restore a backup into a component (a Job in the cluster). Refuses data that exists without --force."""
    if dry_run and force:
        raise fail("--dry-run and --force exclude each other; a dry run changes nothing")
    with user_errors():
        from omgml.backup_ops import restore as run_restore

        spec = load_project_spec(project)
        run = run_restore(spec, lambda: _cluster(context), component, from_, dry_run=dry_run, force=force,
                          timeout=timeout, say=_say)
    for _, _, text in run.output:
        for line in text.splitlines():
            if line.startswith(("plan:", "restored", "dry run:", "{")):
                typer.echo(line)
    typer.echo(("dry run of " if dry_run else "restored ") + f"{component} from {from_}")

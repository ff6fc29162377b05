"""`omgml local up|down|status`: a local cluster (kind, or kwok where Docker is missing) + the phases."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from omgml.cli.common import fail, load_project_spec, user_errors
from omgml.cli.deploy import PrefixOpt, ProjectArg, run_action
from omgml.cli.groups import OmgmlCommand, OmgmlGroup
from omgml.cli.output import JsonOption, WideOption

if TYPE_CHECKING:
    from omgml.deploy.local import LocalCluster
    from omgml.spec import PlatformSpec
    from omgml.synth.render import PlatformRender

local_app = typer.Typer(help="Run the platform on a local cluster (kind; kwok where Docker is missing).",
                        no_args_is_help=True, cls=OmgmlGroup, rich_markup_mode=None)


def _cluster(project: Path) -> tuple[PlatformSpec, LocalCluster]:
    from omgml.deploy.local import LocalCluster, choose_runtime

    spec = load_project_spec(project)
    if spec.target != "local":
        raise fail(f"{project} targets {spec.target!r}; `omgml local` is for target local (use `omgml up`)")
    return spec, LocalCluster(choose_runtime(), spec.name)


@local_app.command("up", cls=OmgmlCommand)
def up(project: ProjectArg, stack_prefix: PrefixOpt = "dev",
       create_secrets: Annotated[bool, typer.Option(
           "--create-secrets", help="credentials: existing - create the missing Secrets on this local cluster "
           "with values made here (never printed), instead of stopping to ask for them.")] = False) -> None:
    """Create (or reuse) the local cluster and deploy every phase to it."""
    from omgml.deploy.local import cluster_exists, create_cluster, set_stack_context
    from omgml.deploy.plan import phase_steps
    from omgml.project import KIND_CONFIG

    with user_errors():
        spec, cluster = _cluster(project)
        if cluster.simulated:
            typer.secho("Docker/kind not available: using kwok. Nodes and pods are SIMULATED — no container "
                        "runs; this checks manifests, scheduling and the deploy path, not the workloads.",
                        fg=typer.colors.YELLOW)
        render = _refuse_if_too_big(project)
        if cluster_exists(cluster):
            typer.echo(f"reusing {cluster.runtime} cluster {cluster.name!r} (context {cluster.context})")
        else:
            config = project / KIND_CONFIG
            if cluster.runtime == "kind" and not config.exists():
                raise fail(f"{config} is missing; re-run `omgml init` or write the kind config there")
            typer.echo(f"creating {cluster.runtime} cluster {cluster.name!r} …")
            create_cluster(cluster, config)
        if cluster.simulated:
            from omgml.deploy.kwok import apply_objects, kwok_nodes, kwok_storage

            # kwok has no nodes and no volume provisioner of its own (see omgml/deploy/kwok.py).
            apply_objects(cluster.context, kwok_nodes(spec) + kwok_storage(render.all_manifests()))
        for step in phase_steps(spec, "up", "all", stack_prefix):
            if set_stack_context(project, step.stack, cluster.context):
                typer.echo(f"{step.stack}: kubernetes:context set to {cluster.context}")
        if create_secrets and spec.credentials == "existing":
            from omgml.deploy.preflight import create_missing_secrets
            from omgml.existing_secrets import required_secrets

            made = create_missing_secrets(cluster.context, required_secrets(spec))
            typer.echo(f"created {len(made)} missing Secret(s) with fresh values" + (f": {', '.join(made)}" if made else ""))
        run_action("up", project, "all", stack_prefix)


@local_app.command("down", cls=OmgmlCommand)
def down(project: ProjectArg, stack_prefix: PrefixOpt = "dev",
         yes: Annotated[bool, typer.Option("--yes", help="Don't ask for confirmation.")] = False) -> None:
    """Destroy every phase, then delete the local cluster."""
    from omgml.deploy.local import cluster_exists, delete_cluster

    if not yes:
        typer.confirm(f"Destroy the local platform of {project}, including its data?", abort=True)
    with user_errors():
        _, cluster = _cluster(project)
        if cluster_exists(cluster):
            run_action("destroy", project, "all", stack_prefix)
            delete_cluster(cluster)
            typer.echo(f"deleted {cluster.runtime} cluster {cluster.name!r}")
        else:
            typer.echo(f"no {cluster.runtime} cluster {cluster.name!r}; nothing to do")


@local_app.command("status", cls=OmgmlCommand)
def status(project: ProjectArg, stack_prefix: PrefixOpt = "dev", wide: WideOption = False,
           as_json: JsonOption = False) -> None:
    """Per phase the stack state, per component whether its workloads are available."""
    from omgml.cli.deploy import engine_env
    from omgml.cli.output import Table
    from omgml.deploy.local import cluster_exists, workload_status
    from omgml.deploy.runner import AutomationRunner
    from omgml.naming import stack_name
    from omgml.spec import PHASES

    with user_errors():
        spec, cluster = _cluster(project)
        runner = AutomationRunner(project, spec, stack_prefix, engine_env(project), echo=typer.echo)
        stacks = Table("Phase stacks", ("phase", "stack", "deployed"))
        for phase in PHASES:
            name = stack_name(stack_prefix, phase)
            stacks.add(phase, name, runner.deployed(name))
        exists = cluster_exists(cluster)
        workloads = Table("Workloads", ("component", "kind", "namespace", "name", "ready", "desired", "available"),
                          numeric=frozenset({"ready", "desired"}))
        for w in workload_status(cluster.context) if exists else []:
            workloads.add(w.component, w.kind, w.namespace, w.name, w.ready, w.desired, w.healthy)
    healthy = exists and all(row[-1] for row in workloads.rows)
    if as_json:
        from omgml.cli.output import print_json

        print_json({"cluster": {"name": cluster.name, "runtime": cluster.runtime, "context": cluster.context,
                                "exists": exists},
                    "tables": [stacks.to_json(), workloads.to_json()]})
        raise typer.Exit(0 if healthy else 1)
    from omgml.cli.output import console, print_table

    out = console(wide)
    print_table(out, stacks)
    if not exists:
        out.print(f"cluster {cluster.name!r} ({cluster.runtime}) does not exist", markup=False)
        raise typer.Exit(1)
    print_table(out, workloads)
    if not healthy:
        raise typer.Exit(1)


def _refuse_if_too_big(project: Path) -> PlatformRender:
    """A platform whose requests exceed the local budget would leave pods Pending forever."""
    from omgml.capacity import budget_for, capacity_report
    from omgml.synth.render import render_platform

    spec = load_project_spec(project)
    budget = budget_for(spec.profile)
    render = render_platform(spec)
    problems = capacity_report(render, budget).over_budget()
    if problems:
        raise fail("the platform does not fit the local cluster:\n  " + "\n  ".join(problems)
                   + "\ndisable components or lower their sizes (see `omgml check`)")
    return render

"""`omgml pipeline list|run|watch|logs|deploy`: pipelines on the platform's orchestrator
(Kubeflow Pipelines, Airflow or Prefect) behind one interface."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from omgml.cli.common import load_project_spec, user_errors
from omgml.cli.daytwo import (
    ContextOpt,
    InClusterOpt,
    PrefixOpt,
    ProjectArg,
    UrlOpt,
    choose_orchestrator,
    orchestrator,
    reach_for,
)
from omgml.cli.groups import OmgmlCommand, OmgmlGroup
from omgml.cli.output import JsonOption, Table, console, print_json, print_table

pipeline_app = typer.Typer(help="Pipelines on the platform's orchestrator (Kubeflow Pipelines, Airflow, Prefect).",
                           no_args_is_help=True, cls=OmgmlGroup, rich_markup_mode=None)
PipelineArg = Annotated[str, typer.Argument(
    help="Pipeline: a KFP pipeline name, an Airflow DAG id, or a Prefect FLOW/DEPLOYMENT.")]
RunArg = Annotated[str, typer.Argument(help="Run id (as `omgml pipeline run` printed it).")]
OrchOpt = Annotated[str | None, typer.Option(
    "--orchestrator", help="kfp, airflow or prefect, when the platform has more than one.")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds to wait for the run to end.")]


@contextmanager
def _connected(project: Path, asked: str | None, url: str | None, in_cluster: bool, context: str | None,
               stack_prefix: str) -> Iterator[tuple[str, Any]]:
    """The project's orchestrator (the one `--orchestrator` asks for, or its only one) as (kind,
    pipelines client), reached by the usual options and connected for the block."""
    spec = load_project_spec(project)
    kind = choose_orchestrator(spec, asked)
    with orchestrator(spec, reach_for(project, spec, url, in_cluster, context, stack_prefix), kind) as orch:
        yield kind, orch


@pipeline_app.command("list", cls=OmgmlCommand)
def list_pipelines(project: ProjectArg, pipeline: Annotated[str | None, typer.Argument(
                       help="A pipeline: list its recent runs instead.")] = None,
                   limit: Annotated[int, typer.Option("--limit", help="Runs to show.")] = 10,
                   orchestrator_name: OrchOpt = None, url: UrlOpt = None, in_cluster: InClusterOpt = False,
                   context: ContextOpt = None, stack_prefix: PrefixOpt = "dev", json_out: JsonOption = False) -> None:
    """The orchestrator's pipelines with their last run, or one pipeline's recent runs."""
    with user_errors(), _connected(project, orchestrator_name, url, in_cluster, context, stack_prefix) as (kind, orch):
        if pipeline is None:
            table = Table(f"pipelines on {kind}", ("pipeline", "paused", "last run", "state", "started"))
            for p in sorted(orch.pipelines(), key=lambda p: p.name):
                last = orch.runs(p.name, 1)
                r = last[0] if last else None
                table.add(p.name, p.paused, r.run_id if r else None, r.state if r else None,
                          r.started if r else None)
        else:
            table = Table(f"runs of {pipeline} on {kind}", ("run", "state", "raw state", "started", "ended"))
            for r in orch.runs(pipeline, limit):
                table.add(r.run_id, r.state, r.raw_state, r.started, r.ended)
    if json_out:
        print_json(table.to_json())
    else:
        print_table(console(), table)


@pipeline_app.command("run", cls=OmgmlCommand)
def run(project: ProjectArg, pipeline: PipelineArg,
        param: Annotated[list[str] | None, typer.Option(
            "--param", help="A run parameter KEY=VALUE (JSON values parse: 20, 0.1, true); repeatable.")] = None,
        wait: Annotated[bool, typer.Option("--watch", help="Wait for the run to end; exit 1 unless it succeeds.")] = False,
        timeout: TimeoutOpt = 1800.0,
        unpause: Annotated[bool, typer.Option("--unpause", help="Airflow: unpause a paused DAG first.")] = False,
        orchestrator_name: OrchOpt = None, url: UrlOpt = None, in_cluster: InClusterOpt = False,
        context: ContextOpt = None, stack_prefix: PrefixOpt = "dev", json_out: JsonOption = False) -> None:
    """Start a run of PIPELINE with parameters; --watch follows it to the end."""
    from omgml.daytwo.pipelines import AirflowPipelines, parse_params, watch

    with user_errors():
        params = parse_params(param or [])
        with _connected(project, orchestrator_name, url, in_cluster, context, stack_prefix) as (kind, orch):
            info = orch.run(pipeline, params, unpause=unpause) if isinstance(orch, AirflowPipelines) else \
                orch.run(pipeline, params)
            if not json_out:
                typer.echo(f"started {pipeline} run {info.run_id} on {kind}")
            if wait:
                info = watch(orch, pipeline, info.run_id, (lambda _: None) if json_out else typer.echo, timeout)
    if json_out:
        print_json(info.as_dict())
    if wait and info.state != "success":
        if not json_out:
            typer.secho(f"run {info.run_id} ended {info.state}; see `omgml pipeline logs {project} {pipeline} "
                        f"{info.run_id}`", err=True, fg=typer.colors.RED)
        raise typer.Exit(1)


@pipeline_app.command("watch", cls=OmgmlCommand)
def watch_run(project: ProjectArg, pipeline: PipelineArg, run_id: RunArg, timeout: TimeoutOpt = 1800.0,
              orchestrator_name: OrchOpt = None, url: UrlOpt = None, in_cluster: InClusterOpt = False,
              context: ContextOpt = None, stack_prefix: PrefixOpt = "dev", json_out: JsonOption = False) -> None:
    """Follow a run until it ends; exit 1 unless it succeeded."""
    from omgml.daytwo.pipelines import watch

    with user_errors(), _connected(project, orchestrator_name, url, in_cluster, context, stack_prefix) as (_, orch):
        info = watch(orch, pipeline, run_id, (lambda _: None) if json_out else typer.echo, timeout)
    if json_out:
        print_json(info.as_dict())
    if info.state != "success":
        raise typer.Exit(1)


@pipeline_app.command("logs", cls=OmgmlCommand)
def logs(project: ProjectArg, pipeline: PipelineArg, run_id: RunArg, orchestrator_name: OrchOpt = None,
         url: UrlOpt = None, in_cluster: InClusterOpt = False, context: ContextOpt = None,
         stack_prefix: PrefixOpt = "dev", json_out: JsonOption = False) -> None:
    """The run's logs, step by step."""
    with user_errors(), _connected(project, orchestrator_name, url, in_cluster, context, stack_prefix) as (_, orch):
        lines = orch.logs(pipeline, run_id)
    if json_out:
        print_json([{"step": line.step, "text": line.text} for line in lines])
        return
    for line in lines:
        typer.echo(f"[{line.step}] {line.text}")


@pipeline_app.command("deploy", cls=OmgmlCommand)
def deploy(project: ProjectArg,
           source: Annotated[str | None, typer.Option(
               "--source", help="Prefect: the git repository (https) the flow runs clone.")] = None,
           ref: Annotated[str, typer.Option("--ref", help="Prefect: the branch to clone.")] = "main",
           entrypoint: Annotated[str | None, typer.Option(
               "--entrypoint", help="Prefect: FILE:FLOW inside the repository (default: the sample's path in "
                                    "this project).")] = None,
           package: Annotated[Path | None, typer.Option(
               "--package", help="KFP: the compiled pipeline YAML (python pipelines/kfp/train_model.py writes it).")]
           = None,
           orchestrator_name: OrchOpt = None, url: UrlOpt = None, in_cluster: InClusterOpt = False,
           context: ContextOpt = None, stack_prefix: PrefixOpt = "dev") -> None:
    """Register the project's sample pipeline with the orchestrator (Prefect: a deployment from
    git; KFP: upload the compiled package). Airflow reads DAGs from its DAG folder instead."""
    from omgml.daytwo.http import DayTwoError
    from omgml.samples import PREFECT_ENTRYPOINT, SAMPLE_NAME

    with user_errors():
        spec = load_project_spec(project)
        kind = choose_orchestrator(spec, orchestrator_name)
        if kind == "airflow":
            a = spec.phases.training.airflow
            where = (f"the git repository {a.dags_git.git_url} (ref {a.dags_git.ref}, folder {a.dags_git.path}), "
                     "which git-sync pulls" if a.dags_git else "the DAGs volume (PVC) of the Airflow pods")
            raise DayTwoError(f"Airflow has no API to upload DAGs: it reads them from {where}. Put the files of "
                              f"pipelines/airflow/ there; `omgml pipeline list {project}` shows the DAG once parsed")
        if kind == "prefect" and not source:
            raise DayTwoError("--source: give the https URL of the git repository that holds this project "
                              "(the flow runs clone it and run pipelines/prefect/flow.py)")
        if kind == "kfp" and (package is None or not package.is_file()):
            raise DayTwoError(f"--package {package}: compile the pipeline first (`python pipelines/kfp/train_model.py` "
                              "writes pipelines/kfp/train_model.yaml) and give that file")
        with orchestrator(spec, reach_for(project, spec, url, in_cluster, context, stack_prefix), kind) as orch:
            if kind == "prefect":
                assert source is not None
                dep = orch.deploy(SAMPLE_NAME, SAMPLE_NAME, entrypoint or PREFECT_ENTRYPOINT,
                                  spec.phases.training.prefect.work_pool, source, ref)
                typer.echo(f"deployment {SAMPLE_NAME}/{dep['name']} ({dep['id']}) clones {source}@{ref}; run it with "
                           f"`omgml pipeline run {project} {SAMPLE_NAME}/{SAMPLE_NAME}`")
            else:
                assert package is not None
                up = orch.deploy(SAMPLE_NAME, package.read_bytes(), package.name)
                typer.echo(f"uploaded {package.name} as pipeline {SAMPLE_NAME} "
                           f"({up.get('pipeline_id') or up.get('pipeline_version_id')})")

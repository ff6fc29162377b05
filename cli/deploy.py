"""`omgml preview|up|destroy`: the phase stacks through the Pulumi Automation API."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from omgml.cli.common import load_project_spec, user_errors
from omgml.cli.output import JsonOption

if TYPE_CHECKING:
    from collections.abc import Callable

    from omgml.cli.output import Table
    from omgml.deploy.plan import Action, PhaseStep
    from omgml.deploy.runner import StepResult
    from omgml.spec import PlatformSpec

ProjectArg = Annotated[Path, typer.Argument(metavar="PROJECT", help="Project folder created by `omgml init`.")]
PhaseOpt = Annotated[str, typer.Option(metavar="PHASE", help="foundation, training, serving or all.")]
PrefixOpt = Annotated[str, typer.Option("--stack-prefix", metavar="PREFIX",
                                        help="Stacks are PREFIX-PHASE (dev-foundation, …).")]


def engine_env(project: Path) -> dict[str, str]:
    """Environment for the engine: a file backend in the project unless the user chose one."""
    from omgml.deploy.plan import STATE_DIR, backend_url
    from omgml.deploy.preflight import check_passphrase

    check_passphrase(os.environ)
    env = {"PULUMI_SKIP_UPDATE_CHECK": "true"}
    if not os.environ.get("PULUMI_BACKEND_URL"):
        (project / STATE_DIR).mkdir(exist_ok=True)
        env["PULUMI_BACKEND_URL"] = backend_url(project)
    return env


def preflight(project: Path, spec: PlatformSpec, steps: list[PhaseStep], action: Action) -> None:
    """Tools first, then the cluster of each stack's kubernetes:context (local target only), then
    (credentials: existing) the team's Secrets the phases being deployed read."""
    from omgml.deploy.preflight import (
        check_cluster,
        check_existing_secrets,
        check_kubernetes_plugin,
        check_pulumi_cli,
        cluster_secret_reader,
    )
    from omgml.deploy.runner import stack_config

    check_pulumi_cli()
    check_kubernetes_plugin()
    if spec.target != "local":
        # On aws the cluster is made by the foundation phase itself: nothing to check before it.
        return
    contexts = {s.phase: str(stack_config(project, s.stack).get("kubernetes:context", "")) or None for s in steps}
    for context in sorted({c or "" for c in contexts.values()}):
        check_cluster(context or None)
    if spec.credentials == "existing" and action in ("preview", "up"):
        from omgml.existing_secrets import required_secrets

        required = required_secrets(spec)
        for context in sorted({c or "" for c in contexts.values()}):
            phases = {p for p, c in contexts.items() if (c or "") == context}
            check_existing_secrets([r for r in required if r.phase in phases],
                                   cluster_secret_reader(context or None), str(project))


def run_action(action: Action, project: Path, phase: str, prefix: str, diff: bool = False,
               check_tools: bool = True, echo: Callable[[str], None] = typer.echo) -> list[StepResult]:
    from omgml.deploy.plan import phase_steps
    from omgml.deploy.runner import AutomationRunner, run_phases

    spec = load_project_spec(project)
    steps = phase_steps(spec, action, phase, prefix)
    env = engine_env(project)
    if spec.credentials == "existing":
        # The team made the platform's namespaces to put its Secrets in: the provider must adopt
        # them. Providers from 4.29 on refuse an existing object unless told so (4.25, the one
        # built here, always upserts). The risk the option carries, a renamed resource whose
        # create-then-delete removes the object, needs a rename without an alias.
        env["PULUMI_K8S_UPSERT_EXISTING_OBJECTS"] = "true"
    if check_tools:
        preflight(project, spec, steps, action)
    runner = AutomationRunner(project, spec, prefix, env, echo=echo)
    return run_phases(action, project, spec, phase, prefix, runner, echo, diff=diff)


def steps_table(results: list[StepResult]) -> Table:
    from omgml.cli.output import Table
    from omgml.deploy.runner import format_changes

    table = Table("Phase stacks", ("action", "stack", "phase", "result", "seconds"), numeric=frozenset({"seconds"}))
    for r in results:
        result = f"skipped ({r.skipped})" if r.skipped else format_changes(r.changes)
        table.add(r.action, r.step.stack, r.step.phase, result, None if r.skipped else round(r.seconds, 1))
    return table


def _summary(results: list[StepResult], as_json: bool = False) -> None:
    table = steps_table(results)
    if as_json:
        from omgml.cli.output import print_json

        print_json({"tables": [table.to_json()]})
        return
    for action, stack, _, result, seconds in table.rows:
        typer.echo(f"{action:<8} {stack:<24} {result if seconds is None else f'{result} in {seconds:.1f}s'}")


def _engine_echo(as_json: bool) -> Callable[[str], None]:
    """The engine's progress: on stderr when stdout carries the JSON summary."""
    return (lambda line: typer.echo(line, err=True)) if as_json else typer.echo


def preview(project: ProjectArg, phase: PhaseOpt = "all", stack_prefix: PrefixOpt = "dev",
            diff: Annotated[bool, typer.Option("--diff", help="Show per-field diffs (for CI comments).")] = False,
            as_json: JsonOption = False) -> None:
    """Preview the phase stacks (foundation → training → serving)."""
    with user_errors():
        results = run_action("preview", project, phase, stack_prefix, diff=diff, echo=_engine_echo(as_json))
    _summary(results, as_json)


def up(project: ProjectArg, phase: PhaseOpt = "all", stack_prefix: PrefixOpt = "dev",
       as_json: JsonOption = False) -> None:
    """Deploy the phase stacks in order (foundation → training → serving)."""
    with user_errors():
        results = run_action("up", project, phase, stack_prefix, echo=_engine_echo(as_json))
    _summary(results, as_json)


def destroy(project: ProjectArg, phase: PhaseOpt = "all", stack_prefix: PrefixOpt = "dev",
            yes: Annotated[bool, typer.Option("--yes", help="Don't ask for confirmation.")] = False,
            as_json: JsonOption = False) -> None:
    """Destroy the phase stacks in reverse order (serving → training → foundation)."""
    if not yes:
        typer.confirm(f"Destroy phase(s) {phase} of {project}, including data volumes?", abort=True)
    with user_errors():
        results = run_action("destroy", project, phase, stack_prefix, echo=_engine_echo(as_json))
    _summary(results, as_json)

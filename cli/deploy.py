"""`omgml preview|up|destroy`: the phase stacks through the Pulumi Automation API."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from omgml.cli.common import load_project_spec, user_errors

if TYPE_CHECKING:
    from omgml.deploy.plan import Action, PhaseStep
    from omgml.deploy.runner import StepResult
    from omgml.spec import PlatformSpec

ProjectArg = Annotated[Path, typer.Argument(help="Project folder created by `omgml init`.")]
PhaseOpt = Annotated[str, typer.Option(help="foundation, training, serving or all.")]
PrefixOpt = Annotated[str, typer.Option("--stack-prefix", help="Stacks are <prefix>-<phase>.")]


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
               check_tools: bool = True) -> list[StepResult]:
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
    runner = AutomationRunner(project, spec, prefix, env, echo=typer.echo)
    return run_phases(action, project, spec, phase, prefix, runner, typer.echo, diff=diff)


def _summary(results: list[StepResult]) -> None:
    from omgml.deploy.runner import format_changes

    for r in results:
        status = f"skipped ({r.skipped})" if r.skipped else f"{format_changes(r.changes)} in {r.seconds:.1f}s"
        typer.echo(f"{r.action:<8} {r.step.stack:<24} {status}")


def preview(project: ProjectArg, phase: PhaseOpt = "all", stack_prefix: PrefixOpt = "dev",
            diff: Annotated[bool, typer.Option("--diff", help="Show per-field diffs (for CI comments).")] = False,
            ) -> None:
    """Preview the phase stacks (foundation → training → serving)."""
    with user_errors():
        _summary(run_action("preview", project, phase, stack_prefix, diff=diff))


def up(project: ProjectArg, phase: PhaseOpt = "all", stack_prefix: PrefixOpt = "dev") -> None:
    """Deploy the phase stacks in order (foundation → training → serving)."""
    with user_errors():
        _summary(run_action("up", project, phase, stack_prefix))


def destroy(project: ProjectArg, phase: PhaseOpt = "all", stack_prefix: PrefixOpt = "dev",
            yes: Annotated[bool, typer.Option("--yes", help="Don't ask for confirmation.")] = False) -> None:
    """Destroy the phase stacks in reverse order (serving → training → foundation)."""
    if not yes:
        typer.confirm(f"Destroy phase(s) {phase} of {project}, including data volumes?", abort=True)
    with user_errors():
        _summary(run_action("destroy", project, phase, stack_prefix))

"""Running phase stacks: the command logic (engine-agnostic) and the Automation API runner."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from omgml.deploy.plan import (
    Action,
    DeployError,
    PhaseStep,
    check_destroy_order,
    check_order,
    phase_steps,
    required_before,
)
from omgml.naming import stack_name
from omgml.spec import PHASES, PhaseName, PlatformSpec

Echo = Callable[[str], None]


class PhaseRunner(Protocol):
    """One engine operation per call; the real one drives Pulumi, tests use a fake."""

    def deployed(self, stack: str) -> bool: ...

    def run(self, action: Action, step: PhaseStep, diff: bool) -> dict[str, int]: ...


@dataclass
class StepResult:
    step: PhaseStep
    action: Action
    changes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    skipped: str | None = None


def run_phases(action: Action, project: Path, spec: PlatformSpec, phase: str, prefix: str,
               runner: PhaseRunner, echo: Echo, diff: bool = False,
               before: Callable[[PhaseStep], None] | None = None) -> list[StepResult]:
    """Run `action` over the phase stacks in order, refusing steps whose inputs can't exist.
    `before` runs right before each step (checks that need the earlier phases in place)."""
    steps = phase_steps(spec, action, phase, prefix)
    deployed: set[PhaseName] = {p for p in PHASES if runner.deployed(stack_name(prefix, p))}
    results: list[StepResult] = []
    done: list[PhaseName] = []
    for step in steps:
        if action == "destroy":
            check_destroy_order(step, spec, deployed, [s.phase for s in steps], project)
        else:
            planned = done if action == "up" else []
            if action == "preview":
                # A preview can't read outputs of a stack that only this run would create.
                waiting = [p for p in required_before(step.phase, spec) if p not in deployed]
                if waiting and all(p in [s.phase for s in steps] for p in waiting):
                    reason = (f"needs the outputs of {', '.join(waiting)}, not deployed yet; "
                              f"preview it after `omgml up {project} --phase {waiting[0]}`")
                    echo(f"── {step.stack}: skipped, {reason}")
                    results.append(StepResult(step, action, skipped=reason))
                    continue
            check_order(step, spec, deployed, planned, project, prefix)
            if before is not None:
                before(step)
        echo(f"── {action} {step.stack} ({step.phase})")
        start = time.perf_counter()
        changes = runner.run(action, step, diff)
        took = time.perf_counter() - start
        results.append(StepResult(step, action, changes, took))
        echo(f"   {step.stack}: {format_changes(changes)} in {took:.1f}s")
        if action == "up":
            deployed.add(step.phase)
            done.append(step.phase)
        elif action == "destroy":
            deployed.discard(step.phase)
    return results


def format_changes(changes: Mapping[str, int]) -> str:
    shown = {k: v for k, v in sorted(changes.items()) if v and k != "same"}
    same = changes.get("same", 0)
    parts = [f"{v} {k}" for k, v in shown.items()]
    if same:
        parts.append(f"{same} unchanged")
    return ", ".join(parts) or "no changes"


def project_name(project: Path) -> str:
    """The Pulumi project name (StackReferences are qualified with it)."""
    path = project / "Pulumi.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeployError(f"{path}: no Pulumi.yaml; is {project} an omgml project (`omgml init`)?") from None
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str) or not name:
        raise DeployError(f"{path}: `name:` is missing")
    return name


def stack_config(project: Path, stack: str) -> dict[str, Any]:
    """The `config:` map of stacks/Pulumi.<stack>.yaml (empty when the file doesn't exist)."""
    path = project / "stacks" / f"Pulumi.{stack}.yaml"
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    config = data.get("config", {}) if isinstance(data, dict) else {}
    return dict(config) if isinstance(config, dict) else {}


class AutomationRunner:
    """Drives each phase stack with the Automation API and an inline program.

    The inline program calls omgml.program.build_phase — the same function the project's
    stacks/__main__.py reaches through omgml.program.main() under `pulumi up -s <stack>`.
    """

    def __init__(self, project: Path, spec: PlatformSpec, prefix: str, env: Mapping[str, str],
                 echo: Echo, org: str = "organization") -> None:
        self.project = project.resolve()
        self.spec = spec
        self.prefix = prefix
        self.env = dict(env)
        self.echo = echo
        self.org = org
        self.name = project_name(project)

    def _program(self, phase: PhaseName) -> Callable[[], None]:
        from omgml.program import build_phase, references_for

        refs = references_for(self.name, self.prefix, phase, self.org)

        def program() -> None:
            from omgml.data_quality import load_suites

            # The project's own suites, read when the program runs (so an edit is deployed).
            suites = load_suites(self.project, self.spec) if phase == "foundation" else None
            build_phase(self.spec, phase, refs, suites)

        return program

    def _stack(self, stack: str, phase: str, create: bool) -> Any:
        from pulumi import automation as auto

        opts = auto.LocalWorkspaceOptions(work_dir=str(self.project), env_vars=self.env)
        program = self._program(phase)  # type: ignore[arg-type]
        if create:
            return auto.create_or_select_stack(stack_name=stack, project_name=self.name, program=program,
                                               opts=opts)
        return auto.select_stack(stack_name=stack, project_name=self.name, program=program, opts=opts)

    def deployed(self, stack: str) -> bool:
        from pulumi import automation as auto

        phase = stack.rsplit("-", 1)[-1]
        if phase not in PHASES:
            return False
        try:
            st = self._stack(stack, phase, create=False)
        except auto.StackNotFoundError:
            return False
        deployment = st.export_stack().deployment or {}
        return bool(deployment.get("resources"))

    def run(self, action: Action, step: PhaseStep, diff: bool) -> dict[str, int]:
        st = self._stack(step.stack, step.phase, create=action != "destroy")
        if action == "preview":
            result = st.preview(diff=diff, on_output=self.echo)
            return dict(result.change_summary)
        result = st.up(on_output=self.echo) if action == "up" else st.destroy(on_output=self.echo)
        return dict(result.summary.resource_changes or {})

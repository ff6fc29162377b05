"""Pure decisions of the phase commands: which stacks, in which order, what must exist first."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from omgml.errors import OmgmlError
from omgml.naming import stack_name
from omgml.spec import PHASES, PhaseName, PlatformSpec

Action = Literal["preview", "up", "destroy"]
STATE_DIR = ".pulumi-state"


class DeployError(OmgmlError):
    """A deploy step cannot start; the message says what to do."""


@dataclass(frozen=True)
class PhaseStep:
    phase: PhaseName
    stack: str


def phase_steps(spec: PlatformSpec, action: Action, phase: str, prefix: str) -> list[PhaseStep]:
    """The stacks to run, in order: foundation → training → serving on up/preview, reversed on destroy.

    Phases the spec disables are skipped (training's stack is simply not created).
    """
    if phase != "all" and phase not in PHASES:
        raise DeployError(f"--phase must be one of {', '.join((*PHASES, 'all'))}, got {phase!r}")
    enabled = {
        "foundation": True,
        "training": spec.phases.training.enabled,
        "serving": spec.phases.serving.enabled,
    }
    chosen = [p for p in PHASES if (phase == "all" or p == phase)]
    if phase != "all" and not enabled[phase]:
        raise DeployError(f"phase {phase!r} is disabled in the spec (phases.{phase}.enabled: false)")
    steps = [PhaseStep(p, stack_name(prefix, p)) for p in chosen if enabled[p]]
    return list(reversed(steps)) if action == "destroy" else steps


def required_before(phase: PhaseName, spec: PlatformSpec) -> list[PhaseName]:
    """Phases whose stacks must already be deployed (their outputs are read by StackReference)."""
    needs: list[PhaseName] = []
    if phase in ("training", "serving"):
        needs.append("foundation")
    if phase == "serving" and spec.phases.training.enabled:
        needs.append("training")
    return needs


def check_order(step: PhaseStep, spec: PlatformSpec, deployed: set[PhaseName], planned: list[PhaseName],
                project: Path, prefix: str) -> None:
    """Refuse to run a phase before the phases it reads from exist (or come earlier in this run)."""
    missing = [p for p in required_before(step.phase, spec) if p not in deployed and p not in planned]
    if missing:
        first = missing[0]
        raise DeployError(
            f"phase {step.phase!r} reads the outputs of {', '.join(missing)}, whose stack "
            f"{stack_name(prefix, first)!r} is not deployed; run `omgml up {project} --phase {first}` first "
            "(or --phase all)"
        )


def check_destroy_order(step: PhaseStep, spec: PlatformSpec, deployed: set[PhaseName],
                        planned: list[PhaseName], project: Path) -> None:
    """Refuse to destroy a phase that a still-deployed later phase reads from."""
    dependants = [p for p in PHASES if step.phase in required_before(p, spec) and p in deployed
                  and p not in planned]
    if dependants:
        raise DeployError(
            f"phase {step.phase!r} is still read by the deployed {', '.join(dependants)} phase(s); destroy "
            f"them first: `omgml destroy {project} --phase {dependants[-1]}` (or --phase all)"
        )


def backend_url(project: Path) -> str:
    """The default state backend: a local file backend inside the project (never committed)."""
    return f"file://{(project / STATE_DIR).resolve()}"

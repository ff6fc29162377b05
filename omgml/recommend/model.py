"""What the engine returns: one Decision per area, warnings, the PlatformSpec and its phases."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omgml.recommend.cost import CostEstimate
    from omgml.spec import PlatformSpec
    from omgml.spec.requirements import Requirements

# Areas in the order the engine decides and reports them (ADR numbers follow this order).
AREAS: tuple[str, ...] = (
    "framework",
    "serving",
    "orchestration",
    "feature_store",
    "streaming",
    "experiment_tracking",
    "monitoring",
    "drift",
    "gpu_pools",
    "high_availability",
)

CHOICES: dict[str, tuple[str, ...]] = {
    "framework": ("pytorch", "tensorflow", "jax"),
    "serving": ("triton", "torchserve", "tf-serving"),
    "orchestration": ("kubeflow", "airflow", "prefect"),
    "feature_store": ("feast-redis", "delta-lake"),
    "streaming": ("kafka", "none"),
    "experiment_tracking": ("mlflow",),
    "monitoring": ("prometheus",),
    "drift": ("evidently",),
    "gpu_pools": ("none", "training", "inference", "both"),
    "high_availability": ("single", "multi-replica", "multi-az"),
}


@dataclass(frozen=True)
class Alternative:
    choice: str
    why_not: str


@dataclass(frozen=True)
class Decision:
    area: str
    choice: str
    # One or two sentences a person can check against the requirements.
    rationale: str
    # The requirement fields that decided it (e.g. "flags.multi_model", "models.count"); empty
    # when a documented default decided.
    drivers: tuple[str, ...]
    alternatives: tuple[Alternative, ...]
    # What the choice means for the deployed platform (for the ADR); not part of the JSON shape.
    consequences: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.choice not in CHOICES[self.area]:
            raise ValueError(f"{self.area}: {self.choice!r} is not one of {CHOICES[self.area]}")

    def to_json(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "choice": self.choice,
            "rationale": self.rationale,
            "drivers": list(self.drivers),
            "alternatives": [{"choice": a.choice, "why_not": a.why_not} for a in self.alternatives],
        }


@dataclass(frozen=True)
class Recommendation:
    requirements: Requirements
    decisions: tuple[Decision, ...]
    warnings: tuple[str, ...]
    platform: PlatformSpec
    # Compliance controls the platform applies (and which of them the team must still provide).
    controls: tuple[str, ...] = ()
    cost: CostEstimate | None = None
    phases: dict[str, list[str]] = field(default_factory=dict)

    def decision(self, area: str) -> Decision:
        for d in self.decisions:
            if d.area == area:
                return d
        raise KeyError(area)

    def choice(self, area: str) -> str:
        return self.decision(area).choice

    def to_platform_spec(self) -> PlatformSpec:
        return self.platform

    def to_json(self) -> dict[str, Any]:
        """The `omgml recommend --json` shape: decisions, warnings, phases (component ids)."""
        return {
            "decisions": [d.to_json() for d in self.decisions],
            "warnings": list(self.warnings),
            "phases": {phase: list(ids) for phase, ids in self.phases.items()},
        }

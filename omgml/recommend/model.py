"""What the engine returns: one Decision per area, the sizing arithmetic, warnings, the
PlatformSpec and its phases, and (once priced) the cost estimate of its render."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omgml.cost import CostEstimate
    from omgml.recommend.availability import Slo
    from omgml.recommend.sizing import Line
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
    "data_stores",
    "hpo",
    "model_governance",
    "data_quality",
    "lineage",
    "experiments",
)

CHOICES: dict[str, tuple[str, ...]] = {
    # classical: scikit-learn and gradient-boosted trees only, no deep-learning framework.
    "framework": ("pytorch", "tensorflow", "jax", "classical"),
    # batch: pipelines score data in bulk (no model server); none: nothing is scored here.
    "serving": ("triton", "torchserve", "tf-serving", "batch", "none"),
    "orchestration": ("kubeflow", "airflow", "prefect"),
    "feature_store": ("feast-redis", "delta-lake"),
    "streaming": ("kafka", "none"),
    "experiment_tracking": ("mlflow",),
    "monitoring": ("prometheus",),
    "drift": ("evidently",),
    "gpu_pools": ("none", "training", "inference", "both"),
    "high_availability": ("single", "multi-replica", "multi-az"),
    "data_stores": ("in-cluster", "managed", "mixed"),
    # katib: the Kubeflow HPO service; optuna: Optuna's RDB storage + dashboard (Airflow, Prefect).
    "hpo": ("katib", "optuna", "none"),
    # Pipeline steps that document, explain and check a model before it is promoted.
    "model_governance": ("card-shap-fairness", "card-shap", "none"),
    "data_quality": ("great-expectations", "none"),
    # feast-lineage: the OpenLineage server of Feast 0.66 (`feast serve_lineage`) on Postgres
    # (the ADR's rationale says why not Marquez: nothing here can run or verify it).
    "lineage": ("feast-lineage", "none"),
    # How versions of a model are compared in production (A/B tests, canaries). Gateway API and
    # nginx are weighed in the ADR's alternatives but not offered: omgml deploys neither.
    "experiments": ("haproxy-router", "none"),
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
            "consequences": list(self.consequences),
        }


@dataclass(frozen=True)
class Recommendation:
    requirements: Requirements
    decisions: tuple[Decision, ...]
    warnings: tuple[str, ...]
    platform: PlatformSpec
    # Compliance controls the platform applies (and which of them the team must still provide).
    controls: tuple[str, ...] = ()
    # The render's cost estimate on aws (omgml.recommend.pricing fills it); None before pricing
    # and on target local.
    cost: CostEstimate | None = None
    phases: dict[str, list[str]] = field(default_factory=dict)
    # Every sized quantity with its arithmetic.
    sizing: tuple[Line, ...] = ()
    # The warnings that say a stated requirement cannot be met (`--strict` refuses on these).
    unmet: tuple[str, ...] = ()
    slo: Slo | None = None
    # The render the cost was computed from (omgml.synth.render.PlatformRender), kept so `omgml
    # init` writes its docs from the same render; not part of the JSON shape.
    render: Any = field(default=None, compare=False, repr=False)

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
        """The `omgml recommend --json` shape: everything the text output shows."""
        return {
            "platform": {"name": self.platform.name, "target": self.platform.target,
                         "profile": self.platform.profile},
            "decisions": [d.to_json() for d in self.decisions],
            "sizing": [{"item": s.item, "value": s.value, "arithmetic": s.arithmetic} for s in self.sizing],
            "availability": self.slo.to_json() if self.slo is not None else None,
            "warnings": [{"text": w, "unmet": w in self.unmet} for w in self.warnings],
            "compliance_controls": list(self.controls),
            "cost": self.cost.to_json() if self.cost is not None else None,
            "phases": {phase: list(ids) for phase, ids in self.phases.items()},
        }

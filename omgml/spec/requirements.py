"""Requirements: what a team needs from its ML platform, the input of `omgml recommend` / `omgml init`.

Every field except `name` has a default, and every default is *neutral*: it adds no switch of
the decision matrix, so a file that states only `flags` is decided by the original matrix alone
(omgml.recommend documents the matrix and how the richer fields refine it).

| field | default | meaning of the default |
|---|---|---|
| target | local | a kind cluster on this machine |
| profile | None | derived: local → laptop; aws → production with availability ≥ 99.95 or a regulated compliance regime (pci-dss, soc2, hipaa), else small |
| flags | [] | no switch of the original matrix |
| models.count | 1 | one model |
| models.frameworks | [] | not stated |
| serving.latency_p99_ms | None | no latency target (not real-time) |
| serving.peak_rps | None | not stated (autoscaling keeps its default ceiling) |
| serving.gpu | false | CPU serving |
| training.gpu | false | CPU training |
| training.max_gpus | 1 | with training.gpu: at most one GPU at a time |
| data.streaming | false | no event streams |
| data.batch_only | false | not stated as batch only |
| data.daily_volume_gb | 1 | sizes storage and the rough cost model |
| orchestration.existing | none | no orchestrator to keep |
| compliance | [] | no regime |
| availability | "99.0" | best effort: single replicas |
| budget_usd_month | None | no budget check |

Which fields a file states matters (pydantic's `model_fields_set`): a refinement such as "a single
TensorFlow model does not need Triton" applies only when the file *says* `models.count: 1`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from omgml.errors import SpecError
from omgml.spec.base import StrictModel, parse_model, read_yaml
from omgml.spec.common import DNS_LABEL, Profile, Target

Flag = Literal[
    "research_heavy",
    "production_scale",
    "cutting_edge",
    "multi_model",
    "pytorch_only",
    "kubernetes_native",
    "existing_airflow",
    "real_time",
    "batch_only",
]
FLAGS: tuple[Flag, ...] = (
    "research_heavy",
    "production_scale",
    "cutting_edge",
    "multi_model",
    "pytorch_only",
    "kubernetes_native",
    "existing_airflow",
    "real_time",
    "batch_only",
)
ModelFramework = Literal["pytorch", "tensorflow", "jax", "onnx", "xgboost", "sklearn"]
Compliance = Literal["pci-dss", "soc2", "gdpr", "hipaa"]
Availability = Literal["99.0", "99.9", "99.95", "99.99"]
ExistingOrchestrator = Literal["none", "airflow", "kubeflow", "prefect"]

# Regimes that demand encryption, audit logs and closed networks (GDPR asks for "appropriate"
# measures and data residency, which the engine reports but does not turn into platform settings).
REGULATED: frozenset[str] = frozenset({"pci-dss", "soc2", "hipaa"})


def _no_repeats(values: list[str]) -> list[str]:
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"{repeated} listed more than once; list each value once")
    return values


class ModelsRequirements(StrictModel):
    count: int = Field(default=1, ge=1, le=10_000)
    frameworks: list[ModelFramework] = Field(default_factory=list)

    @field_validator("frameworks")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return _no_repeats(v)


class ServingRequirements(StrictModel):
    latency_p99_ms: int | None = Field(default=None, gt=0, le=600_000)
    peak_rps: int | None = Field(default=None, ge=0)
    gpu: bool = False


class TrainingRequirements(StrictModel):
    gpu: bool = False
    max_gpus: int = Field(default=1, ge=1, le=512)


class DataRequirements(StrictModel):
    streaming: bool = False
    batch_only: bool = False
    daily_volume_gb: float = Field(default=1.0, ge=0)


class OrchestrationRequirements(StrictModel):
    existing: ExistingOrchestrator = "none"


class Requirements(StrictModel):
    # ≤ 40 characters: the PlatformSpec's limit, which leaves room in names derived from it.
    name: str = Field(max_length=40)
    target: Target = "local"
    profile: Profile | None = None
    flags: list[Flag] = Field(default_factory=list)
    models: ModelsRequirements = Field(default_factory=ModelsRequirements)
    serving: ServingRequirements = Field(default_factory=ServingRequirements)
    training: TrainingRequirements = Field(default_factory=TrainingRequirements)
    data: DataRequirements = Field(default_factory=DataRequirements)
    orchestration: OrchestrationRequirements = Field(default_factory=OrchestrationRequirements)
    compliance: list[Compliance] = Field(default_factory=list)
    availability: Availability = "99.0"
    budget_usd_month: float | None = Field(default=None, gt=0)

    @field_validator("name")
    @classmethod
    def _dns_label(cls, v: str) -> str:
        if not re.fullmatch(DNS_LABEL, v):
            raise ValueError(
                f"{v!r} is not a DNS-1123 label: use lowercase letters, digits and '-', starting and "
                "ending with a letter or digit (e.g. 'fraud-platform')"
            )
        return v

    @field_validator("availability", mode="before")
    @classmethod
    def _availability_as_text(cls, v: Any) -> Any:
        # `availability: 99.99` without quotes is a YAML float; accept it as the same percentage.
        if isinstance(v, float):
            return repr(v)
        return v

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Requirements:
        # Checked at the top level so each message names full paths (a nested validator's
        # message would be prefixed with only its own section).
        problems = []
        if self.training.max_gpus > 1 and not self.training.gpu:
            problems.append(
                f"training.max_gpus is {self.training.max_gpus} but training.gpu is false; "
                "set training.gpu: true or remove training.max_gpus"
            )
        if self.data.streaming and self.data.batch_only:
            problems.append(
                "data.streaming and data.batch_only are both true; streaming data is not batch only, "
                "set one of them to false"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @field_validator("flags")
    @classmethod
    def _unique_flags(cls, v: list[str]) -> list[str]:
        return _no_repeats(v)

    @field_validator("compliance")
    @classmethod
    def _unique_compliance(cls, v: list[str]) -> list[str]:
        return _no_repeats(v)

    # --- derived facts ---------------------------------------------------------------------
    def regulated(self) -> list[str]:
        """The stated regimes that demand encryption, audit logging and closed networks."""
        return [c for c in self.compliance if c in REGULATED]

    def resolved_profile(self) -> Profile:
        if self.profile is not None:
            return self.profile
        if self.target == "local":
            return "laptop"
        if self.availability in ("99.95", "99.99") or self.regulated():
            return "production"
        return "small"


def requirements_from_dict(data: Any, source: str = "requirements") -> Requirements:
    return parse_model(Requirements, data, source)


def load_requirements(path: Path) -> Requirements:
    """A requirements file, or a project's omgml.yaml (its `requirements:` section)."""
    data = read_yaml(path)
    if isinstance(data, dict) and "requirements" in data and "name" not in data:
        data = data["requirements"]
        if data is None:
            raise SpecError(str(path), ["requirements: the section is empty; it needs at least `name: <platform name>`"])
    return requirements_from_dict(data, str(path))


__all__ = [
    "FLAGS",
    "REGULATED",
    "Availability",
    "Compliance",
    "DataRequirements",
    "ExistingOrchestrator",
    "Flag",
    "ModelFramework",
    "ModelsRequirements",
    "OrchestrationRequirements",
    "Requirements",
    "ServingRequirements",
    "TrainingRequirements",
    "load_requirements",
    "requirements_from_dict",
]

"""Requirements: what a team needs from its ML platform, the input of `omgml recommend` / `omgml init`.

Every field except `name` has a default, and every default is *neutral*: it adds no switch of
the decision matrix, so a file that states only `flags` is decided by the decision matrix alone
(docs/decision-matrix.md shows the matrix and how the richer fields refine it).

Each field carries its description and unit in the model (`Field(description=...,
json_schema_extra={"unit": ...})`): `omgml schema requirements` prints them as a JSON Schema
editors can use, and docs/requirements.md is generated from the same text
(omgml.spec.requirements_doc), so the documentation cannot drift from the model.

Which fields a file states matters (pydantic's `model_fields_set`): a refinement such as "a single
TensorFlow model does not need Triton" applies only when the file *says* `models.count: 1`, and a
stated `serving.gpu` is kept while an unstated one is decided from the peak load.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, field_validator, model_validator

from omgml.errors import SpecError
from omgml.spec.base import NO_REPEATS, StrictModel, parse_model, raise_problems, read_yaml
from omgml.spec.common import DNS_LABEL, Profile, Target
from omgml.spec.data import DataSourceSpec, unique_sources

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
# The same names as a tuple, for loops and messages (one list: the Literal above).
FLAGS: tuple[Flag, ...] = get_args(Flag)
ModelFramework = Literal["pytorch", "tensorflow", "jax", "onnx", "xgboost", "lightgbm", "sklearn"]
# Frameworks without deep learning: tree ensembles and scikit-learn estimators. A team that states
# only these gets no deep-learning framework.
CLASSICAL: frozenset[str] = frozenset({"xgboost", "lightgbm", "sklearn"})
Compliance = Literal["pci-dss", "soc2", "gdpr", "hipaa"]
Availability = Literal["99.0", "99.9", "99.95", "99.99"]
ExistingOrchestrator = Literal["none", "airflow", "kubeflow", "prefect"]
ServingMode = Literal["real-time", "batch", "none"]
Store = Literal["postgres", "redis", "kafka", "object_store"]

# Regimes that demand encryption, audit logs and closed networks (GDPR asks for "appropriate"
# measures and data residency, which the engine reports but does not turn into platform settings).
REGULATED: frozenset[str] = frozenset({"pci-dss", "soc2", "hipaa"})


def _unit(unit: str) -> dict[str, Any]:
    return {"unit": unit}


class ModelsRequirements(StrictModel):
    """The models the platform trains and serves."""

    count: int = Field(default=1, ge=1, le=10_000, description=(
        "How many models the platform serves. More than one turns on the multi_model switch (Triton)."),
        json_schema_extra=_unit("models"))
    frameworks: Annotated[list[ModelFramework], NO_REPEATS] = Field(default_factory=list, description=(
        "The frameworks the team's models are written in. Only xgboost, lightgbm and sklearn: no "
        "deep-learning framework and Triton's FIL backend; several: Triton; [pytorch] alone: the "
        "pytorch_only switch. Empty: not stated."))
    size_mb: float | None = Field(default=None, gt=0, le=1_000_000, description=(
        "Typical size of one model's serialized file. With models.count it checks that every model "
        "fits in a model-server replica's memory (and a GPU's). Not stated: not checked."),
        json_schema_extra=_unit("MB"))


class ServingRequirements(StrictModel):
    """How predictions are served."""

    mode: ServingMode | None = Field(default=None, description=(
        "real-time: a model server answers requests while a caller waits; batch: pipelines score data "
        "in bulk, no model server; none: no scoring on this platform (training and research only). "
        "Not stated: batch when the data is batch only (and nothing is real-time), else real-time."))
    latency_p99_ms: int | None = Field(default=None, gt=0, le=600_000, description=(
        "The 99th-percentile latency a caller may wait for a prediction. At or under 1000 ms the "
        "platform is real-time (online features in Redis). Not stated: no latency target."),
        json_schema_extra=_unit("ms"))
    peak_rps: int | None = Field(default=None, ge=0, description=(
        "Prediction requests per second at the busiest time. Sizes the model-server replicas, CPU or "
        "GPU, and the inference-log topic's partitions. Not stated: the HA minimum of replicas."),
        json_schema_extra=_unit("requests/s"))
    gpu: bool = Field(default=False, description=(
        "Serve on GPUs (an inference GPU pool). Not stated: the engine picks GPUs when the stated "
        "peak_rps would need more CPU than the target has."))


class TrainingRequirements(StrictModel):
    """How models are trained."""

    gpu: bool = Field(default=False, description="Train on GPUs (a training GPU pool that scales to zero).")
    max_gpus: int = Field(default=1, ge=1, le=512, description=(
        "The most GPUs training uses at once (with training.gpu). Sizes the training pool: the smallest "
        "node holding min(max_gpus, 8) GPUs, times as many nodes as needed."),
        json_schema_extra=_unit("GPUs"))
    gpu_hours_per_month: float = Field(default=160, ge=0, le=744, description=(
        "Hours a month the training pool runs at full size (all max_gpus busy); the pool scales to "
        "zero the rest of the time. The cost estimate prices the training pool at this utilisation. "
        "160 h is one 8-hour shift on 20 working days."),
        json_schema_extra=_unit("hours/month"))
    hpo: bool = Field(default=False, description=(
        "Run hyperparameter searches as a platform service: Katib with Kubeflow Pipelines, Optuna with its "
        "dashboard with Airflow or Prefect; trials log to MLflow and keep their state on Postgres."))


class TrackingRequirements(StrictModel):
    """Experiment tracking besides the platform's MLflow."""

    wandb: bool = Field(default=False, description=(
        "The team also tracks runs in Weights & Biases: training steps get the W&B settings and read the API "
        "key from a Secret the team creates (phases.training.wandb.api_key_secret); MLflow stays the registry."))
    wandb_host: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/\S*)?$", description=(
        "URL of the team's self-hosted W&B server (WANDB_BASE_URL). Not stated: W&B's hosted service."))


class GovernanceRequirements(StrictModel):
    """Model governance: cards, explanations and fairness checks before a model is promoted."""

    model_cards: bool | None = Field(default=None, description=(
        "A pipeline step writes a model card from the MLflow run and registry metadata and attaches it to the "
        "model version. Not stated: on under pci-dss, soc2, hipaa or gdpr, or when sensitive_features is stated."))
    explainability: bool | None = Field(default=None, description=(
        "A pipeline step logs SHAP explanations of the model to MLflow. Not stated: as model_cards."))
    sensitive_features: Annotated[list[str], NO_REPEATS] = Field(default_factory=list, description=(
        "Columns of the evaluation data holding sensitive attributes (e.g. age_band, sex). A fairness step "
        "(fairlearn) compares the model across their groups and tags the version passed or failed."))
    fairness_threshold: float = Field(default=0.1, description=(
        "The largest difference between groups (demographic parity and equalized odds difference) a model may "
        "show to pass the fairness step; 0 means identical treatment, 1 no limit."),
        json_schema_extra=_unit("fraction"))

    @field_validator("fairness_threshold", mode="before")
    @classmethod
    def _threshold(cls, v: Any) -> Any:
        from omgml.spec.training_addons import threshold_problem

        problem = threshold_problem("governance.fairness_threshold", v)
        if problem:
            raise ValueError(problem.removeprefix("governance.fairness_threshold: "))
        return v


class DataRequirements(StrictModel):
    """The data the platform takes in."""

    streaming: bool = Field(default=False, description=(
        "Events arrive as streams (Kafka is deployed); turns on the real_time switch."))
    batch_only: bool = Field(default=False, description=(
        "Data arrives in batches and nothing is looked up online: Delta Lake features, no Kafka, "
        "batch scoring unless something is real-time."))
    daily_volume_gb: float = Field(default=1.0, ge=0, description=(
        "New data a day. Sizes Kafka's and the object store's volumes, and the cost of S3 storage, "
        "NAT-gateway processing and cross-zone replication."),
        json_schema_extra=_unit("GB/day"))
    online_features_gb: float | None = Field(default=None, gt=0, description=(
        "Size of the feature values served online (the latest value per entity). Sizes Redis' memory. "
        "Not stated: the profile's default Redis memory."),
        json_schema_extra=_unit("GB"))
    quality: bool = Field(default=False, description=(
        "Validate the data with Great Expectations suites on a schedule and as a pipeline step, with an alert "
        "when a suite fails. Not stated: on when compliance lists a regime."))
    lineage: bool = Field(default=False, description=(
        "Record data lineage (OpenLineage events of pipeline steps, Airflow and the quality checks) in a "
        "lineage catalog. Not stated: on when compliance lists a regime."))
    sources: list[DataSourceSpec] = Field(default_factory=list, description=(
        "External systems the team already has (a Snowflake warehouse, an S3 bucket, a Delta table location, "
        "a Postgres database), each with the existing Secret that holds its credentials. Pipelines get a "
        "connection bundle; a Snowflake warehouse becomes Feast's offline store."))

    @field_validator("sources")
    @classmethod
    def _unique_sources(cls, v: list[DataSourceSpec]) -> list[DataSourceSpec]:
        return unique_sources(v)


class OrchestrationRequirements(StrictModel):
    """Pipelines the team already runs."""

    existing: ExistingOrchestrator = Field(default="none", description=(
        "An orchestrator the team already runs: airflow keeps it (no second Airflow is deployed), "
        "kubeflow turns on the kubernetes_native switch."))


class AssumptionsRequirements(StrictModel):
    """Planning figures the sizing and the cost estimate multiply by; measure yours and state them."""

    rps_per_vcpu: float = Field(default=100, gt=0, description=(
        "Requests a second one vCPU of a CPU model-server replica answers within the p99 target. A "
        "replica has 2 vCPU on the production profile, 1 on small, 0.25 on laptop. Measure with "
        "Triton's perf_analyzer."), json_schema_extra=_unit("requests/s per vCPU"))
    rps_per_gpu: float = Field(default=2000, gt=0, description=(
        "Requests a second one GPU replica (one A10G, g5.xlarge) answers within the p99 target with "
        "Triton's dynamic batching. Measure with perf_analyzer."),
        json_schema_extra=_unit("requests/s per GPU"))
    peak_utilisation: float = Field(default=0.7, gt=0, le=1, description=(
        "Share of a replica's measured capacity used at the stated peak: headroom for bursts, equal to "
        "the autoscaler's 70 % CPU target."), json_schema_extra=_unit("fraction"))
    kafka_msgs_per_partition: float = Field(default=1000, gt=0, description=(
        "Messages a second one consumer handles from one partition; sets the inference-log topic's "
        "partitions from serving.peak_rps."), json_schema_extra=_unit("messages/s"))
    kafka_mb_per_broker: float = Field(default=30, gt=0, description=(
        "Produce throughput one broker sustains including replication; sets the broker count from the "
        "peak data rate."), json_schema_extra=_unit("MB/s"))
    peak_to_average: float = Field(default=3, ge=1, description=(
        "Peak data rate ÷ the day's average (data.daily_volume_gb spread over 24 h)."),
        json_schema_extra=_unit("ratio"))
    kafka_retention_days: int = Field(default=7, ge=1, le=3650, description=(
        "Days Kafka keeps events (Kafka's own default); sizes the broker volumes."),
        json_schema_extra=_unit("days"))
    data_retention_days: int = Field(default=30, ge=1, le=3650, description=(
        "Days of data.daily_volume_gb the object store holds; sizes its volume or the S3 bill."),
        json_schema_extra=_unit("days"))
    artifact_gb_per_bucket: float = Field(default=50, ge=0, description=(
        "Data kept in each bucket besides the features bucket (MLflow artifacts, model repository, "
        "pipeline artifacts)."), json_schema_extra=_unit("GB"))
    nat_gb_per_month: float | None = Field(default=None, ge=0, description=(
        "Traffic through the NAT gateways. Not stated: every GB of data.daily_volume_gb crosses a NAT "
        "gateway once on its way in, and, while the VPC has no S3 gateway endpoint, twice more (written "
        "to S3 and read back)."), json_schema_extra=_unit("GB/month"))
    log_gb_per_month: float = Field(default=30, ge=0, description=(
        "CloudWatch Logs ingested by each log source the platform turns on (the EKS control-plane "
        "audit log, RDS and MSK log exports; audit logging is on under pci-dss, soc2 and hipaa)."),
        json_schema_extra=_unit("GB/month"))


class Requirements(StrictModel):
    """What a team needs from its ML platform."""

    # ≤ 40 characters: the PlatformSpec's limit, which leaves room in names derived from it.
    name: str = Field(max_length=40, description=(
        "The platform's name: a DNS-1123 label (lowercase letters, digits, '-'), at most 40 characters. "
        "`omgml init DIR --template T` names it after DIR."))
    target: Target = Field(default="local", description=(
        "Where the platform runs: local (a kind cluster on this machine) or aws (EKS and managed services)."))
    profile: Profile | None = Field(default=None, description=(
        "Sizing profile. Not stated: local → laptop; aws → production with availability ≥ 99.95 or a "
        "regulated regime (pci-dss, soc2, hipaa), else small."))
    flags: Annotated[list[Flag], NO_REPEATS] = Field(default_factory=list, description=(
        "Switches of the decision matrix (docs/decision-matrix.md), for what no other field states."))
    models: ModelsRequirements = Field(default_factory=ModelsRequirements)
    serving: ServingRequirements = Field(default_factory=ServingRequirements)
    training: TrainingRequirements = Field(default_factory=TrainingRequirements)
    data: DataRequirements = Field(default_factory=DataRequirements)
    orchestration: OrchestrationRequirements = Field(default_factory=OrchestrationRequirements)
    tracking: TrackingRequirements = Field(default_factory=TrackingRequirements)
    governance: GovernanceRequirements = Field(default_factory=GovernanceRequirements)
    compliance: Annotated[list[Compliance], NO_REPEATS] = Field(default_factory=list, description=(
        "Regulatory regimes. pci-dss, soc2 and hipaa: audit logging, closed pipeline steps, managed "
        "stores on aws and multi-zone real-time serving; gdpr: a data-residency note."))
    availability: Availability = Field(default="99.0", description=(
        "Monthly availability the platform must reach, in percent: 99.0 single replicas; 99.9 two "
        "replicas and managed stores on aws; 99.95 and 99.99 three zones."),
        json_schema_extra=_unit("%"))
    budget_usd_month: float | None = Field(default=None, gt=0, description=(
        "Monthly budget on aws (list prices). Over it, stores that are managed only for convenience move "
        "in-cluster and a warning names the biggest cost drivers. Not stated: not checked."),
        json_schema_extra=_unit("USD/month"))
    in_cluster: Annotated[list[Store], NO_REPEATS] = Field(default_factory=list, description=(
        "Stores to run in the cluster on aws even where the engine would pick the managed service "
        "(RDS, ElastiCache, MSK, S3)."))
    assumptions: AssumptionsRequirements = Field(default_factory=AssumptionsRequirements)

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
        raise_problems(problems)
        return self

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

    def stated(self, path: str) -> bool:
        """Whether the file states the field at `path` (e.g. "serving.gpu"), not just its default."""
        model: Any = self
        *parents, last = path.split(".")
        for part in parents:
            if part not in model.model_fields_set:
                return False
            model = getattr(model, part)
        return last in model.model_fields_set


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
    "CLASSICAL",
    "FLAGS",
    "REGULATED",
    "AssumptionsRequirements",
    "Availability",
    "Compliance",
    "DataRequirements",
    "ExistingOrchestrator",
    "Flag",
    "GovernanceRequirements",
    "ModelFramework",
    "ModelsRequirements",
    "OrchestrationRequirements",
    "Requirements",
    "ServingMode",
    "ServingRequirements",
    "Store",
    "TrackingRequirements",
    "TrainingRequirements",
    "load_requirements",
    "requirements_from_dict",
]

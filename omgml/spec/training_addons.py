"""Settings of the training layer's add-ons: the HPO service, Weights & Biases, model governance.

- `hpo`: hyperparameter search as a service. Katib (the Kubeflow HPO service) beside Kubeflow
  Pipelines; Optuna with its dashboard beside Airflow or Prefect. Either keeps its trials on the
  foundation's Postgres (a consumer database of its own), and trials log to MLflow.
- `wandb`: Weights & Biases next to MLflow. omgml never holds the API key: the team creates a
  Secret (named here) in every namespace that runs training code, pods read it by secretKeyRef,
  and `omgml preview|up` refuse to start while it is missing.
- `governance`: model cards, SHAP explanations and a fairness check as pipeline steps that log
  to MLflow and tag the model version (omgml.governance.contract), so a promotion gate can
  require them. `fairness.thresholds` are the largest differences between groups a model may
  show, each in [0, 1].
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from omgml.spec.base import StrictModel, all_match, no_repeats, raise_problems
from omgml.spec.common import DNS_LABEL

if TYPE_CHECKING:
    from omgml.spec.platform import PlatformSpec

HpoEngine = Literal["auto", "katib", "optuna"]
# fairlearn.metrics names: the difference between the best- and worst-treated group.
FairnessMetric = Literal["demographic_parity_difference", "equalized_odds_difference",
                         "equal_opportunity_difference"]
FAIRNESS_METRICS: tuple[str, ...] = ("demographic_parity_difference", "equalized_odds_difference",
                                     "equal_opportunity_difference")
DEFAULT_FAIRNESS_THRESHOLD = 0.1
# A Secret key: what `kubectl create secret --from-literal` accepts.
SECRET_KEY = r"^[-._a-zA-Z0-9]{1,253}$"
# A column of the team's dataset (pandas column names: anything printable, no line breaks).
_COLUMN = re.compile(r"^[^\s][^\n\r]{0,127}$")


def threshold_problem(where: str, value: object) -> str | None:
    """Why `value` is not a fairness threshold (None: it is one). Shared by the requirements
    and the platform spec so both say the same."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(float(value)) \
            or not 0 <= float(value) <= 1:
        return (f"{where}: {value!r} is outside [0, 1]; a fairness threshold is the largest difference between "
                "groups a model may show (0: identical treatment, 1: no limit), e.g. 0.1")
    return None


class HpoSpec(StrictModel):
    enabled: bool = False
    # auto: Katib with Kubeflow Pipelines, else Optuna (with Airflow or Prefect).
    engine: HpoEngine = "auto"
    # The Katib UI or optuna-dashboard (a read-only view of experiments/studies).
    dashboard: bool = True

    def resolved_engine(self, kubeflow: bool) -> Literal["katib", "optuna"]:
        if self.engine != "auto":
            return self.engine
        return "katib" if kubeflow else "optuna"


class WandbSpec(StrictModel):
    enabled: bool = False
    # The Secret the team creates (same name in every namespace that runs training code) and
    # its key holding the API key. omgml reads neither: pods get it by secretKeyRef.
    api_key_secret: str = Field(default="wandb-api-key", pattern=DNS_LABEL, max_length=63)
    api_key_key: str = Field(default="api-key", pattern=SECRET_KEY)
    # A self-hosted W&B server (WANDB_BASE_URL); None: W&B's hosted service.
    host: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/\S*)?$")
    project: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,128}$")
    entity: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,128}$")


def default_thresholds() -> dict[FairnessMetric, float]:
    return {"demographic_parity_difference": DEFAULT_FAIRNESS_THRESHOLD,
            "equalized_odds_difference": DEFAULT_FAIRNESS_THRESHOLD}


class FairnessSpec(StrictModel):
    # Columns of the evaluation data holding the sensitive attributes (e.g. age_band, sex).
    # Empty: no fairness step (there is nothing to compare across).
    sensitive_features: list[str] = Field(default_factory=list)
    # Metric → the largest allowed difference between groups, in [0, 1].
    thresholds: dict[FairnessMetric, float] = Field(default_factory=lambda: default_thresholds())

    @field_validator("sensitive_features")
    @classmethod
    def _columns(cls, v: list[str]) -> list[str]:
        return no_repeats(all_match(v, _COLUMN, "are not column names; give the dataset's column names, e.g. "
                                                "[age_band]"), "column")

    @field_validator("thresholds", mode="before")
    @classmethod
    def _in_unit_interval(cls, v: object) -> object:
        if isinstance(v, dict):
            raise_problems([p for k, x in v.items() if (p := threshold_problem(f"thresholds.{k}", x))])
        return v


class GovernanceSpec(StrictModel):
    enabled: bool = False
    model_cards: bool = True
    # SHAP values of a sample of the evaluation data, logged to MLflow.
    explainability: bool = True
    fairness: FairnessSpec = Field(default_factory=FairnessSpec)
    # Rows of the evaluation data the SHAP step explains (SHAP's cost grows with them).
    explain_sample_rows: int = Field(default=200, ge=10, le=100_000)


def addon_problems(spec: PlatformSpec) -> list[str]:
    """The cross-field rules of the add-ons, each naming the fields and the fix."""
    t = spec.phases.training
    f = spec.phases.foundation
    out: list[str] = []
    pt = "phases.training"
    if t.hpo.enabled:
        if not t.enabled:
            out.append(f"{pt}.hpo.enabled: the HPO service is part of the training phase, but {pt}.enabled is "
                       f"false; enable the training phase or disable hpo")
        engine = t.hpo.resolved_engine(t.kubeflow.enabled)
        what = "Katib's db-manager keeps trial metrics" if engine == "katib" else "Optuna's RDB storage keeps studies"
        if not f.postgres.enabled:
            out.append(f"{pt}.hpo.enabled: {what} on the foundation's Postgres, but phases.foundation.postgres."
                       "enabled is false; enable postgres or disable hpo")
        if engine == "katib" and not t.kubeflow.enabled:
            out.append(f"{pt}.hpo.engine: katib runs beside Kubeflow Pipelines (its namespace and steps namespace), "
                       f"but {pt}.kubeflow.enabled is false; enable kubeflow or use engine: optuna")
        if engine == "optuna" and not (t.airflow.enabled or t.prefect.enabled):
            out.append(f"{pt}.hpo.engine: optuna runs its studies from Airflow tasks or Prefect flows, and neither "
                       f"{pt}.airflow.enabled nor {pt}.prefect.enabled is true; enable one of them, or enable "
                       "kubeflow and use engine: katib")
    if t.wandb.enabled and t.enabled and not training_namespaces(spec):
        out.append(f"{pt}.wandb.enabled: W&B reaches training code through the pipeline namespaces, and no "
                   f"orchestrator is enabled ({pt}.kubeflow, .airflow or .prefect); enable one or disable wandb")
    g = t.governance
    if g.enabled:
        if not f.mlflow.enabled:
            out.append(f"{pt}.governance.enabled: the governance steps read the model from MLflow and log their "
                       "results there, but phases.foundation.mlflow.enabled is false; enable mlflow or disable "
                       "governance")
        if not training_namespaces(spec):
            out.append(f"{pt}.governance.enabled: the governance steps run as pipeline steps, and no orchestrator is "
                       f"enabled ({pt}.kubeflow, .airflow or .prefect); enable one or disable governance")
        if not (g.model_cards or g.explainability or g.fairness.sensitive_features):
            out.append(f"{pt}.governance: enabled, but model_cards and explainability are false and "
                       "fairness.sensitive_features is empty, so no step would run; turn one on or disable governance")
    return out


def training_namespaces(spec: PlatformSpec) -> list[str]:
    """Namespaces where training code runs (pipeline steps, tasks, flow runs, trials)."""
    t = spec.phases.training
    if not t.enabled:
        return []
    out = []
    if t.kubeflow.enabled:
        out.append(t.kubeflow.user_namespace)
    if t.orchestration_namespace_needed():
        out.append(t.orchestration.namespace)
    return out


__all__ = [
    "DEFAULT_FAIRNESS_THRESHOLD",
    "FAIRNESS_METRICS",
    "FairnessMetric",
    "FairnessSpec",
    "GovernanceSpec",
    "HpoEngine",
    "HpoSpec",
    "WandbSpec",
    "addon_problems",
    "threshold_problem",
    "training_namespaces",
]

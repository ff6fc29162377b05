"""The training add-ons' settings: bad input gives one line naming the field and the fix."""

from __future__ import annotations

from typing import Any

import pytest

from omgml.errors import SpecError
from omgml.spec import spec_from_dict
from omgml.spec.requirements import requirements_from_dict


def spec(training: dict[str, Any], foundation: dict[str, Any] | None = None) -> Any:
    return spec_from_dict({"name": "t", "phases": {"foundation": foundation or {}, "training": training}})


def problems(training: dict[str, Any], foundation: dict[str, Any] | None = None) -> list[str]:
    with pytest.raises(SpecError) as err:
        spec(training, foundation)
    return err.value.problems


@pytest.mark.parametrize("bad", [1.5, -0.1, "high", True])
def test_a_fairness_threshold_outside_the_unit_interval_names_the_metric_and_the_fix(bad: object) -> None:
    found = problems({"governance": {"enabled": True, "fairness": {
        "sensitive_features": ["age_band"], "thresholds": {"demographic_parity_difference": bad}}}})
    line = next(p for p in found if "demographic_parity_difference" in p)
    assert line.startswith("phases.training.governance.fairness.thresholds: thresholds.demographic_parity_difference")
    assert "outside [0, 1]" in line and "e.g. 0.1" in line


def test_thresholds_at_the_bounds_are_fine() -> None:
    s = spec({"governance": {"enabled": True, "fairness": {"sensitive_features": ["sex"], "thresholds": {
        "demographic_parity_difference": 0, "equalized_odds_difference": 1}}}})
    assert s.phases.training.governance.fairness.thresholds == {"demographic_parity_difference": 0,
                                                                "equalized_odds_difference": 1}


def test_an_unknown_fairness_metric_is_refused_with_the_known_ones() -> None:
    found = problems({"governance": {"enabled": True, "fairness": {"thresholds": {"accuracy_gap": 0.1}}}})
    assert any("demographic_parity_difference" in p and "accuracy_gap" in p for p in found), found


def test_the_requirements_threshold_is_checked_the_same_way() -> None:
    with pytest.raises(SpecError) as err:
        requirements_from_dict({"name": "t", "governance": {"fairness_threshold": 2}})
    assert err.value.problems == [
        "governance.fairness_threshold: 2 is outside [0, 1]; a fairness threshold is the largest difference between "
        "groups a model may show (0: identical treatment, 1: no limit), e.g. 0.1"]


def test_hpo_on_a_platform_without_a_database_names_both_fields_and_the_fix() -> None:
    found = problems({"kubeflow": {"enabled": True}, "hpo": {"enabled": True}},
                     {"postgres": {"enabled": False}, "mlflow": {"enabled": False}, "feast": {"enabled": False}})
    assert ("phases.training.hpo.enabled: Katib's db-manager keeps trial metrics on the foundation's Postgres, but "
            "phases.foundation.postgres.enabled is false; enable postgres or disable hpo") in found


def test_optuna_without_a_database_says_what_optuna_keeps_there() -> None:
    found = problems({"kubeflow": {"enabled": False}, "prefect": {"enabled": True}, "hpo": {"enabled": True}},
                     {"postgres": {"enabled": False}, "mlflow": {"enabled": False}, "feast": {"enabled": False}})
    assert any(p.startswith("phases.training.hpo.enabled: Optuna's RDB storage keeps studies") for p in found), found


def test_katib_needs_kubeflow_and_optuna_needs_an_orchestrator_that_runs_python() -> None:
    found = problems({"kubeflow": {"enabled": False}, "prefect": {"enabled": True},
                      "hpo": {"enabled": True, "engine": "katib"}})
    assert any(p.startswith("phases.training.hpo.engine: katib runs beside Kubeflow") and "use engine: optuna" in p
               for p in found), found
    found = problems({"hpo": {"enabled": True, "engine": "optuna"}})
    assert any(p.startswith("phases.training.hpo.engine: optuna runs its studies from Airflow tasks or Prefect")
               for p in found), found


def test_auto_picks_katib_with_kubeflow_and_optuna_otherwise() -> None:
    assert spec({"hpo": {"enabled": True}}).phases.training.hpo.resolved_engine(True) == "katib"
    s = spec({"kubeflow": {"enabled": False}, "airflow": {"enabled": True}, "hpo": {"enabled": True}})
    assert s.phases.training.hpo.resolved_engine(s.phases.training.kubeflow.enabled) == "optuna"


def test_governance_needs_mlflow_to_read_the_model_from() -> None:
    found = problems({"governance": {"enabled": True}}, {"mlflow": {"enabled": False}})
    assert any(p.startswith("phases.training.governance.enabled: the governance steps read the model from MLflow")
               for p in found), found


def test_governance_with_every_step_off_is_refused() -> None:
    found = problems({"governance": {"enabled": True, "model_cards": False, "explainability": False}})
    assert any("no step would run" in p for p in found), found


@pytest.mark.parametrize(("field", "value"), [("api_key_secret", "W&B key"), ("api_key_key", "api key"),
                                              ("host", "wandb.example.com")])
def test_wandb_settings_are_checked(field: str, value: str) -> None:
    found = problems({"wandb": {"enabled": True, field: value}})
    assert any(p.startswith(f"phases.training.wandb.{field}:") for p in found), found


def test_wandb_without_an_orchestrator_has_nowhere_to_go() -> None:
    found = problems({"kubeflow": {"enabled": False}, "gpu_pools": [{"name": "g"}], "wandb": {"enabled": True}})
    assert any(p.startswith("phases.training.wandb.enabled: W&B reaches training code") for p in found), found

"""The governance steps' pure parts: settings, the fairness decision, the model card, the contract."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from omgml.governance import contract
from omgml.governance.card import CardError, card_fields, default_template, render_card
from omgml.governance.fairness import fairness_result, judge
from omgml.governance.settings import GovernanceSettings, SettingsError, parse_settings, settings_from_env

VERSION = {"version": "3", "description": "Fraud scorer for card authorisations.", "aliases": ["champion"],
           "source": "models:/m-abc123", "creation_timestamp": 1_764_979_200_000}
RUN = {"info": {"run_id": "r123", "run_name": "train-7", "user_id": "ana", "start_time": 1_764_979_100_000},
       "data": {"params": {"n_estimators": "100", "max_depth": "4"},
                "metrics": {"accuracy": 0.9132, "roc_auc": 0.955, "shap_mean_abs.amount": 0.2,
                            "fairness.demographic_parity_difference": 0.03},
                "tags": {"mlflow.log-model.history": json.dumps([{"flavors": {"python_function": {},
                                                                             "sklearn": {}}}])}}}
FAIRNESS = fairness_result(["age_band"], {"demographic_parity_difference": 0.03, "equalized_odds_difference": 0.2},
                           {"demographic_parity_difference": 0.05, "equalized_odds_difference": 0.1},
                           {"18-30": {"selection_rate": 0.21, "accuracy": 0.9, "count": 120}})


def test_a_metric_within_its_threshold_passes_and_one_above_fails() -> None:
    passed, rows = judge({"demographic_parity_difference": 0.05, "equalized_odds_difference": 0.11},
                         {"demographic_parity_difference": 0.05, "equalized_odds_difference": 0.1})
    assert not passed
    assert [(r["name"], r["passed"]) for r in rows] == [("demographic_parity_difference", True),
                                                        ("equalized_odds_difference", False)]
    assert judge({"demographic_parity_difference": 0.0}, {"demographic_parity_difference": 0.0})[0]


def test_a_metric_that_was_not_computed_fails_the_check() -> None:
    passed, rows = judge({}, {"equalized_odds_difference": 0.1})
    assert not passed and rows[0]["passed"] is False


@pytest.mark.parametrize("bad", [1.01, -0.5, "0.1", None])
def test_settings_refuse_a_threshold_outside_the_unit_interval(bad: object) -> None:
    text = json.dumps({"fairness": {"sensitive_features": ["sex"], "thresholds": {"equalized_odds_difference": bad}}})
    with pytest.raises(SettingsError, match=r"fairness.thresholds.equalized_odds_difference: .* is outside \[0, 1\]; "
                                            r"set phases.training.governance.fairness.thresholds"):
        parse_settings(text)


def test_settings_round_trip_and_come_from_the_env() -> None:
    s = GovernanceSettings(sensitive_features=("sex",), thresholds={"demographic_parity_difference": 0.1},
                           explain_sample_rows=50)
    assert settings_from_env({"OMGML_GOVERNANCE": s.to_json()}) == s
    with pytest.raises(SettingsError, match="OMGML_GOVERNANCE is not set"):
        settings_from_env({})


def test_the_card_is_filled_from_run_and_registry_metadata() -> None:
    fields = card_fields("fraud", VERSION, RUN, {"amount": 0.21, "merchant_risk": 0.07}, FAIRNESS, False,
                         now=datetime(2026, 12, 6, tzinfo=UTC))
    card = render_card(default_template(), fields)
    assert card.startswith("# Model card: fraud, version 3")
    assert "| MLflow run | `r123` (train-7) |" in card
    assert "| trained by | ana |" in card and "| flavors | python_function, sklearn |" in card
    assert "Fraud scorer for card authorisations." in card
    assert "| `n_estimators` | 100 |" in card and "| `accuracy` | 0.9132 |" in card
    # The governance steps' own metrics are reported in their sections, not as evaluation metrics.
    assert "| `shap_mean_abs.amount` |" not in card
    assert card.index("`amount`") < card.index("`merchant_risk`")
    assert "Result: **failed**" in card and "| equalized_odds_difference | 0.2 | 0.1 | no |" in card
    assert "| 18-30 | 0.21 | 0.9 | 120 |" in card
    assert f"`{contract.GOVERNANCE_PASSED_TAG}`: failed" in card
    assert "$" not in card.replace("$name", "")


def test_mlflow_3_flavors_come_from_the_logged_model() -> None:
    # MLflow 3 runs carry no mlflow.log-model.history tag; the step reads the version's MLmodel.
    run = {"info": {"run_id": "r1"}, "data": {"tags": {}}}
    card = render_card(default_template(), card_fields("m", {"version": 1, "flavors": "python_function, sklearn"},
                                                        run, None, None, None))
    assert "| flavors | python_function, sklearn |" in card
    assert "| flavors | unknown |" in render_card(default_template(), card_fields("m", {"version": 1}, run,
                                                                                   None, None, None))


def test_steps_that_did_not_run_say_why() -> None:
    fields = card_fields("m", {"version": 1}, {"info": {}, "data": {}}, None, None, None)
    card = render_card(default_template(), fields)
    assert "Not run (phases.training.governance.explainability: false)" in card
    assert "Not run (no sensitive features are configured" in card
    assert "not evaluated yet" in card


def test_a_template_naming_an_unknown_field_is_refused_with_the_known_ones() -> None:
    with pytest.raises(CardError, match=r"\$owner is not a field the card step fills; use one of .*\$model_name"):
        render_card("# $model_name by $owner", card_fields("m", {"version": 1}, {"info": {}, "data": {}}, None,
                                                            None, None))


def test_the_gate_contract_matches_what_promote_requires() -> None:
    assert contract.promote_gate_args() == ["--require-tag", "omgml.governance.passed=true"]
    assert contract.fairness_tag("equalized_odds_difference") == "omgml.fairness.equalized_odds_difference"
    assert (contract.bool_tag(True), contract.bool_tag(False)) == ("true", "false")

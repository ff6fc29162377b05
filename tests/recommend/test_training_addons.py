"""The engine's add-on rules: the HPO service, model governance, W&B (omgml.recommend.training_addons)."""

from __future__ import annotations

from typing import Any

from omgml.recommend import recommend
from omgml.recommend.model import Recommendation
from omgml.spec.requirements import requirements_from_dict
from omgml.templates import load_template


def rec(**req: Any) -> Recommendation:
    return recommend(requirements_from_dict({"name": "t", **req}))


def test_hpo_with_kubeflow_is_katib_in_the_kfp_namespace() -> None:
    r = rec(flags=["kubernetes_native"], training={"hpo": True})
    d = r.decision("hpo")
    assert d.choice == "katib" and d.drivers == ("training.hpo", "flags.kubernetes_native")
    t = r.platform.phases.training
    assert t.hpo.enabled and t.hpo.engine == "katib"
    assert "katib" in r.phases["training"]
    assert any("hpo/experiment.yaml" in c for c in d.consequences)


def test_hpo_with_prefect_is_optuna_with_its_storage_on_postgres() -> None:
    r = rec(training={"hpo": True})
    assert r.choice("orchestration") == "prefect"
    assert r.choice("hpo") == "optuna"
    assert r.platform.phases.training.hpo.engine == "optuna"
    assert "optuna" in r.phases["training"]


def test_hpo_with_an_existing_airflow_deploys_nothing_and_says_what_to_change() -> None:
    r = rec(orchestration={"existing": "airflow"}, training={"hpo": True})
    d = r.decision("hpo")
    assert d.choice == "none" and "training.hpo" in d.drivers
    assert "phases.training.airflow.enabled: true" in d.rationale
    assert not r.platform.phases.training.hpo.enabled


def test_no_hpo_unless_asked() -> None:
    r = rec(flags=["kubernetes_native"])
    assert r.choice("hpo") == "none" and not r.platform.phases.training.hpo.enabled
    assert {a.choice for a in r.decision("hpo").alternatives} == {"katib", "optuna"}


def test_regulated_platforms_get_cards_and_explanations_by_default() -> None:
    r = rec(flags=["kubernetes_native"], compliance=["soc2"])
    d = r.decision("model_governance")
    assert d.choice == "card-shap" and "compliance" in d.drivers
    g = r.platform.phases.training.governance
    assert g.enabled and g.model_cards and g.explainability and not g.fairness.sensitive_features


def test_gdpr_alone_asks_for_explanations_too() -> None:
    assert rec(flags=["kubernetes_native"], compliance=["gdpr"]).choice("model_governance") == "card-shap"


def test_sensitive_features_add_the_fairness_step_with_the_stated_threshold() -> None:
    r = rec(flags=["kubernetes_native"], governance={"sensitive_features": ["sex", "age_band"],
                                                     "fairness_threshold": 0.2})
    d = r.decision("model_governance")
    assert d.choice == "card-shap-fairness" and "governance.sensitive_features" in d.drivers
    f = r.platform.phases.training.governance.fairness
    assert f.sensitive_features == ["sex", "age_band"]
    assert f.thresholds == {"demographic_parity_difference": 0.2, "equalized_odds_difference": 0.2}
    assert any("equalized_odds_difference ≤ 0.2" in c for c in d.consequences)


def test_a_team_can_turn_governance_off_under_compliance() -> None:
    r = rec(flags=["kubernetes_native"], compliance=["pci-dss"],
            governance={"model_cards": False, "explainability": False})
    assert r.choice("model_governance") == "none"
    assert not r.platform.phases.training.governance.enabled


def test_no_governance_without_a_reason() -> None:
    r = rec()
    assert r.choice("model_governance") == "none" and r.decision("model_governance").drivers == ()


def test_a_threshold_without_sensitive_features_is_flagged() -> None:
    r = rec(governance={"fairness_threshold": 0.2})
    assert any("governance.fairness_threshold does nothing" in w for w in r.warnings)


def test_wandb_is_an_add_on_of_mlflow_with_the_secret_named_in_the_adr() -> None:
    r = rec(flags=["kubernetes_native"], tracking={"wandb": True, "wandb_host": "https://wandb.example.com"})
    assert r.choice("experiment_tracking") == "mlflow"
    w = r.platform.phases.training.wandb
    assert w.enabled and w.host == "https://wandb.example.com" and w.project == "t"
    text = " ".join(r.decision("experiment_tracking").consequences)
    assert "Secret wandb-api-key (key api-key)" in text and "omgml-pipelines" in text


def test_wandb_with_only_an_existing_airflow_is_a_warning_not_a_broken_spec() -> None:
    r = rec(orchestration={"existing": "airflow"}, tracking={"wandb": True})
    assert not r.platform.phases.training.wandb.enabled
    assert any("tracking.wandb is true" in w for w in r.warnings)


def test_the_research_template_has_katib_and_the_fintech_template_the_governance_steps() -> None:
    research = recommend(load_template("research"))
    assert research.choice("hpo") == "katib" and research.platform.phases.training.hpo.enabled
    fintech = recommend(load_template("fintech"))
    assert fintech.choice("model_governance") == "card-shap-fairness"
    g = fintech.platform.phases.training.governance
    assert g.fairness.sensitive_features == ["age_band"]
    assert set(g.fairness.thresholds.values()) == {0.05}

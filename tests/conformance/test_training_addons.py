"""The training layer's add-ons on the real software (conformance tier).

- Governance (session platform: the template with phases.training.governance on): the steps
  `omgml init` writes run in a pod of the pipelines namespace against the platform's MLflow, with
  the settings the platform rendered into ConfigMap omgml-governance, on two registered versions
  of a real scikit-learn model: SHAP values, fairlearn metrics, tags and the model card come back
  through MLflow's API.
- Katib (session platform, phases.training.hpo with Kubeflow): the db-manager (built from the Go
  module v0.19.0) runs as rendered on the platform's Postgres and passes its gRPC probes; the
  controller and UI are listed as skipped (they act only through an API server).
- Optuna (a second platform for this module: Prefect with phases.training.hpo, Kafka, Feast,
  Redis, Kubeflow and serving off): the rendered optuna-dashboard runs on the platform's Postgres,
  and the sample study runs from a pod of the orchestration namespace with the rendered storage
  URL, logging its trials to MLflow; the dashboard's API then shows the study.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.harness.runner import Platform
from tests.conformance.harness.session import edit_spec, init_project, platform_session
from tests.conformance.helpers import env_of, eventually, http_json, last_json, run_client

pytestmark = pytest.mark.conformance

ROOT = Path(__file__).resolve().parents[2]
STEPS = "omgml-pipelines"
ORCH = "omgml-orchestration"
MLFLOW = "http://mlflow.omgml-data.svc.cluster.local:5000"


def package_files(package: str, mount: str, names: list[str]) -> dict[str, str]:
    folder = ROOT / "omgml" / package
    return {f"{mount}/{n}": (folder / n).read_text() for n in names}


def test_the_governance_steps_document_explain_and_gate_a_real_model(platform: Platform) -> None:
    try:
        settings = platform.render.get("ConfigMap", STEPS, "omgml-governance").manifest["data"]["governance.json"]
    except KeyError:
        pytest.skip("this project has no governance settings (phases.training.governance)")
    from omgml.governance.samples import MODULES

    files = package_files("governance", "/opt/steps/omgml_governance", [f"{m}.py" for m in MODULES]
                          + ["model_card_template.md"])
    code, out = run_client(platform, STEPS, "governance",
                           ["python", "/omgml-conformance/scripts/governance_golden_path.py"],
                           env={"MLFLOW_TRACKING_URI": MLFLOW, "OMGML_GOVERNANCE": settings,
                                "MODEL_NAME": "governed-credit", "PYTHONPATH": "/opt/steps", "HOME": "/tmp",
                                "MPLCONFIGDIR": "/tmp"},
                           files=files, timeout=900)
    assert code == 0, out[-4000:]
    result = last_json(out)
    fair, biased = result["fair"], result["biased"]
    # The fair model passes every step; the one that learned the age band fails the fairness check.
    assert fair["exit"] == 0 and biased["exit"] == 1, (fair["output"], biased["output"])
    assert fair["tags"]["omgml.governance.passed"] == "true" and fair["tags"]["omgml.fairness.passed"] == "true"
    assert biased["tags"]["omgml.governance.passed"] == "false"
    assert biased["tags"]["omgml.fairness.passed"] == "false"
    threshold = json.loads(settings)["fairness"]["thresholds"]["demographic_parity_difference"]
    assert float(biased["tags"]["omgml.fairness.demographic_parity_difference"]) > threshold
    assert biased["metrics"]["fairness.demographic_parity_difference.threshold"] == threshold
    for v in (fair, biased):
        assert v["tags"]["omgml.model_card"] == "governance/model_card.md"
        assert v["tags"]["omgml.explainability"] == "logged"
        shap = {k.removeprefix("shap_mean_abs."): x for k, x in v["metrics"].items() if k.startswith("shap_")}
        assert {"income", "debt", "history"} <= set(shap) and all(x >= 0 for x in shap.values())
        assert "age_band" not in shap  # the sensitive column is compared across, never explained
        assert v["card"].startswith(f"# Model card: governed-credit, version {v['version']}")
        assert "| `n_estimators` | 40 |" in v["card"]
        flavors = next(line for line in v["card"].splitlines() if line.startswith("| flavors |"))
        assert "sklearn" in flavors, flavors
    assert "tenure_proxy" in biased["card"] and "Result: **failed**" in biased["card"]
    assert "Result: **passed**" in fair["card"]


def test_katib_db_manager_keeps_trial_metrics_on_the_platform_postgres(platform: Platform) -> None:
    rows = {o.key.rsplit("/", 1)[-1]: o for o in platform.outcomes.values()
            if o.phase == "training" and "/katib-" in o.key}
    if not rows:
        pytest.skip("this project's training phase has no Katib")
    # Controller and UI act only through an API server: listed, with the reason.
    for name in ("katib-controller", "katib-ui"):
        assert rows[name].status == "skipped" and "API server" in rows[name].detail, (name, rows[name].detail)
    # The db-manager runs as rendered: its gRPC probes (Health/Check runs SELECT 1) pass.
    db = rows["katib-db-manager"]
    assert db.status == "ready", (db.status, db.detail)
    env = env_of(platform, "Deployment", "katib-db-manager")
    assert env["DB_NAME"] == "postgres" and env["DB_USER"] == "katib"
    # It created its schema in its own database, with its own role's credentials.
    sql = ("SELECT tableowner FROM pg_tables WHERE tablename = 'observation_logs'")
    code, out = run_client(platform, "kubeflow", "governance",
                           ["psql", "-At", "-h", env["KATIB_POSTGRESQL_DB_HOST"], "-U", env["DB_USER"],
                            "-d", env["KATIB_POSTGRESQL_DB_DATABASE"], "-c", sql],
                           env={"PGPASSWORD": env["DB_PASSWORD"], "PGCONNECT_TIMEOUT": "10"})
    assert code == 0 and out.strip().splitlines()[-1] == "katib", out[-2000:]


# --- Optuna: a second platform ------------------------------------------------------------------
def optuna_variant(data: dict[str, Any]) -> None:
    """The starter template as a team with Prefect and an HPO service makes it (no Kafka, Feast,
    Redis, Kubeflow or serving: only what the Optuna study needs runs beside the session's)."""
    phases = data["platform"]["phases"]
    for component in ("kafka", "feast", "redis"):
        phases["foundation"].setdefault(component, {})["enabled"] = False
    training = phases.setdefault("training", {})
    training.update({"enabled": True, "kubeflow": {"enabled": False}, "prefect": {"enabled": True},
                     "hpo": {"enabled": True}, "gpu_pools": []})
    phases.setdefault("serving", {})["enabled"] = False


@pytest.fixture(scope="module")
def optuna_platform(tmp_path_factory: pytest.TempPathFactory, platform: Platform) -> Iterator[Platform]:
    del platform  # the session platform comes first; this one runs beside it
    steps: list[tuple[str, float]] = []
    root = init_project(tmp_path_factory.mktemp("optuna") / "platform", "starter", steps)
    edit_spec(root, optuna_variant)
    with platform_session(root, "optuna", steps) as plat:
        plat.up(["fixtures", *plat.render.phases])
        yield plat


def test_optuna_studies_run_on_the_platform_postgres_and_show_in_the_dashboard(optuna_platform: Platform) -> None:
    dashboard = next(o for o in optuna_platform.outcomes.values()
                     if o.phase == "training" and o.key.endswith(f"{ORCH}/optuna-dashboard"))
    assert dashboard.status == "ready", (dashboard.status, dashboard.detail)
    env = env_of(optuna_platform, "Deployment", "optuna-dashboard")
    storage = env["OPTUNA_STORAGE"]
    assert storage.startswith("postgresql+psycopg2://optuna:") and "@postgres.omgml-data" in storage
    files = package_files("hpo", "/opt/steps", ["study.py", "model.py"])
    code, out = run_client(optuna_platform, ORCH, "governance", ["python", "/omgml-conformance/scripts/optuna_golden_path.py"],
                           env={"OPTUNA_STORAGE": storage, "MLFLOW_TRACKING_URI": MLFLOW, "PYTHONPATH": "/opt/steps",
                                "HOME": "/tmp", "MPLCONFIGDIR": "/tmp"},
                           files=files, timeout=900)
    assert code == 0, out[-4000:]
    result = last_json(out)
    assert result["exit_codes"] == [0, 0]
    # Two runs of the same study add to it: six trials in one study on Postgres.
    assert result["trials"] == 6 and result["complete"] == 6
    assert 0.5 < result["best_value"] <= 1.0
    assert result["study_runs"] == 2 and result["trial_runs"] == 6 and result["trials_linked_to_runs"]
    assert len(result["parents"]) == 2 and all(result["parents"])

    def studies() -> Any:
        data = http_json(optuna_platform, ORCH, "http://optuna-dashboard.omgml-orchestration.svc.cluster.local:8080"
                                                "/api/studies")
        return [s for s in data.get("study_summaries", []) if s.get("study_name") == "conformance-study"]

    (study,) = eventually("the dashboard lists the study", studies, timeout=60)
    assert study["directions"] == ["maximize"]

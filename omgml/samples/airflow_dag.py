"""omgml sample DAG `train-model`: train a small model, log it to MLflow, register it.

Put this file and omgml_training.py beside it into Airflow's DAG folder (the git repository
git-sync pulls, or the DAGs volume), then `omgml pipeline run PROJECT train-model`. Each task
runs in a pod of the platform's task template (KubernetesExecutor), which sets
MLFLOW_TRACKING_URI. Parameters (`--param epochs=300`) override the defaults below.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, get_current_context, task


@dag(dag_id="train-model", schedule=None, catchup=False, is_paused_upon_creation=False, tags=["omgml", "sample"],
     params={"n_samples": 400, "learning_rate": 0.5, "epochs": 200, "seed": 7})
def train_model() -> None:
    @task
    def train() -> dict[str, Any]:
        from omgml_training import train as fit

        p = get_current_context()["params"]
        return dict(fit(int(p["n_samples"]), float(p["learning_rate"]), int(p["epochs"]), int(p["seed"])))

    @task
    def register(result: dict[str, Any]) -> dict[str, str]:
        from omgml_training import log_and_register

        out = log_and_register(result, run_name="airflow-train-model")
        print(f"registered omgml-sample-model version {out['version']} from run {out['run_id']}")
        return dict(out)

    register(train())


train_model()

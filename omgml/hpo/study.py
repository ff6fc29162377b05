"""An Optuna study on the platform: trials share the study through OPTUNA_STORAGE (the platform
Postgres), and each trial is a nested MLflow run under the study's run.

    python study.py --study sample --trials 20

Run it from an Airflow task or a Prefect flow (their pods have OPTUNA_STORAGE and
MLFLOW_TRACKING_URI); several runs with the same --study search it together.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

try:  # a sibling file in the task pod, a package module in omgml
    from model import train_and_score  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - the package layout
    from omgml.hpo.model import train_and_score


def suggest(trial: Any) -> dict[str, Any]:
    return {"n_estimators": trial.suggest_int("n_estimators", 20, 200, step=20),
            "max_depth": trial.suggest_int("max_depth", 2, 6),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True)}


def run_study(study_name: str, trials: int, storage: str, experiment: str) -> dict[str, Any]:
    import mlflow
    import optuna

    study = optuna.create_study(study_name=study_name, storage=storage, direction="maximize", load_if_exists=True)
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=f"study-{study_name}", tags={"omgml.hpo": "optuna"}) as parent:

        def objective(trial: Any) -> float:
            params = suggest(trial)
            with mlflow.start_run(run_name=f"trial-{trial.number}", nested=True,
                                  tags={"optuna.study": study_name, "optuna.trial": str(trial.number)}) as run:
                metrics = train_and_score(params)
                mlflow.log_params(params)
                mlflow.log_metrics(metrics)
                trial.set_user_attr("mlflow_run_id", run.info.run_id)
            return float(metrics["accuracy"])

        study.optimize(objective, n_trials=trials)
        mlflow.log_params({f"best.{k}": v for k, v in study.best_params.items()})
        mlflow.log_metric("best_accuracy", study.best_value)
        return {"study": study_name, "trials": len(study.trials), "best_value": study.best_value,
                "best_params": study.best_params, "mlflow_run_id": parent.info.run_id}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--study", default="sample")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--experiment", default=os.environ.get("OMGML_HPO_EXPERIMENT", "hpo-sample"))
    args = parser.parse_args(argv)
    storage = os.environ.get("OPTUNA_STORAGE")
    if not storage:
        print("OPTUNA_STORAGE is not set: run this in an Airflow task or Prefect flow of the platform "
              "(phases.training.hpo), or export a storage URL", file=sys.stderr)
        return 2
    print(json.dumps(run_study(args.study, args.trials, storage, args.experiment), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

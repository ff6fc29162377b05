"""The sample Optuna study `omgml init` writes, run as a Prefect flow run would run it: in a pod of
the orchestration namespace with the platform's OPTUNA_STORAGE (Postgres) and MLflow.

Runs hpo/study.py (omgml/hpo/study.py, mounted) twice with the same study name, as two parallel
workers would, then reads the study back from the storage and the nested runs from MLflow.
Prints one JSON line. Environment: OPTUNA_STORAGE, MLFLOW_TRACKING_URI, PYTHONPATH (the sample).
"""

from __future__ import annotations

import contextlib
import io
import json
import os

import optuna
from mlflow import MlflowClient
from study import main as study_main  # type: ignore[import-not-found]

STUDY = "conformance-study"


def main() -> None:
    codes = []
    for _ in range(2):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            codes.append(study_main(["--study", STUDY, "--trials", "3", "--experiment", "conformance-hpo"]))
    study = optuna.load_study(study_name=STUDY, storage=os.environ["OPTUNA_STORAGE"])
    client = MlflowClient()
    experiment = client.get_experiment_by_name("conformance-hpo")
    runs = client.search_runs([experiment.experiment_id]) if experiment else []
    trial_runs = [r for r in runs if r.data.tags.get("optuna.study") == STUDY]
    linked = {t.user_attrs.get("mlflow_run_id") for t in study.trials}
    print(json.dumps({
        "exit_codes": codes,
        "trials": len(study.trials),
        "complete": sum(1 for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE),
        "best_value": study.best_value,
        "study_runs": sum(1 for r in runs if r.data.tags.get("omgml.hpo") == "optuna"),
        "trial_runs": len(trial_runs),
        "trials_linked_to_runs": sorted(linked) == sorted(r.info.run_id for r in trial_runs),
        "parents": sorted({r.data.tags.get("mlflow.parentRunId", "") for r in trial_runs}),
    }))


if __name__ == "__main__":
    main()

"""One Katib trial: train with the suggested hyperparameters, log the run to MLflow, and print the
objective as `name=value` lines, which Katib's StdOut metrics collector reads.

    python trial.py --trial-name NAME --n-estimators 50 --max-depth 3 --learning-rate 0.1

MLFLOW_TRACKING_URI comes from ConfigMap omgml-training-env (envFrom in the trial template);
without it the run is only printed. OMGML_HPO_EXPERIMENT names the MLflow experiment.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

try:  # a sibling file in the trial pod, a package module in omgml
    from model import train_and_score  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - the package layout
    from omgml.hpo.model import train_and_score


def log_to_mlflow(experiment: str, trial: str, params: dict[str, Any], metrics: dict[str, float]) -> str | None:
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        return None
    import mlflow

    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=trial, tags={"katib.trial": trial, "omgml.hpo": "katib"}) as run:
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        return str(run.info.run_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trial-name", default="local")
    parser.add_argument("--n-estimators", type=int, required=True)
    parser.add_argument("--max-depth", type=int, required=True)
    parser.add_argument("--learning-rate", type=float, required=True)
    args = parser.parse_args(argv)
    params = {"n_estimators": args.n_estimators, "max_depth": args.max_depth, "learning_rate": args.learning_rate}
    metrics = train_and_score(params)
    run_id = log_to_mlflow(os.environ.get("OMGML_HPO_EXPERIMENT", "hpo-sample"), args.trial_name, params, metrics)
    if run_id:
        print(f"mlflow run {run_id}", file=sys.stderr)
    for name, value in metrics.items():
        print(f"{name}={value:.6f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

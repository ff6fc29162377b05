"""omgml sample flow `train-model`: train a small model, log it to MLflow, register it.

`omgml pipeline deploy PROJECT --source <this repository's https URL>` creates the deployment
`train-model/train-model` on the platform's work pool: each flow run is a Kubernetes Job that
clones the repository and runs pipelines/prefect/flow.py:train_model, with MLFLOW_TRACKING_URI
set by the work pool's job template. Then `omgml pipeline run PROJECT train-model/train-model`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from prefect import flow, task

# The flow run imports this file by path; its helper module sits beside it.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from omgml_training import log_and_register
from omgml_training import train as fit


@task
def train(n_samples: int, learning_rate: float, epochs: int, seed: int) -> dict[str, Any]:
    return dict(fit(n_samples, learning_rate, epochs, seed))


@task
def register(result: dict[str, Any]) -> dict[str, str]:
    return dict(log_and_register(result, run_name="prefect-train-model"))


@flow(name="train-model", log_prints=True)
def train_model(n_samples: int = 400, learning_rate: float = 0.5, epochs: int = 200, seed: int = 7) -> dict[str, str]:
    out = register(train(n_samples, learning_rate, epochs, seed))
    print(f"registered omgml-sample-model version {out['version']} from run {out['run_id']}")
    return dict(out)

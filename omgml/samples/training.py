"""omgml sample: train a small model and register it in the platform's MLflow.

Written into a project by `omgml init` (pipelines/<orchestrator>/omgml_training.py) and used by
the sample Airflow DAG and Prefect flow. It needs nothing but the Python standard library, so it
runs in the orchestrators' stock images as they are: the model is a logistic regression fitted
by gradient descent on a synthetic churn dataset, and MLflow is reached over its REST API
(MLFLOW_TRACKING_URI, which the platform sets in every task pod). With `mlflow` installed in your
own task image, `mlflow.start_run()` and `mlflow.register_model()` do the same.

What lands in MLflow: a run in experiment `omgml-sample` with params, metrics, the dataset it
was trained on (lineage: name, digest, source), the model's weights and an MLmodel file with its
signature under `model/`, and a new version of registered model `omgml-sample-model`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import time
import urllib.error
import urllib.request
from typing import Any

FEATURES = ("tenure_months", "monthly_spend", "support_tickets")
EXPERIMENT = "omgml-sample"
MODEL_NAME = "omgml-sample-model"
DATASET = "synthetic-churn"


def make_dataset(n_samples: int, seed: int) -> tuple[list[list[float]], list[int]]:
    """Customers (scaled features) and whether they churned: more tickets, less tenure → churn."""
    rng = random.Random(seed)
    rows, labels = [], []
    for _ in range(n_samples):
        tenure, spend, tickets = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0, 1)
        score = 3.0 * tickets - 2.5 * tenure + 0.5 * spend - 0.2 + rng.gauss(0, 0.4)
        rows.append([tenure, spend, tickets])
        labels.append(1 if score > 0 else 0)
    return rows, labels


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def fit(rows: list[list[float]], labels: list[int], learning_rate: float, epochs: int) -> list[float]:
    """Weights (bias last) of a logistic regression, by batch gradient descent."""
    w = [0.0] * (len(rows[0]) + 1)
    n = len(rows)
    for _ in range(epochs):
        grad = [0.0] * len(w)
        for x, y in zip(rows, labels, strict=True):
            err = _sigmoid(sum(wi * xi for wi, xi in zip(w, x, strict=False)) + w[-1]) - y
            for i, xi in enumerate(x):
                grad[i] += err * xi
            grad[-1] += err
        w = [wi - learning_rate * g / n for wi, g in zip(w, grad, strict=True)]
    return w


def evaluate(w: list[float], rows: list[list[float]], labels: list[int]) -> dict[str, float]:
    probs = [_sigmoid(sum(wi * xi for wi, xi in zip(w, x, strict=False)) + w[-1]) for x in rows]
    accuracy = sum((p > 0.5) == bool(y) for p, y in zip(probs, labels, strict=True)) / len(labels)
    eps = 1e-12
    log_loss = -sum(y * math.log(p + eps) + (1 - y) * math.log(1 - p + eps)
                    for p, y in zip(probs, labels, strict=True)) / len(labels)
    return {"accuracy": round(accuracy, 6), "log_loss": round(log_loss, 6)}


def train(n_samples: int = 400, learning_rate: float = 0.5, epochs: int = 200, seed: int = 7) -> dict[str, Any]:
    """Fit on 80 % of the data, evaluate on the rest; everything the MLflow step needs."""
    rows, labels = make_dataset(n_samples, seed)
    cut = int(len(rows) * 0.8)
    weights = fit(rows[:cut], labels[:cut], learning_rate, epochs)
    digest = hashlib.sha256(json.dumps([rows, labels]).encode()).hexdigest()[:16]
    return {
        "params": {"n_samples": n_samples, "learning_rate": learning_rate, "epochs": epochs, "seed": seed},
        "metrics": evaluate(weights, rows[cut:], labels[cut:]),
        "model": {"kind": "logistic_regression", "features": list(FEATURES), "weights": weights},
        "dataset": {"name": DATASET, "digest": digest, "rows": n_samples},
    }


class Mlflow:
    """The few MLflow REST calls the sample needs (api/2.0 paths, MLflow 3)."""

    def __init__(self, tracking_uri: str) -> None:
        self.base = tracking_uri.rstrip("/")

    def call(self, method: str, path: str, body: Any = None, raw: bytes | None = None) -> Any:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        kind = "application/octet-stream" if raw is not None else "application/json"
        req = urllib.request.Request(f"{self.base}/{path}", data=data, method=method, headers={"Content-Type": kind})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                text = resp.read()
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"MLflow {method} {path}: {exc.code} {exc.read().decode(errors='replace')}") from None
        return json.loads(text) if text else {}

    def experiment_id(self, name: str) -> str:
        try:
            return str(self.call("GET", f"api/2.0/mlflow/experiments/get-by-name?experiment_name={name}")
                       ["experiment"]["experiment_id"])
        except RuntimeError as exc:
            if "RESOURCE_DOES_NOT_EXIST" not in str(exc):
                raise
        return str(self.call("POST", "api/2.0/mlflow/experiments/create", {"name": name})["experiment_id"])


def mlmodel(result: dict[str, Any], run_id: str) -> str:
    """The model's MLmodel file: its signature (three double inputs, a long output). The
    weights are model.json beside it; this sample logs no loadable flavor."""
    inputs = json.dumps([{"type": "double", "name": f, "required": True} for f in result["model"]["features"]])
    outputs = json.dumps([{"type": "long", "required": True}])
    return (f"artifact_path: model\nrun_id: {run_id}\nflavors: {{}}\nsignature:\n"
            f"  inputs: '{inputs}'\n  outputs: '{outputs}'\n")


def log_and_register(result: dict[str, Any], tracking_uri: str | None = None, experiment: str = EXPERIMENT,
                     model_name: str = MODEL_NAME, run_name: str = "train-model") -> dict[str, str]:
    """Log the training result as an MLflow run and register its model; {run_id, version}."""
    uri = tracking_uri or os.environ["MLFLOW_TRACKING_URI"]
    ml = Mlflow(uri)
    exp = ml.experiment_id(experiment)
    now = int(time.time() * 1000)
    info = ml.call("POST", "api/2.0/mlflow/runs/create", {"experiment_id": exp, "start_time": now,
                                                           "run_name": run_name})["run"]["info"]
    run_id, artifact_uri = info["run_id"], info["artifact_uri"]
    ml.call("POST", "api/2.0/mlflow/runs/log-batch", {
        "run_id": run_id,
        "params": [{"key": k, "value": str(v)} for k, v in result["params"].items()],
        "metrics": [{"key": k, "value": v, "timestamp": now, "step": 0} for k, v in result["metrics"].items()],
    })
    ds = result["dataset"]
    ml.call("POST", "api/2.0/mlflow/runs/log-inputs", {"run_id": run_id, "datasets": [{
        "tags": [{"key": "mlflow.data.context", "value": "training"}],
        "dataset": {"name": ds["name"], "digest": ds["digest"], "source_type": "code",
                    "source": json.dumps({"generator": "omgml_training.make_dataset", "rows": ds["rows"]})},
    }]})
    if not artifact_uri.startswith("mlflow-artifacts:"):
        raise RuntimeError(f"run artifacts go to {artifact_uri}, not through the MLflow server; this sample uploads "
                           "through the server's artifact proxy (mlflow server --serve-artifacts)")
    path = artifact_uri.removeprefix("mlflow-artifacts:").lstrip("/")
    for name, text in (("model.json", json.dumps(result["model"])), ("MLmodel", mlmodel(result, run_id))):
        ml.call("PUT", f"api/2.0/mlflow-artifacts/artifacts/{path}/model/{name}", raw=text.encode())
    ml.call("POST", "api/2.0/mlflow/runs/update", {"run_id": run_id, "status": "FINISHED",
                                                   "end_time": int(time.time() * 1000)})
    try:
        ml.call("POST", "api/2.0/mlflow/registered-models/create", {"name": model_name})
    except RuntimeError as exc:
        if "RESOURCE_ALREADY_EXISTS" not in str(exc):
            raise
    version = ml.call("POST", "api/2.0/mlflow/model-versions/create", {
        "name": model_name, "source": f"{artifact_uri}/model", "run_id": run_id,
        "tags": [{"key": "dataset", "value": f"{ds['name']}@{ds['digest']}"}],
    })["model_version"]["version"]
    return {"run_id": run_id, "version": str(version)}

"""The restore drill's client side, run in a pod of the pipelines namespace (MLflow's software).

Modes (argv[1]):
- `log`: what a team builds up in a week: three runs of an experiment (params, a metric with a
  history of steps, a file artifact, a model), two versions of a registered model, the
  `champion` alias on the second.
- `state`: everything MLflow knows that the drill must get back, as one JSON line: experiments,
  runs with params, metric histories and artifact paths (recursive), registered models with
  versions and aliases, and predictions of the model loaded by alias.
- `wipe-bucket BUCKET`: delete every object of a bucket, as a careless user would (on a
  versioned bucket the versions stay behind delete markers). S3 settings from the env.
Environment: MLFLOW_TRACKING_URI, MODEL_NAME; AWS_* and AWS_ENDPOINT_URL for `wipe-bucket`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Any

EXPERIMENT = "conformance-restore-drill"


def log(name: str) -> dict[str, Any]:
    import mlflow
    from mlflow import MlflowClient
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    mlflow.set_experiment(EXPERIMENT)
    features, labels = make_classification(n_samples=300, n_features=5, random_state=11)
    client = MlflowClient()
    runs = []
    for i, c in enumerate((0.1, 1.0, 10.0)):
        with mlflow.start_run(run_name=f"c-{c}") as run:
            mlflow.log_params({"C": c, "seed": 11})
            for step in range(4):
                mlflow.log_metric("loss", 1.0 / (step + 1 + i), step=step)
            model = LogisticRegression(C=c, max_iter=200).fit(features, labels)
            mlflow.log_metric("accuracy", float(model.score(features, labels)))
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "notes.txt")
                with open(path, "w") as handle:
                    handle.write(f"run {i}: C={c}\n")
                mlflow.log_artifact(path, artifact_path="reports")
            if i >= 1:
                mlflow.sklearn.log_model(model, name="model", registered_model_name=name)
            runs.append(run.info.run_id)
    versions = sorted(client.search_model_versions(f"name='{name}'"), key=lambda v: int(v.version))
    client.set_registered_model_alias(name, "champion", versions[-1].version)
    return {"runs": runs, "versions": [v.version for v in versions]}


def _artifacts(client: Any, run_id: str, path: str | None = None) -> list[str]:
    out = []
    for item in client.list_artifacts(run_id, path):
        out += _artifacts(client, run_id, item.path) if item.is_dir else [f"{item.path}:{item.file_size}"]
    return sorted(out)


def state(name: str) -> dict[str, Any]:
    import mlflow
    import numpy as np
    from mlflow import MlflowClient
    from sklearn.datasets import make_classification

    client = MlflowClient()
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return {"experiment": None}
    runs = {}
    for run in client.search_runs([experiment.experiment_id]):
        rid = run.info.run_id
        runs[rid] = {
            "name": run.info.run_name, "status": run.info.status, "params": run.data.params,
            "metrics": run.data.metrics,
            "loss_history": [(m.step, m.value) for m in client.get_metric_history(rid, "loss")],
            "artifacts": _artifacts(client, rid),
        }
    versions = {v.version: {"run_id": v.run_id, "source": v.source, "status": v.status}
                for v in client.search_model_versions(f"name='{name}'")}
    champion = client.get_model_version_by_alias(name, "champion").version
    features, _ = make_classification(n_samples=300, n_features=5, random_state=11)
    predicted = np.asarray(mlflow.pyfunc.load_model(f"models:/{name}@champion").predict(features[:10])).tolist()
    return {"experiment": experiment.name, "runs": runs, "versions": versions, "champion": champion,
            "predictions": predicted}


def wipe_bucket(bucket: str) -> dict[str, Any]:
    import boto3

    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    deleted = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])
            deleted += 1
    left = sum(len(p.get("Contents", [])) for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket))
    return {"deleted": deleted, "left": left}


def main() -> None:
    mode = sys.argv[1]
    if mode == "wipe-bucket":
        print(json.dumps(wipe_bucket(sys.argv[2])), flush=True)
        return
    import mlflow

    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    result = log(os.environ["MODEL_NAME"]) if mode == "log" else state(os.environ["MODEL_NAME"])
    print(json.dumps(result, sort_keys=True), flush=True)


if __name__ == "__main__":
    main()

"""A data scientist's first hour on the platform, run in a pod of the pipelines namespace.

Trains a small scikit-learn model, logs params/metrics and the model (its files go through the
tracking server's artifact proxy to the object store), registers it, points the `champion` alias
at the new version, loads the model back by alias and predicts. Prints one JSON line of results.
Environment: MLFLOW_TRACKING_URI, MODEL_NAME.
"""

from __future__ import annotations

import json
import os

import mlflow
import numpy as np
from mlflow import MlflowClient
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression


def main() -> None:
    name = os.environ["MODEL_NAME"]
    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    mlflow.set_experiment("conformance-golden-path")
    features, labels = make_classification(n_samples=400, n_features=6, random_state=7)
    with mlflow.start_run() as run:
        params = {"C": 0.5, "max_iter": 200}
        mlflow.log_params(params)
        model = LogisticRegression(**params).fit(features, labels)
        accuracy = float(model.score(features, labels))
        mlflow.log_metric("accuracy", accuracy)
        info = mlflow.sklearn.log_model(model, name="model", input_example=features[:2],
                                        registered_model_name=name)
    client = MlflowClient()
    version = str(info.registered_model_version)
    client.set_registered_model_alias(name, "champion", version)
    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    expected = model.predict(features[:8])
    predicted = np.asarray(loaded.predict(features[:8]))
    fetched = client.get_run(run.info.run_id)
    artifacts = [a.path for a in client.list_artifacts(run.info.run_id)]
    model_artifacts = [a.path for a in mlflow.artifacts.list_artifacts(info.model_uri)]
    print(json.dumps({
        "run_id": run.info.run_id,
        "artifact_uri": run.info.artifact_uri,
        "model_uri": info.model_uri,
        "params": fetched.data.params,
        "metrics": fetched.data.metrics,
        "accuracy": accuracy,
        "version": version,
        "alias_version": client.get_model_version_by_alias(name, "champion").version,
        "predictions_match": bool((expected == predicted).all()),
        "run_artifacts": artifacts,
        "model_artifacts": model_artifacts,
    }), flush=True)


if __name__ == "__main__":
    main()

"""The governance steps on the platform's MLflow, run in a pod of the pipelines namespace.

Trains two small scikit-learn classifiers on the same synthetic credit data, logs each with its
evaluation set (eval/eval.csv, with the label and the sensitive column), registers them as two
versions of one model, and runs the steps `omgml init` writes (omgml_governance, mounted from
omgml/governance) on each with the platform's settings (OMGML_GOVERNANCE, from ConfigMap
omgml-governance). One model leans on a feature that encodes the applicant's age band, so the
fairness step must fail it; the other does not use it and must pass. Prints one JSON line: each
version's exit status, tags, governance metrics, and its model card.
Environment: MLFLOW_TRACKING_URI, OMGML_GOVERNANCE, MODEL_NAME, PYTHONPATH (the steps' package).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from omgml_governance import steps  # type: ignore[import-not-found]
from sklearn.ensemble import RandomForestClassifier

ROWS = 4000


def credit_data(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age_band = rng.choice(["18-30", "31-50", "51+"], size=ROWS)
    income = rng.normal(50, 15, ROWS)
    debt = rng.normal(20, 8, ROWS)
    history = rng.integers(0, 10, ROWS).astype(float)
    # A proxy of the age band (e.g. years at current address): informative only through the group.
    young = (age_band == "18-30").astype(float)
    tenure_proxy = young * 3 + rng.normal(0, 0.3, ROWS)
    score = 0.04 * income - 0.08 * debt + 0.2 * history + rng.normal(0, 1, ROWS)
    label = (score > np.median(score)).astype(int)
    frame = pd.DataFrame({"income": income, "debt": debt, "history": history, "tenure_proxy": tenure_proxy,
                          "age_band": age_band, "label": label})
    return frame


def train_version(name: str, frame: pd.DataFrame, features: list[str], biased: bool) -> str:
    labels = frame["label"].to_numpy()
    if biased:
        # The biased model learned from labels that penalised the young group.
        labels = np.where(frame["age_band"] == "18-30", 0, labels)
    model = RandomForestClassifier(n_estimators=40, max_depth=6, random_state=0)
    model.fit(frame[features], labels)
    with mlflow.start_run(run_name="biased" if biased else "fair"):
        mlflow.log_params({"n_estimators": 40, "max_depth": 6, "features": ",".join(features)})
        mlflow.log_metric("accuracy", float(model.score(frame[features], frame["label"])))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "eval.csv")
            frame[[*features, "age_band", "label"]].to_csv(path, index=False)
            mlflow.log_artifact(path, artifact_path="eval")
        # MLflow 3.17 saves scikit-learn models with skops, which refuses a forest's node arrays
        # unless the saver vouches for them; the list is kept in MLmodel for the steps' load.
        info = mlflow.sklearn.log_model(model, name="model", input_example=frame[features].head(2),
                                        registered_model_name=name, skops_trusted_types=["sklearn.tree._tree.Tree"])
    return str(info.registered_model_version)


def govern(name: str, version: str) -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = steps.main(["all", "--model", name, "--version", version])
    client = MlflowClient()
    mv = client.get_model_version(name, version)
    run = client.get_run(mv.run_id)
    card = mlflow.artifacts.download_artifacts(run_id=mv.run_id, artifact_path="governance/model_card.md")
    with open(card, encoding="utf-8") as f:
        card_text = f.read()
    return {"exit": code, "output": json.loads(out.getvalue().strip().splitlines()[-1]), "tags": dict(mv.tags),
            "metrics": {k: v for k, v in run.data.metrics.items() if k.startswith(("shap_", "fairness."))},
            "card": card_text}


def main() -> None:
    name = os.environ["MODEL_NAME"]
    mlflow.set_experiment("conformance-governance")
    frame = credit_data()
    fair = train_version(name, frame, ["income", "debt", "history"], biased=False)
    biased = train_version(name, frame, ["income", "debt", "history", "tenure_proxy"], biased=True)
    print(json.dumps({"fair": {"version": fair, **govern(name, fair)},
                      "biased": {"version": biased, **govern(name, biased)}}, default=str))


if __name__ == "__main__":
    main()

"""omgml sample pipeline `train-model` for Kubeflow Pipelines: train a small scikit-learn model,
log it to MLflow, register it.

Compile it with the KFP SDK that matches the platform (`pip install kfp==2.17.0`):
`python pipelines/kfp/train_model.py` writes train_model.yaml beside it; then
`omgml pipeline deploy PROJECT --package pipelines/kfp/train_model.yaml` and
`omgml pipeline run PROJECT train-model --param epochs=300`. The step installs mlflow and
scikit-learn when it starts (the platform's step namespace allows egress to package indexes
unless phases.training.kubeflow.allow_external_egress is false; otherwise build an image with
them and set base_image).
"""

from __future__ import annotations

from pathlib import Path

from kfp import compiler, dsl

MLFLOW_TRACKING_URI = "{mlflow_tracking_uri}"


@dsl.component(base_image="python:3.12-slim", packages_to_install=["mlflow==3.17.0", "scikit-learn==1.9.1"])
def train_and_register(mlflow_tracking_uri: str, n_samples: int, max_iter: int, model_name: str) -> str:
    import mlflow
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, log_loss
    from sklearn.model_selection import train_test_split

    x, y = make_classification(n_samples=n_samples, n_features=3, n_informative=3, n_redundant=0, random_state=7)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=7)
    model = LogisticRegression(max_iter=max_iter).fit(x_train, y_train)
    mlflow.set_tracking_uri(mlflow_tracking_uri)
    mlflow.set_experiment("omgml-sample")
    with mlflow.start_run(run_name="kfp-train-model"):
        mlflow.log_params({"n_samples": n_samples, "max_iter": max_iter})
        mlflow.log_metrics({"accuracy": accuracy_score(y_test, model.predict(x_test)),
                            "log_loss": log_loss(y_test, model.predict_proba(x_test))})
        info = mlflow.sklearn.log_model(model, name="model", input_example=x_test[:2],
                                        registered_model_name=model_name)
    return str(info.registered_model_version)


@dsl.pipeline(name="train-model", description="omgml sample: train a small model, log to MLflow, register it")
def train_model(n_samples: int = 400, max_iter: int = 200, model_name: str = "omgml-sample-model") -> None:
    train_and_register(mlflow_tracking_uri=MLFLOW_TRACKING_URI, n_samples=n_samples, max_iter=max_iter,
                       model_name=model_name)


if __name__ == "__main__":
    out = Path(__file__).with_suffix(".yaml")
    compiler.Compiler().compile(train_model, str(out))
    print(f"wrote {out}")

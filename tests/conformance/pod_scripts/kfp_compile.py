"""Compiles a training pipeline with the KFP SDK that matches the platform's KFP (2.17.0) and
checks the result the way the KFP API server's upload does: the IR YAML must parse into the
PipelineSpec message of kfp-pipeline-spec (the proto the server unmarshals it into), with the
schema version the 2.17 backend accepts. Prints one JSON line.

No `from __future__ import annotations` here: the KFP SDK reads the components' annotations as
types, and string annotations would turn `str` into an artifact type.
"""


import json
from pathlib import Path

import yaml
from google.protobuf import json_format
from kfp import compiler, dsl
from kfp.pipeline_spec import pipeline_spec_pb2

OUT = Path("/tmp/pipeline.yaml")


@dsl.component(base_image="python:3.12-slim", packages_to_install=["scikit-learn==1.9.1", "mlflow==3.17.0"])
def train(tracking_uri: str, model_name: str, c: float) -> float:
    import mlflow
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(tracking_uri)
    x, y = make_classification(n_samples=200, n_features=5, random_state=3)
    with mlflow.start_run():
        model = LogisticRegression(C=c).fit(x, y)
        accuracy = float(model.score(x, y))
        mlflow.log_metric("accuracy", accuracy)
        mlflow.sklearn.log_model(model, name="model", registered_model_name=model_name)
    return accuracy


@dsl.pipeline(name="omgml-conformance-training")
def training(tracking_uri: str = "http://mlflow.omgml-data.svc.cluster.local:5000",
             model_name: str = "conformance-kfp", c: float = 0.5) -> None:
    train(tracking_uri=tracking_uri, model_name=model_name, c=c)


def main() -> None:
    compiler.Compiler().compile(training, str(OUT))
    documents = list(yaml.safe_load_all(OUT.read_text()))
    spec = pipeline_spec_pb2.PipelineSpec()
    json_format.ParseDict(documents[0], spec)  # unknown fields or wrong types raise here
    print(json.dumps({"schema_version": spec.schema_version, "sdk_version": spec.sdk_version,
                      "pipeline": spec.pipeline_info.name, "tasks": sorted(spec.root.dag.tasks),
                      "executors": sorted(spec.deployment_spec["executors"].keys())}), flush=True)


if __name__ == "__main__":
    main()

"""The batch scoring golden path, inside a pod of the serving namespace (the `spark` piece).

Env: the rendered scoring CronJob's driver env (MLFLOW_TRACKING_URI, MODEL_URI, FEATURES_PATH,
PREDICTIONS_PATH, S3_ENDPOINT_URL, the object-store keys, …) plus SPARK_JARS (the S3A jars) and
SCORE_PY (where the rendered score.py is mounted).

1. trains a small scikit-learn model, logs it to the platform's MLflow and registers it under
   the model name of MODEL_URI, pointing the alias of MODEL_URI at the new version;
2. writes a features dataset (Parquet) to FEATURES_PATH on the object store;
3. runs score.py with spark-submit in local mode (what the CronJob's driver runs, minus the
   Kubernetes executors);
4. reads the predictions back from PREDICTIONS_PATH and compares them with the model's own.
Prints one JSON line with what it found.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

RUN_DATE = "2026-12-06"


def s3_filesystem() -> object:
    from pyarrow import fs

    endpoint = urlsplit(os.environ["S3_ENDPOINT_URL"])
    return fs.S3FileSystem(access_key=os.environ["AWS_ACCESS_KEY_ID"], secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                           endpoint_override=endpoint.netloc, scheme=endpoint.scheme,
                           region=os.environ.get("AWS_REGION", "us-east-1"))


def s3_path(url: str) -> str:
    return url.split("://", 1)[1].rstrip("/")


def main() -> int:
    import mlflow
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    name, _, alias = os.environ["MODEL_URI"].removeprefix("models:/").partition("@")
    rng = np.random.default_rng(7)
    features = pd.DataFrame(rng.normal(size=(500, 3)), columns=["f1", "f2", "f3"])
    labels = (features.f1 - features.f3 > 0).astype(int)
    model = LogisticRegression().fit(features, labels)
    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    with mlflow.start_run(run_name="conformance-batch-scoring"):
        # MLflow's default format for scikit-learn (skops), as a team's model would be logged: the job
        # must install what loading it needs.
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name=name,
                                        signature=infer_signature(features, model.predict(features)))
    version = str(info.registered_model_version)
    mlflow.MlflowClient().set_registered_model_alias(name, alias, version)

    s3 = s3_filesystem()
    table = features.assign(customer_id=np.arange(len(features)))
    pq.write_table(__import__("pyarrow").Table.from_pandas(table, preserve_index=False),
                   f"{s3_path(os.environ['FEATURES_PATH'])}/part-0.parquet", filesystem=s3)

    venv_bin = Path(sys.executable).parent
    env = {**os.environ, "RUN_DATE": RUN_DATE, "PYSPARK_PYTHON": sys.executable,
           "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}", "HEARTBEAT_FILE": "/tmp/omgml-heartbeat"}
    run = subprocess.run([str(venv_bin / "spark-submit"), "--master", "local[2]", "--jars", os.environ["SPARK_JARS"],
                          "--conf", "spark.ui.enabled=false", os.environ["SCORE_PY"]],
                         env=env, capture_output=True, text=True, timeout=900, check=False)
    if run.returncode != 0:
        print(run.stdout[-4000:], run.stderr[-8000:], sep="\n")
        return run.returncode
    summary = json.loads([line for line in run.stdout.splitlines() if line.startswith("{")][-1])

    written = pq.read_table(f"{s3_path(os.environ['PREDICTIONS_PATH'])}/run_date={RUN_DATE}", filesystem=s3)
    scored = written.to_pandas().sort_values("customer_id").reset_index(drop=True)
    expected = model.predict(features)
    print(json.dumps({
        "registered_version": version,
        "job": summary,
        "rows": len(scored),
        "columns": sorted(scored.columns),
        "matching_predictions": int((scored["prediction"].to_numpy() == expected).sum()),
        "model_versions": sorted(set(scored["model_version"])),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

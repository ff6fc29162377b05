"""The batch scoring job: features from the lake → the registered model → predictions.

Runs as the Spark driver's program (`spark-submit .../score.py`, shipped verbatim in a ConfigMap
by omgml.components.spark). Everything comes from the environment:

  MLFLOW_TRACKING_URI   MLflow's tracking server (the registry; artifacts come through it)
  MODEL_URI             models:/<name>@<alias>
  FEATURES_PATH         s3a://bucket/prefix of the features (Parquet files or a Delta table)
  FEATURES_FORMAT       parquet | delta
  PREDICTIONS_PATH      s3a://bucket/prefix the predictions go to (Parquet)
  KEEP_COLUMNS          comma-separated input columns written next to the prediction ("" = all)
  RUN_DATE              the partition this run writes (default: today, UTC)
  S3_ENDPOINT_URL       an S3-compatible store's endpoint ("" or unset: AWS S3); the credentials
                        come from AWS's default chain (key env vars, or the IRSA web identity)
  HEARTBEAT_FILE        touched every few seconds while the job runs (the container's probes)

The model is loaded once on the driver by alias (which version that is goes to the log and
into the output as `model_version`), then applied on the executors with mlflow's
`pyfunc.spark_udf` over the model's input columns (its signature's, or every column). The run
writes one `run_date=<date>` partition, replacing that partition only: a re-run of the same
day is idempotent and earlier days stay. It prints one JSON line with the counts at the end.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

HEARTBEAT = "/tmp/omgml-heartbeat"
HEARTBEAT_SECONDS = 10


def _heartbeat(path: str) -> None:
    while True:
        Path(path).touch()
        time.sleep(HEARTBEAT_SECONDS)


def settings(env: dict[str, str]) -> dict[str, Any]:
    """The job's settings from its environment; a missing variable is an error naming it."""
    missing = [k for k in ("MLFLOW_TRACKING_URI", "MODEL_URI", "FEATURES_PATH", "PREDICTIONS_PATH") if not env.get(k)]
    if missing:
        raise SystemExit(f"score.py: environment variable(s) {missing} are not set; the scoring CronJob sets them")
    fmt = env.get("FEATURES_FORMAT", "parquet")
    if fmt not in ("parquet", "delta"):
        raise SystemExit(f"score.py: FEATURES_FORMAT={fmt!r}; use parquet or delta")
    run_date = env.get("RUN_DATE") or _dt.datetime.now(_dt.UTC).date().isoformat()
    _dt.date.fromisoformat(run_date)  # a bad RUN_DATE fails here, before any work
    keep = [c for c in env.get("KEEP_COLUMNS", "").split(",") if c]
    return {"tracking_uri": env["MLFLOW_TRACKING_URI"], "model_uri": env["MODEL_URI"],
            "features": env["FEATURES_PATH"], "format": fmt, "predictions": env["PREDICTIONS_PATH"],
            "keep": keep, "run_date": run_date}


def s3a_settings(endpoint_url: str) -> dict[str, str]:
    """Hadoop S3A settings for the store: path-style requests and the endpoint for an
    S3-compatible store; AWS's default credential chain everywhere."""
    conf = {"spark.hadoop.fs.s3a.aws.credentials.provider":
            "software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider"}
    if endpoint_url:
        conf["spark.hadoop.fs.s3a.endpoint"] = endpoint_url
        conf["spark.hadoop.fs.s3a.path.style.access"] = "true"
        conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = "true" if endpoint_url.startswith("https") else "false"
    return conf


def model_version(client: Any, model_uri: str) -> str:
    """The registry version an alias points at (models:/<name>@<alias>), for the log and the output."""
    name, _, alias = model_uri.removeprefix("models:/").partition("@")
    if not alias:
        return ""
    return str(client.get_model_version_by_alias(name, alias).version)


def main() -> int:
    threading.Thread(target=_heartbeat, args=(os.environ.get("HEARTBEAT_FILE", HEARTBEAT),), daemon=True).start()
    cfg = settings(dict(os.environ))
    # Imported here: the settings check above runs (and fails clearly) without Spark or MLflow.
    import mlflow
    from mlflow.tracking import MlflowClient
    from pyspark.sql import SparkSession, functions

    mlflow.set_tracking_uri(cfg["tracking_uri"])
    version = model_version(MlflowClient(), cfg["model_uri"])
    print(f"score.py: model {cfg['model_uri']} is version {version or '(no alias)'}", flush=True)

    builder = SparkSession.builder.appName("omgml-batch-scoring")
    for key, value in s3a_settings(os.environ.get("S3_ENDPOINT_URL", "")).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    features = spark.read.format(cfg["format"]).load(cfg["features"])
    model = mlflow.pyfunc.load_model(cfg["model_uri"])
    schema = model.metadata.get_input_schema()
    inputs = schema.input_names() if schema is not None else features.columns
    absent = [c for c in inputs if c not in features.columns]
    if absent:
        raise SystemExit(f"score.py: the model's input columns {absent} are not in {cfg['features']} "
                         f"(it has {features.columns})")
    predict = mlflow.pyfunc.spark_udf(spark, cfg["model_uri"], env_manager="local")
    keep = cfg["keep"] or features.columns
    scored = features.select(
        *[functions.col(c) for c in keep],
        predict(*[functions.col(c) for c in inputs]).alias("prediction"),
    ).withColumn("model_version", functions.lit(version)).withColumn("run_date", functions.lit(cfg["run_date"]))
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    scored.write.mode("overwrite").partitionBy("run_date").parquet(cfg["predictions"])
    rows = spark.read.parquet(cfg["predictions"]).where(functions.col("run_date") == cfg["run_date"]).count()
    print(json.dumps({"model_uri": cfg["model_uri"], "model_version": version, "run_date": cfg["run_date"],
                      "input_rows": features.count(), "predictions": rows, "output": cfg["predictions"]}),
          flush=True)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

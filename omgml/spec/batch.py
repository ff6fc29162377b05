"""Batch predictions with Spark: `phases.serving.batch_scoring`.

On its schedule a Spark job reads the features from the lake (Parquet files or a Delta table
on the object store), loads the registered model from MLflow by alias, and writes the
predictions back to the object store as Parquet (omgml.components.spark).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from omgml.spec.base import CronSchedule, StrictModel, all_match, no_repeats
from omgml.spec.experiments import MODEL_NAME

# Where the job reads or writes: s3://bucket[/prefix], or a prefix inside the features bucket.
DATA_PATH = r"^(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?|[A-Za-z0-9_.=-]+(/[A-Za-z0-9_.=-]+)*/?)$"
# MLflow aliases: letters, digits, '_' and '-', not starting with a digit-only "v<n>" form.
ALIAS = r"^[A-Za-z_][A-Za-z0-9_-]{0,254}$"
COLUMN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
PINNED = r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!-]+$"

class BatchScoringSpec(StrictModel):
    enabled: bool = False
    # Cron schedule of the scoring run (Kubernetes' CronJob syntax, in the cluster's time zone).
    schedule: CronSchedule = "0 2 * * *"
    # The registered model in MLflow's registry and the alias the run loads (models:/<model>@<alias>).
    model: str = Field(default="model", pattern=MODEL_NAME)
    alias: str = Field(default="champion", pattern=ALIAS)
    # The features to score: s3://bucket/prefix, or a prefix inside the platform's features bucket.
    features_path: str = Field(default="batch/features/", pattern=DATA_PATH)
    features_format: Literal["parquet", "delta"] = "parquet"
    # Where predictions go (Parquet, one `run_date=YYYY-MM-DD` partition per run).
    predictions_path: str = Field(default="batch/predictions/", pattern=DATA_PATH)
    # Columns copied next to the prediction (ids, timestamps); empty: every input column.
    keep_columns: list[str] = Field(default_factory=list)
    # Data one run reads, in GB: sizes the executors (omgml.components.spark.spark_sizing).
    input_gb: float = Field(default=1.0, gt=0, le=100_000)
    # Executors; None: from input_gb and the profile.
    executors: int | None = Field(default=None, ge=1, le=500)
    # Python packages the model needs besides mlflow, pandas and pyarrow (its flavor: e.g.
    # scikit-learn==1.9.1 and skops==0.16.0 for MLflow 3's default scikit-learn format), exact
    # pins; installed with them when each run starts.
    python_packages: list[str] = Field(default_factory=list)

    @field_validator("python_packages")
    @classmethod
    def _pinned(cls, v: list[str]) -> list[str]:
        return all_match(v, PINNED, "are not exact pins; write each as name==version (e.g. scikit-learn==1.9.1)")

    @field_validator("keep_columns")
    @classmethod
    def _columns(cls, v: list[str]) -> list[str]:
        return no_repeats(all_match(v, COLUMN, "are not column names (letters, digits and '_', not starting with a "
                                               "digit)"), "column")

    @model_validator(mode="after")
    def _paths_differ(self) -> BatchScoringSpec:
        if self.features_path.rstrip("/") == self.predictions_path.rstrip("/"):
            raise ValueError("batch_scoring: features_path and predictions_path are the same location; the run "
                             "would read its own output. Give predictions their own prefix")
        if "prediction" in self.keep_columns:
            raise ValueError("batch_scoring.keep_columns: 'prediction' is the column the run writes; drop it "
                             "from keep_columns (or rename the input column)")
        return self


__all__ = ["BatchScoringSpec"]

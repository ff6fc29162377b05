"""Batch predictions with Spark: `phases.serving.batch_scoring`.

On its schedule a Spark job reads the features from the lake (Parquet files or a Delta table
on the object store), loads the registered model from MLflow by alias, and writes the
predictions back to the object store as Parquet (omgml.components.spark).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from omgml.spec.base import StrictModel, all_match, no_repeats
from omgml.spec.experiments import MODEL_NAME

# Where the job reads or writes: s3://bucket[/prefix], or a prefix inside the features bucket.
DATA_PATH = r"^(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?|[A-Za-z0-9_.=-]+(/[A-Za-z0-9_.=-]+)*/?)$"
# MLflow aliases: letters, digits, '_' and '-', not starting with a digit-only "v<n>" form.
ALIAS = r"^[A-Za-z_][A-Za-z0-9_-]{0,254}$"
COLUMN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
PINNED = r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!-]+$"

_CRON_MACROS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
# (name, lowest, highest, names allowed instead of numbers)
_CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")),
    ("day of week", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)
_PART = re.compile(r"^(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?$")


def cron_problem(schedule: str) -> str | None:
    """Why `schedule` is not a schedule Kubernetes' CronJob controller accepts, or None.

    Five fields (minute hour day-of-month month day-of-week) with numbers, ranges, steps, lists,
    month and weekday names, or one of the @ macros."""
    text = " ".join(schedule.split())
    if text in _CRON_MACROS:
        return None
    fields = text.split(" ")
    if len(fields) != 5:
        return (f"{len(fields)} field(s) where cron has 5 (minute hour day-of-month month day-of-week), "
                "e.g. '0 2 * * *' for 02:00 every day, or a macro such as @daily")
    for value, (name, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        for part in value.split(","):
            m = _PART.match(part)
            if not m:
                return f"the {name} field {value!r} is not a number, range, step or list"
            for bound in (m.group(1) or "").split("-"):
                if bound in ("*", "?"):
                    continue
                if bound.lower() in names:
                    continue
                if not bound.isdigit() or not low <= int(bound) <= high:
                    return f"the {name} field {value!r} has {bound!r}, outside {low}-{high}"
    return None


class BatchScoringSpec(StrictModel):
    enabled: bool = False
    # Cron schedule of the scoring run (Kubernetes' CronJob syntax, in the cluster's time zone).
    schedule: str = "0 2 * * *"
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

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str) -> str:
        problem = cron_problem(v)
        if problem is not None:
            raise ValueError(f"{v!r} is not a cron schedule: {problem}")
        return " ".join(v.split())

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


__all__ = ["BatchScoringSpec", "cron_problem"]

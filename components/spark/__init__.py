"""Spark batch scoring: the scheduled job (component.py), the program it runs (score.py) and
the one-shot submitter orchestrators use (submit.py)."""

from omgml.components.spark.component import (
    IMAGE,
    SPARK_VERSION,
    SparkBatchScoring,
    SparkBatchScoringArgs,
    job_name,
    s3_consumers,
)

__all__ = [
    "IMAGE",
    "SPARK_VERSION",
    "SparkBatchScoring",
    "SparkBatchScoringArgs",
    "job_name",
    "s3_consumers",
]

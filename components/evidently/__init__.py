"""Evidently (installed as ``omgml.components.evidently``).

- component: the `Evidently` component (UI on a PVC, drift CronJob) and its pure builders;
- drift_job: the program the CronJob runs inside the Evidently image, shipped in a ConfigMap.
"""

from omgml.components.evidently.component import (
    TYPE_TOKEN,
    Evidently,
    EvidentlyArgs,
    dataset_buckets,
    drift_job_name,
    s3_consumers,
)

__all__ = ["TYPE_TOKEN", "Evidently", "EvidentlyArgs", "dataset_buckets", "drift_job_name", "s3_consumers"]

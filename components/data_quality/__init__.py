"""Data quality with Great Expectations (installed as ``omgml.components.data_quality``).

- component: the `GreatExpectations` component (scheduled runs, pipeline-step form) and its
  pure builders;
- gx_run: the program the runs execute inside the runner image, shipped in a ConfigMap.
"""

from omgml.components.data_quality.component import (
    DEFAULT_INSTANCE,
    TYPE_TOKEN,
    DataQualityArgs,
    GreatExpectations,
    QualityCheck,
    run_selector,
    s3_consumers,
)

__all__ = ["DEFAULT_INSTANCE", "TYPE_TOKEN", "DataQualityArgs", "GreatExpectations", "QualityCheck", "run_selector",
           "s3_consumers"]

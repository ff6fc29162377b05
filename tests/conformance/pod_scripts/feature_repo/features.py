"""The conformance tier's feature repository, served by its git host and applied by the
platform's own Feast apply Job. Like any team's repo on the platform, it takes the offline
store's location from the env the platform gives Feast's pods (FEAST_OFFLINE_URI, and
AWS_ENDPOINT_URL for an in-cluster object store)."""

from __future__ import annotations

import os
from datetime import timedelta

from feast import Entity, FeatureView, Field, FileSource
from feast.types import Float32, Int64

driver = Entity(name="driver", join_keys=["driver_id"])

driver_stats_source = FileSource(
    name="driver_stats_source",
    path=os.environ["FEAST_OFFLINE_URI"].rstrip("/") + "/conformance/driver_stats.parquet",
    s3_endpoint_override=os.environ.get("AWS_ENDPOINT_URL") or None,
    timestamp_field="event_timestamp",
)

driver_stats = FeatureView(
    name="driver_stats",
    entities=[driver],
    ttl=timedelta(days=2),
    # The entity column too: with the whole schema stated, `feast apply` reads no data (the data
    # may not exist yet when the platform applies the repo).
    schema=[Field(name="driver_id", dtype=Int64), Field(name="conv_rate", dtype=Float32),
            Field(name="avg_daily_trips", dtype=Int64)],
    online=True,
    source=driver_stats_source,
)

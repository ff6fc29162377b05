"""A feature engineer's path through Feast, run in a pod with the platform's rendered
`feature_store.yaml` (mounted at FEAST_CONFIG) and the env the apply Job gets.

1. writes a day of driver statistics as Parquet to the features bucket on the object store;
2. writes a feature repo (entity, file source on the object store, feature view) and runs
   `feast apply` against the rendered config (SQL registry on Postgres, Redis online store);
3. `feast materialize` puts the latest values into Redis;
4. prints one JSON line with the rows written, so the test can read them back through the
   feature server's HTTP endpoint.
Environment: FEAST_CONFIG, FEATURES_BUCKET, AWS_ENDPOINT_URL (+ keys), FEAST_* passwords.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pandas as pd

REPO = Path("/tmp/feature_repo")
KEY = "conformance/driver_stats.parquet"

FEATURES_PY = '''
from datetime import timedelta

from feast import Entity, FeatureView, Field, FileSource
from feast.types import Float32, Int64

driver = Entity(name="driver", join_keys=["driver_id"])

driver_stats_source = FileSource(
    name="driver_stats_source",
    path="s3://{bucket}/{key}",
    s3_endpoint_override="{endpoint}",
    timestamp_field="event_timestamp",
)

driver_stats = FeatureView(
    name="driver_stats",
    entities=[driver],
    ttl=timedelta(days=2),
    schema=[Field(name="conv_rate", dtype=Float32), Field(name="avg_daily_trips", dtype=Int64)],
    online=True,
    source=driver_stats_source,
)
'''


def feast(*args: str) -> None:
    cmd = ["feast", "-c", str(REPO), "-f", os.environ["FEAST_CONFIG"], *args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    print(out.stdout + out.stderr, file=sys.stderr, flush=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[3:])} failed ({out.returncode})")


def main() -> None:
    bucket = os.environ["FEATURES_BUCKET"]
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    now = datetime.now(UTC).replace(microsecond=0)
    rows = pd.DataFrame({
        "driver_id": [1001, 1002, 1001, 1002],
        "conv_rate": [0.25, 0.5, 0.75, 0.125],
        "avg_daily_trips": [10, 20, 30, 40],
        "event_timestamp": [now - timedelta(hours=5), now - timedelta(hours=5),
                            now - timedelta(hours=1), now - timedelta(hours=1)],
    })
    local = Path("/tmp/driver_stats.parquet")
    rows.to_parquet(local, index=False)
    boto3.client("s3", endpoint_url=endpoint).upload_file(str(local), bucket, KEY)
    REPO.mkdir(parents=True, exist_ok=True)
    (REPO / "features.py").write_text(FEATURES_PY.format(bucket=bucket, key=KEY, endpoint=endpoint))
    feast("apply")
    feast("materialize", (now - timedelta(days=1)).isoformat(), (now + timedelta(minutes=1)).isoformat())
    latest = {1001: {"conv_rate": 0.75, "avg_daily_trips": 30}, 1002: {"conv_rate": 0.125, "avg_daily_trips": 40}}
    print(json.dumps({"latest": {str(k): v for k, v in latest.items()}}), flush=True)


if __name__ == "__main__":
    main()

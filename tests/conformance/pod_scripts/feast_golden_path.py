"""A feature engineer's path through Feast after the platform's apply Job registered the team's
feature repo: run in a pod with the platform's rendered `feature_store.yaml` (mounted at
FEAST_CONFIG) and the env Feast's pods get.

1. checks the registry (SQL, on Postgres) holds the applied feature view;
2. writes driver statistics as Parquet to the features bucket on the object store, where the
   applied FileSource reads;
3. `feast materialize` puts the latest values into Redis;
4. prints one JSON line with the expected values, so the test can read them back through the
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
KEY = "conformance/driver_stats.parquet"  # where pod_scripts/feature_repo/features.py reads


def feast(*args: str) -> None:
    cmd = ["feast", "-c", str(REPO), "-f", os.environ["FEAST_CONFIG"], *args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    print(out.stdout + out.stderr, file=sys.stderr, flush=True)
    if out.returncode != 0:
        raise SystemExit(f"feast {' '.join(args)} failed ({out.returncode})")


def main() -> None:
    bucket = os.environ["FEATURES_BUCKET"]
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    REPO.mkdir(parents=True, exist_ok=True)
    feast("feature-views", "describe", "driver_stats")
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
    feast("materialize", (now - timedelta(days=1)).isoformat(), (now + timedelta(minutes=1)).isoformat())
    latest = {1001: {"conv_rate": 0.75, "avg_daily_trips": 30}, 1002: {"conv_rate": 0.125, "avg_daily_trips": 40}}
    print(json.dumps({"latest": {str(k): v for k, v in latest.items()}}), flush=True)


if __name__ == "__main__":
    main()

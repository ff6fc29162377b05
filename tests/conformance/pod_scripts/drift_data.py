"""Puts a reference and a current dataset where the platform's drift job reads them.

MODE=clean: both samples from the same distributions. MODE=drift: the current sample's numeric
columns shifted by several standard deviations and its category mix reversed. Writes Parquet
files to REFERENCE_URL and CURRENT_URL (s3://bucket/prefix/, replacing what is there).
Environment: MODE, REFERENCE_URL, CURRENT_URL, AWS_ENDPOINT_URL (+ keys).
"""

from __future__ import annotations

import io
import json
import os
from typing import Any

import boto3
import numpy as np
import pandas as pd

ROWS = 600


def sample(rng: np.random.Generator, shift: float, flip: bool) -> pd.DataFrame:
    weights = [0.2, 0.8] if flip else [0.8, 0.2]
    return pd.DataFrame({
        "amount": rng.normal(50 + shift * 15, 15, ROWS),
        "age_days": rng.normal(400 + shift * 120, 120, ROWS),
        "merchant_risk": rng.normal(0.3 + shift * 0.1, 0.1, ROWS),
        "channel": rng.choice(["web", "store"], ROWS, p=weights),
    })


def replace_prefix(s3: Any, url: str, frame: pd.DataFrame) -> str:
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=obj["Key"])
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    key = prefix.rstrip("/") + "/data.parquet"
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
    return f"s3://{bucket}/{key}"


def main() -> None:
    drift = os.environ["MODE"] == "drift"
    rng = np.random.default_rng(11)
    s3 = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
    written = [replace_prefix(s3, os.environ["REFERENCE_URL"], sample(rng, 0.0, False)),
               replace_prefix(s3, os.environ["CURRENT_URL"], sample(rng, 4.0 if drift else 0.0, drift))]
    print(json.dumps({"written": written}), flush=True)


if __name__ == "__main__":
    main()

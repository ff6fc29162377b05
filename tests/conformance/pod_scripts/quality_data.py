"""Puts a dataset where the platform's data-quality check reads it, or lists the data docs.

MODE=good: rows with an event timestamp each (the starter suite passes). MODE=bad: rows whose
event timestamps are missing (expect_column_values_to_not_be_null fails). MODE=docs: prints the
keys under DOCS_URL as JSON. DATA_URL / DOCS_URL are s3://bucket/prefix/; AWS_ENDPOINT_URL and
the keys come from the platform's Secret.
"""

from __future__ import annotations

import io
import json
import os
from typing import Any

import boto3
import pandas as pd


def split(url: str) -> tuple[str, str]:
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    return bucket, prefix


def keys(s3: Any, url: str) -> list[str]:
    bucket, prefix = split(url)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def main() -> None:
    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    mode = os.environ["MODE"]
    if mode == "docs":
        print(json.dumps({"keys": keys(s3, os.environ["DOCS_URL"])}))
        return
    url = os.environ["DATA_URL"]
    bucket, prefix = split(url)
    for key in keys(s3, url):
        s3.delete_object(Bucket=bucket, Key=key)
    stamps = pd.to_datetime(["2026-12-01T00:00:00Z"] * 50)
    frame = pd.DataFrame({"event_timestamp": stamps, "amount": [float(i) for i in range(50)]})
    if mode == "bad":
        frame["event_timestamp"] = frame["event_timestamp"].where(frame.index % 2 == 0)
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    s3.put_object(Bucket=bucket, Key=prefix.rstrip("/") + "/part-0.parquet", Body=buffer.getvalue())
    print(json.dumps({"rows": len(frame), "nulls": int(frame["event_timestamp"].isna().sum())}))


if __name__ == "__main__":
    main()

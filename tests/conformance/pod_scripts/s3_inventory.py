"""What the object store holds, seen by an S3 client with the platform's credentials.

Prints one JSON line: {"buckets": [...], "objects": {bucket: [keys...]}} for the buckets named
in BUCKETS (space separated). Environment: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, BUCKETS.
"""

from __future__ import annotations

import json
import os

import boto3


def main() -> None:
    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    buckets = sorted(b["Name"] for b in s3.list_buckets().get("Buckets", []))
    objects: dict[str, list[str]] = {}
    for bucket in os.environ.get("BUCKETS", "").split():
        keys: list[str] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys += [o["Key"] for o in page.get("Contents", [])]
        objects[bucket] = sorted(keys)
    print(json.dumps({"buckets": buckets, "objects": objects}), flush=True)


if __name__ == "__main__":
    main()

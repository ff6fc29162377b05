"""Puts one object on the object store: the base64 file SOURCE decoded, at s3://BUCKET/KEY.
Environment: SOURCE, BUCKET, KEY, AWS_ENDPOINT_URL (+ keys). Prints one JSON line."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import boto3


def main() -> None:
    body = base64.b64decode(Path(os.environ["SOURCE"]).read_text())
    s3 = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
    s3.put_object(Bucket=os.environ["BUCKET"], Key=os.environ["KEY"], Body=body)
    print(json.dumps({"put": f"s3://{os.environ['BUCKET']}/{os.environ['KEY']}", "bytes": len(body)}), flush=True)


if __name__ == "__main__":
    main()

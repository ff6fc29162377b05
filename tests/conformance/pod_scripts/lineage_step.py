"""A pipeline step that reports its lineage with the OpenLineage client, configured only by the
platform's data-connections bundle (OPENLINEAGE_URL, OPENLINEAGE_ENDPOINT, OPENLINEAGE_NAMESPACE).

It reads INPUT_URL and writes OUTPUT_URL (s3://bucket/prefix, named as OpenLineage names object
storage: namespace s3://bucket, name the path) as job JOB_NAME: a START and a COMPLETE event.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState


def dataset(url: str) -> tuple[str, str]:
    bucket, _, path = url.removeprefix("s3://").partition("/")
    return f"s3://{bucket}", path.strip("/")


def main() -> None:
    client = OpenLineageClient()
    namespace = os.environ["OPENLINEAGE_NAMESPACE"]
    run = Run(runId=str(uuid.uuid4()))
    job = Job(namespace=namespace, name=os.environ["JOB_NAME"])
    source = InputDataset(*dataset(os.environ["INPUT_URL"]))
    target = OutputDataset(*dataset(os.environ["OUTPUT_URL"]))
    for state in (RunState.START, RunState.COMPLETE):
        client.emit(RunEvent(eventType=state, eventTime=datetime.now(UTC).isoformat(), run=run, job=job,
                             producer="https://omgml.dev/conformance", inputs=[source], outputs=[target]))
    print(json.dumps({"run": run.runId, "job": job.name, "namespace": namespace}))


if __name__ == "__main__":
    main()

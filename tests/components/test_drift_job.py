"""The drift job (components/evidently/drift_job.py): the program the Evidently CronJob runs.

Its pure helpers are tested here; the image-only parts (pyarrow, pandas, evidently) are
imported inside functions, which the first test holds it to.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from omgml.components.evidently import drift_job


def test_the_module_runs_on_the_standard_library_alone_until_it_needs_the_image() -> None:
    # Imported by path in an isolated interpreter (no omgml, no site-packages): nothing outside
    # the standard library is loaded at import, so the ConfigMap copy starts in any Python 3.11.
    code = ("import importlib.util, sys; spec = importlib.util.spec_from_file_location('job', sys.argv[1]); "
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
            "print(sorted(n for n in ('pandas', 'pyarrow', 'evidently', 'omgml', 'boto3') if n in sys.modules))")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code, drift_job.__file__],
                         check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


def test_s3_urls() -> None:
    assert drift_job.parse_s3_url("s3://bucket/a/b/") == ("bucket", "a/b/")
    assert drift_job.parse_s3_url("s3://bucket") == ("bucket", "")
    with pytest.raises(ValueError, match="not an s3"):
        drift_job.parse_s3_url("https://bucket/x")
    assert drift_job.selector_base("b", "drift/ref/") == "b/drift/ref"
    assert drift_job.selector_base("b", "") == "b"


def test_filesystem_options_follow_the_endpoint_and_leave_credentials_to_the_sdk() -> None:
    env = {"S3_ENDPOINT_URL": "http://objectstore.omgml-data.svc.cluster.local:8333", "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
    assert drift_job.s3_filesystem_options(env) == {
        "region": "us-east-1", "endpoint_override": "objectstore.omgml-data.svc.cluster.local:8333", "scheme": "http"}
    # AWS S3 (endpoint ""): the SDK's regional endpoint; keys or web identity from the environment
    assert drift_job.s3_filesystem_options({"S3_ENDPOINT_URL": "", "AWS_REGION": "eu-west-1"}) == {
        "region": "eu-west-1"}
    assert drift_job.s3_filesystem_options({"AWS_DEFAULT_REGION": "ap-south-1"}) == {"region": "ap-south-1"}
    with pytest.raises(SystemExit, match="S3_ENDPOINT_URL"):
        drift_job.s3_filesystem_options({"S3_ENDPOINT_URL": "objectstore:8333"})


def test_dataset_files_and_the_size_limit() -> None:
    listed = [("b/p/b.parquet", 10), ("b/p/_SUCCESS", 0), ("b/p/a.parquet", 5), ("b/p/x.csv", 3)]
    assert drift_job.dataset_files(listed, "parquet") == [("b/p/a.parquet", 5), ("b/p/b.parquet", 10)]
    assert drift_job.dataset_files(listed, "csv") == [("b/p/x.csv", 3)]
    with pytest.raises(SystemExit, match="DATASET_FORMAT"):
        drift_job.dataset_files(listed, "json")
    drift_job.check_size("s3://b/p/", [("b/p/a.parquet", 5)], "parquet", limit=5)
    with pytest.raises(SystemExit, match="over the job's 4 byte limit; sample it first"):
        drift_job.check_size("s3://b/p/", [("b/p/a.parquet", 5)], "parquet", limit=4)
    with pytest.raises(SystemExit, match="no csv files under s3://b/p/"):
        drift_job.check_size("s3://b/p/", [], "csv")


def test_drift_summary_reads_the_drifted_columns_metric() -> None:
    # The shape Snapshot.dict() has in evidently 0.7 (metric_name, config.type, value.count/share).
    snapshot = {"metrics": [
        {"id": "1", "metric_name": "DriftedColumnsCount(drift_share=0.5)",
         "config": {"type": "evidently:metric_v2:DriftedColumnsCount", "drift_share": 0.5},
         "value": {"count": 2.0, "share": 0.6667}},
        {"id": "2", "metric_name": "ValueDrift(column=a)", "config": {"type": "evidently:metric_v2:ValueDrift"},
         "value": 0.001},
    ], "tests": []}
    assert drift_job.drift_summary(snapshot) == (2, 0.6667)
    with pytest.raises(ValueError):
        drift_job.drift_summary({"metrics": []})


def test_pushgateway_body_and_grouping() -> None:
    path = drift_job.pushgateway_path("evidently_drift", "fraud/model v2")
    encoded = path.rsplit("/", 1)[1]
    assert path.startswith("/metrics/job/evidently_drift/project@base64/")
    assert base64.urlsafe_b64decode(encoded).decode() == "fraud/model v2"
    body = drift_job.metrics_body(3, 0.6, 0.5, 1700000000.5)
    lines = dict(line.split(" ", 1) for line in body.splitlines() if not line.startswith("#"))
    assert lines == {"evidently_drift_detected": "1", "evidently_drift_share": "0.6",
                     "evidently_drifted_columns": "3", "evidently_drift_last_run_timestamp_seconds": "1700000000"}
    assert "evidently_drift_detected 0" in drift_job.metrics_body(1, 0.2, 0.5, 0)


def test_heartbeat_thread_touches_its_file(tmp_path: Path) -> None:
    beat = tmp_path / "beat"
    stop = threading.Event()
    thread = drift_job.start_heartbeat(str(beat), 0.05, stop)
    deadline = time.time() + 5
    while not beat.exists() and time.time() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(5)
    assert beat.exists() and not thread.is_alive()

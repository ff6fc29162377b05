"""What the batch programs share in their pods (components/job_runtime.py), and the way it gets
there: in the same ConfigMap as the program, which imports it as a sibling module."""

from __future__ import annotations

import base64
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from omgml.components import job_runtime as rt
from omgml.components.evidently import component as evidently
from tests.components.test_data_quality import render as render_data_quality
from tests.components.test_evidently import render as render_evidently
from tests.synth_helpers import pod_spec


def _program_folder(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def _imports_on_the_standard_library_alone(folder: Path, module: str) -> None:
    # As the pod runs it (`python <folder>/<module>.py`: the folder is first on sys.path), in an
    # isolated interpreter (no omgml, no site-packages): the sibling job_runtime is found, and
    # nothing outside the standard library is loaded at import.
    code = (f"import sys; sys.path.insert(0, sys.argv[1]); import {module}; "
            "print(sorted(n for n in ('pandas', 'pyarrow', 'evidently', 'great_expectations', 'omgml', 'boto3') "
            "if n in sys.modules), 'job_runtime' in sys.modules)")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(folder)],
                         check=True, capture_output=True, text=True).stdout
    assert out.split() == ["[]", "True"]


def test_the_drift_job_configmap_carries_what_the_job_imports(tmp_path: Path) -> None:
    cm = next(m for m in render_evidently() if m["kind"] == "ConfigMap" and evidently.SCRIPT_NAME in m["data"])
    _imports_on_the_standard_library_alone(_program_folder(tmp_path, cm["data"]), "drift_job")


def test_the_data_quality_configmap_mounts_what_the_runner_imports(tmp_path: Path) -> None:
    items = render_data_quality()
    cron = next(m for m in items if m["kind"] == "CronJob")
    config = next(v for v in pod_spec(cron)["volumes"] if v["name"] == "config")
    data = next(m for m in items if m["kind"] == "ConfigMap" and m["metadata"]["name"] == config["configMap"]["name"]
                and m["metadata"]["namespace"] == cron["metadata"]["namespace"])["data"]
    # The volume projects only the listed keys: the module must be among them.
    mounted = {item["path"]: data[item["key"]] for item in config["configMap"]["items"]}
    assert mounted[rt.FILE_NAME] == rt.source()
    _imports_on_the_standard_library_alone(_program_folder(tmp_path, mounted), "gx_run")


def test_s3_urls() -> None:
    assert rt.parse_s3_url("s3://bucket/a/b/") == ("bucket", "a/b/")
    assert rt.parse_s3_url("s3://bucket") == ("bucket", "")
    with pytest.raises(ValueError, match="not an s3"):
        rt.parse_s3_url("https://bucket/x")
    assert rt.selector_base("b", "drift/ref/") == "b/drift/ref"
    assert rt.selector_base("b", "") == "b"


def test_filesystem_options_follow_the_endpoint_and_leave_credentials_to_the_sdk() -> None:
    env = {"S3_ENDPOINT_URL": "http://objectstore.omgml-data.svc.cluster.local:8333", "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
    assert rt.s3_filesystem_options(env) == {
        "region": "us-east-1", "endpoint_override": "objectstore.omgml-data.svc.cluster.local:8333", "scheme": "http"}
    # AWS S3 (endpoint ""): the SDK's regional endpoint; keys or web identity from the environment
    assert rt.s3_filesystem_options({"S3_ENDPOINT_URL": "", "AWS_REGION": "eu-west-1"}) == {"region": "eu-west-1"}
    assert rt.s3_filesystem_options({"AWS_DEFAULT_REGION": "ap-south-1"}) == {"region": "ap-south-1"}
    with pytest.raises(SystemExit, match="S3_ENDPOINT_URL"):
        rt.s3_filesystem_options({"S3_ENDPOINT_URL": "objectstore:8333"})


def test_dataset_files_and_the_size_limit() -> None:
    listed = [("b/p/b.parquet", 10), ("b/p/_SUCCESS", 0), ("b/p/a.parquet", 5), ("b/p/x.csv", 3)]
    assert rt.dataset_files(listed, "parquet") == [("b/p/a.parquet", 5), ("b/p/b.parquet", 10)]
    assert rt.dataset_files(listed, "csv") == [("b/p/x.csv", 3)]
    with pytest.raises(SystemExit, match=r"^DATASET_FORMAT 'json' is not one of"):
        rt.dataset_files(listed, "json", "DATASET_FORMAT")
    rt.check_size("s3://b/p/", [("b/p/a.parquet", 5)], "parquet", limit=5)
    with pytest.raises(SystemExit, match="over the job's 4 byte limit; sample it first"):
        rt.check_size("s3://b/p/", [("b/p/a.parquet", 5)], "parquet", limit=4, run="job")
    with pytest.raises(SystemExit, match="no csv files under s3://b/p/"):
        rt.check_size("s3://b/p/", [], "csv")


def test_pushgateway_grouping_key_takes_any_name() -> None:
    path = rt.pushgateway_path("evidently_drift", "project", "fraud/model v2")
    assert path.startswith("/metrics/job/evidently_drift/project@base64/")
    assert base64.urlsafe_b64decode(path.rsplit("/", 1)[1]).decode() == "fraud/model v2"


def test_heartbeat_thread_touches_its_file(tmp_path: Path) -> None:
    beat = tmp_path / "beat"
    stop = threading.Event()
    thread = rt.start_heartbeat(str(beat), 0.05, stop)
    deadline = time.time() + 5
    while not beat.exists() and time.time() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(5)
    assert beat.exists() and not thread.is_alive()

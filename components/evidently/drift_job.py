"""omgml drift job: data drift between two object-store prefixes, with Evidently.

This file runs on its own inside the `evidently/evidently-service` image (the Evidently
component ships its source in a ConfigMap; `python drift_job.py`), so it imports nothing from
omgml and only what that image installs: evidently with its `[sql]` extra, hence pandas,
pyarrow (`pandas[parquet]`), fsspec and requests; no boto3, botocore or s3fs. The object store
is read with pyarrow's S3 filesystem (the AWS SDK for C++ inside pyarrow): it signs requests,
follows an S3-compatible endpoint, and takes credentials from the SDK's default chain — the
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY env of the key Secret in-cluster, or on AWS S3 the
web-identity token EKS mounts for an IRSA-annotated ServiceAccount (AWS_ROLE_ARN +
AWS_WEB_IDENTITY_TOKEN_FILE), exchanged with STS by the SDK.

Configured by env; each run:
1. lists and reads the reference and current datasets (parquet or CSV files under two s3://
   prefixes),
2. computes an Evidently DataDriftPreset report (current vs reference),
3. pushes `evidently_drift_detected`, `evidently_drift_share` and `evidently_drifted_columns`
   to the Pushgateway (grouped by project): the "drift detected" alert reads these,
4. uploads the snapshot to the UI's project (created on the first run).

The helpers above `main` are pure (no network, no pandas) so they are tested without the image.
"""

from __future__ import annotations

import base64
import io
import os
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any

MAX_BYTES = 512 * 1024 * 1024  # per dataset: a larger one needs sampling before it gets here
HEARTBEAT = "/tmp/drift-heartbeat"
JOB = "evidently_drift"  # Pushgateway grouping key `job`
SUFFIXES = {"parquet": ".parquet", "csv": ".csv"}


def start_heartbeat(path: str = HEARTBEAT, every: float = 10.0, stop: threading.Event | None = None) -> threading.Thread:
    """Touch `path` every few seconds from a daemon thread: the pod's probes read its age."""
    done = stop or threading.Event()

    def beat() -> None:
        while not done.is_set():
            with open(path, "w") as handle:
                handle.write(str(time.time()))
            done.wait(every)

    thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
    thread.start()
    return thread


def parse_s3_url(url: str) -> tuple[str, str]:
    """s3://bucket/prefix -> (bucket, prefix)."""
    if not url.startswith("s3://"):
        raise ValueError(f"not an s3:// URL: {url!r}")
    bucket, _, prefix = url[len("s3://"):].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {url!r}")
    return bucket, prefix


def s3_filesystem_options(env: Mapping[str, str]) -> dict[str, str]:
    """Keyword arguments of pyarrow.fs.S3FileSystem for the job's env. No keys: the SDK's default
    credential chain reads them (or the web identity) from the environment itself."""
    options = {"region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"}
    endpoint = env.get("S3_ENDPOINT_URL", "")
    if endpoint:  # "" is AWS S3 itself
        parts = urllib.parse.urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/"):
            raise SystemExit(f"S3_ENDPOINT_URL {endpoint!r} is not http(s)://host[:port]")
        options["endpoint_override"] = parts.netloc
        options["scheme"] = parts.scheme
    return options


def selector_base(bucket: str, prefix: str) -> str:
    """The pyarrow path of a bucket prefix: `bucket/a/b` (a prefix is a folder of files)."""
    return "/".join(p for p in (bucket, prefix.strip("/")) if p)


def dataset_files(files: Iterable[tuple[str, int]], fmt: str) -> list[tuple[str, int]]:
    """(path, size) of the dataset's files among `files`, by name, in a stable order."""
    if fmt not in SUFFIXES:
        raise SystemExit(f"DATASET_FORMAT {fmt!r} is not one of {sorted(SUFFIXES)}")
    return sorted((path, size) for path, size in files if path.endswith(SUFFIXES[fmt]))


def check_size(url: str, files: list[tuple[str, int]], fmt: str, limit: int = MAX_BYTES) -> None:
    if not files:
        raise SystemExit(f"no {fmt} files under {url}")
    total = sum(size for _, size in files)
    if total > limit:
        raise SystemExit(f"{url} holds {total} bytes of data, over the job's {limit} byte limit; sample it first")


def drift_summary(snapshot_dict: Mapping[str, Any]) -> tuple[int, float]:
    """(drifted columns, drift share) from Snapshot.dict() of a DataDriftPreset report."""
    for metric in snapshot_dict.get("metrics", []):
        name = str(metric.get("metric_name") or metric.get("config", {}).get("type", ""))
        if "DriftedColumnsCount" in name:
            value = metric.get("value") or {}
            return int(value.get("count", 0)), float(value.get("share", 0.0))
    raise ValueError("the report has no DriftedColumnsCount metric")


def pushgateway_path(job: str, project: str) -> str:
    """Grouping key path; the project label is base64url-encoded so any name is safe."""
    encoded = base64.urlsafe_b64encode(project.encode("utf-8")).decode("ascii")
    return f"/metrics/job/{job}/project@base64/{encoded}"


def metrics_body(drifted: int, share: float, threshold: float, finished_at: float) -> str:
    detected = 1 if share >= threshold else 0
    lines = [
        "# HELP evidently_drift_detected 1 when the share of drifted columns reached the threshold.",
        "# TYPE evidently_drift_detected gauge",
        f"evidently_drift_detected {detected}",
        "# HELP evidently_drift_share Share of columns whose distribution drifted.",
        "# TYPE evidently_drift_share gauge",
        f"evidently_drift_share {float(share)!r}",
        "# HELP evidently_drifted_columns Number of drifted columns.",
        "# TYPE evidently_drifted_columns gauge",
        f"evidently_drifted_columns {drifted}",
        "# HELP evidently_drift_last_run_timestamp_seconds When the drift run finished.",
        "# TYPE evidently_drift_last_run_timestamp_seconds gauge",
        f"evidently_drift_last_run_timestamp_seconds {int(finished_at)}",
    ]
    return "\n".join(lines) + "\n"


# --- what needs the image: pyarrow, pandas, evidently, the network --------------------------------

def open_store(env: Mapping[str, str]) -> Any:
    from pyarrow import fs

    return fs.S3FileSystem(**s3_filesystem_options(env))


def read_dataset(store: Any, url: str, fmt: str) -> Any:
    """Every parquet (or CSV) file under the s3:// prefix `url`, as one DataFrame."""
    import pandas as pd
    from pyarrow import fs

    bucket, prefix = parse_s3_url(url)
    infos = store.get_file_info(fs.FileSelector(selector_base(bucket, prefix), recursive=True, allow_not_found=True))
    files = dataset_files(((i.path, i.size) for i in infos if i.type == fs.FileType.File), fmt)
    check_size(url, files, fmt)
    frames = []
    for path, _ in files:
        with store.open_input_stream(path) as stream:
            raw = io.BytesIO(stream.read())
        frames.append(pd.read_parquet(raw) if fmt == "parquet" else pd.read_csv(raw))
    return pd.concat(frames, ignore_index=True)


def push_metrics(pushgateway: str, project: str, body: str) -> None:
    url = pushgateway.rstrip("/") + pushgateway_path(JOB, project)
    request = urllib.request.Request(url, data=body.encode("utf-8"), method="PUT",
                                     headers={"Content-Type": "text/plain; version=0.0.4"})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def upload_snapshot(ui_url: str, secret: str, project_name: str, snapshot: Any) -> None:
    from evidently.ui.workspace import RemoteWorkspace

    workspace = RemoteWorkspace(ui_url, secret=secret)
    found = [p for p in workspace.search_project(project_name) if p.name == project_name]
    project = found[0] if found else workspace.create_project(project_name, description="omgml data drift")
    workspace.add_run(project.id, snapshot, include_data=False)


def main(env: Mapping[str, str]) -> int:
    from evidently import Report
    from evidently.presets import DataDriftPreset

    fmt = env.get("DATASET_FORMAT", "parquet")
    threshold = float(env.get("DRIFT_SHARE", "0.5"))
    project = env["EVIDENTLY_PROJECT"]
    store = open_store(env)
    reference = read_dataset(store, env["REFERENCE_PATH"], fmt)
    current = read_dataset(store, env["CURRENT_PATH"], fmt)
    common = [c for c in reference.columns if c in set(current.columns)]
    if not common:
        raise SystemExit("the reference and current datasets share no column")
    snapshot = Report([DataDriftPreset(drift_share=threshold)]).run(current[common], reference[common])
    drifted, share = drift_summary(snapshot.dict())
    print(f"drift: {drifted} columns, share {share:.3f} (threshold {threshold:.3f})")
    failures = 0
    if env.get("PUSHGATEWAY_URL"):
        try:
            push_metrics(env["PUSHGATEWAY_URL"], project, metrics_body(drifted, share, threshold, time.time()))
        except Exception as exc:  # keep going: the UI upload is independent
            print(f"pushing drift metrics failed: {exc}", file=sys.stderr)
            failures += 1
    try:
        upload_snapshot(env["EVIDENTLY_URL"], env["EVIDENTLY_SECRET"], project, snapshot)
    except Exception as exc:
        print(f"uploading the snapshot failed: {exc}", file=sys.stderr)
        failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    start_heartbeat()
    sys.exit(main(os.environ))

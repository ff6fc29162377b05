"""omgml drift job: data drift between two object-store prefixes, with Evidently.

This file runs on its own inside the `evidently/evidently-service` image (the Evidently
component ships its source in a ConfigMap; `python drift_job.py`), so it imports nothing from
omgml (job_runtime.py, which it shares with the data-quality runner, is shipped next to it) and
only what that image installs: evidently with its `[sql]` extra, hence pandas,
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

import os
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

# Imported as part of omgml (tests, the component that ships it), or run as a script in the pod,
# where job_runtime.py sits next to this file (the same ConfigMap). mypy checks the first: the
# same file.
if TYPE_CHECKING or __package__:
    from omgml.components import job_runtime as rt
else:
    import job_runtime as rt

HEARTBEAT = "/tmp/drift-heartbeat"
JOB = "evidently_drift"  # Pushgateway grouping key: `job`, and GROUP_LABEL (the Evidently project)
GROUP_LABEL = "project"


def drift_summary(snapshot_dict: Mapping[str, Any]) -> tuple[int, float]:
    """(drifted columns, drift share) from Snapshot.dict() of a DataDriftPreset report."""
    for metric in snapshot_dict.get("metrics", []):
        name = str(metric.get("metric_name") or metric.get("config", {}).get("type", ""))
        if "DriftedColumnsCount" in name:
            value = metric.get("value") or {}
            return int(value.get("count", 0)), float(value.get("share", 0.0))
    raise ValueError("the report has no DriftedColumnsCount metric")


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
    store = rt.open_store(env)
    reference = rt.read_dataset(store, env["REFERENCE_PATH"], fmt, "DATASET_FORMAT", "job")
    current = rt.read_dataset(store, env["CURRENT_PATH"], fmt, "DATASET_FORMAT", "job")
    common = [c for c in reference.columns if c in set(current.columns)]
    if not common:
        raise SystemExit("the reference and current datasets share no column")
    snapshot = Report([DataDriftPreset(drift_share=threshold)]).run(current[common], reference[common])
    drifted, share = drift_summary(snapshot.dict())
    print(f"drift: {drifted} columns, share {share:.3f} (threshold {threshold:.3f})")
    failures = 0
    if env.get("PUSHGATEWAY_URL"):
        try:
            rt.push_metrics(env["PUSHGATEWAY_URL"], JOB, GROUP_LABEL, project,
                            metrics_body(drifted, share, threshold, time.time()))
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
    rt.start_heartbeat(HEARTBEAT)
    sys.exit(main(os.environ))

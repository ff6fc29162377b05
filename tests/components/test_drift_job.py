"""The drift job (components/evidently/drift_job.py): the program the Evidently CronJob runs.

Its pure helpers are tested here; what it shares with the data-quality runner (job_runtime.py)
and its import on the standard library alone are tested in test_job_runtime.py.
"""

from __future__ import annotations

import pytest

from omgml.components.evidently import drift_job


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
    assert drift_job.GROUP_LABEL == "project"  # the drift alert groups by project
    body = drift_job.metrics_body(3, 0.6, 0.5, 1700000000.5)
    lines = dict(line.split(" ", 1) for line in body.splitlines() if not line.startswith("#"))
    assert lines == {"evidently_drift_detected": "1", "evidently_drift_share": "0.6",
                     "evidently_drifted_columns": "3", "evidently_drift_last_run_timestamp_seconds": "1700000000"}
    assert "evidently_drift_detected 0" in drift_job.metrics_body(1, 0.2, 0.5, 0)

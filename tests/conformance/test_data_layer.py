"""The data layer on the real software (conformance tier): Great Expectations runs that pass and
fail on purpose, their metrics and alert, the data docs, and a lineage query through the real
lineage server showing dataset → job → dataset.

The runs execute the rendered CronJob's container (GX Core 1.24.1 from PyPI standing in for the
runner image omgml's Dockerfile builds); the lineage server is the rendered Deployment (Feast
0.66.0's `feast serve_lineage`) on the platform's Postgres. The pipeline step that reports its
lineage is a user's environment with the OpenLineage client, configured only by the rendered
data-connections bundle.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest

from tests.conformance.harness.runner import Platform
from tests.conformance.helpers import env_of, eventually, last_json, run_client, s3_env
from tests.conformance.test_serving import firing, prom

pytestmark = pytest.mark.conformance

DATA = "omgml-data"
PIPELINES = "omgml-pipelines"
LINEAGE = "http://lineage.omgml-data.svc.cluster.local:6580"


@pytest.fixture(autouse=True)
def _data_layer_on(platform: Platform) -> None:
    kinds = {(o.kind, o.name) for o in platform.render.objects}
    if ("CronJob", "data-quality") not in kinds or ("Deployment", "lineage") not in kinds:
        pytest.skip("this project has no data quality or no lineage (enterprise and fintech turn both on)")


def put_data(platform: Platform, mode: str, env: dict[str, str]) -> dict[str, Any]:
    checks = json.loads(platform.objects.configmap(DATA, "data-quality")["checks.json"])  # type: ignore[index]
    code, out = run_client(platform, DATA, "mlflow", ["python", "/omgml-conformance/scripts/quality_data.py"],
                           env={**s3_env(platform), "MODE": mode, "DATA_URL": checks[0]["data"],
                                "DOCS_URL": env["GX_DOCS_URL"]})
    assert code == 0, out
    return last_json(out)


def run_quality(platform: Platform, mode: str) -> tuple[str, str]:
    """Put a dataset in place and run the CronJob's job as the CronJob would: (phase, log)."""
    cronjob = platform.render.find("CronJob", "data-quality")
    put_data(platform, mode, env_of(platform, "CronJob", "data-quality"))
    run = platform.wait_job(platform.run_job(cronjob))
    log = run.main_runs[0].log.read_text() if run.main_runs else run.message
    return run.phase, log


def suite_success(platform: Platform) -> float | None:
    result = prom(platform, "/api/v1/query", query='gx_suite_success{check="features"}')["result"]
    return float(result[0]["value"][1]) if result else None


def test_the_lineage_server_and_the_quality_runs_are_rendered_and_ready(platform: Platform) -> None:
    rows = {o.key: o for o in platform.outcomes.values() if o.phase == "foundation"}
    lineage = [o for key, o in rows.items() if key.endswith("/lineage")]
    assert lineage and lineage[0].status == "ready", lineage


def test_a_suite_passes_on_good_data_and_fails_on_bad_data_with_metrics_docs_and_alert(platform: Platform) -> None:
    phase, log = run_quality(platform, "good")
    assert phase == "Succeeded", log[-3000:]
    assert "suite features passed" in log, log[-3000:]
    assert eventually("gx_suite_success 1 in Prometheus", lambda: suite_success(platform) == 1.0, timeout=150)
    env = env_of(platform, "CronJob", "data-quality")
    docs = put_data(platform, "docs", env)["keys"]
    prefix = urllib.parse.urlsplit(env["GX_DOCS_URL"]).path.strip("/")
    assert f"{prefix}/index.html" in docs, docs
    assert any(k.startswith(f"{prefix}/validations/") for k in docs), docs
    assert not [a for a in firing(platform, "DataQualitySuiteFailed") if a["state"] == "firing"]

    phase, log = run_quality(platform, "bad")
    # A failed suite fails the run (a pipeline step would stop its pipeline) ...
    assert phase == "Failed", log[-3000:]
    assert "FAIL expect_column_values_to_not_be_null:event_timestamp" in log, log[-3000:]
    # ... and still reports: the metric turns 0 and the alert fires for the check.
    assert eventually("gx_suite_success 0 in Prometheus", lambda: suite_success(platform) == 0.0, timeout=150)
    alerts = eventually("DataQualitySuiteFailed firing",
                        lambda: [a for a in firing(platform, "DataQualitySuiteFailed") if a["state"] == "firing"],
                        timeout=150)
    assert alerts[0]["labels"]["check"] == "features"
    failed = prom(platform, "/api/v1/query",
                  query='gx_expectation_success{check="features"} == 0')["result"]
    assert [r["metric"]["expectation"] for r in failed] == ["expect_column_values_to_not_be_null:event_timestamp"]

    # Fixed data: the next scheduled run passes again and the metric turns back to 1 (this also
    # leaves the CronJob's last run a good one for the other tests' view of the platform).
    phase, log = run_quality(platform, "good")
    assert phase == "Succeeded", log[-3000:]
    assert eventually("gx_suite_success back to 1", lambda: suite_success(platform) == 1.0, timeout=150)


def test_lineage_query_shows_dataset_job_dataset(platform: Platform) -> None:
    bundle = platform.objects.configmap(PIPELINES, "data-connections")
    assert bundle is not None and bundle["OPENLINEAGE_URL"] == LINEAGE
    features = json.loads(platform.objects.configmap(DATA, "data-quality")["checks.json"])[0]["data"]  # type: ignore[index]
    scores = features.rstrip("/").rsplit("/", 1)[0] + "/scores/"
    env = {k: bundle[k] for k in ("OPENLINEAGE_URL", "OPENLINEAGE_ENDPOINT", "OPENLINEAGE_NAMESPACE")}
    code, out = run_client(platform, PIPELINES, "openlineage-client",
                           ["python", "/omgml-conformance/scripts/lineage_step.py"],
                           env={**env, "JOB_NAME": "score-transactions", "INPUT_URL": features, "OUTPUT_URL": scores})
    assert code == 0, out
    # The query, from a pipeline namespace, through the rendered Service and NetworkPolicies.
    code, out = run_client(platform, PIPELINES, "feast", ["curl", "-sS", "--max-time", "20",
                                                          f"{LINEAGE}/api/v1/lineage/openlineage/graph"])
    assert code == 0, out
    graph = json.loads(out.strip().splitlines()[-1])
    edges = {(e["source_type"], e["source_name"], e["target_type"], e["target_name"]) for e in graph["edges"]}
    bucket = features.removeprefix("s3://").split("/", 1)[0]
    namespaces = {e["source_namespace"] for e in graph["edges"]} | {e["target_namespace"] for e in graph["edges"]}
    assert f"s3://{bucket}" in namespaces and bundle["OPENLINEAGE_NAMESPACE"] in namespaces
    source = features.removeprefix(f"s3://{bucket}/").strip("/")
    target = scores.removeprefix(f"s3://{bucket}/").strip("/")
    # dataset → job → dataset
    assert ("dataset", source, "job", "score-transactions") in edges, edges
    assert ("job", "score-transactions", "dataset", target) in edges, edges
    # The data-quality runs reported the same dataset as their input.
    assert ("dataset", source, "job", "data-quality.features") in edges, edges

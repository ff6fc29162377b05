"""Great Expectations: the runs' CronJob, the pipeline-step form, the policies to the
Pushgateway, and the pure parts of gx_run.py (the program the runs execute)."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest
import yaml

from omgml.components.contracts import ObjectStoreEndpoint, SecretKeyRef
from omgml.components.data_quality import gx_run
from omgml.components.data_quality.component import (
    MOUNT,
    SCRIPT_NAME,
    DataQualityArgs,
    GreatExpectations,
    QualityCheck,
    runner_script,
)
from omgml.data_quality import default_image, parse_suite, starter_suite
from omgml.synth.manifests import manifests
from tests.components.manifest_checks import env_of
from tests.synth_helpers import assert_valid, one, pod_spec, synth

NS = "omgml-data"
SERVING = "omgml-serving"
PUSH_LABELS = {"app.kubernetes.io/name": "pushgateway", "app.kubernetes.io/instance": "demo",
               "app.kubernetes.io/component": "monitoring"}


def store(irsa: bool = False) -> ObjectStoreEndpoint:
    return ObjectStoreEndpoint(
        endpoint_url="" if irsa else "http://objectstore.omgml-data.svc.cluster.local:8333", region="us-east-1",
        access_key_ref=SecretKeyRef("objectstore-credentials", "AWS_ACCESS_KEY_ID"),
        secret_key_ref=SecretKeyRef("objectstore-credentials", "AWS_SECRET_ACCESS_KEY"),
        access_key=pulumi.Output.secret("a"), secret_key=pulumi.Output.secret("b"),
        irsa_role_arn=pulumi.Output.from_input("arn:aws:iam::123456789012:role/dq") if irsa else None)


# The store as pure tests see it: key references, no generated keys (no engine runs to make them).
PLAIN_STORE = ObjectStoreEndpoint(
    endpoint_url="", region="us-east-1", access_key_ref=SecretKeyRef("s", "a"), secret_key_ref=SecretKeyRef("s", "b"),
    access_key=None, secret_key=None)  # type: ignore[arg-type]


def dq_args(**kw: Any) -> DataQualityArgs:
    base: dict[str, Any] = dict(
        namespace=NS, image=default_image(), schedule="15 * * * *",
        checks=(QualityCheck("features", "features", "s3://demo-features/features/", "parquet"),),
        suites={"features": starter_suite("features")},
        docs_url="s3://demo-features/data-docs/",
        pushgateway_url="http://demo-pushgateway.omgml-serving.svc:9091", pushgateway_namespace=SERVING,
        pushgateway_selector=PUSH_LABELS, lineage_url="http://lineage.omgml-data.svc.cluster.local:6580",
        lineage_namespace="demo", step_namespaces=("omgml-pipelines",),
    )
    base.update(kw)
    return DataQualityArgs(**base)


def render(**kw: Any) -> list[dict[str, Any]]:
    """The component's manifests; args are built inside the program (their Outputs need it)."""
    def program() -> None:
        irsa = kw.pop("irsa", False)
        GreatExpectations("dq", dq_args(store=store(irsa), **kw))
    return manifests(synth(program))


def in_ns(items: list[dict[str, Any]], kind: str, name: str, namespace: str = NS) -> dict[str, Any]:
    found = [m for m in items if m["kind"] == kind and m["metadata"]["name"] == name
             and m["metadata"].get("namespace") == namespace]
    assert len(found) == 1, found
    return found[0]


def test_cronjob_runs_the_shipped_runner_with_the_projects_suites_and_is_valid() -> None:
    items = render()
    assert_valid(items)
    cron = one(items, "CronJob", "data-quality")
    pod = pod_spec(cron)
    container = pod["containers"][0]
    assert container["command"] == ["python", f"{MOUNT}/{SCRIPT_NAME}"]
    assert container["image"] == default_image() and ":" in container["image"]
    config = in_ns(items, "ConfigMap", "data-quality")
    assert config["metadata"]["namespace"] == NS
    # The runner is this package's module, verbatim; the suite is the project's document.
    assert config["data"][SCRIPT_NAME] == runner_script()
    assert json.loads(config["data"]["suite-features.json"]) == starter_suite("features").document
    assert json.loads(config["data"]["checks.json"])[0]["data"] == "s3://demo-features/features/"
    # The ConfigMap's items put each suite where GX_SUITES_DIR points.
    items_of = {i["key"]: i["path"] for v in pod["volumes"] if "configMap" in v for i in v["configMap"]["items"]}
    assert items_of["suite-features.json"] == "suites/features.json"
    env = env_of(container)
    assert env["GX_SUITES_DIR"] == f"{MOUNT}/suites"
    assert env["PUSHGATEWAY_URL"] == "http://demo-pushgateway.omgml-serving.svc:9091"
    assert env["OPENLINEAGE_URL"].endswith(":6580") and env["OPENLINEAGE_NAMESPACE"] == "demo"
    # A failed suite is a verdict: the Job is not retried into a second alert.
    assert cron["spec"]["jobTemplate"]["spec"]["backoffLimit"] == 0
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_keys_come_from_the_secret_and_stay_out_on_irsa() -> None:
    container = pod_spec(one(render(), "CronJob"))["containers"][0]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e}
    assert refs == {"AWS_ACCESS_KEY_ID": "objectstore-credentials", "AWS_SECRET_ACCESS_KEY": "objectstore-credentials"}
    irsa = render(irsa=True, irsa_role_arn="arn:aws:iam::123456789012:role/dq")
    container = pod_spec(one(irsa, "CronJob"))["containers"][0]
    assert not any(e["name"].startswith("AWS_ACCESS") for e in container["env"])
    sa = one(irsa, "ServiceAccount", "data-quality")
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith("role/dq")


def test_runs_reach_the_pushgateway_through_two_policies() -> None:
    items = render()
    egress = one(items, "NetworkPolicy", "data-quality-to-pushgateway")
    assert egress["metadata"]["namespace"] == NS
    cron_labels = one(items, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert all(cron_labels[k] == v for k, v in egress["spec"]["podSelector"]["matchLabels"].items())
    peer = egress["spec"]["egress"][0]["to"][0]
    assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": SERVING}
    assert peer["podSelector"]["matchLabels"] == PUSH_LABELS
    assert egress["spec"]["egress"][0]["ports"] == [{"protocol": "TCP", "port": 9091}]
    ingress = one(items, "NetworkPolicy", "data-quality-pushgateway-from-data-quality")
    assert ingress["metadata"]["namespace"] == SERVING
    assert ingress["spec"]["podSelector"]["matchLabels"] == PUSH_LABELS
    source = ingress["spec"]["ingress"][0]["from"][0]
    assert source["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": NS}
    # Without a Pushgateway there is nothing to open.
    quiet = render(pushgateway_url=None, pushgateway_namespace=None, pushgateway_selector=None)
    assert not [m for m in quiet if m["kind"] == "NetworkPolicy"]
    assert "PUSHGATEWAY_URL" not in env_of(pod_spec(one(quiet, "CronJob"))["containers"][0])


def test_pipeline_step_form_runs_one_check_and_pushes_nothing() -> None:
    items = render()
    step_config = [m for m in items if m["kind"] == "ConfigMap" and m["metadata"]["namespace"] == "omgml-pipelines"]
    assert len(step_config) == 1
    pod = yaml.safe_load(step_config[0]["data"]["step-pod.yaml"])
    assert pod["metadata"]["namespace"] == "omgml-pipelines"
    container = pod["spec"]["containers"][0]
    assert container["command"][-2:] == ["--check", "CHECK"]
    env = {e["name"] for e in container["env"]}
    assert "PUSHGATEWAY_URL" not in env and "OPENLINEAGE_URL" in env
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert step_config[0]["data"][SCRIPT_NAME] == runner_script()
    assert_valid([pod])


# --- gx_run.py: the pure helpers ----------------------------------------------------------------

VALIDATION = {"success": False, "results": [
    {"success": True, "expectation_config": {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}}},
    {"success": False, "expectation_config": {"type": "expect_column_values_to_not_be_null",
                                              "kwargs": {"column": "event_timestamp"}}},
    {"success": True, "expectation_config": {"type": "expect_column_values_to_not_be_null",
                                             "kwargs": {"column": "event_timestamp", "mostly": 0.5}}},
]}


def test_summary_and_metrics_carry_each_expectation() -> None:
    summary = gx_run.summarize(VALIDATION)
    assert summary["success"] is False and summary["evaluated"] == 3 and summary["unsuccessful"] == 1
    body = gx_run.metrics_body("features", "s3://b/features/", summary, 1700000000)
    lines = body.splitlines()
    assert 'gx_suite_success{suite="features",dataset="s3://b/features/"} 0' in lines
    assert 'gx_suite_unsuccessful_expectations{suite="features",dataset="s3://b/features/"} 1' in lines
    per = [line for line in lines if line.startswith("gx_expectation_success{")]
    assert len(per) == 3
    # The same expectation twice on one column is two series, not one overwritten.
    assert any('expectation="expect_column_values_to_not_be_null:event_timestamp#2"} 1' in p for p in per)
    assert any('expectation="expect_column_values_to_not_be_null:event_timestamp"} 0' in p for p in per)
    passed = gx_run.metrics_body("s", "d", gx_run.summarize({"success": True, "results": []}), 0)
    assert 'gx_suite_success{suite="s",dataset="d"} 1' in passed


def test_every_metric_the_alert_reads_is_pushed() -> None:
    from omgml.components.prometheus.exporters import METRIC_EXPORTERS
    from omgml.components.prometheus.promql import expr_metric_names
    from omgml.components.prometheus.rules import serving_alerts

    rule = next(r for r in serving_alerts("x") if r.name == "DataQualitySuiteFailed")
    body = gx_run.metrics_body("s", "d", gx_run.summarize(VALIDATION), 0)
    for metric in expr_metric_names(rule.expr):
        assert METRIC_EXPORTERS[metric] == "great_expectations"
        assert f"# TYPE {metric} gauge" in body
    # The rule groups by `check`: the Pushgateway grouping key the runner pushes under.
    assert gx_run.GROUP_LABEL == "check" and "check" in rule.expr


def test_lineage_events_name_the_dataset_as_openlineage_does() -> None:
    summary = gx_run.summarize(VALIDATION)
    start = gx_run.lineage_event("START", "run-1", "demo", "features", "s3://demo-features/features/", "t")
    done = gx_run.lineage_event("FAIL", "run-1", "demo", "features", "s3://demo-features/features/", "t", summary)
    assert start["job"] == {"namespace": "demo", "name": "data-quality.features", "facets": {}}
    assert start["inputs"][0]["namespace"] == "s3://demo-features" and start["inputs"][0]["name"] == "features"
    assertions = done["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert [a["success"] for a in assertions] == [True, False, True]
    assert done["run"]["runId"] == start["run"]["runId"]
    assert gx_run.lineage_target({"OPENLINEAGE_URL": "http://l:6580/"}) == "http://l:6580/api/v1/lineage"
    assert gx_run.lineage_target({}) is None


def test_checks_selection_and_docs_keys() -> None:
    text = json.dumps([{"name": "a", "suite": "s", "data": "s3://b/a/", "format": "csv"},
                       {"name": "b", "suite": "s", "data": "s3://b/b/", "format": "parquet"}])
    assert [c["name"] for c in gx_run.load_checks(text)] == ["a", "b"]
    assert [c["name"] for c in gx_run.load_checks(text, "b")] == ["b"]
    with pytest.raises(SystemExit, match="no check named 'c'"):
        gx_run.load_checks(text, "c")
    assert gx_run.docs_key("data-docs/", "validations/a.html") == "data-docs/validations/a.html"


def test_the_starter_suite_is_a_suite_the_loader_accepts() -> None:
    suite = starter_suite("features")
    assert parse_suite(suite.text(), "features", "x").document == suite.document

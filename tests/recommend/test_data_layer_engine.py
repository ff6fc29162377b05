"""The engine's data-layer decisions, the templates that turn them on, and what a rendered
platform then holds (GX runs, lineage, Snowflake, Airflow's OpenLineage transport, the alert)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from omgml.cli.app import app
from omgml.project import adr_files
from omgml.recommend import recommend
from omgml.spec import spec_from_dict
from omgml.spec.requirements import requirements_from_dict
from omgml.synth.render import render_platform
from omgml.templates import load_template

runner = CliRunner()


def req(**data: Any) -> Any:
    return requirements_from_dict({"name": "demo", **data})


def test_data_quality_and_lineage_follow_the_requirements() -> None:
    plain = recommend(req())
    assert plain.choice("data_quality") == "none" and plain.choice("lineage") == "none"
    assert not plain.platform.phases.foundation.data_quality.enabled
    asked = recommend(req(data={"quality": True}))
    assert asked.choice("data_quality") == "great-expectations" and asked.choice("lineage") == "none"
    assert asked.decision("data_quality").drivers == ("data.quality",)
    assert "great-expectations" in asked.phases["foundation"]
    regulated = recommend(req(compliance=["gdpr"]))
    assert regulated.choice("data_quality") == "great-expectations"
    assert regulated.choice("lineage") == "feast-lineage"
    assert regulated.decision("lineage").drivers == ("compliance",)
    # The rejected catalog says exactly why.
    assert "Maven Central has no Marquez API jar" in regulated.decision("lineage").rationale


def test_fintech_has_both_with_adrs_and_reads_its_warehouse() -> None:
    rec = recommend(load_template("fintech"))
    f = rec.platform.phases.foundation
    assert f.data_quality.enabled and f.lineage.enabled
    assert f.lineage.retention_days == 0  # an audit trail under pci-dss: nothing pruned
    assert f.feast.offline_store == "snowflake" and rec.platform.snowflake_source() is not None
    adrs = adr_files(rec)
    quality = next(text for path, text in adrs.items() if path.endswith("-data-quality.md"))
    catalog = next(text for path, text in adrs.items() if path.endswith("-lineage.md"))
    assert "Use **great-expectations**." in quality and "compliance" in quality
    assert "GX Core publishes no official image" in quality
    assert "Use **feast-lineage**." in catalog and "Not Marquez" in catalog
    data_stores = next(text for path, text in adrs.items() if path.endswith("-data-stores.md"))
    assert "offline_store: snowflake, on warehouse warehouse" in data_stores


def test_the_fintech_render_wires_snowflake_through_the_teams_secret() -> None:
    rec = recommend(load_template("fintech"))
    items = render_platform(rec.platform, ["foundation"]).all_manifests()
    config = next(m for m in items if m["kind"] == "ConfigMap" and m["metadata"]["name"] == "feast-config")
    store = yaml.safe_load(config["data"]["feature_store.yaml"])["offline_store"]
    assert store["type"] == "snowflake.offline" and store["account"] == "acme-fraud"
    assert store["password"] == "${FEAST_SNOWFLAKE_PASSWORD}" and store["schema"] == "FEATURES"
    feast = next(m for m in items if m["kind"] == "Deployment" and m["metadata"]["name"] == "feast")
    env = {e["name"]: e for e in feast["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["FEAST_SNOWFLAKE_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "snowflake-credentials",
                                                                           "key": "password"}
    egress = next(m for m in items if m["kind"] == "NetworkPolicy" and m["metadata"]["name"] == "feast-reader-egress")
    assert egress["spec"]["egress"][0]["ports"] == [{"protocol": "TCP", "port": 443}]


@pytest.fixture(scope="module")
def enterprise() -> Any:
    rec = recommend(load_template("enterprise"))
    return rec, render_platform(rec.platform)


def test_enterprise_renders_the_runs_the_lineage_server_and_the_alert(enterprise: Any) -> None:
    rec, render = enterprise
    items = render.all_manifests()
    data_ns = rec.platform.phases.foundation.namespace
    kinds = {(m["kind"], m["metadata"]["name"]) for m in items if m["metadata"].get("namespace") == data_ns}
    assert ("CronJob", "data-quality") in kinds and ("Deployment", "lineage") in kinds
    rules = next(m for m in items if m["kind"] == "ConfigMap" and m["metadata"]["name"].endswith("prometheus-rules"))
    alerts = [r["alert"] for g in yaml.safe_load(rules["data"]["serving.yml"])["groups"] for r in g["rules"]]
    assert "DataQualitySuiteFailed" in alerts
    # Lineage in the pipelines' bundle, and the runs point at the same server.
    bundles = [m for m in items if m["kind"] == "ConfigMap" and m["metadata"]["name"] == "data-connections"]
    assert {m["metadata"]["namespace"] for m in bundles} == {data_ns, rec.platform.phases.training.kubeflow.user_namespace}
    urls = {m["data"]["OPENLINEAGE_URL"] for m in bundles}
    cron = next(m for m in items if m["kind"] == "CronJob" and m["metadata"]["name"] == "data-quality")
    env = {e["name"]: e.get("value") for e in cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert urls == {env["OPENLINEAGE_URL"]}


def test_without_data_quality_the_alert_and_the_runs_are_absent() -> None:
    spec = recommend(load_template("starter")).platform
    items = render_platform(spec).all_manifests()
    assert not [m for m in items if m["metadata"]["name"] in ("data-quality", "lineage", "data-connections")]
    rules = [m for m in items if m["kind"] == "ConfigMap" and m["metadata"]["name"].endswith("prometheus-rules")]
    assert all("DataQualitySuiteFailed" not in m["data"]["serving.yml"] for m in rules)


def test_airflow_reports_to_the_lineage_server() -> None:
    spec = recommend(req(compliance=["gdpr"])).platform
    data = spec.model_dump(mode="json")
    data["phases"]["training"].update({"enabled": True, "airflow": {"enabled": True}})
    spec = spec_from_dict(data)
    items = render_platform(spec, ["training"]).all_manifests()
    scheduler = next(m for m in items if m["kind"] == "Deployment" and m["metadata"]["name"] == "airflow-scheduler")
    env = {e["name"]: e.get("value") for e in scheduler["spec"]["template"]["spec"]["containers"][0]["env"]}
    transport = json.loads(env["AIRFLOW__OPENLINEAGE__TRANSPORT"])
    assert transport == {"type": "http", "url": "http://lineage.omgml-data.svc.cluster.local:6580",
                         "endpoint": "api/v1/lineage"}
    template = next(m for m in items if m["kind"] == "ConfigMap" and m["metadata"]["name"] == "airflow-pod-template")
    task_env = {e["name"] for e in yaml.safe_load(template["data"]["pod_template.yaml"])["spec"]["containers"][0]["env"]}
    assert {"AIRFLOW__OPENLINEAGE__TRANSPORT", "AIRFLOW__OPENLINEAGE__NAMESPACE"} <= task_env


def test_init_writes_the_suite_and_the_image_and_render_reads_the_projects_suite(tmp_path: Path) -> None:
    target = tmp_path / "p"
    result = runner.invoke(app, ["init", str(target), "--template", "enterprise"])
    assert result.exit_code == 0, result.output
    suite = target / "data-quality" / "suites" / "features.json"
    assert json.loads(suite.read_text())["expectations"][0]["type"] == "expect_table_row_count_to_be_between"
    assert (target / "images" / "data-quality" / "Dockerfile").exists()
    assert (target / "images" / "data-quality" / "requirements.txt").exists()
    assert any(p.name.endswith("-data-quality.md") for p in (target / "docs" / "adr").iterdir())
    # An edited suite is what the platform runs.
    doc = json.loads(suite.read_text())
    doc["expectations"].append({"type": "expect_column_values_to_be_between",
                                "kwargs": {"column": "amount", "min_value": 0}})
    suite.write_text(json.dumps(doc))
    out = tmp_path / "out"
    assert runner.invoke(app, ["render", str(target), "--phase", "foundation", "--out", str(out)]).exit_code == 0
    rendered = list(yaml.safe_load_all((out / "01-foundation.yaml").read_text()))
    config = next(m for m in rendered if m and m["kind"] == "ConfigMap" and m["metadata"]["name"] == "data-quality"
                  and m["metadata"]["namespace"] == "omgml-data")
    assert "expect_column_values_to_be_between" in config["data"]["suite-features.json"]
    # A suite that does not parse stops the render with the file and the place.
    suite.write_text('{"name": "features", "expectations": [}')
    bad = runner.invoke(app, ["render", str(target), "--phase", "foundation", "--out", str(out)])
    assert bad.exit_code != 0
    assert "features.json" in bad.output and "not valid JSON at line 1" in bad.output

"""The data layer's spec and project side: sources, suites kept in the project, the runner
image recipe, the lineage server's configuration, the connection bundle, the Secret check."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from omgml.components import lineage as lineage_component
from omgml.components.contracts import PostgresDatabase, SecretKeyRef
from omgml.components.sources import DataConnectionsArgs, bundle_data, source_secret_env
from omgml.data_quality import (
    dockerfile_text,
    image_files,
    load_suites,
    lock_text,
    parse_suite,
    runner_image,
    starter_suite,
    suite_files,
)
from omgml.deploy.plan import DeployError
from omgml.deploy.sources import NamespaceMissing, check_source_secrets, source_secret_problems
from omgml.errors import SpecError
from omgml.spec import spec_from_dict
from omgml.spec.data import DataSourceSpec

WAREHOUSE: dict[str, Any] = {"name": "warehouse", "kind": "snowflake", "secret": "snowflake-credentials",
                             "account": "acme-fraud", "warehouse": "WH", "database": "FRAUD"}


def spec_with(**foundation: Any) -> Any:
    data: dict[str, Any] = {"name": "demo", "phases": {"foundation": foundation}}
    return spec_from_dict(data)


# --- sources -------------------------------------------------------------------------------------

def test_a_source_states_exactly_the_settings_of_its_kind() -> None:
    assert DataSourceSpec(**WAREHOUSE).secret_keys() == ("user", "password")
    with pytest.raises(ValueError, match="a snowflake source needs warehouse, database; add them"):
        DataSourceSpec(name="w", kind="snowflake", secret="s", account="a")
    with pytest.raises(ValueError, match="bucket do not apply to a postgres source"):
        DataSourceSpec(name="p", kind="postgres", secret="s", host="db", database="d", bucket="b1b")
    with pytest.raises(ValueError, match="is not s3://bucket/path"):
        DataSourceSpec(name="d", kind="delta", secret="s", uri="/local/table")


def test_a_source_without_its_secret_is_a_clear_spec_error() -> None:
    with pytest.raises(SpecError) as err:
        spec_from_dict({"name": "demo", "data": {"sources": [{k: v for k, v in WAREHOUSE.items() if k != "secret"}]}})
    assert "data.sources[0].secret: required field is missing" in str(err.value)


def test_source_names_are_unique_and_the_snowflake_store_needs_its_source() -> None:
    with pytest.raises(SpecError, match=r"source names \['warehouse'\] repeat"):
        spec_from_dict({"name": "demo", "data": {"sources": [WAREHOUSE, WAREHOUSE]}})
    with pytest.raises(SpecError, match="lists 0 snowflake sources"):
        spec_with(feast={"offline_store": "snowflake"})
    with pytest.raises(SpecError, match="no snowflake source named 'other'"):
        spec_from_dict({"name": "demo", "data": {"sources": [WAREHOUSE]},
                        "phases": {"foundation": {"feast": {"offline_store": "snowflake", "snowflake_source": "other"}}}})
    ok = spec_from_dict({"name": "demo", "data": {"sources": [WAREHOUSE]},
                         "phases": {"foundation": {"feast": {"offline_store": "snowflake"}}}})
    assert ok.snowflake_source() is not None and ok.snowflake_source().name == "warehouse"  # type: ignore[union-attr]


def test_the_bundle_carries_settings_and_references_never_credentials() -> None:
    source = DataSourceSpec(**WAREHOUSE)
    data = bundle_data(DataConnectionsArgs(namespaces=("omgml-data",), sources=(source,),
                                           lineage_url="http://lineage:6580", lineage_namespace="demo"))
    assert data["SOURCE_WAREHOUSE_ACCOUNT"] == "acme-fraud" and data["SOURCE_WAREHOUSE_SCHEMA"] == "PUBLIC"
    assert data["SOURCE_WAREHOUSE_SECRET_NAME"] == "snowflake-credentials"
    assert data["OPENLINEAGE_URL"] == "http://lineage:6580" and data["OPENLINEAGE_NAMESPACE"] == "demo"
    env = yaml.safe_load(data["secret-env.yaml"])
    assert env == source_secret_env(source)
    assert {e["valueFrom"]["secretKeyRef"]["key"] for e in env} == {"user", "password"}
    assert all(e["valueFrom"]["secretKeyRef"]["name"] == "snowflake-credentials" for e in env)


def fake_cluster(secrets: dict[tuple[str, str], set[str]], namespaces: set[str]) -> Any:
    def lookup(namespace: str, name: str) -> set[str] | None:
        if namespace not in namespaces:
            raise NamespaceMissing(namespace)
        return secrets.get((namespace, name))
    return lookup


def test_up_refuses_a_source_whose_secret_is_missing_or_incomplete() -> None:
    spec = spec_from_dict({"name": "demo", "data": {"sources": [WAREHOUSE]},
                           "phases": {"training": {"enabled": True, "kubeflow": {"enabled": True}}}})
    namespaces = {"omgml-data", "omgml-pipelines", "kubeflow"}
    ready = {(ns, "snowflake-credentials"): {"user", "password"} for ns in ("omgml-data", "omgml-pipelines")}
    check_source_secrets(spec, fake_cluster(ready, namespaces))  # nothing missing: no error
    missing = dict(ready)
    del missing[("omgml-pipelines", "snowflake-credentials")]
    missing[("omgml-data", "snowflake-credentials")] = {"user"}
    problems = source_secret_problems(spec, fake_cluster(missing, namespaces))
    assert problems == [
        "data.sources[0] (warehouse, snowflake): Secret snowflake-credentials in namespace omgml-data lacks the keys "
        "password (it has user); add them",
        "data.sources[0] (warehouse, snowflake): Secret snowflake-credentials does not exist in namespace "
        "omgml-pipelines; create it with its keys user, password: kubectl create secret generic "
        "snowflake-credentials -n omgml-pipelines --from-literal=user=... --from-literal=password=...",
    ]
    with pytest.raises(DeployError, match="not ready"):
        check_source_secrets(spec, fake_cluster(missing, namespaces))
    first = source_secret_problems(spec, fake_cluster({}, set()))
    assert all("does not exist yet" in p for p in first) and len(first) == 2


# --- suites and the runner image -------------------------------------------------------------------

def test_a_suite_file_that_does_not_parse_names_the_file_and_the_place(tmp_path: Path) -> None:
    spec = spec_with(data_quality={"enabled": True})
    folder = tmp_path / "data-quality" / "suites"
    folder.mkdir(parents=True)
    path = folder / "features.json"
    path.write_text('{"name": "features", "expectations": [\n  {"type": "expect_x", }\n]}\n')
    with pytest.raises(SpecError) as err:
        load_suites(tmp_path, spec)
    assert str(path) in str(err.value) and "not valid JSON at line 2" in str(err.value)
    path.write_text(json.dumps({"name": "other", "expectations": [{"type": "row_count", "kwargs": []}]}))
    with pytest.raises(SpecError) as err:
        load_suites(tmp_path, spec)
    text = str(err.value)
    assert "name: must be 'features'" in text
    assert "expectations[0].type: 'row_count' is not a GX expectation type" in text
    assert "expectations[0].kwargs: must be an object" in text
    path.unlink()
    with pytest.raises(SpecError, match=r"checks\[0\]\.suite: 'features' has no file"):
        load_suites(tmp_path, spec)
    for rel, content in suite_files(spec).items():
        (tmp_path / rel).write_text(content)
    assert load_suites(tmp_path, spec) == {"features": starter_suite("features")}


def test_suites_outside_the_shape_are_refused() -> None:
    with pytest.raises(SpecError, match="must be a JSON object"):
        parse_suite("[]", "s", "f")
    with pytest.raises(SpecError, match="non-empty list"):
        parse_suite('{"name": "s", "expectations": []}', "s", "f")


def test_the_runner_image_is_pinned_by_its_recipe() -> None:
    spec = spec_with(data_quality={"enabled": True})
    image = runner_image(spec)
    digest = hashlib.sha256((dockerfile_text() + "\0" + lock_text()).encode()).hexdigest()[:10]
    assert image.endswith(digest) and ":gx1.24.1-" in image
    assert runner_image(spec_with(data_quality={"enabled": True, "image": "r.example/dq:1"})) == "r.example/dq:1"
    assert "--require-hashes" in dockerfile_text()
    assert re.search(r"^FROM python:3\.11\.\d+-slim", dockerfile_text(), re.M)
    # Every package of the lock is pinned to a version and a wheel hash.
    packages = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\\n    --hash=sha256:([0-9a-f]{64})$", lock_text(), re.M)
    names = {p[0].lower() for p in packages}
    assert {"great_expectations", "pyarrow", "pandas"} <= {n.replace("-", "_") for n in names}
    assert len(packages) == len([line for line in lock_text().splitlines() if "==" in line])
    assert set(image_files()) == {"images/data-quality/Dockerfile", "images/data-quality/requirements.txt"}


def test_data_quality_needs_the_store_and_the_pushgateway() -> None:
    with pytest.raises(SpecError) as err:
        spec_from_dict({"name": "demo", "phases": {
            "foundation": {"data_quality": {"enabled": True}, "object_store": {"enabled": False},
                           "mlflow": {"enabled": False}, "feast": {"enabled": False}},
            "serving": {"prometheus": {"pushgateway": False}, "evidently": {"enabled": False}}}})
    text = str(err.value)
    assert "phases.foundation.data_quality.enabled: the checks read datasets from the object store" in text
    assert ".pushgateway to true, or disable data_quality" in text


# --- the lineage server ------------------------------------------------------------------------------

def test_lineage_server_config_holds_no_password_and_keeps_events_on_postgres() -> None:
    db = PostgresDatabase(host="postgres.omgml-data.svc.cluster.local", port=5432, database="lineage",
                          username="lineage", password="never-rendered",
                          secret="postgres-lineage-db", password_ref=SecretKeyRef("postgres-lineage-db", "password"))
    args = lineage_component.LineageArgs(namespace="omgml-data", database=db, retention_days=0)
    text = lineage_component.server_config_yaml(args)
    assert "never-rendered" not in text
    config = yaml.safe_load(text)
    consumer = config["openlineage"]["consumer"]
    assert consumer["enabled"] is True and consumer["retention_days"] == 0
    assert consumer["connection_string"] == ("postgresql+psycopg://lineage:${LINEAGE_DB_PASSWORD}"
                                             "@postgres.omgml-data.svc.cluster.local:5432/lineage")
    assert config["openlineage"]["enabled"] is False  # it receives; it emits nothing itself
    deployment = lineage_component.lineage_deployment(lineage_component.resolve(args))
    container = deployment["template"]["spec"]["containers"][0]
    assert container["command"][5:] == ["serve_lineage", "-h", "0.0.0.0", "-p", "6580"]
    assert container["env"][0]["valueFrom"]["secretKeyRef"] == {"name": "postgres-lineage-db", "key": "password"}
    assert lineage_component.lineage_url("omgml-data") == "http://lineage.omgml-data.svc.cluster.local:6580"
    with pytest.raises(ValueError, match="retention_days: -1 is negative"):
        lineage_component.resolve(lineage_component.LineageArgs(namespace="omgml-data", database=db,
                                                                retention_days=-1))

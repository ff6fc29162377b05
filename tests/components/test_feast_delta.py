"""Feast with Delta Lake tables on the object store (phases.foundation.feast.offline_store: delta)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from omgml.components.feast import (
    CONFIG_FILE,
    DEFAULT_MATERIALIZE_SCHEDULE,
    DELTA_MARKER,
    Feast,
    FeastArgs,
    delta_table_prefixes,
    feature_store_yaml,
    resolve,
)
from omgml.components.objectstore import ObjectStore, ObjectStoreArgs
from omgml.components.postgres import Postgres, PostgresArgs, PostgresConsumer
from omgml.components.redis import Redis, RedisArgs
from tests.components.test_feast import BUCKET, NS, fake_args
from tests.synth_helpers import assert_valid, containers, find, one, pod_spec, synth_manifests


def delta(**kw: Any) -> FeastArgs:
    return fake_args(**{"offline_store": "delta", "delta_tables": ("customers", "orders"), **kw})


def rendered(*, online: bool, **kw: Any) -> list[dict[str, Any]]:
    def program() -> None:
        pg = Postgres("pg", PostgresArgs(namespace=NS, storage_gib=1, profile="laptop",
                                         consumers=(PostgresConsumer("feast", NS),)))
        redis = Redis("redis", RedisArgs(namespace=NS, storage_gib=1, profile="laptop")) if online else None
        store = ObjectStore("os", ObjectStoreArgs(namespace=NS, buckets={"features": BUCKET}))
        Feast("feast", FeastArgs(namespace=NS, registry=pg.databases["feast"],
                                 online=redis.endpoint if redis else None, store=store.endpoint,
                                 offline_bucket=BUCKET, project="demo", offline_store="delta",
                                 delta_tables=("customers", "orders"), **kw))
    return synth_manifests(program)


def test_delta_uses_feasts_duckdb_store_and_file_stays_dask() -> None:
    assert yaml.safe_load(feature_store_yaml(delta()))["offline_store"] == {"type": "duckdb"}
    assert yaml.safe_load(feature_store_yaml(fake_args()))["offline_store"] == {"type": "file"}


def test_table_locations_are_one_prefix_per_table_under_delta() -> None:
    assert delta_table_prefixes(delta()) == [f"delta/customers/{DELTA_MARKER}", f"delta/orders/{DELTA_MARKER}"]
    # A marker object, never a fake transaction log.
    assert not any("_delta_log" in p for p in delta_table_prefixes(delta()))


def test_delta_platform_renders_valid_with_the_tables_job_and_cronjob() -> None:
    items = rendered(online=True)
    assert_valid(items)
    cfg = yaml.safe_load(one(items, "ConfigMap", "feast-config")["data"][CONFIG_FILE])
    assert cfg["offline_store"]["type"] == "duckdb"
    server_env = {e["name"]: e for e in pod_spec(one(items, "Deployment", "feast"))["containers"][0]["env"]}
    assert server_env["FEAST_DELTA_URI"]["value"] == f"s3://{BUCKET}/delta/"
    (job,) = [j for j in find(items, "Job") if j["metadata"]["name"].startswith("feast-delta-tables-")]
    env = {e["name"]: e for e in containers(job)[0]["env"]}
    assert env["FEAST_DELTA_MARKERS"]["value"].split() == delta_table_prefixes(delta())
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "AWS_SECRET_ACCESS_KEY"
    cron = one(items, "CronJob", "feast-materialize")
    assert cron["spec"]["schedule"] == DEFAULT_MATERIALIZE_SCHEDULE == "0 * * * *"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    (c,) = containers(cron)
    assert "materialize-incremental" in c["command"][2] and "readinessProbe" in c and "livenessProbe" in c
    assert {e["name"] for e in c["env"]} >= {"FEAST_REDIS_PASSWORD", "FEAST_REGISTRY_PASSWORD", "AWS_ACCESS_KEY_ID"}


def test_without_an_online_store_there_is_nothing_to_materialize() -> None:
    items = rendered(online=False)
    assert_valid(items)
    assert not find(items, "CronJob")
    assert [j for j in find(items, "Job") if j["metadata"]["name"].startswith("feast-delta-tables-")]


def test_duckdb_readers_may_fetch_its_extensions_over_https_only() -> None:
    items = rendered(online=True, materialize_schedule="*/30 * * * *")
    assert one(items, "CronJob", "feast-materialize")["spec"]["schedule"] == "*/30 * * * *"
    policy = one(items, "NetworkPolicy", "feast-reader-egress")["spec"]
    assert policy["egress"][0]["ports"] == [{"protocol": "TCP", "port": 443}]
    cron_labels = one(items, "CronJob", "feast-materialize")["spec"]["jobTemplate"]["spec"]["template"]["metadata"][
        "labels"]
    for expr in policy["podSelector"]["matchExpressions"]:
        assert cron_labels[expr["key"]] in expr["values"]


def test_the_file_store_keeps_its_render() -> None:
    def program() -> None:
        pg = Postgres("pg", PostgresArgs(namespace=NS, storage_gib=1, profile="laptop",
                                         consumers=(PostgresConsumer("feast", NS),)))
        store = ObjectStore("os", ObjectStoreArgs(namespace=NS, buckets={"features": BUCKET}))
        Feast("feast", FeastArgs(namespace=NS, registry=pg.databases["feast"], online=None, store=store.endpoint,
                                 offline_bucket=BUCKET, project="demo"))
    items = synth_manifests(program)
    assert not find(items, "CronJob") and not find(items, "NetworkPolicy", "feast-reader-egress")
    assert not [j for j in find(items, "Job") if "delta" in j["metadata"]["name"]]


@pytest.mark.parametrize(("kw", "field"), [
    ({"delta_tables": ("Bad Table",)}, "FeastArgs.delta_tables[0]"),
    ({"materialize_schedule": "hourly"}, "FeastArgs.materialize_schedule"),
    ({"offline_store": "file"}, "FeastArgs.delta_tables"),
])
def test_bad_delta_args_name_the_field(kw: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=re.escape(field)):
        resolve(delta(**kw))

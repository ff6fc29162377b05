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
    DUCKDB_SECRET,
    DUCKDB_SETUP_SCRIPT,
    Feast,
    FeastArgs,
    delta_table_prefixes,
    duckdb_setup_env,
    feature_store_yaml,
)
from omgml.components.objectstore import ObjectStore, ObjectStoreArgs
from omgml.components.postgres import Postgres, PostgresArgs, PostgresConsumer
from omgml.components.redis import Redis, RedisArgs
from omgml.spec.foundation import FeatureRepoSpec
from omgml.synth.engine import SynthResult
from omgml.synth.manifests import manifests
from tests.components.manifest_checks import assert_component_sound, env_of
from tests.components.test_feast import BUCKET, NS, fake_args
from tests.synth_helpers import assert_valid, containers, find, one, pod_spec, synth, synth_manifests


def delta(**kw: Any) -> FeastArgs:
    return fake_args(**{"offline_store": "delta", "delta_tables": ("customers", "orders"), **kw})


def rendered(*, online: bool, **kw: Any) -> list[dict[str, Any]]:
    return manifests(synthesized(online=online, **kw))


def synthesized(*, online: bool, **kw: Any) -> SynthResult:
    def program() -> None:
        pg = Postgres("pg", PostgresArgs(namespace=NS, storage_gib=1, profile="laptop",
                                         consumers=(PostgresConsumer("feast", NS),)))
        redis = Redis("redis", RedisArgs(namespace=NS, storage_gib=1, profile="laptop")) if online else None
        store = ObjectStore("os", ObjectStoreArgs(namespace=NS, buckets={"features": BUCKET}))
        Feast("feast", FeastArgs(namespace=NS, registry=pg.databases["feast"],
                                 online=redis.endpoint if redis else None, store=store.endpoint,
                                 offline_bucket=BUCKET, project="demo", offline_store="delta",
                                 delta_tables=("customers", "orders"), **kw))
    return synth(program)


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
    (c,) = containers(cron, init=False)
    assert "materialize-incremental" in c["command"][2] and "readinessProbe" in c and "livenessProbe" in c
    assert {e["name"] for e in c["env"]} >= {"FEAST_REDIS_PASSWORD", "FEAST_REGISTRY_PASSWORD", "AWS_ACCESS_KEY_ID"}


def test_without_an_online_store_there_is_nothing_to_materialize() -> None:
    items = rendered(online=False)
    assert_valid(items)
    assert not find(items, "CronJob")
    assert [j for j in find(items, "Job") if j["metadata"]["name"].startswith("feast-delta-tables-")]


def test_duckdb_readers_may_fetch_its_extensions_over_http_and_https() -> None:
    items = rendered(online=True, materialize_schedule="*/30 * * * *", feature_repo=REPO)
    assert one(items, "CronJob", "feast-materialize")["spec"]["schedule"] == "*/30 * * * *"
    policy = one(items, "NetworkPolicy", "feast-reader-egress")["spec"]
    # httpfs comes over plain HTTP (DuckDB's core installer has no TLS), delta over HTTPS.
    assert policy["egress"][0]["ports"] == [{"protocol": "TCP", "port": 80}, {"protocol": "TCP", "port": 443}]
    assert all(b["ipBlock"]["cidr"] == "0.0.0.0/0" and "10.0.0.0/8" in b["ipBlock"]["except"]
               for b in policy["egress"][0]["to"])

    def selected(workload: dict[str, Any]) -> bool:
        labels = template_labels(workload)
        return all(labels.get(e["key"]) in e["values"] for e in policy["podSelector"]["matchExpressions"])

    # Exactly the pods that run duckdb-setup: the server and the materialize runs.
    for w in feast_workloads(items):
        assert selected(w) == has_duckdb_setup(w), w["metadata"]["name"]
    assert selected(one(items, "Deployment", "feast")) and selected(one(items, "CronJob", "feast-materialize"))


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


# --- DuckDB secret for the object store (delta_scan reads S3 only through a DuckDB secret) -----

REPO = FeatureRepoSpec(git_url="https://github.com/example/features.git", ref="v1", path=".")
IN_CLUSTER = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t", "AWS_DEFAULT_REGION": "us-east-1",
              "AWS_ENDPOINT_URL": f"http://objectstore.{NS}.svc.cluster.local:8333", "HOME": "/tmp"}


def s3_secret_sql(env: dict[str, str]) -> str:
    """The SQL the duckdb-setup container runs, from the very script the pods run."""
    namespace: dict[str, Any] = {"__name__": "duckdb_setup"}  # not __main__: define, don't run
    exec(DUCKDB_SETUP_SCRIPT, namespace)
    return str(namespace["s3_secret_sql"](env))


def secret_options(sql: str) -> dict[str, str]:
    m = re.fullmatch(rf"CREATE OR REPLACE PERSISTENT SECRET {DUCKDB_SECRET} \((.*)\)", sql)
    assert m, sql
    name_value = [o.split(" ", 1) for o in m.group(1).split(", ")]
    return {name: value for name, value in name_value}


def template_labels(workload: dict[str, Any]) -> dict[str, str]:
    spec = workload["spec"]["jobTemplate"]["spec"] if workload["kind"] == "CronJob" else workload["spec"]
    return dict(spec["template"]["metadata"]["labels"])


def feast_workloads(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [w for kind in ("Deployment", "Job", "CronJob") for w in find(items, kind)
            if w["metadata"]["labels"].get("app.kubernetes.io/name") == "feast"]


def has_duckdb_setup(workload: dict[str, Any]) -> bool:
    return any(c["name"] == "duckdb-setup" for c in pod_spec(workload).get("initContainers", []))


def test_secret_points_duckdb_at_the_in_cluster_store_path_style_without_tls() -> None:
    opts = secret_options(s3_secret_sql(IN_CLUSTER))
    assert opts == {
        "TYPE": "s3", "PROVIDER": "config", "KEY_ID": "'AKIDEXAMPLE'", "SECRET": "'s3cr3t'", "REGION": "'us-east-1'",
        # host:port only: the delta extension prefixes http:// (and allows HTTP) from USE_SSL false.
        "ENDPOINT": f"'objectstore.{NS}.svc.cluster.local:8333'", "URL_STYLE": "'path'", "USE_SSL": "false",
    }


def test_secret_for_an_https_endpoint_keeps_tls_and_aws_s3_keeps_duckdbs_defaults() -> None:
    https = secret_options(s3_secret_sql({**IN_CLUSTER, "AWS_ENDPOINT_URL": "https://s3.example.org"}))
    assert (https["ENDPOINT"], https["USE_SSL"]) == ("'s3.example.org'", "true")
    # AWS S3 with static keys: no endpoint, so DuckDB's AWS endpoint and virtual-hosted style.
    aws = secret_options(s3_secret_sql({**IN_CLUSTER, "AWS_ENDPOINT_URL": "", "AWS_DEFAULT_REGION": "eu-west-1"}))
    assert aws.keys() == {"TYPE", "PROVIDER", "KEY_ID", "SECRET", "REGION"} and aws["REGION"] == "'eu-west-1'"


def test_secret_values_are_sql_quoted() -> None:
    opts = secret_options(s3_secret_sql({**IN_CLUSTER, "AWS_SECRET_ACCESS_KEY": "a'b"}))
    assert opts["SECRET"] == "'a''b'"


@pytest.mark.parametrize(("env", "message"), [
    ({"AWS_ACCESS_KEY_ID": ""}, "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are empty"),
    ({"AWS_SECRET_ACCESS_KEY": ""}, "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are empty"),
    ({"AWS_ENDPOINT_URL": "objectstore:8333"}, "is not http(s)://host[:port]"),
    ({"AWS_ENDPOINT_URL": "http://objectstore:8333/bucket"}, "is not http(s)://host[:port]"),
])
def test_the_setup_fails_loudly_without_keys_or_with_an_odd_endpoint(env: dict[str, str], message: str) -> None:
    with pytest.raises(SystemExit, match=re.escape(message)):
        s3_secret_sql({**IN_CLUSTER, **env})


def test_setup_env_holds_key_references_and_no_other_credential() -> None:
    env = {e["name"]: e for e in duckdb_setup_env(delta())}
    assert env.keys() == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "HOME"}
    assert "secretKeyRef" in env["AWS_ACCESS_KEY_ID"]["valueFrom"]
    assert "secretKeyRef" in env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]


def test_delta_readers_write_the_duckdb_secret_before_feast_starts() -> None:
    result = synthesized(online=True, feature_repo=REPO)
    items = manifests(result)
    assert_component_sound(items)  # key env by secretKeyRef, no generated value in any manifest
    endpoint = one(items, "Service", "objectstore")["metadata"]["name"]
    readers = [one(items, "Deployment", "feast"), one(items, "CronJob", "feast-materialize")]
    for w in readers:
        ps = pod_spec(w)
        [setup] = ps["initContainers"]
        [main] = ps["containers"]
        assert setup["name"] == "duckdb-setup" and setup["command"] == ["python", "-c", DUCKDB_SETUP_SCRIPT]
        assert setup["image"] == main["image"]  # the Feast image's duckdb writes what Feast's duckdb reads
        setup_env, main_env = env_of(setup), env_of(main)
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            assert setup_env[key] == main_env[key] and setup_env[key]["secretKeyRef"]["key"] == key
        assert setup_env["AWS_ENDPOINT_URL"] == main_env["AWS_ENDPOINT_URL"] == f"http://{endpoint}.{NS}.svc.cluster.local:8333"
        # DuckDB keeps secrets and extensions under $HOME/.duckdb: the same emptyDir, at the same HOME.
        home = setup_env["HOME"]
        assert main_env["HOME"] == home
        work = {m["mountPath"]: m["name"] for m in setup["volumeMounts"]}[home]
        assert {m["mountPath"]: m["name"] for m in main["volumeMounts"]}[home] == work
        assert "emptyDir" in next(v for v in ps["volumes"] if v["name"] == work)
        assert setup["securityContext"]["readOnlyRootFilesystem"] is True
        assert {"cpu", "memory"} <= setup["resources"]["limits"].keys()
    # Writers only (boto3 markers, `feast apply`) need no DuckDB secret.
    others = [w for w in feast_workloads(items) if w not in readers]
    assert len(others) == 2 and not any(has_duckdb_setup(w) for w in others)
    # The extensions are fetched at pod start: the egress exists before those pods.
    by_name = {r.name: r for r in result.resources}
    egress = by_name["feast-reader-egress"].urn
    assert egress in by_name["feast-server"].dependencies and egress in by_name["feast-materialize"].dependencies


def test_the_file_store_runs_no_duckdb_setup() -> None:
    def program() -> None:
        pg = Postgres("pg", PostgresArgs(namespace=NS, storage_gib=1, profile="laptop",
                                         consumers=(PostgresConsumer("feast", NS),)))
        redis = Redis("redis", RedisArgs(namespace=NS, storage_gib=1, profile="laptop"))
        store = ObjectStore("os", ObjectStoreArgs(namespace=NS, buckets={"features": BUCKET}))
        Feast("feast", FeastArgs(namespace=NS, registry=pg.databases["feast"], online=redis.endpoint,
                                 store=store.endpoint, offline_bucket=BUCKET, project="demo",
                                 materialize_schedule="0 * * * *"))
    items = synth_manifests(program)
    assert one(items, "CronJob", "feast-materialize")
    assert not any(has_duckdb_setup(w) for w in feast_workloads(items))
    assert "initContainers" not in pod_spec(one(items, "Deployment", "feast"))

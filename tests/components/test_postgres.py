"""Postgres: server StatefulSet, per-consumer databases/roles, credentials in consumer namespaces."""

from __future__ import annotations

import asyncio
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from omgml.components.credentials import secret_checksum
from omgml.components.postgres import (
    DATA_MOUNT,
    IMAGE,
    PGDATA,
    PORT,
    Postgres,
    PostgresArgs,
    PostgresConsumer,
    pg_identifier,
    provision_sql,
    resolve_consumers,
)
from omgml.spec.common import Profile
from omgml.synth.manifests import manifests
from tests.components.manifest_checks import (
    assert_sized_by_profile,
    env_of,
)
from tests.synth_helpers import find, one, pod_spec, synth, synth_built

DATA_NS = "omgml-data"
TRACKING_NS = "omgml-tracking"
CONSUMERS = (PostgresConsumer("mlflow", TRACKING_NS), PostgresConsumer("feast", DATA_NS))


def pg_args(profile: Profile = "laptop", consumers: tuple[PostgresConsumer, ...] = CONSUMERS,
            **kw: Any) -> PostgresArgs:
    return PostgresArgs(namespace=kw.pop("namespace", DATA_NS), storage_gib=kw.pop("storage_gib", 10),
                        profile=profile, consumers=consumers, **kw)


def render(args: PostgresArgs) -> tuple[list[dict[str, Any]], Postgres, Any]:
    return synth_built(lambda: Postgres("pg", args))


# --- pure ---------------------------------------------------------------------------------


def test_consumer_names_become_database_and_role_names() -> None:
    resolved = resolve_consumers(pg_args(consumers=(PostgresConsumer("feast-registry", DATA_NS),)))
    assert resolved[0].database == "feast_registry" == pg_identifier("feast-registry")
    assert resolved[0].secret == "postgres-feast-registry-db"
    assert resolved[0].password_env == "OMGML_PASSWORD_FEAST_REGISTRY"


@pytest.mark.parametrize(("consumers", "message"), [
    ((PostgresConsumer("MLflow", DATA_NS),), r"consumers\[0\]\.name='MLflow'"),
    ((PostgresConsumer("postgres", DATA_NS),), "reserved"),
    ((PostgresConsumer("a-b", DATA_NS), PostgresConsumer("a_b", DATA_NS)), r"consumers\[1\].*distinct name"),
    ((PostgresConsumer("mlflow", "Bad_NS"),), r"consumers\[0\]\.namespace"),
])
def test_bad_consumers_are_refused_with_the_field(consumers: tuple[PostgresConsumer, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_consumers(pg_args(consumers=consumers))


def test_provision_sql_is_idempotent_and_holds_no_password() -> None:
    sql = provision_sql(resolve_consumers(pg_args()))
    for db in ("mlflow", "feast"):
        # Creation only when missing; \gexec runs the generated statement.
        assert f"WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = '{db}')\n\\gexec" in sql
        assert f"WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = '{db}')\n\\gexec" in sql
        assert f"CREATE DATABASE %I OWNER %I', '{db}', '{db}'" in sql
        # The password is (re)applied every run from the environment, so rotation works.
        assert f"\\getenv omgml_password OMGML_PASSWORD_{db.upper()}" in sql
        assert f"ALTER ROLE \"{db}\" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'omgml_password';" in sql
        assert f"REVOKE CONNECT, TEMPORARY ON DATABASE \"{db}\" FROM PUBLIC;" in sql
    assert "CREATE ROLE mlflow" not in sql  # never an unguarded CREATE


# --- synth --------------------------------------------------------------------------------


def test_server_statefulset() -> None:
    items, _, _ = render(pg_args())
    sts = one(items, "StatefulSet", "postgres")
    assert sts["spec"]["replicas"] == 1
    ps = pod_spec(sts)
    c = ps["containers"][0]
    assert c["image"] == IMAGE
    env = env_of(c)
    assert env["PGDATA"] == PGDATA and PGDATA.startswith(DATA_MOUNT + "/")
    assert env["POSTGRES_PASSWORD"] == {"secretKeyRef": {"name": "postgres-superuser", "key": "password"}}
    assert {"name": "data", "mountPath": DATA_MOUNT} in c["volumeMounts"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert {m["mountPath"] for m in c["volumeMounts"]} >= {"/var/run/postgresql", "/tmp"}
    assert ps["securityContext"]["runAsUser"] == 70 and ps["securityContext"]["fsGroup"] == 70
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["exec"]["command"][0] == "pg_isready"
    vct = sts["spec"]["volumeClaimTemplates"][0]
    assert vct["metadata"]["name"] == "data"
    assert vct["spec"]["resources"]["requests"]["storage"] == "10Gi"
    svc = one(items, "Service", "postgres")
    assert svc["spec"]["ports"][0]["port"] == PORT and svc["spec"]["type"] == "ClusterIP"
    assert one(items, "Service", "postgres-headless")["spec"]["clusterIP"] == "None"


def test_consumer_credentials_land_in_the_consumer_namespaces() -> None:
    items, _, _ = render(pg_args())
    want = {"host", "port", "database", "username", "password"}
    mlflow = [s for s in find(items, "Secret", "postgres-mlflow-db")]
    assert {s["metadata"]["namespace"] for s in mlflow} == {DATA_NS, TRACKING_NS}
    for s in mlflow:
        assert set(s["stringData"]) == want
    # feast lives in the Postgres namespace: one Secret, no copy.
    feast = find(items, "Secret", "postgres-feast-db")
    assert [s["metadata"]["namespace"] for s in feast] == [DATA_NS]
    assert set(feast[0]["stringData"]) == want


def test_component_exposes_the_databases_it_created() -> None:
    _, pg, _ = render(pg_args())
    assert pg.service_host == f"postgres.{DATA_NS}.svc.cluster.local"
    assert pg.port == PORT
    assert set(pg.databases) == {"mlflow", "feast"}
    db = pg.databases["mlflow"]
    assert (db.host, db.port, db.database, db.username) == (pg.service_host, PORT, "mlflow", "mlflow")
    assert db.secret == "postgres-mlflow-db"
    assert (db.password_ref.secret_name, db.password_ref.key) == ("postgres-mlflow-db", "password")


def test_provision_job_reads_every_password_from_secrets() -> None:
    items, _, _ = render(pg_args())
    job = one(items, "Job", "postgres-provision")
    c = pod_spec(job)["containers"][0]
    env = env_of(c)
    assert env["PGHOST"] == f"postgres.{DATA_NS}.svc.cluster.local"
    assert env["PGPASSWORD"] == {"secretKeyRef": {"name": "postgres-superuser", "key": "password"}}
    assert env["OMGML_PASSWORD_MLFLOW"] == {"secretKeyRef": {"name": "postgres-mlflow-db", "key": "password"}}
    assert env["OMGML_PASSWORD_FEAST"] == {"secretKeyRef": {"name": "postgres-feast-db", "key": "password"}}
    assert "pg_isready" in c["command"][-1] and "psql" in c["command"][-1]
    # A digest of the passwords in the template: a rotated password replaces (re-runs) the Job.
    checksum = job["spec"]["template"]["metadata"]["annotations"]["omgml.dev/rotation-checksum"]
    assert len(checksum) == 16 and "secret" not in checksum


def test_no_consumers_means_no_provision_job() -> None:
    items, pg, _ = render(pg_args(consumers=()))
    assert not find(items, "Job") and pg.databases == {}
    assert not find(items, "NetworkPolicy")


def test_network_policy_admits_only_consumer_namespaces() -> None:
    items, _, _ = render(pg_args())
    pol = one(items, "NetworkPolicy", "postgres-allow-consumers")
    rule = pol["spec"]["ingress"][0]
    peers = [p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in rule["from"]]
    assert peers == [TRACKING_NS]
    assert rule["ports"] == [{"port": PORT, "protocol": "TCP"}]
    sts = one(items, "StatefulSet", "postgres")
    assert pol["spec"]["podSelector"]["matchLabels"] == sts["spec"]["selector"]["matchLabels"]


def test_credentials_checksum_follows_the_password() -> None:
    def program() -> None:
        pulumi.export("a", secret_checksum(pulumi.Output.secret("one")))
        pulumi.export("a2", secret_checksum(pulumi.Output.secret("one")))
        pulumi.export("b", secret_checksum(pulumi.Output.secret("two")))

    exports = synth(program).exports
    assert exports["a"] == exports["a2"] != exports["b"]


def test_data_is_protected_outside_the_laptop() -> None:
    cases: list[tuple[Profile, bool]] = [("laptop", False), ("small", True), ("production", True)]
    for profile, guarded in cases:
        _, _, result = render(pg_args(profile))
        sts = next(r for r in result.resources if r.type == "kubernetes:apps/v1:StatefulSet")
        assert (sts.protect, sts.retain_on_delete) == (guarded, guarded), profile
        assert "spec.volumeClaimTemplates" in sts.ignore_changes
        policy = manifests(result)
        retention = one(policy, "StatefulSet")["spec"]["persistentVolumeClaimRetentionPolicy"]
        assert retention["whenDeleted"] == ("Retain" if guarded else "Delete")


def test_routine_settings_leave_force_new_fields_alone() -> None:
    a = one(render(pg_args("laptop", storage_gib=10))[0], "StatefulSet")["spec"]
    b = one(render(pg_args("production", storage_gib=50))[0], "StatefulSet")["spec"]
    for field in ("serviceName", "selector", "podManagementPolicy", "revisionHistoryLimit"):
        assert a.get(field) == b.get(field), field


def test_laptop_and_production_sizing_differ() -> None:
    assert_sized_by_profile(lambda profile: render(pg_args(profile))[0], "StatefulSet", ("100m", "256Mi"))


def test_children_wait_for_what_the_component_waits_for() -> None:
    # The blueprint passes depends_on=[namespaces]; the children are registered (created) only
    # after it, through their parent (components/options.py), not by a copy of depends_on.
    def program() -> None:
        slow = k8s.core.v1.ConfigMap("slow", metadata={"name": "slow", "namespace": DATA_NS},
                                     data={"k": pulumi.Output.from_input(asyncio.sleep(0.2, result="v"))})
        Postgres("pg", pg_args(), pulumi.ResourceOptions(depends_on=[slow]))
        k8s.core.v1.ConfigMap("free", metadata={"name": "free", "namespace": DATA_NS})

    order = [r.name for r in synth(program).resources]
    assert order.index("free") < order.index("slow")  # the delay is real: unrelated work goes first
    children = [n for n in order if n.startswith("pg-")]
    assert children and all(order.index(c) > order.index("slow") for c in children)

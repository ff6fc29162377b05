"""Airflow 3 (KubernetesExecutor) and the connection bundle for an existing Airflow."""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi
import pytest
import yaml

from omgml.components.airflow import (
    API_PORT,
    GID,
    IMAGE,
    SQL_ALCHEMY_CONN,
    UID,
    Airflow,
    AirflowArgs,
    AirflowConnections,
    AirflowConnectionsArgs,
    GitDags,
    PvcDags,
    s3_consumers,
    scheduler_role_rules,
)
from omgml.components.objectstore import ObjectStore, ObjectStoreArgs
from omgml.components.postgres import Postgres, PostgresArgs, PostgresConsumer
from omgml.components.redis import Redis, RedisArgs
from omgml.k8s import ROLE_ARN_ANNOTATION
from omgml.synth.manifests import manifests
from tests.components import manifest_checks as checks
from tests.components.orchestration_wiring import DATA, MLFLOW, ORCH, S3, STORE
from tests.synth_helpers import assert_valid, containers, find, one, pod_spec, synth, synth_manifests

PARTS = ("api-server", "scheduler", "dag-processor", "triggerer")
ARNS = {"airflow-api-server": "arn:aws:iam::123456789012:role/demo-airflow-api-server",
        "airflow-triggerer": "arn:aws:iam::123456789012:role/demo-airflow-triggerer",
        "airflow-worker": "arn:aws:iam::123456789012:role/demo-airflow-worker"}
# Any of these in a container means the pod is configured to open the object store.
STORE_VARS = {*checks.S3_KEY_VARS, "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ENDPOINT_URL", "AIRFLOW_CONN_OBJECT_STORE"}


def args(**kw: Any) -> AirflowArgs:
    base: dict[str, Any] = {"namespace": ORCH, "database_secret": "postgres-airflow-db", "store": STORE,
                            "mlflow_tracking_uri": MLFLOW, "logs_bucket": "demo-pipelines"}
    return AirflowArgs(**{**base, **kw})


def wired(dags: GitDags | PvcDags | None = None, **kw: Any) -> list[dict[str, Any]]:
    """Airflow on a real Postgres consumer whose Secret lands in the orchestration namespace."""
    def program() -> None:
        pg = Postgres("pg", PostgresArgs(namespace=DATA, storage_gib=1, profile="laptop",
                                         consumers=(PostgresConsumer("airflow", ORCH),)))
        Airflow("airflow", args(database_secret=pg.databases["airflow"].secret, dags=dags or PvcDags(), **kw))
    return synth_manifests(program)


def on_s3(dags: GitDags | PvcDags | None = None) -> list[dict[str, Any]]:
    """Airflow as the training phase builds it on aws with a managed store (IRSA)."""
    return wired(dags, store=S3, irsa_role_arns=ARNS)



def template_of(items: list[dict[str, Any]], instance: str = "airflow") -> dict[str, Any]:
    return dict(yaml.safe_load(one(items, "ConfigMap", f"{instance}-pod-template")["data"]["pod_template.yaml"]))


def test_renders_valid_manifests_with_the_four_airflow3_parts_and_a_migrate_job() -> None:
    items = wired()
    assert_valid(items)
    for part in PARTS:
        one(items, "Deployment", f"airflow-{part}")
    (job,) = [j for j in find(items, "Job") if j["metadata"]["name"].startswith("airflow-migrate-")]
    assert containers(job)[0]["command"] == ["airflow", "db", "migrate"]
    assert job["metadata"]["annotations"]["pulumi.com/replaceUnready"] == "true"


def test_uses_the_shared_postgres_through_its_own_generated_credentials() -> None:
    items = wired()
    # One copy beside Postgres (for its provisioning Job), one in Airflow's namespace.
    (consumer,) = [m for m in find(items, "Secret", "postgres-airflow-db") if m["metadata"]["namespace"] == ORCH]
    assert set(consumer["stringData"]) == {"host", "port", "database", "username", "password"}
    for part in PARTS:
        c = containers(one(items, "Deployment", f"airflow-{part}"), init=False)[0]
        env = checks.env_entries(c)
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]["value"] == SQL_ALCHEMY_CONN
        for var in ("AIRFLOW_DB_PASSWORD", "AIRFLOW_DB_USER", "AIRFLOW_DB_HOST"):
            assert env[var]["valueFrom"]["secretKeyRef"]["name"] == "postgres-airflow-db"
        # The URL refers only to variables defined before it (Kubernetes expands $(VAR) in order).
        names = [e["name"] for e in c["env"]]
        for ref in re.findall(r"\$\((\w+)\)", SQL_ALCHEMY_CONN):
            assert names.index(ref) < names.index("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")


def test_no_generated_value_appears_in_the_manifests() -> None:
    items = wired()
    assert not re.search(r"mock[0-9a-f]{6,}", json.dumps(items))
    secret = one(items, "Secret", "airflow-secrets")
    assert set(secret["stringData"]) == {"admin-password", "jwt-secret", "api-secret-key", "fernet-key"}


def test_every_part_shares_jwt_and_fernet_from_the_secret() -> None:
    items = wired()
    for part in PARTS:
        env = checks.env_entries(containers(one(items, "Deployment", f"airflow-{part}"), init=False)[0])
        for var, key in (("AIRFLOW__API_AUTH__JWT_SECRET", "jwt-secret"), ("AIRFLOW__CORE__FERNET_KEY", "fernet-key")):
            assert env[var]["valueFrom"]["secretKeyRef"] == {"name": "airflow-secrets", "key": key}
        assert env["AIRFLOW__CORE__EXECUTOR"]["value"] == "KubernetesExecutor"


def test_admin_password_reaches_only_the_api_server_and_never_a_command_line() -> None:
    items = wired()
    api = containers(one(items, "Deployment", "airflow-api-server"), init=False)[0]
    assert checks.env_entries(api)["AIRFLOW_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "admin-password"
    assert '"$AIRFLOW_ADMIN_PASSWORD"' in api["command"][2] and api["command"][2].endswith(
        f"exec airflow api-server --port {API_PORT}")
    for part in ("scheduler", "dag-processor", "triggerer"):
        assert "AIRFLOW_ADMIN_PASSWORD" not in checks.env_entries(containers(one(items, "Deployment", f"airflow-{part}"))[0])


def test_scheduler_rbac_is_namespaced_and_minimal() -> None:
    items = wired()
    assert not find(items, "ClusterRole") and not find(items, "ClusterRoleBinding")
    role = one(items, "Role", "airflow-scheduler")
    assert role["metadata"]["namespace"] == ORCH
    verbs = {(r["resources"][0]): r["verbs"] for r in role["rules"]}
    assert verbs == {"pods": ["create", "delete", "get", "list", "patch", "watch"], "pods/log": ["get"],
                     "events": ["list"]}
    assert role["rules"] == scheduler_role_rules()
    binding = one(items, "RoleBinding", "airflow-scheduler")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "airflow-scheduler", "namespace": ORCH}]
    assert binding["roleRef"]["kind"] == "Role"
    # Only the scheduler gets an API token.
    for part in PARTS:
        ps = pod_spec(one(items, "Deployment", f"airflow-{part}"))
        assert ps["automountServiceAccountToken"] is (part == "scheduler")
        assert ps["serviceAccountName"] == f"airflow-{part}"


def test_every_container_is_restricted_sized_and_probed() -> None:
    items = wired(GitDags("https://github.com/example/dags", path="dags"))
    for part in PARTS:
        dep = one(items, "Deployment", f"airflow-{part}")
        ps = pod_spec(dep)
        assert ps["securityContext"]["runAsUser"] == UID and ps["securityContext"]["runAsGroup"] == GID
        assert ps["enableServiceLinks"] is False
        for c in containers(dep):
            assert c["securityContext"]["readOnlyRootFilesystem"] is True
            assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
            assert set(c["resources"]) == {"requests", "limits"}
        for c in containers(dep, init=False):
            assert "readinessProbe" in c and "livenessProbe" in c, (part, c["name"])
    api = containers(one(items, "Deployment", "airflow-api-server"), init=False)[0]
    assert api["readinessProbe"]["httpGet"]["path"] == "/api/v2/monitor/health"
    sched = containers(one(items, "Deployment", "airflow-scheduler"), init=False)[0]
    assert sched["livenessProbe"]["exec"]["command"] == ["airflow", "jobs", "check", "--job-type", "SchedulerJob",
                                                         "--local"]


def test_service_targets_the_api_server_port() -> None:
    items = wired()
    svc = one(items, "Service", "airflow-api-server")
    dep = one(items, "Deployment", "airflow-api-server")
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["selector"].items() <= dep["spec"]["template"]["metadata"]["labels"].items()
    ports = {p["name"] for c in containers(dep) for p in c.get("ports", [])}
    assert svc["spec"]["ports"][0]["targetPort"] in ports


def test_task_pods_get_mlflow_and_the_store_but_no_database_and_no_token() -> None:
    items = wired(GitDags("https://github.com/example/dags", ref="v1", path="dags"))
    tpl = template_of(items)
    assert_valid([tpl])
    (base,) = tpl["spec"]["containers"]
    assert base["name"] == "base" and base["image"] == IMAGE
    env = checks.env_entries(base)
    assert env["MLFLOW_TRACKING_URI"]["value"] == MLFLOW
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "objectstore-s3-credentials"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]["value"] == (
        f"http://airflow-api-server.{ORCH}.svc.cluster.local:{API_PORT}/execution/")
    assert json.loads(env["AIRFLOW_CONN_OBJECT_STORE"]["value"])["extra"]["endpoint_url"] == STORE.endpoint_url
    assert not any(k.startswith("AIRFLOW_DB") or "SQL_ALCHEMY" in k for k in env)
    assert "automountServiceAccountToken" not in tpl["spec"]
    sa = one(items, "ServiceAccount", "airflow-worker")
    assert sa["automountServiceAccountToken"] is False
    (sync,) = tpl["spec"]["initContainers"]
    assert "--one-time" in sync["args"] and "--ref=v1" in sync["args"]
    assert env["AIRFLOW__CORE__DAGS_FOLDER"]["value"] == "/opt/airflow/dags/repo/dags"
    # The scheduler reads the template from the mounted ConfigMap.
    sched = one(items, "Deployment", "airflow-scheduler")
    sched_env = checks.env_entries(containers(sched, init=False)[0])
    path = sched_env["AIRFLOW__KUBERNETES_EXECUTOR__POD_TEMPLATE_FILE"]["value"]
    mount = next(m for m in containers(sched, init=False)[0]["volumeMounts"] if m["name"] == "pod-template")
    assert path.startswith(mount["mountPath"] + "/")


def test_git_dags_run_git_sync_beside_the_dag_processor_only() -> None:
    items = wired(GitDags("https://github.com/example/dags"))
    names = [c["name"] for c in containers(one(items, "Deployment", "airflow-dag-processor"), init=False)]
    assert names == ["dag-processor", "git-sync"]
    assert not find(items, "PersistentVolumeClaim")
    for part in ("api-server", "scheduler", "triggerer"):
        assert "git-sync" not in [c["name"] for c in containers(one(items, "Deployment", f"airflow-{part}"))]


def test_pvc_dags_mount_one_claim_read_only() -> None:
    items = wired(PvcDags(storage_gib=3))
    pvc = one(items, "PersistentVolumeClaim", "airflow-dags")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "3Gi"
    ps = pod_spec(one(items, "Deployment", "airflow-dag-processor"))
    assert {"name": "dags", "persistentVolumeClaim": {"claimName": "airflow-dags"}} in ps["volumes"]
    mount = next(m for m in ps["containers"][0]["volumeMounts"] if m["name"] == "dags")
    assert mount["readOnly"] is True


# --- the team's existing Airflow ---------------------------------------------------------------------
def bundle(with_redis: bool = True) -> list[dict[str, Any]]:
    def program() -> None:
        store = ObjectStore("os", ObjectStoreArgs(namespace=DATA, storage_gib=1, profile="laptop",
                                                  buckets={"mlflow": "demo-mlflow"}, client_namespaces=(DATA,)))
        redis = Redis("redis", RedisArgs(namespace=DATA, storage_gib=1, max_memory_mib=None, profile="laptop",
                                         client_namespaces=())) if with_redis else None
        AirflowConnections("conn", AirflowConnectionsArgs(
            namespace=DATA, mlflow_tracking_uri=MLFLOW, store=store.endpoint,
            feast_endpoint="http://feast.omgml-data.svc.cluster.local:6566",
            redis=redis.endpoint if redis else None))
    return manifests(synth(program))


def test_connection_bundle_splits_secret_and_plain_values() -> None:
    items = bundle()
    assert_valid(items)
    cm = one(items, "ConfigMap", "airflow-connections")
    assert json.loads(cm["data"]["AIRFLOW_CONN_MLFLOW_DEFAULT"]) == {"conn_type": "http", "host": MLFLOW}
    assert json.loads(cm["data"]["AIRFLOW_CONN_FEAST"])["conn_type"] == "http"
    assert cm["data"]["AWS_ENDPOINT_URL"].startswith("http://objectstore.")
    secret = one(items, "Secret", "airflow-connections")
    assert set(secret["stringData"]) == {"AIRFLOW_CONN_OBJECT_STORE", "AIRFLOW_CONN_REDIS_DEFAULT",
                                         "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    assert not any(k.startswith("AIRFLOW_CONN_OBJECT") for k in cm["data"])
    assert not re.search(r"mock[0-9a-f]{6,}", json.dumps(items))
    assert not find(items, "Deployment", "airflow-api-server")


def test_connection_bundle_on_s3_hands_out_no_keys() -> None:
    from omgml.components.contracts import ObjectStoreEndpoint, SecretKeyRef

    def program() -> None:
        empty = pulumi.Output.secret("")
        s3 = ObjectStoreEndpoint(endpoint_url="", region="eu-west-1", access_key_ref=SecretKeyRef("s", "a"),
                                 secret_key_ref=SecretKeyRef("s", "b"), access_key=empty, secret_key=empty,
                                 buckets={"mlflow": "demo-mlflow"}, static_keys=False)
        AirflowConnections("conn", AirflowConnectionsArgs(namespace=DATA, mlflow_tracking_uri=MLFLOW, store=s3))
    items = manifests(synth(program))
    cm = one(items, "ConfigMap", "airflow-connections")
    assert json.loads(cm["data"]["AIRFLOW_CONN_OBJECT_STORE"]) == {"conn_type": "aws",
                                                                   "extra": {"region_name": "eu-west-1"}}
    assert cm["data"]["OMGML_MLFLOW_BUCKET"] == "demo-mlflow" and "AWS_ENDPOINT_URL" not in cm["data"]
    # Nothing secret is left to hand out: no Secret at all.
    assert not find(items, "Secret")


def test_connection_values_compose_the_aws_and_redis_uris() -> None:
    from omgml.components.airflow import redis_connection_uri, store_connection_json

    conn = json.loads(store_connection_json("AK", "SK", "http://objectstore:8333", "us-east-1"))
    assert conn == {"conn_type": "aws", "login": "AK", "password": "SK",
                    "extra": {"endpoint_url": "http://objectstore:8333", "region_name": "us-east-1"}}
    assert "endpoint_url" not in json.loads(store_connection_json("AK", "SK", "", "eu-west-1"))["extra"]
    assert redis_connection_uri("redis.ns", 6379, "p/w", False) == "redis://:p%2Fw@redis.ns:6379/0"
    assert redis_connection_uri("r", 6380, "x", True).startswith("rediss://")


# --- AWS S3 through IRSA -------------------------------------------------------------------------
def store_pods(items: list[dict[str, Any]], instance: str = "airflow") -> dict[str, str]:
    """Every pod spec Airflow defines (workloads and the task pod template) that carries object-store
    settings, mapped to the ServiceAccount it runs as."""
    specs = {f"{m['kind']}/{m['metadata']['name']}": pod_spec(m) for m in items
             if m["kind"] in ("Deployment", "Job") and m["metadata"]["namespace"] == ORCH}
    specs["pod-template"] = template_of(items, instance)["spec"]
    return checks.store_pod_accounts(specs, STORE_VARS)


@pytest.mark.parametrize("irsa", [False, True])
def test_exactly_the_s3_consumers_accounts_run_pods_that_reach_the_store(irsa: bool) -> None:
    items = on_s3(GitDags("https://github.com/example/dags")) if irsa else wired(GitDags("https://github.com/example/dags"))
    pods = store_pods(items)
    consumers = s3_consumers(ORCH, "airflow", "pipelines")
    # The task pods (template), the api-server and the triggerer; never the scheduler, dag-processor or migrate Job.
    assert set(pods) == {"pod-template", "Deployment/airflow-api-server", "Deployment/airflow-triggerer"}
    assert set(pods.values()) == {c.service_account for c in consumers}
    assert set(pods.values()) <= {sa["metadata"]["name"] for sa in find(items, "ServiceAccount")}
    assert all(c.namespace == ORCH and c.bucket_roles == ("pipelines",) for c in consumers)
    # The api-server only reads logs back; task pods and the triggerer upload them.
    assert {c.name: c.read_only for c in consumers} == {
        "airflow-api-server": True, "airflow-triggerer": False, "airflow-worker": False}


def test_s3_consumers_follow_the_instance_name() -> None:
    items = wired(instance="airflow-b")
    pods = store_pods(items, "airflow-b")
    assert "airflow-b-worker" in pods.values()
    assert set(pods.values()) == {c.service_account for c in s3_consumers(ORCH, "airflow-b", "pipelines")}
    assert {c.name for c in s3_consumers(ORCH, "airflow-b", "pipelines")} == set(ARNS)


def test_on_irsa_no_container_or_task_template_carries_key_variables() -> None:
    items = on_s3(GitDags("https://github.com/example/dags"))
    tpl = template_of(items)
    checks.assert_no_static_s3_keys([m for m in items if m["kind"] in ("Deployment", "Job", "ConfigMap")])
    # The connection keeps only the region: the Amazon provider falls back to boto3's chain (web identity).
    for where, env in [("template", checks.env_entries(tpl["spec"]["containers"][0])),
                       *[(p, checks.env_entries(containers(one(items, "Deployment", f"airflow-{p}"), init=False)[0]))
                         for p in ("api-server", "triggerer")]]:
        assert json.loads(env["AIRFLOW_CONN_OBJECT_STORE"]["value"]) == {
            "conn_type": "aws", "extra": {"region_name": "eu-west-1"}}, where
        assert env["AWS_DEFAULT_REGION"]["value"] == env["AWS_REGION"]["value"] == "eu-west-1", where
        assert env["AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID"]["value"] == "object_store", where


def test_in_cluster_store_keeps_the_keys_and_annotates_nothing() -> None:
    items = wired()
    assert not [sa for sa in find(items, "ServiceAccount") if ROLE_ARN_ANNOTATION in sa["metadata"].get("annotations", {})]
    for env in [checks.env_entries(template_of(items)["spec"]["containers"][0]),
                *[checks.env_entries(containers(one(items, "Deployment", f"airflow-{p}"), init=False)[0])
                  for p in ("api-server", "triggerer")]]:
        for var in checks.S3_KEY_VARS:
            assert env[var]["valueFrom"]["secretKeyRef"]["name"] == "objectstore-s3-credentials"
        assert json.loads(env["AIRFLOW_CONN_OBJECT_STORE"]["value"])["extra"]["endpoint_url"] == STORE.endpoint_url


def test_every_airflow_container_keeps_its_config_file_on_a_writable_volume() -> None:
    """Airflow writes a default airflow.cfg at AIRFLOW_CONFIG (default $AIRFLOW_HOME/airflow.cfg)
    when it is missing, before any command runs; with a read-only root filesystem that crashed
    the migrate Job ("Read-only file system: '/opt/airflow/airflow.cfg'", found by the
    conformance tier). The file must sit on a mounted, writable volume in every pod."""
    items = wired()
    pods = [pod_spec(d) for d in items if d["kind"] in ("Deployment", "Job")] + [template_of(items)["spec"]]
    checked = 0
    for ps in pods:
        for c in ps.get("initContainers", []) + ps["containers"]:
            if not c["image"].startswith("apache/airflow:"):
                continue
            path = checks.env_entries(c)["AIRFLOW_CONFIG"]["value"]
            mounts = [m for m in c.get("volumeMounts", []) if path.startswith(m["mountPath"].rstrip("/") + "/")]
            assert mounts and not mounts[0].get("readOnly"), (c["name"], path)
            checked += 1
    assert checked >= 6  # four parts, their migration waits, the migrate Job, the task template

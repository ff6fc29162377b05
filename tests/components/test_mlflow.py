"""MLflow: tracking server on the Postgres consumer database, artifacts proxied to the object store."""

from __future__ import annotations

import fnmatch
import re
from typing import Any, cast

import pulumi
import pytest

from omgml.components.contracts import ObjectStoreEndpoint, PostgresDatabase, SecretKeyRef
from omgml.components.mlflow import (
    IMAGE,
    PORT,
    Mlflow,
    MlflowArgs,
    allowed_hosts,
    backend_store_uri_template,
    resolve,
)
from omgml.components.objectstore import ObjectStore, ObjectStoreArgs
from omgml.components.postgres import Postgres, PostgresArgs, PostgresConsumer
from omgml.synth.engine import SynthResult
from omgml.synth.manifests import manifests
from tests.components.manifest_checks import env_of
from tests.synth_helpers import assert_valid, find, one, pod_spec, synth, synth_built

NS = "omgml-data"
BUCKET = "demo-mlflow"


def stack(replicas: int = 1, profile: str = "laptop", instance: str = "mlflow",
          pg_name: str = "pg", os_name: str = "os") -> Mlflow:
    """MLflow wired to real Postgres and object-store components, as the blueprint does."""
    pg = Postgres(pg_name, PostgresArgs(namespace=NS, storage_gib=5, profile="laptop",
                                         instance=f"{pg_name}-postgres",
                                         consumers=(PostgresConsumer(instance, NS),)))
    store = ObjectStore(os_name, ObjectStoreArgs(namespace=NS, instance=f"{os_name}-store", buckets={"mlflow": BUCKET}))
    return Mlflow(instance, MlflowArgs(namespace=NS, instance=instance, replicas=replicas, profile=profile,  # type: ignore[arg-type]
                                       backend=pg.databases[instance], store=store.endpoint, artifacts_bucket=BUCKET))


def render(**kw: Any) -> tuple[list[dict[str, Any]], Mlflow, SynthResult]:
    return synth_built(lambda: stack(**kw))


def server(items: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(pod_spec(one(items, "Deployment", "mlflow"))["containers"][0])


# Pure tests never read the secret Outputs; no engine runs, so none is created.
NO_OUTPUT = cast("pulumi.Output[str]", None)


def fake_db() -> PostgresDatabase:
    return PostgresDatabase(host="pg.example", port=5432, database="mlflow_db", username="mlflow",
                            password=NO_OUTPUT, secret="db",
                            password_ref=SecretKeyRef("db", "password"))


def fake_store() -> ObjectStoreEndpoint:
    ref = SecretKeyRef("s3", "k")
    return ObjectStoreEndpoint(endpoint_url="http://s3.example:8333", region="us-east-1", access_key_ref=ref,
                               secret_key_ref=ref, access_key=NO_OUTPUT,
                               secret_key=NO_OUTPUT, buckets={"mlflow": BUCKET})


# --- pure ---------------------------------------------------------------------------------


def test_allowed_hosts_accept_service_names_with_ports_and_loopback() -> None:
    patterns = allowed_hosts("mlflow", NS)

    def accepted(host: str) -> bool:  # how MLflow matches: fnmatch on the raw Host header
        return any(fnmatch.fnmatch(host, p) if "*" in p else host == p for p in patterns)

    for host in ("mlflow", "mlflow:5000", f"mlflow.{NS}:5000", f"mlflow.{NS}.svc.cluster.local:5000",
                 f"mlflow.{NS}.svc", "localhost:5000", "127.0.0.1:8080"):
        assert accepted(host), host
    assert not accepted("evil.example.com") and not accepted("mlflow.other-ns.svc.cluster.local:5000")


@pytest.mark.parametrize(("kw", "message"), [
    ({"replicas": 0}, "MlflowArgs.replicas"),
    ({"artifacts_bucket": "Not_A_Bucket"}, "MlflowArgs.artifacts_bucket"),
    ({"artifacts_bucket": "other-bucket"}, "not one of the object store's buckets"),
    ({"namespace": "Bad"}, "MlflowArgs.namespace"),
    ({"profile": "huge"}, "MlflowArgs.profile"),
])
def test_invalid_args_name_the_field(kw: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {"namespace": NS, "backend": fake_db(), "store": fake_store(), "artifacts_bucket": BUCKET}
    with pytest.raises(ValueError, match=message):
        resolve(MlflowArgs(**{**base, **kw}))


def test_backend_uri_template_names_driver_host_and_database_but_no_password() -> None:
    uri = backend_store_uri_template(fake_db())
    assert uri == "postgresql+psycopg2://mlflow:$(MLFLOW_DB_PASSWORD)@pg.example:5432/mlflow_db"


# --- synth --------------------------------------------------------------------------------


def test_backend_uri_points_at_the_postgres_service_and_the_mlflow_database() -> None:
    items, _, _ = render()
    env = server(items)["env"]
    names = [e["name"] for e in env]
    by_name = {e["name"]: e for e in env}
    uri = by_name["MLFLOW_BACKEND_STORE_URI"]["value"]
    m = re.fullmatch(r"postgresql\+psycopg2://(\w+):\$\((\w+)\)@([\w.-]+):(\d+)/(\w+)", uri)
    assert m, uri
    user, password_var, host, port, database = m.groups()
    # The Postgres component's Service, and the consumer database + Secret it created.
    pg_svc = one(items, "Service", "pg-postgres")
    assert host == f"{pg_svc['metadata']['name']}.{NS}.svc.cluster.local"
    assert int(port) == pg_svc["spec"]["ports"][0]["port"]
    db_secret = one(items, "Secret", "pg-postgres-mlflow-db")
    assert set(db_secret["stringData"]) >= {"host", "database", "username", "password"}
    assert (user, database) == ("mlflow", "mlflow")
    # $(VAR) only expands variables defined earlier in the list, from the Secret.
    assert names.index(password_var) < names.index("MLFLOW_BACKEND_STORE_URI")
    assert by_name[password_var]["valueFrom"]["secretKeyRef"] == {"name": "pg-postgres-mlflow-db", "key": "password"}
    # The password never travels on the command line.
    assert not any("psycopg" in a for a in server(items)["command"])


def test_artifacts_are_proxied_to_the_bucket_with_object_store_credentials() -> None:
    items, _, _ = render()
    c = server(items)
    cmd = c["command"]
    assert "--serve-artifacts" in cmd
    assert cmd[cmd.index("--artifacts-destination") + 1] == f"s3://{BUCKET}/"
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0"
    env = env_of(c)
    assert env["MLFLOW_S3_ENDPOINT_URL"] == f"http://os-store.{NS}.svc.cluster.local:8333"
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert env[key] == {"secretKeyRef": {"name": "os-store-s3-credentials", "key": key}}
    hosts = cmd[cmd.index("--allowed-hosts") + 1].split(",")
    assert f"mlflow.{NS}.svc.cluster.local:*" in hosts


def test_probes_use_health_and_the_container_runs_unprivileged_with_writable_scratch() -> None:
    items, _, _ = render()
    c = server(items)
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert c[probe]["httpGet"] == {"path": "/health", "port": "http"}
    assert c["image"] == IMAGE and IMAGE.endswith("-full")
    ps = pod_spec(one(items, "Deployment", "mlflow"))
    assert ps["securityContext"]["runAsUser"] == 1000
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"] for m in c["volumeMounts"]}
    assert {"/tmp", env_of(c)["HOME"]} <= mounts


def test_server_runs_no_job_runner_that_would_outgrow_its_memory_limit() -> None:
    """Found by the conformance tier: MLflow 3's server-side job runner (one Huey consumer process
    per job kind) took the laptop pod past its 1 GiB limit, and it was OOM-killed."""
    items, _, _ = render()
    assert env_of(server(items))["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"


def test_migration_job_runs_before_the_server() -> None:
    items, _, result = render()
    job = one(items, "Job", next(j["metadata"]["name"] for j in find(items, "Job") if "db-upgrade" in j["metadata"]["name"]))
    env = env_of(pod_spec(job)["containers"][0])
    assert env["MLFLOW_BACKEND_STORE_URI"] == server(items)["env"][1]["value"]
    deploy = next(r for r in result.resources if r.name == "mlflow-server")
    job_urn = next(r.urn for r in result.resources if r.name == "mlflow-db-upgrade")
    assert job_urn in deploy.dependencies


def test_tracking_uri_and_service_port() -> None:
    items, mlflow, _ = render()
    assert mlflow.tracking_uri == f"http://mlflow.{NS}.svc.cluster.local:{PORT}"
    assert one(items, "Service", "mlflow")["spec"]["ports"][0]["port"] == PORT


def test_pdb_only_with_more_than_one_replica() -> None:
    one_replica, _, _ = render(replicas=1)
    assert not find(one_replica, "PodDisruptionBudget")
    two, _, _ = render(replicas=2)
    pdb = one(two, "PodDisruptionBudget", "mlflow")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= (
        one(two, "Deployment")["spec"]["template"]["metadata"]["labels"].items())
    assert one(two, "Deployment")["spec"]["replicas"] == 2


# --- AWS S3 through IRSA ----------------------------------------------------------------------------
ROLE = "arn:aws:iam::123456789012:role/demo-mlflow-s3"


def s3_store(service_account: str | None = "mlflow", role: Any = ROLE) -> ObjectStoreEndpoint:
    ref_id, ref_key = SecretKeyRef("s3-keys", "AWS_ACCESS_KEY_ID"), SecretKeyRef("s3-keys", "AWS_SECRET_ACCESS_KEY")
    return ObjectStoreEndpoint(endpoint_url="", region="eu-west-1", access_key_ref=ref_id, secret_key_ref=ref_key,
                               access_key=NO_OUTPUT, secret_key=NO_OUTPUT, buckets={"mlflow": BUCKET},
                               irsa_role_arn=role, service_account=service_account)


def test_on_aws_s3_the_server_account_carries_the_irsa_role_and_no_endpoint_override() -> None:
    from omgml.k8s import ROLE_ARN_ANNOTATION, STS_REGIONAL_ANNOTATION

    def program() -> None:
        pg = Postgres("pg", PostgresArgs(namespace=NS, storage_gib=5, profile="laptop", instance="pg-postgres",
                                         consumers=(PostgresConsumer("mlflow", NS),)))
        Mlflow("mlflow", MlflowArgs(namespace=NS, instance="mlflow", backend=pg.databases["mlflow"],
                                    store=s3_store(role=pulumi.Output.from_input(ROLE)), artifacts_bucket=BUCKET))

    items = manifests(synth(program))
    assert_valid(items)
    sa_name = pod_spec(one(items, "Deployment", "mlflow"))["serviceAccountName"]
    migration = resolve(MlflowArgs(namespace=NS, instance="mlflow", backend=fake_db(), store=s3_store(),
                                   artifacts_bucket=BUCKET)).migration_job
    assert pod_spec(one(items, "Job", migration))["serviceAccountName"] == sa_name
    sa = one(items, "ServiceAccount", sa_name)
    assert sa["metadata"]["annotations"] == {ROLE_ARN_ANNOTATION: ROLE, STS_REGIONAL_ANNOTATION: "true"}
    env = env_of(server(items))
    assert "MLFLOW_S3_ENDPOINT_URL" not in env
    assert env["AWS_DEFAULT_REGION"] == "eu-west-1"


def test_irsa_consumer_must_name_the_server_account() -> None:
    with pytest.raises(ValueError, match="service_account='mlflow'"):
        resolve(MlflowArgs(namespace=NS, instance="mlflow", backend=fake_db(), store=s3_store("other"),
                           artifacts_bucket=BUCKET))
    resolve(MlflowArgs(namespace=NS, instance="mlflow", backend=fake_db(), store=s3_store(),
                       artifacts_bucket=BUCKET))


def test_in_cluster_store_leaves_the_account_unannotated() -> None:
    items, _, _ = render()
    assert all("annotations" not in sa["metadata"] for sa in find(items, "ServiceAccount"))

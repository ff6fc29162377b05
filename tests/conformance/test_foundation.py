"""The foundation's golden path on the real software (conformance tier).

Every step talks to the platform the way its users and its own workloads do: from pods in the
platform's namespaces, by the rendered Service names, with the credentials the render generated.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.conformance.harness.runner import Platform
from tests.conformance.helpers import env_of, last_json, run_client, s3_env, secret

pytestmark = pytest.mark.conformance

DATA = "omgml-data"
PIPELINES = "omgml-pipelines"  # where pipeline steps (a user's code) run
FOUNDATION_REQUIRED = ("postgres", "redis", "kafka", "objectstore", "mlflow", "feast")


# --- the phase itself ----------------------------------------------------------------------------
def test_every_foundation_workload_and_job_runs(platform: Platform) -> None:
    """Each rendered Deployment/StatefulSet passed its readiness probe; each Job completed."""
    rows = [o for o in platform.outcomes.values() if o.phase == "foundation"]
    assert rows, "the foundation rendered no workloads"
    bad = [f"{o.key}: {o.status} {o.detail}" for o in rows if o.status not in ("ready", "complete")]
    assert not bad, "\n".join(bad)
    ran = {o.key.split("/")[-1] for o in rows}
    for name in FOUNDATION_REQUIRED:
        assert any(n == name or n.startswith(f"{name}-") for n in ran), f"{name} did not run"


# --- Postgres ------------------------------------------------------------------------------------
def test_postgres_provisioning_is_idempotent_and_isolates_consumers(platform: Platform) -> None:
    job = platform.render.find("Job", "postgres-provision")
    rerun = platform.wait_job(platform.run_job(job))
    assert rerun.phase == "Succeeded", rerun.message
    host = "postgres.omgml-data.svc.cluster.local"
    for consumer in ("mlflow", "feast"):
        password = secret(platform, f"postgres-{consumer}-db", "password")
        code, out = run_client(platform, PIPELINES, "postgres", [
            "psql", "-X", "-At", "-h", host, "-U", consumer, "-d", consumer,
            "-c", "SELECT current_user || ' ' || current_database()"],
            env={"PGPASSWORD": password, "PGCONNECT_TIMEOUT": "5"})
        assert code == 0, out
        assert f"{consumer} {consumer}" in out
    # A consumer's role cannot open another consumer's database (CONNECT revoked from PUBLIC).
    code, out = run_client(platform, PIPELINES, "postgres", [
        "psql", "-X", "-At", "-h", host, "-U", "mlflow", "-d", "feast", "-c", "SELECT 1"],
        env={"PGPASSWORD": secret(platform, "postgres-mlflow-db", "password"), "PGCONNECT_TIMEOUT": "5"})
    assert code != 0 and "permission denied for database" in out, out


# --- object store --------------------------------------------------------------------------------
def test_bucket_job_created_every_bucket_and_reruns(platform: Platform) -> None:
    job = next(o for o in platform.render.of_kind("Job") if o.name.startswith("objectstore-buckets"))
    wanted = env_of(platform, "Job", job.name)["BUCKETS"].split()
    rerun = platform.wait_job(platform.run_job(job))
    assert rerun.phase == "Succeeded", rerun.message
    code, out = run_client(platform, PIPELINES, "mlflow", ["python", "/omgml-conformance/scripts/s3_inventory.py"],
                           env=s3_env(platform))
    assert code == 0, out
    assert set(wanted) <= set(last_json(out)["buckets"])


# --- MLflow --------------------------------------------------------------------------------------
def test_mlflow_logs_registers_and_serves_a_model_by_alias(platform: Platform) -> None:
    name = "conformance-classifier"
    code, out = run_client(platform, PIPELINES, "mlflow", ["python", "/omgml-conformance/scripts/mlflow_golden_path.py"],
                           env={"MLFLOW_TRACKING_URI": "http://mlflow.omgml-data.svc.cluster.local:5000",
                                "MODEL_NAME": name, "HOME": "/tmp"}, timeout=600)
    assert code == 0, out
    result = last_json(out)
    assert result["params"] == {"C": "0.5", "max_iter": "200"}
    assert result["metrics"]["accuracy"] == pytest.approx(result["accuracy"])
    assert result["alias_version"] == result["version"]
    assert result["predictions_match"] is True
    assert "MLmodel" in result["model_artifacts"]
    # The model's files went through the server to the object store, into the bucket the
    # server's rendered command names as its artifacts destination.
    command = platform.render.find("Deployment", "mlflow").manifest["spec"]["template"]["spec"]["containers"][0]["command"]
    destination = command[command.index("--artifacts-destination") + 1]
    mlflow_bucket = destination.removeprefix("s3://").strip("/").split("/")[0]
    code, out = run_client(platform, PIPELINES, "mlflow", ["python", "/omgml-conformance/scripts/s3_inventory.py"],
                           env={**s3_env(platform), "BUCKETS": mlflow_bucket})
    assert code == 0, out
    keys = last_json(out)["objects"][mlflow_bucket]
    assert any(k.endswith("/MLmodel") for k in keys), keys
    # The serialized estimator itself (its file name depends on the flavor's serialization format).
    assert any("/artifacts/model." in k for k in keys), keys


# --- Feast ---------------------------------------------------------------------------------------
def test_feast_serves_materialized_features_from_redis(platform: Platform) -> None:
    server_env = env_of(platform, "Deployment", "feast")
    config = platform.objects.configmap(DATA, "feast-config")
    assert config is not None
    bucket = server_env["FEAST_OFFLINE_URI"].removeprefix("s3://").strip("/")
    # The platform's own apply Job cloned the team's repo from the git host and registered it.
    apply = next(o for o in platform.outcomes.values() if "/feast-apply" in o.key)
    assert apply.status == "complete", apply.detail
    env = {**server_env, "FEAST_CONFIG": "/etc/feast/feature_store.yaml", "FEATURES_BUCKET": bucket, "HOME": "/tmp"}
    code, out = run_client(platform, PIPELINES, "feast-client", ["python", "/omgml-conformance/scripts/feast_golden_path.py"],
                           env=env, files={"/etc/feast/feature_store.yaml": config["feature_store.yaml"]}, timeout=600)
    assert code == 0, out
    latest = last_json(out)["latest"]
    # Online read through the rendered feature server (it refreshes its registry cache itself).
    request = json.dumps({"features": ["driver_stats:conv_rate", "driver_stats:avg_daily_trips"],
                          "entities": {"driver_id": [1001, 1002]}})
    deadline = time.monotonic() + 150
    last = ""
    while time.monotonic() < deadline:
        code, out = run_client(platform, PIPELINES, "feast", [
            "curl", "-sS", "--max-time", "10", "-H", "Content-Type: application/json", "-d", request,
            "http://feast.omgml-data.svc.cluster.local:6566/get-online-features"])
        last = out
        if code == 0 and '"results"' in out:
            body = last_json(out)
            names = body["metadata"]["feature_names"]
            values = {n: r["values"] for n, r in zip(names, body["results"], strict=True)}
            if values.get("conv_rate") == [latest["1001"]["conv_rate"], latest["1002"]["conv_rate"]]:
                assert values["avg_daily_trips"] == [30, 40]
                return
        time.sleep(10)
    raise AssertionError(f"the feature server never returned the materialized values:\n{last[-2000:]}")


# --- Kafka ---------------------------------------------------------------------------------------
def test_kafka_topics_job_is_idempotent_and_messages_round_trip(platform: Platform) -> None:
    job = platform.render.find("Job", "kafka-topics")
    rerun = platform.wait_job(platform.run_job(job))
    assert rerun.phase == "Succeeded", rerun.message
    bootstrap = env_of(platform, "Job", "kafka-topics")["BOOTSTRAP"]
    script = (
        'set -e\n'
        'kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --describe --topic inference-logs\n'
        'for i in 1 2 3 4 5; do echo "{\\"request_id\\": $i, \\"model\\": \\"fraud\\", \\"score\\": 0.$i}"; done'
        ' | kafka-console-producer.sh --bootstrap-server "$BOOTSTRAP" --topic inference-logs\n'
        'kafka-console-consumer.sh --bootstrap-server "$BOOTSTRAP" --topic inference-logs --from-beginning'
        ' --max-messages 5 --timeout-ms 60000\n')
    code, out = run_client(platform, PIPELINES, "kafka", ["sh", "-c", script],
                           env={"BOOTSTRAP": bootstrap, "KAFKA_HEAP_OPTS": "-Xmx128m", "LOG_DIR": "/tmp"})
    assert code == 0, out
    assert "PartitionCount: 3" in out
    got = sorted(json.loads(line)["request_id"] for line in out.splitlines() if line.startswith('{"request_id"'))
    assert got == [1, 2, 3, 4, 5], out


# --- Redis ---------------------------------------------------------------------------------------
def test_redis_requires_its_password(platform: Platform) -> None:
    host = "redis.omgml-data.svc.cluster.local"
    code, out = run_client(platform, PIPELINES, "redis", ["redis-cli", "-h", host, "ping"])
    assert "NOAUTH" in out, out
    code, out = run_client(platform, PIPELINES, "redis", ["redis-cli", "-h", host, "--no-auth-warning", "ping"],
                           env={"REDISCLI_AUTH": secret(platform, "redis-auth", "password")})
    assert code == 0 and "PONG" in out, out


# --- NetworkPolicies -----------------------------------------------------------------------------
CONNECT = ("import socket,sys\n"
           "try:\n"
           "    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=4).close(); print('OPEN')\n"
           "except OSError as e:\n"
           "    print('BLOCKED', e)\n")


def test_a_namespace_no_policy_allows_cannot_reach_postgres(platform: Platform) -> None:
    target = ["python3", "-c", CONNECT, "postgres.omgml-data.svc.cluster.local", "5432"]
    code, out = run_client(platform, "conformance-outsider", "postgres", target)
    assert code == 0 and "BLOCKED" in out, out
    code, out = run_client(platform, PIPELINES, "postgres", target)
    assert code == 0 and "OPEN" in out, out

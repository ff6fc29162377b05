"""Feast: feature server with a SQL registry on Postgres, Redis online store, S3 offline data."""

from __future__ import annotations

import os
import re
from typing import Any, cast

import pulumi
import pytest
import yaml

from omgml.components.contracts import (
    ObjectStoreEndpoint,
    PostgresDatabase,
    RedisEndpoint,
    S3Consumer,
    SecretKeyRef,
)
from omgml.components.feast import (
    CONFIG_DIR,
    CONFIG_FILE,
    IMAGE,
    PORT,
    REDIS_PASSWORD_ENV,
    REGISTRY_PASSWORD_ENV,
    Feast,
    FeastArgs,
    feast_env,
    feature_store_config,
    feature_store_yaml,
    resolve,
    s3_consumers,
)
from omgml.components.objectstore import ObjectStore, ObjectStoreArgs
from omgml.components.postgres import Postgres, PostgresArgs, PostgresConsumer
from omgml.components.redis import Redis, RedisArgs
from omgml.k8s import ROLE_ARN_ANNOTATION, STS_REGIONAL_ANNOTATION
from omgml.spec.foundation import FeatureRepoSpec
from omgml.synth.engine import SynthResult
from omgml.synth.manifests import manifests
from tests.components.manifest_checks import assert_component_sound, env_of
from tests.synth_helpers import containers, find, one, pod_spec, synth, synth_built

NS = "omgml-data"
BUCKET = "demo-features"
REPO = FeatureRepoSpec(git_url="https://github.com/example/features.git", ref="v1.2.0", path="feature_repo")
NO_OUTPUT = cast("pulumi.Output[str]", None)  # pure tests read no secret Output


def stack(*, online: bool = True, feature_repo: FeatureRepoSpec | None = REPO, replicas: int = 1,
          prefix: str = "", instance: str = "feast") -> Feast:
    """Feast wired to real Postgres, Redis and object-store components, as the blueprint does."""
    pg = Postgres(f"{prefix}pg", PostgresArgs(namespace=NS, storage_gib=5, profile="laptop",
                                              instance=f"{prefix}postgres", consumers=(PostgresConsumer(instance, NS),)))
    redis = Redis(f"{prefix}redis", RedisArgs(namespace=NS, instance=f"{prefix}redis", storage_gib=1, profile="laptop"))
    store = ObjectStore(f"{prefix}os", ObjectStoreArgs(namespace=NS, instance=f"{prefix}store",
                                                       buckets={"features": BUCKET}))
    return Feast(instance, FeastArgs(
        namespace=NS, instance=instance, replicas=replicas, registry=pg.databases[instance],
        online=redis.endpoint if online else None, store=store.endpoint, offline_bucket=BUCKET,
        feature_repo=feature_repo, project="demo",
    ))


def render(**kw: Any) -> tuple[list[dict[str, Any]], Feast, SynthResult]:
    return synth_built(lambda: stack(**kw))


def config_of(items: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(yaml.safe_load(one(items, "ConfigMap", "feast-config")["data"][CONFIG_FILE]))


def server(items: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(pod_spec(one(items, "Deployment", "feast"))["containers"][0])


def fake_args(**kw: Any) -> FeastArgs:
    ref = SecretKeyRef("s", "k")
    base: dict[str, Any] = {
        "namespace": NS,
        "registry": PostgresDatabase(host="pg.example", port=5432, database="feast", username="feast",
                                     password=NO_OUTPUT, secret="s", password_ref=ref),
        "online": RedisEndpoint(host="redis.example", port=6379, password=NO_OUTPUT, password_ref=ref),
        "store": ObjectStoreEndpoint(endpoint_url="http://s3.example:8333", region="us-east-1", access_key_ref=ref,
                                     secret_key_ref=ref, access_key=NO_OUTPUT, secret_key=NO_OUTPUT),
        "offline_bucket": BUCKET,
    }
    return FeastArgs(**{**base, **kw})


# --- pure ---------------------------------------------------------------------------------


def test_feature_store_yaml_types_and_env_placeholders() -> None:
    text = feature_store_yaml(fake_args(project="demo"))
    cfg = yaml.safe_load(text)
    assert cfg["project"] == "demo"
    assert cfg["registry"]["registry_type"] == "sql"
    assert cfg["registry"]["path"] == f"postgresql+psycopg://feast:${{{REGISTRY_PASSWORD_ENV}}}@pg.example:5432/feast"
    assert cfg["online_store"] == {"type": "redis",
                                   "connection_string": f"redis.example:6379,password=${{{REDIS_PASSWORD_ENV}}}"}
    assert cfg["offline_store"] == {"type": "file"}


def test_placeholders_expand_the_way_feast_reads_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    # Feast runs the file through os.path.expandvars before yaml.safe_load (repo_config.py).
    monkeypatch.setenv(REGISTRY_PASSWORD_ENV, "pw1")
    monkeypatch.setenv(REDIS_PASSWORD_ENV, "pw2")
    cfg = yaml.safe_load(os.path.expandvars(feature_store_yaml(fake_args())))
    assert ":pw1@pg.example" in cfg["registry"]["path"]
    assert cfg["online_store"]["connection_string"].endswith("password=pw2")


def test_tls_redis_and_no_online_store() -> None:
    tls = feature_store_config(project="p", registry_host="h", registry_port=5432, registry_database="d",
                               registry_user="u", redis_host="r", redis_port=6380, redis_tls=True)
    assert tls["online_store"]["connection_string"].endswith(",ssl=true")
    none = yaml.safe_load(feature_store_yaml(fake_args(online=None)))
    assert none["online_store"]["type"] == "sqlite"


@pytest.mark.parametrize(("kw", "message"), [
    ({"feature_repo": FeatureRepoSpec(git_url="git@github.com:x/y.git")}, "feature_repo.git_url"),
    ({"feature_repo": FeatureRepoSpec(git_url="https://x/y.git", path="../up")}, "feature_repo.path"),
    ({"feature_repo": FeatureRepoSpec(git_url="https://x/y.git", ref="--upload-pack=x")}, "feature_repo.ref"),
    ({"project": "my-project"}, "FeastArgs.project"),
    ({"replicas": 11}, "FeastArgs.replicas"),
    ({"offline_bucket": "B"}, "FeastArgs.offline_bucket"),
])
def test_invalid_args_name_the_field(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve(fake_args(**kw))


def test_apply_job_name_follows_the_repo_ref() -> None:
    a = resolve(fake_args(feature_repo=REPO)).apply_job
    assert a == resolve(fake_args(feature_repo=REPO)).apply_job
    moved = FeatureRepoSpec(git_url=REPO.git_url, ref="v1.3.0", path=REPO.path)
    assert resolve(fake_args(feature_repo=moved)).apply_job != a
    assert resolve(fake_args()).apply_job is None


# --- synth --------------------------------------------------------------------------------


def test_online_store_points_at_the_redis_service_and_its_secret() -> None:
    items, _, _ = render()
    conn = config_of(items)["online_store"]["connection_string"]
    host, port = re.match(r"([^:,]+):(\d+),", conn).groups()  # type: ignore[union-attr]
    redis_svc = one(items, "Service", "redis")
    assert host == f"{redis_svc['metadata']['name']}.{NS}.svc.cluster.local"
    assert int(port) == redis_svc["spec"]["ports"][0]["port"]
    env = env_of(server(items))
    assert env[REDIS_PASSWORD_ENV] == {"secretKeyRef": {"name": "redis-auth", "key": "password"}}


def test_registry_points_at_the_postgres_service_and_the_feast_database() -> None:
    items, _, _ = render()
    path = config_of(items)["registry"]["path"]
    m = re.fullmatch(r"postgresql\+psycopg://(\w+):\$\{(\w+)\}@([\w.-]+):(\d+)/(\w+)", path)
    assert m, path
    user, var, host, port, database = m.groups()
    assert host == f"postgres.{NS}.svc.cluster.local" and int(port) == 5432
    assert (user, database) == ("feast", "feast")
    secret = one(items, "Secret", "postgres-feast-db")
    env = env_of(server(items))
    assert env[var] == {"secretKeyRef": {"name": secret["metadata"]["name"], "key": "password"}}


def test_offline_store_uses_the_object_store() -> None:
    items, _, _ = render()
    env = env_of(server(items))
    assert env["AWS_ENDPOINT_URL"] == f"http://store.{NS}.svc.cluster.local:8333"
    assert env["FEAST_OFFLINE_URI"] == f"s3://{BUCKET}/"
    assert env["AWS_ACCESS_KEY_ID"] == {"secretKeyRef": {"name": "store-s3-credentials", "key": "AWS_ACCESS_KEY_ID"}}


def test_server_listens_on_all_addresses_with_the_mounted_config() -> None:
    items, feast, _ = render()
    c = server(items)
    cmd = c["command"]
    assert cmd[cmd.index("-h") + 1] == "0.0.0.0" and cmd[cmd.index("-p") + 1] == str(PORT)
    assert cmd[cmd.index("-f") + 1] == f"{CONFIG_DIR}/{CONFIG_FILE}"
    assert {"mountPath": CONFIG_DIR, "name": "config", "readOnly": True} in c["volumeMounts"]
    assert c["readinessProbe"]["httpGet"]["path"] == "/health"
    assert c["image"] == IMAGE
    assert feast.endpoint == f"http://feast.{NS}.svc.cluster.local:{PORT}"


def test_apply_job_clones_the_repo_and_applies_with_the_same_config() -> None:
    items, _, _ = render()
    job = one(items, "Job", next(j["metadata"]["name"] for j in find(items, "Job") if "apply" in j["metadata"]["name"]))
    ps = pod_spec(job)
    [clone] = ps["initContainers"]
    [apply] = ps["containers"]
    clone_env = env_of(clone)
    assert (clone_env["FEAST_REPO_URL"], clone_env["FEAST_REPO_REF"]) == (REPO.git_url, REPO.ref)
    assert clone["image"] == apply["image"] == IMAGE
    assert apply["command"] == ["feast", "-c", "/workspace/repo/feature_repo", "-f", f"{CONFIG_DIR}/{CONFIG_FILE}", "apply"]
    assert env_of(apply)[REGISTRY_PASSWORD_ENV] == env_of(server(items))[REGISTRY_PASSWORD_ENV]
    # Only the apply pods may leave the cluster, and only for HTTPS.
    policy = one(items, "NetworkPolicy", "feast-apply-egress")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= job["spec"]["template"]["metadata"]["labels"].items()
    assert policy["spec"]["egress"][0]["ports"] == [{"port": 443, "protocol": "TCP"}]
    server_labels = one(items, "Deployment", "feast")["spec"]["template"]["metadata"]["labels"]
    assert not policy["spec"]["podSelector"]["matchLabels"].items() <= server_labels.items()


def test_no_feature_repo_means_no_job_and_no_egress() -> None:
    items, _, _ = render(feature_repo=None)
    assert not [j for j in find(items, "Job") if "apply" in j["metadata"]["name"]]
    assert not find(items, "NetworkPolicy", "feast-apply-egress")


def test_without_online_store_no_redis_password_is_needed() -> None:
    items, _, _ = render(online=False)
    assert config_of(items)["online_store"]["type"] == "sqlite"
    assert REDIS_PASSWORD_ENV not in env_of(server(items))


def test_config_change_rolls_the_pods() -> None:
    a, _, _ = render()
    b, _, _ = render(online=False)
    key = "omgml.dev/config-checksum"
    ann = [one(x, "Deployment", "feast")["spec"]["template"]["metadata"]["annotations"][key] for x in (a, b)]
    assert ann[0] != ann[1]


# --- AWS S3 through IRSA ----------------------------------------------------------------------------
ROLE = "arn:aws:iam::123456789012:role/demo-feast-s3"
KEY_ENV = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


def s3_store(service_account: str | None = "feast", role: Any = ROLE) -> ObjectStoreEndpoint:
    """What the foundation hands Feast on aws: AWS S3 itself, a Secret of empty keys, an IRSA role."""
    ref_id, ref_key = SecretKeyRef("s3-keys", "AWS_ACCESS_KEY_ID"), SecretKeyRef("s3-keys", "AWS_SECRET_ACCESS_KEY")
    return ObjectStoreEndpoint(endpoint_url="", region="eu-west-1", access_key_ref=ref_id, secret_key_ref=ref_key,
                               access_key=NO_OUTPUT, secret_key=NO_OUTPUT, buckets={"features": BUCKET},
                               irsa_role_arn=role, service_account=service_account)


def feast_workloads(items: list[dict[str, Any]], instance: str) -> list[dict[str, Any]]:
    return [w for kind in ("Deployment", "Job", "CronJob") for w in find(items, kind)
            if w["metadata"]["labels"].get("app.kubernetes.io/name") == "feast"
            and w["metadata"]["labels"].get("app.kubernetes.io/instance") == instance]


def render_on_s3(instance: str) -> list[dict[str, Any]]:
    """Server, apply Job (with its clone init container) and materialize CronJob, on AWS S3."""
    consumer, = s3_consumers(NS, instance, "features")

    def program() -> None:
        pg = Postgres("pg", PostgresArgs(namespace=NS, storage_gib=5, profile="laptop",
                                         consumers=(PostgresConsumer(instance, NS),)))
        redis = Redis("redis", RedisArgs(namespace=NS, storage_gib=1, profile="laptop"))
        Feast(instance, FeastArgs(
            namespace=NS, instance=instance, registry=pg.databases[instance], online=redis.endpoint,
            store=s3_store(consumer.service_account, pulumi.Output.from_input(ROLE)), offline_bucket=BUCKET,
            feature_repo=REPO, project="demo", materialize_schedule="0 * * * *"))

    return manifests(synth(program))


@pytest.mark.parametrize("instance", ["feast", "features-eu"])
def test_on_aws_s3_every_feast_pod_runs_as_the_role_account_without_static_keys(instance: str) -> None:
    items = render_on_s3(instance)
    assert_component_sound(items)
    consumer, = s3_consumers(NS, instance, "features")
    workloads = feast_workloads(items, instance)
    assert sorted(w["kind"] for w in workloads) == ["CronJob", "Deployment", "Job"]
    for w in workloads:
        ps = pod_spec(w)
        for c in containers(w):
            env = env_of(c)
            assert not KEY_ENV & env.keys(), (w["metadata"]["name"], c["name"])
            assert "AWS_ENDPOINT_URL" not in env
            if "AWS_DEFAULT_REGION" in env:
                assert env["AWS_DEFAULT_REGION"] == env["AWS_REGION"] == "eu-west-1"
                # The foundation's role trusts exactly this account: they must not drift apart.
                assert ps["serviceAccountName"] == consumer.service_account, w["metadata"]["name"]
        # The webhook mounts its own token; the Kubernetes API token stays out.
        assert ps["automountServiceAccountToken"] is False
    sa = one(items, "ServiceAccount", consumer.service_account)
    assert sa["metadata"]["annotations"] == {ROLE_ARN_ANNOTATION: ROLE, STS_REGIONAL_ANNOTATION: "true"}
    # The (empty) key Secret is read by no pod.
    assert not any("s3-keys" in str(containers(w)) for w in workloads)


def test_in_cluster_store_keeps_the_keys_in_every_pod_and_an_unannotated_account() -> None:
    items, _, _ = render()
    workloads = feast_workloads(items, "feast")
    assert sorted(w["kind"] for w in workloads) == ["Deployment", "Job"]
    with_aws = [c for w in workloads for c in containers(w) if "AWS_DEFAULT_REGION" in env_of(c)]
    assert len(with_aws) == 2  # server and apply; the clone init container needs no store
    for c in with_aws:
        env = env_of(c)
        assert env["AWS_ACCESS_KEY_ID"] == {"secretKeyRef": {"name": "store-s3-credentials", "key": "AWS_ACCESS_KEY_ID"}}
        assert env["AWS_SECRET_ACCESS_KEY"]["secretKeyRef"]["key"] == "AWS_SECRET_ACCESS_KEY"
        assert "AWS_REGION" not in env
    assert all("annotations" not in sa["metadata"] for sa in find(items, "ServiceAccount"))


def test_irsa_env_has_the_region_and_no_keys_and_the_static_env_has_both() -> None:
    irsa = {e["name"] for e in feast_env(fake_args(store=s3_store()))}
    static = {e["name"] for e in feast_env(fake_args())}
    assert not KEY_ENV & irsa and {"AWS_REGION", "AWS_DEFAULT_REGION"} <= irsa
    assert static >= KEY_ENV


def test_irsa_consumer_must_name_the_feast_account() -> None:
    with pytest.raises(ValueError, match=re.escape("FeastArgs.store.service_account: 'other'")) as err:
        resolve(fake_args(store=s3_store("other")))
    assert "service_account='feast'" in str(err.value)
    assert resolve(fake_args(store=s3_store("feast"))).name == "feast"
    assert resolve(fake_args(store=s3_store(None))).name == "feast"
    with pytest.raises(ValueError, match="service_account='feast-b'"):
        resolve(fake_args(instance="feast-b", store=s3_store("feast")))


def test_delta_on_aws_s3_through_irsa_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match=r"FeastArgs\.offline_store: 'delta' cannot read AWS S3 through IRSA") as err:
        resolve(fake_args(store=s3_store(), offline_store="delta", delta_tables=("orders",)))
    assert "offline_store='file'" in str(err.value)
    # Static keys (the in-cluster store) keep delta.
    assert resolve(fake_args(offline_store="delta", delta_tables=("orders",))).tables_job is not None


def test_s3_consumers_declare_one_read_write_consumer_of_the_features_bucket() -> None:
    assert s3_consumers(NS, "feast", "features") == (
        S3Consumer(name="feast", namespace=NS, service_account="feast", bucket_roles=("features",), read_only=False),
    )
    consumer, = s3_consumers("ml-data", "feast-b", "offline")
    assert (consumer.namespace, consumer.service_account, consumer.bucket_roles) == ("ml-data", "feast-b", ("offline",))
    assert consumer.service_account == resolve(fake_args(instance="feast-b")).name

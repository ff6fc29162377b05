"""Foundation blueprint: the six data/tracking/feature components wired together per the spec."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest
import yaml

from omgml.blueprints.contracts import FOUNDATION_KEYS
from omgml.blueprints.foundation import platform_namespace_args
from omgml.buckets import bucket_names
from omgml.capacity import total_requests
from omgml.components.contracts import AWS_FOUNDATION_KEYS
from omgml.spec import PlatformSpec
from omgml.spec.platform import spec_from_dict
from omgml.synth.render import PlatformRender, render_platform
from tests.components.manifest_checks import (
    assert_credentials_by_secret_ref,
    assert_no_generated_values,
    assert_pods_hardened,
    assert_selectors_match_pod_labels,
    assert_services_reach_container_ports,
    env_of,
)
from tests.synth_helpers import assert_valid, find, one, pod_spec

DATA_NS = "omgml-data"
CLIENT_NS = ("kubeflow", "omgml-pipelines", "omgml-serving")


@cache
def demo() -> PlatformRender:
    return render_platform(PlatformSpec(name="demo"), ["foundation"])


def items_of(render: PlatformRender) -> list[dict[str, Any]]:
    [phase] = render.phases
    return phase.manifests


def exports_of(render: PlatformRender) -> dict[str, Any]:
    return dict(render.phases[0].result.exports)


def partial(data: dict[str, Any]) -> PlatformRender:
    return render_platform(spec_from_dict({"name": "demo", **data}), ["foundation"])


# --- pure ---------------------------------------------------------------------------------


def test_bucket_names_are_platform_prefixed_and_follow_the_enabled_consumers() -> None:
    spec = PlatformSpec(name="demo")
    assert bucket_names(spec) == {"mlflow": "demo-mlflow", "features": "demo-features",
                                  "models": "demo-models", "pipelines": "demo-pipelines"}
    lean = spec_from_dict({"name": "demo", "phases": {
        "training": {"enabled": False}, "serving": {"enabled": False},
        "foundation": {"feast": {"enabled": False}, "object_store": {"extra_buckets": ["raw-data"]}}}})
    assert bucket_names(lean) == {"mlflow": "demo-mlflow", "extra:raw-data": "raw-data"}


def test_platform_namespaces_follow_the_phases_and_their_pod_security() -> None:
    args = {a.name: a for a in platform_namespace_args(PlatformSpec(name="demo"))}
    assert list(args) == [DATA_NS, *CLIENT_NS]
    assert set(args[DATA_NS].allow_ingress_from) == set(CLIENT_NS)
    steps = args["omgml-pipelines"]
    assert steps.pod_security == "baseline" and steps.pod_security_reason
    assert args["kubeflow"].pod_security == "restricted"
    only_data = platform_namespace_args(spec_from_dict(
        {"name": "demo", "phases": {"training": {"enabled": False}, "serving": {"enabled": False}}}))
    assert [a.name for a in only_data] == [DATA_NS]


# --- the whole phase -----------------------------------------------------------------------


def test_foundation_of_a_full_spec_validates_strictly() -> None:
    assert_valid(items_of(demo()))


def test_every_component_is_there() -> None:
    items = items_of(demo())
    workloads = {(m["kind"], m["metadata"]["name"]) for m in items if m["kind"] in ("Deployment", "StatefulSet")}
    assert workloads == {("StatefulSet", "postgres"), ("StatefulSet", "redis"), ("StatefulSet", "kafka"),
                         ("StatefulSet", "objectstore"), ("Deployment", "mlflow"), ("Deployment", "feast")}
    assert {m["metadata"]["name"] for m in find(items, "Namespace")} == {DATA_NS, *CLIENT_NS}


def test_the_phase_is_sound_end_to_end() -> None:
    items = items_of(demo())
    assert_selectors_match_pod_labels(items)
    assert_services_reach_container_ports(items)
    assert_credentials_by_secret_ref(items)
    assert_no_generated_values(items)
    assert_pods_hardened(items)


def test_exports_every_foundation_key_with_the_wired_values() -> None:
    exports = exports_of(demo())
    # The aws-only keys (VPC, EKS) come from components/aws; a local render exports the rest.
    assert set(FOUNDATION_KEYS) - set(AWS_FOUNDATION_KEYS) == set(exports)
    assert exports["data_namespace"] == DATA_NS
    assert exports["platform_namespaces"] == [DATA_NS, *CLIENT_NS]
    assert exports["mlflow_tracking_uri"] == f"http://mlflow.{DATA_NS}.svc.cluster.local:5000"
    assert exports["object_store_endpoint"] == f"http://objectstore.{DATA_NS}.svc.cluster.local:8333"
    assert exports["object_store_region"] == "us-east-1"
    assert exports["pipelines_bucket"] == "demo-pipelines" and exports["models_bucket"] == "demo-models"
    assert exports["redis_host"] == f"redis.{DATA_NS}.svc.cluster.local" and exports["redis_port"] == "6379"
    assert re.fullmatch(rf"kafka-bootstrap\.{DATA_NS}\.svc\.cluster\.local:9092", exports["kafka_bootstrap"])
    assert exports["feast_endpoint"] == f"http://feast.{DATA_NS}.svc.cluster.local:6566"


def test_exported_secrets_exist_in_every_platform_namespace() -> None:
    items = items_of(demo())
    exports = exports_of(demo())
    for key, keys in (("object_store_secret", {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}),
                      ("redis_secret", {"password"})):
        secrets = find(items, "Secret", exports[key])
        assert {s["metadata"]["namespace"] for s in secrets} == {DATA_NS, *CLIENT_NS}, key
        for s in secrets:
            assert keys <= set(s["stringData"]), key


def test_client_namespaces_may_reach_the_data_namespace() -> None:
    items = items_of(demo())
    for ns in CLIENT_NS:
        [policy] = [p for p in find(items, "NetworkPolicy", "allow-egress-to-platform") if p["metadata"]["namespace"] == ns]
        peers = {t["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                 for t in policy["spec"]["egress"][0]["to"]}
        assert DATA_NS in peers
    data_ingress = [p for p in find(items, "NetworkPolicy", "allow-from-platform") if p["metadata"]["namespace"] == DATA_NS]
    assert len(data_ingress) == 1


def test_mlflow_and_feast_use_the_databases_postgres_created() -> None:
    items = items_of(demo())
    mlflow_env = env_of(pod_spec(one(items, "Deployment", "mlflow"))["containers"][0])
    assert mlflow_env["MLFLOW_BACKEND_STORE_URI"] == (
        f"postgresql+psycopg2://mlflow:$(MLFLOW_DB_PASSWORD)@postgres.{DATA_NS}.svc.cluster.local:5432/mlflow")
    assert mlflow_env["MLFLOW_DB_PASSWORD"]["secretKeyRef"]["name"] == "postgres-mlflow-db"
    provision = pod_spec(one(items, "Job", "postgres-provision"))["containers"][0]
    sql = env_of(provision)["PROVISION_SQL"]
    assert "CREATE DATABASE %I OWNER %I', 'mlflow', 'mlflow'" in sql and "'feast', 'feast'" in sql
    cfg = yaml.safe_load(one(items, "ConfigMap", "feast-config")["data"]["feature_store.yaml"])
    assert cfg["project"] == "demo"
    assert cfg["registry"]["path"].endswith(f"@postgres.{DATA_NS}.svc.cluster.local:5432/feast")
    assert cfg["online_store"]["connection_string"].startswith(f"redis.{DATA_NS}.svc.cluster.local:6379,")
    mlflow_cmd = pod_spec(one(items, "Deployment", "mlflow"))["containers"][0]["command"]
    assert mlflow_cmd[mlflow_cmd.index("--artifacts-destination") + 1] == "s3://demo-mlflow/"


def test_the_bucket_job_creates_every_exported_bucket() -> None:
    items = items_of(demo())
    exports = exports_of(demo())
    job = next(j for j in find(items, "Job") if j["metadata"]["name"].startswith("objectstore-buckets"))
    created = set(env_of(pod_spec(job)["containers"][0])["BUCKETS"].split())
    assert {exports[f"{role}_bucket"] for role in ("mlflow", "features", "models", "pipelines")} == created


def test_laptop_requests_stay_well_under_half_the_budget() -> None:
    cpu_m, mem_b, gpus = total_requests(items_of(demo()))
    assert cpu_m < 2000, f"foundation requests {cpu_m}m CPU"
    assert mem_b < 4 * 2**30, f"foundation requests {mem_b / 2**30:.2f} GiB"
    assert gpus == 0


def test_disabled_components_export_empty_strings_and_render_nothing() -> None:
    render = partial({"phases": {
        "training": {"enabled": False}, "serving": {"enabled": False},
        "foundation": {"kafka": {"enabled": False}, "feast": {"enabled": False}, "redis": {"enabled": False}}}})
    exports = exports_of(render)
    # The aws-only keys (VPC, EKS) come from components/aws; a local render exports the rest.
    assert set(FOUNDATION_KEYS) - set(AWS_FOUNDATION_KEYS) == set(exports)
    for key in ("kafka_bootstrap", "feast_endpoint", "redis_host", "redis_port", "redis_secret",
                "models_bucket", "pipelines_bucket", "features_bucket"):
        assert exports[key] == "", key
    assert exports["mlflow_tracking_uri"] and exports["platform_namespaces"] == [DATA_NS]
    items = items_of(render)
    assert {m["metadata"]["name"] for m in find(items, "StatefulSet")} == {"postgres", "objectstore"}
    assert [m["metadata"]["name"] for m in find(items, "Namespace")] == [DATA_NS]
    assert_valid(items)


def test_feature_repo_adds_the_apply_job() -> None:
    render = partial({"phases": {"foundation": {"feast": {
        "feature_repo": {"git_url": "https://github.com/example/features.git", "ref": "main"}}}}})
    items = items_of(render)
    [job] = [j for j in find(items, "Job") if j["metadata"]["name"].startswith("feast-apply")]
    assert pod_spec(job)["initContainers"][0]["name"] == "clone"
    assert_valid(items)


@pytest.mark.parametrize("profile", ["small", "production"])
def test_larger_profiles_render_and_protect_data(profile: str) -> None:
    render = partial({"profile": profile})
    items = items_of(render)
    assert_valid(items)
    protected = {r.name for r in render.phases[0].result.resources if r.protect}
    assert {"foundation-objectstore-data", "foundation-postgres-statefulset"} <= protected


def test_managed_postgres_redis_and_kafka_on_aws_replace_the_in_cluster_ones() -> None:
    import yaml as _yaml

    from omgml.spec import spec_from_dict
    from omgml.synth.render import render_platform

    spec = spec_from_dict({"name": "demo", "target": "aws", "profile": "production",
                           "aws": {"availability_zones": 3},
                           "phases": {"foundation": {"postgres": {"managed": True}, "redis": {"managed": True},
                                                     "kafka": {"managed": True}}}})
    fnd = render_platform(spec, ["foundation"]).phases[0]
    types = {r.type for r in fnd.result.resources}
    assert {"aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup",
            "aws:msk/cluster:Cluster", "aws:eks/cluster:Cluster"} <= types
    # Only the object store still runs in-cluster.
    assert {m["metadata"]["name"] for m in find(fnd.manifests, "StatefulSet")} == {"objectstore"}
    feast = one(fnd.manifests, "Deployment", "feast")
    env = {e["name"]: e for e in feast["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "value" in env["FEAST_REDIS_HOST"] and env["FEAST_REDIS_HOST"]["value"]
    config = _yaml.safe_load(one(fnd.manifests, "ConfigMap", feast["spec"]["template"]["spec"]["volumes"][0]
                                 .get("configMap", {}).get("name", "feast-config"))["data"]["feature_store.yaml"])
    conn = config["online_store"]["connection_string"]
    assert conn.startswith("${FEAST_REDIS_HOST}:") and conn.endswith(",ssl=true")
    ex = fnd.result.exports
    assert ex["redis_tls"] == "true" and ex["redis_host"] == env["FEAST_REDIS_HOST"]["value"]
    assert ex["kafka_bootstrap"] and "9098" in ex["kafka_bootstrap"]
    assert_valid(fnd.manifests)

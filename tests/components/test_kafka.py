"""Kafka (KRaft): quorum wiring, replication that fits the broker count, topics Job."""

from __future__ import annotations

from typing import Any

import pytest

from omgml.components.kafka import (
    CLIENT_PORT,
    CONTROLLER_PORT,
    DATA_MOUNT,
    IMAGE,
    Kafka,
    KafkaArgs,
    kafka_brokers,
    kafka_replication,
    quorum_voters,
    resolve_topics,
)
from omgml.spec.common import Profile
from omgml.spec.foundation import TopicSpec
from tests.components.manifest_checks import env_of, requests_of
from tests.synth_helpers import find, one, pod_spec, synth_built

NS = "omgml-data"


def kafka_args(brokers: int = 1, profile: Profile = "laptop", topics: tuple[TopicSpec, ...] = (),
               **kw: Any) -> KafkaArgs:
    return KafkaArgs(namespace=kw.pop("namespace", NS), brokers=brokers, storage_gib=kw.pop("storage_gib", 10),
                     profile=profile, topics=topics, **kw)


def render(args: KafkaArgs) -> tuple[list[dict[str, Any]], Kafka, Any]:
    return synth_built(lambda: Kafka("kafka", args))


def broker_env(items: list[dict[str, Any]]) -> dict[str, Any]:
    return env_of(pod_spec(one(items, "StatefulSet", "kafka"))["containers"][0])


# --- pure ---------------------------------------------------------------------------------


def test_broker_count_defaults_per_profile() -> None:
    assert kafka_brokers(None, "laptop") == 1
    assert kafka_brokers(None, "small") == 3 == kafka_brokers(None, "production")
    assert kafka_brokers(5, "laptop") == 5


@pytest.mark.parametrize(("brokers", "rf", "isr"), [(1, 1, 1), (2, 2, 1), (3, 3, 2), (5, 3, 2)])
def test_replication_fits_the_broker_count(brokers: int, rf: int, isr: int) -> None:
    rep = kafka_replication(brokers)
    assert (rep.default_replication_factor, rep.min_insync_replicas) == (rf, isr)
    assert rep.min_insync_replicas <= rep.default_replication_factor <= brokers


@pytest.mark.parametrize("brokers", [1, 3])
def test_quorum_voters_one_per_broker(brokers: int) -> None:
    voters = quorum_voters(kafka_args(brokers)).split(",")
    assert len(voters) == brokers
    for i, voter in enumerate(voters):
        assert voter == f"{i}@kafka-{i}.kafka-headless.{NS}.svc.cluster.local:{CONTROLLER_PORT}"


def test_topic_replication_defaults_and_is_checked() -> None:
    topics = (TopicSpec(name="events"), TopicSpec(name="features", partitions=6, replication_factor=2))
    resolved = {t.name: t for t in resolve_topics(kafka_args(3, topics=topics))}
    assert resolved["events"].replication_factor == 3 and resolved["events"].partitions == 3
    assert resolved["features"].replication_factor == 2
    assert resolve_topics(kafka_args(1, topics=(TopicSpec(name="events"),)))[0].replication_factor == 1
    with pytest.raises(ValueError, match=r"topics\[1\]\.replication_factor=2 .*at most 1.*raise phases\.foundation\.kafka\.brokers"):
        resolve_topics(kafka_args(1, topics=topics))
    with pytest.raises(ValueError, match="declared twice"):
        resolve_topics(kafka_args(1, topics=(TopicSpec(name="a"), TopicSpec(name="a"))))


def test_bad_broker_count_is_refused() -> None:
    with pytest.raises(ValueError, match=r"kafka\.brokers=0"):
        render(kafka_args(0))


# --- synth --------------------------------------------------------------------------------


@pytest.mark.parametrize("brokers", [1, 3])
def test_brokers_are_wired_into_a_quorum(brokers: int) -> None:
    items, _, _ = render(kafka_args(brokers, "small"))
    sts = one(items, "StatefulSet", "kafka")
    assert sts["spec"]["replicas"] == brokers
    assert sts["spec"]["podManagementPolicy"] == "Parallel"
    assert pod_spec(sts)["enableServiceLinks"] is False
    env = broker_env(items)
    voters = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
    assert [v.split("@")[0] for v in voters] == [str(i) for i in range(brokers)]
    assert env["KAFKA_NODE_ID"] == {"fieldRef": {"fieldPath": "metadata.labels['apps.kubernetes.io/pod-index']"}}
    assert env["KAFKA_ADVERTISED_LISTENERS"] == (
        f"PLAINTEXT://$(POD_NAME).kafka-headless.{NS}.svc.cluster.local:{CLIENT_PORT}")
    names = list(env)
    assert names.index("POD_NAME") < names.index("KAFKA_ADVERTISED_LISTENERS")  # $(VAR) needs it first
    for key in ("KAFKA_DEFAULT_REPLICATION_FACTOR", "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
                "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR"):
        assert int(env[key]) <= brokers, key
    assert int(env["KAFKA_MIN_INSYNC_REPLICAS"]) <= int(env["KAFKA_DEFAULT_REPLICATION_FACTOR"])
    assert env["KAFKA_LOG_DIRS"].startswith(DATA_MOUNT + "/")
    c = pod_spec(sts)["containers"][0]
    assert c["image"] == IMAGE
    assert {"name": "data", "mountPath": DATA_MOUNT} in c["volumeMounts"]
    assert c["startupProbe"]["tcpSocket"]["port"] == "client"
    assert find(items, "PodDisruptionBudget") if brokers > 1 else not find(items, "PodDisruptionBudget")


def test_services() -> None:
    items, kafka, _ = render(kafka_args(3, "small"))
    headless = one(items, "Service", "kafka-headless")
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    assert sorted(p["port"] for p in headless["spec"]["ports"]) == [CLIENT_PORT, CONTROLLER_PORT]
    bootstrap = one(items, "Service", "kafka-bootstrap")
    assert [p["port"] for p in bootstrap["spec"]["ports"]] == [CLIENT_PORT]
    assert not find(items, "Service", "kafka")  # that name would inject KAFKA_PORT into pods
    assert kafka.endpoint.bootstrap_servers == f"kafka-bootstrap.{NS}.svc.cluster.local:{CLIENT_PORT}"


def test_cluster_id_comes_from_a_random_id() -> None:
    items, _, result = render(kafka_args(1))
    rid = next(r for r in result.resources if r.type == "random:index/randomId:RandomId")
    assert rid.inputs["byteLength"] == 16
    cluster_id = broker_env(items)["CLUSTER_ID"]
    assert len(cluster_id) == 22 and "=" not in cluster_id  # 16 bytes, base64url without padding
    # Same program, same id: nothing about a render re-rolls it.
    assert broker_env(render(kafka_args(1, storage_gib=20))[0])["CLUSTER_ID"] == cluster_id


def test_topics_job_present_only_with_topics() -> None:
    items, _, _ = render(kafka_args(1))
    assert not find(items, "Job")
    topics = (TopicSpec(name="events", partitions=6), TopicSpec(name="features", replication_factor=2))
    items, _, _ = render(kafka_args(3, "small", topics=topics))
    job = one(items, "Job", "kafka-topics")
    script = pod_spec(job)["containers"][0]["command"][-1]
    assert "--topic 'events' --partitions 6 --replication-factor 3" in script
    assert "--topic 'features' --partitions 3 --replication-factor 2" in script
    assert script.count("--create --if-not-exists") == 2
    assert env_of(pod_spec(job)["containers"][0])["BOOTSTRAP"] == f"kafka-bootstrap.{NS}.svc.cluster.local:9092"


def test_topic_replication_above_broker_count_fails_the_render() -> None:
    with pytest.raises(ValueError, match="replication_factor=3"):
        render(kafka_args(1, topics=(TopicSpec(name="events", replication_factor=3),)))


def test_data_is_protected_outside_the_laptop() -> None:
    cases: list[tuple[Profile, bool]] = [("laptop", False), ("production", True)]
    for profile, guarded in cases:
        _, _, result = render(kafka_args(1, profile))
        sts = next(r for r in result.resources if r.type == "kubernetes:apps/v1:StatefulSet")
        assert (sts.protect, sts.retain_on_delete) == (guarded, guarded)
        assert "spec.volumeClaimTemplates" in sts.ignore_changes
        rid = next(r for r in result.resources if r.type == "random:index/randomId:RandomId")
        assert rid.protect == guarded


def test_routine_settings_leave_force_new_fields_alone() -> None:
    a = one(render(kafka_args(3, "small", storage_gib=10))[0], "StatefulSet")["spec"]
    b = one(render(kafka_args(5, "production", storage_gib=100))[0], "StatefulSet")["spec"]
    for field in ("serviceName", "selector", "podManagementPolicy", "revisionHistoryLimit"):
        assert a.get(field) == b.get(field), field


def test_laptop_and_production_sizing_differ() -> None:
    laptop_items, _, _ = render(kafka_args(1, "laptop"))
    production_items, _, _ = render(kafka_args(3, "production"))
    laptop = requests_of(one(laptop_items, "StatefulSet"))
    assert laptop == ("200m", "768Mi")
    assert laptop != requests_of(one(production_items, "StatefulSet"))
    assert broker_env(laptop_items)["KAFKA_HEAP_OPTS"] != broker_env(production_items)["KAFKA_HEAP_OPTS"]

"""The checks every component passes, written once over a table of components: its default render
is schema-valid and sound, several instances in one program stay apart, and args it refuses name
the field. Each row builds the component with the args builders of its own test module, which
keeps only the checks specific to that component."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest

from omgml.components import airflow, feast, prefect
from omgml.components.airflow import Airflow
from omgml.components.data_quality import component as data_quality
from omgml.components.device_plugin import NvidiaDevicePlugin, NvidiaDevicePluginArgs
from omgml.components.kafka import Kafka
from omgml.components.kubeflow import pipelines as kubeflow_pipelines
from omgml.components.objectstore import ObjectStore
from omgml.components.postgres import Postgres, PostgresConsumer
from omgml.components.prefect import Prefect
from omgml.components.redis import Redis
from omgml.spec.foundation import TopicSpec
from omgml.synth.manifests import manifests
from tests.components import (
    test_airflow,
    test_data_quality,
    test_device_plugin,
    test_evidently,
    test_feast,
    test_feast_delta,
    test_kafka,
    test_kubeflow,
    test_mlflow,
    test_modelserver,
    test_objectstore,
    test_postgres,
    test_prefect,
    test_prometheus,
    test_redis,
)
from tests.components.manifest_checks import Manifest, assert_component_sound, assert_instances_apart, workloads
from tests.components.orchestration_wiring import ORCH
from tests.synth_helpers import synth_manifests

EVENTS = (TopicSpec(name="events"),)
TRACKING, SERVING = test_postgres.TRACKING_NS, test_redis.SERVING_NS

# --- the default render is schema-valid and passes every manifest check -------------------------
SOUND = [
    pytest.param(lambda: test_postgres.render(test_postgres.pg_args())[0], id="postgres"),
    pytest.param(lambda: test_redis.render(test_redis.redis_args())[0], id="redis"),
    pytest.param(lambda: test_objectstore.render(test_objectstore.os_args())[0], id="objectstore"),
    pytest.param(lambda: test_kafka.render(test_kafka.kafka_args(1, "laptop", topics=EVENTS))[0], id="kafka-1-broker"),
    pytest.param(lambda: test_kafka.render(test_kafka.kafka_args(3, "small", topics=EVENTS))[0], id="kafka-3-brokers"),
    pytest.param(lambda: test_mlflow.render()[0], id="mlflow"),
    pytest.param(lambda: test_feast.render()[0], id="feast"),
]


@pytest.mark.parametrize("render", SOUND)
def test_default_render_is_valid_and_sound(render: Callable[[], list[Manifest]]) -> None:
    items = render()
    assert workloads(items), "the render holds no workload: the checks below would pass on nothing"
    assert_component_sound(items)


# --- several instances in one program do not collide --------------------------------------------
@dataclass(frozen=True)
class Owned:
    """The `kind` objects ("namespace/name") the instances render between them, in `namespace`
    if given: each instance keeps its own, so none is merged into or replaced by another's."""
    kind: str
    names: frozenset[str]
    namespace: str | None = None

    def found(self, items: list[Manifest]) -> set[str]:
        return {"/".join(filter(None, (m["metadata"].get("namespace"), m["metadata"]["name"])))
                for m in items
                if m["kind"] == self.kind and self.namespace in (None, m["metadata"].get("namespace"))}


def owned(kind: str, *names: str, namespace: str | None = None) -> Owned:
    return Owned(kind, frozenset(names), namespace)


def orchestration(app: str, parts: tuple[str, ...]) -> Owned:
    """The Deployments of two orchestrator instances, `{app}-a` and `{app}-b`."""
    return owned("Deployment", *(f"{ORCH}/{app}-{i}-{part}" for i in "ab" for part in parts))


INSTANCES = [
    pytest.param(lambda: synth_manifests(lambda: (
        Airflow("a1", test_airflow.args(instance="airflow-a")),
        Airflow("a2", test_airflow.args(instance="airflow-b")))),
        [orchestration("airflow", test_airflow.PARTS)], id="airflow"),
    pytest.param(lambda: synth_manifests(lambda: (
        Prefect("p1", test_prefect.args(instance="prefect-a")),
        Prefect("p2", test_prefect.args(instance="prefect-b")))),
        [orchestration("prefect", ("server", "worker"))], id="prefect"),
    pytest.param(lambda: synth_manifests(lambda: (
        NvidiaDevicePlugin("a", NvidiaDevicePluginArgs(namespace="gpu-a", pools=test_device_plugin.POOLS, instance="a")),
        NvidiaDevicePlugin("b", NvidiaDevicePluginArgs(namespace="gpu-b", pools=test_device_plugin.POOLS[:1],
                                                       instance="b")))),
        [owned("DaemonSet", "gpu-a/a-nvidia-device-plugin", "gpu-b/b-nvidia-device-plugin")], id="device-plugin"),
    pytest.param(lambda: manifests(test_evidently.run(("ev-a", test_evidently.ev_args()),
                                                      ("ev-b", test_evidently.ev_args(instance="beta")))),
                 [owned("CronJob", "omgml-serving/demo-evidently-drift", "omgml-serving/beta-evidently-drift")],
                 id="evidently"),
    pytest.param(lambda: synth_manifests(lambda: (test_feast.stack(prefix="a-", instance="feast-a"),
                                                  test_feast.stack(prefix="b-", instance="feast-b"))),
                 [owned("Deployment", "omgml-data/feast-a", "omgml-data/feast-b")], id="feast"),
    # The same instance name in another namespace, and another instance name in the same one.
    pytest.param(lambda: synth_manifests(lambda: (
        Kafka("kafka-a", test_kafka.kafka_args(1, topics=EVENTS)),
        Kafka("kafka-b", test_kafka.kafka_args(1, namespace="stream", topics=EVENTS)),
        Kafka("kafka-c", test_kafka.kafka_args(1, instance="events")))),
        [owned("StatefulSet", "omgml-data/kafka", "stream/kafka", "omgml-data/events")], id="kafka"),
    pytest.param(lambda: synth_manifests(lambda: (
        test_mlflow.stack(instance="mlflow-a", pg_name="pga", os_name="osa"),
        test_mlflow.stack(instance="mlflow-b", pg_name="pgb", os_name="osb"))),
        [owned("Deployment", "omgml-data/mlflow-a", "omgml-data/mlflow-b")], id="mlflow"),
    pytest.param(lambda: test_modelserver.render(("ms-a", test_modelserver.args(instance="alpha")),
                                                 ("ms-b", test_modelserver.args("torchserve", instance="beta")),
                                                 ("ms-c", test_modelserver.args(instance="gamma"))),
                 [owned(kind, *(f"omgml-serving/{n}" for n in ("alpha-triton", "beta-torchserve", "gamma-triton")))
                  for kind in ("Deployment", "HorizontalPodAutoscaler")], id="modelserver"),
    pytest.param(lambda: synth_manifests(lambda: (
        ObjectStore("os-a", test_objectstore.os_args(instance="store-a")),
        ObjectStore("os-b", test_objectstore.os_args(instance="store-b")))),
        [owned("StatefulSet", "omgml-data/store-a", "omgml-data/store-b")], id="objectstore"),
    # Both instances hand a database to a consumer in the same namespace.
    pytest.param(lambda: synth_manifests(lambda: (
        Postgres("pg-a", test_postgres.pg_args()),
        Postgres("pg-b", test_postgres.pg_args(namespace="other", instance="pg2",
                                               consumers=(PostgresConsumer("mlflow", TRACKING),))))),
        [owned("Secret", f"{TRACKING}/postgres-mlflow-db", f"{TRACKING}/pg2-mlflow-db", namespace=TRACKING),
         owned("StatefulSet", "omgml-data/postgres", "other/pg2")], id="postgres"),
    # Cluster-scoped RBAC: each instance needs its own ClusterRole.
    pytest.param(lambda: manifests(test_prometheus.run(
        ("prom-a", test_prometheus.prom_args()),
        ("prom-b", test_prometheus.prom_args(instance="other", grafana=True)))),
        [owned("ClusterRole", "demo-omgml-serving-prometheus-kubelet", "other-omgml-serving-prometheus-kubelet")],
        id="prometheus"),
    # Both instances copy their password Secret into the same client namespace.
    pytest.param(lambda: synth_manifests(lambda: (
        Redis("redis-a", test_redis.redis_args()),
        Redis("redis-b", test_redis.redis_args(namespace="cache", instance="cache")))),
        [owned("Secret", f"{SERVING}/redis-auth", f"{SERVING}/cache-auth", namespace=SERVING)], id="redis"),
]


@pytest.mark.parametrize(("render", "owns"), INSTANCES)
def test_two_instances_do_not_collide(render: Callable[[], list[Manifest]], owns: list[Owned]) -> None:
    items = render()
    assert_instances_apart(items)
    for o in owns:
        assert o.found(items) == o.names, o.kind


# --- args a component refuses name the field (and the fix) --------------------------------------
def bad_args(resolve: Callable[[Any], object], args: Callable[..., object], owner: str,
             *cases: tuple[dict[str, Any], str]) -> list[Any]:
    """One case per (args override, what the error says, from the field it names on), with the
    resolver and args builder; the case is known by the component and that field."""
    return [pytest.param(resolve, args, kw, named, id=f"{owner}:{re.split('[: ]', named)[0]}") for kw, named in cases]


BAD_ARGS = [
    *bad_args(airflow.resolve, test_airflow.args, "airflow",
              ({"namespace": "Bad_NS"}, "AirflowArgs.namespace"),
              ({"dags": airflow.GitDags("git@github.com:a/b.git")}, "AirflowArgs.dags.url"),
              ({"dags": airflow.GitDags("https://github.com/a/b", path="../x")}, "AirflowArgs.dags.path"),
              ({"dags": airflow.PvcDags(storage_gib=0)}, "AirflowArgs.dags.storage_gib")),
    *bad_args(prefect.resolve, test_prefect.args, "prefect",
              ({"namespace": "NS"}, "PrefectArgs.namespace"),
              ({"work_pool": "Bad Pool"}, "PrefectArgs.work_pool"),
              ({"profile": "huge"}, "PrefectArgs.profile")),
    *bad_args(feast.resolve, test_feast_delta.delta, "feast-delta",
              ({"delta_tables": ("Bad Table",)}, "FeastArgs.delta_tables[0]"),
              ({"materialize_schedule": "hourly"}, "FeastArgs.materialize_schedule"),
              ({"offline_store": "file"}, "FeastArgs.delta_tables")),
    *bad_args(data_quality.resolve, partial(test_data_quality.dq_args, store=test_data_quality.PLAIN_STORE),
              "data-quality",
              ({"checks": (data_quality.QualityCheck("x", "missing", "s3://b/x/", "csv"),)},
               "checks[0].suite: 'missing'"),
              ({"checks": (data_quality.QualityCheck("x", "features", "features/", "csv"),)},
               "DataQualityArgs.checks[0].data: 'features/' must be a full s3:// URL"),
              ({"pushgateway_namespace": None}, "DataQualityArgs.pushgateway_url needs pushgateway_namespace")),
    *bad_args(kubeflow_pipelines.resolve, test_kubeflow.kfp_args, "kubeflow",
              ({"user_namespace": test_kubeflow.KFP_NS}, "user_namespace: equals namespace"),
              ({"namespace": "Kube_Flow"}, "namespace: 'Kube_Flow' is not a DNS-1123 label"),
              ({"mysql_storage_gib": 0}, "mysql_storage_gib: must be ≥ 1")),
]


@pytest.mark.parametrize(("resolve", "args", "kw", "named"), BAD_ARGS)
def test_bad_args_name_the_field(resolve: Callable[[Any], object], args: Callable[..., object],
                                 kw: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=re.escape(named)):
        resolve(args(**kw))

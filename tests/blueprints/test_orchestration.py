"""Airflow and Prefect across the phases: the foundation's namespace, consumers and bundle,
the training phase's workloads, and the existing-Airflow path."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest

from omgml.blueprints.foundation import orchestration_consumers, platform_namespace_args
from omgml.buckets import bucket_names
from omgml.spec import PlatformSpec
from omgml.spec.platform import spec_from_dict
from omgml.synth.render import PlatformRender, render_platform
from tests.components.manifest_checks import assert_no_generated_values
from tests.synth_helpers import assert_valid, containers, find, one

ORCH = "omgml-orchestration"
DATA = "omgml-data"


def spec(training: dict[str, Any], **foundation: Any) -> PlatformSpec:
    return spec_from_dict({"name": "demo", "phases": {"training": training, "foundation": foundation}})


@cache
def both() -> PlatformRender:
    return render_platform(spec({"kubeflow": {"enabled": False}, "airflow": {"enabled": True},
                                 "prefect": {"enabled": True}}))


@cache
def existing() -> PlatformRender:
    return render_platform(spec({"kubeflow": {"enabled": False}, "airflow": {"connections_bundle": True}}))


def everything(render: PlatformRender) -> list[dict[str, Any]]:
    return [m for p in render.phases for m in p.manifests]


def test_the_foundation_owns_the_orchestration_namespace_and_its_consumers() -> None:
    s = spec({"airflow": {"enabled": True}, "prefect": {"enabled": True},
              "orchestration": {"allow_external_egress": False}})
    args = {a.name: a for a in platform_namespace_args(s)}
    assert args[ORCH].pod_security == "restricted" and not args[ORCH].allow_external_egress
    assert ORCH in args[DATA].allow_ingress_from
    assert [(c.name, c.namespace) for c in orchestration_consumers(s)] == [("airflow", ORCH), ("prefect", ORCH)]
    assert "pipelines" in bucket_names(spec({"kubeflow": {"enabled": False}, "prefect": {"enabled": True}}))
    # A disabled training phase deploys no orchestrator: no namespace, no databases for it.
    phase_off = spec({"enabled": False, "airflow": {"enabled": True}})
    assert ORCH not in {a.name for a in platform_namespace_args(phase_off)}
    assert orchestration_consumers(phase_off) == ()


def test_airflow_and_prefect_read_the_consumer_secrets_the_foundation_wrote() -> None:
    render = both()
    foundation, training = render.phases[0].manifests, render.phases[1].manifests
    assert_valid(foundation + training)
    assert_no_generated_values(foundation + training)
    one(foundation, "Namespace", ORCH)
    assert not find(training, "Namespace")
    secrets = {m["metadata"]["name"] for m in find(foundation, "Secret") if m["metadata"]["namespace"] == ORCH}
    exports = render.phases[0].result.exports
    assert exports["airflow_db_secret"] in secrets and exports["prefect_db_secret"] in secrets
    assert "objectstore-s3-credentials" in secrets  # task pods and flow runs read the store keys here
    sched = containers(one(training, "Deployment", "airflow-scheduler"), init=False)[0]
    refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in sched["env"] if "valueFrom" in e}
    assert exports["airflow_db_secret"] in refs
    server = containers(one(training, "Deployment", "prefect-server"))[0]
    assert {e["valueFrom"]["secretKeyRef"]["name"] for e in server["env"] if "valueFrom" in e} == {
        exports["prefect_db_secret"]}
    for m in training:
        if m["kind"] in ("Deployment", "Role", "RoleBinding", "ConfigMap", "Service"):
            assert m["metadata"]["namespace"] == ORCH
    t_exports = render.phases[1].result.exports
    assert t_exports["airflow_api_endpoint"] == f"http://airflow-api-server.{ORCH}.svc.cluster.local:8080"
    assert t_exports["prefect_api_url"] == f"http://prefect-server.{ORCH}.svc.cluster.local:4200/api"


def test_the_existing_airflow_path_deploys_no_airflow_and_emits_the_bundle() -> None:
    render = existing()
    items = everything(render)
    assert_valid(items)
    assert not [m for m in items if m["metadata"]["name"].startswith("airflow-")
                and m["kind"] in ("Deployment", "Job", "Role", "ServiceAccount")]
    assert not find(items, "Namespace", ORCH)
    cm = one(items, "ConfigMap", "airflow-connections")
    secret = one(items, "Secret", "airflow-connections")
    assert cm["metadata"]["namespace"] == secret["metadata"]["namespace"] == DATA
    assert {"AIRFLOW_CONN_MLFLOW_DEFAULT", "AIRFLOW_CONN_FEAST", "MLFLOW_TRACKING_URI"} <= set(cm["data"])
    assert {"AIRFLOW_CONN_OBJECT_STORE", "AIRFLOW_CONN_REDIS_DEFAULT"} <= set(secret["stringData"])
    assert_no_generated_values(items)
    assert render.phases[0].result.exports["airflow_db_secret"] == ""


@pytest.mark.parametrize(("broken", "message"), [
    ({"postgres": {"enabled": False}, "mlflow": {"enabled": False}, "feast": {"enabled": False}},
     "phases.training.airflow.enabled: airflow keeps its metadata database on the foundation's postgres"),
    ({"object_store": {"enabled": False}, "mlflow": {"enabled": False}, "feast": {"enabled": False}},
     "phases.training.airflow.enabled: airflow keeps task logs and data on the foundation's object_store"),
])
def test_airflow_needs_the_foundations_stores(broken: dict[str, Any], message: str) -> None:
    with pytest.raises(Exception, match=re.escape(message)):
        spec_from_dict({"name": "demo", "phases": {
            "foundation": broken, "serving": {"enabled": False},
            "training": {"kubeflow": {"enabled": False}, "airflow": {"enabled": True}}}})


def test_the_orchestration_namespace_must_be_its_own() -> None:
    with pytest.raises(Exception, match=r"phases\.training\.orchestration\.namespace: 'omgml-data' is also"):
        spec({"prefect": {"enabled": True}, "orchestration": {"namespace": DATA}})

"""Engine honesty: every choice of every area maps to something the rendered platform deploys,
or to the one documented "use existing" path (the team's own Airflow)."""

from __future__ import annotations

from typing import Any

import pytest

from omgml.recommend import CHOICE_COMPONENT, CHOICES, NOT_DEPLOYABLE, USE_EXISTING, phase_components, recommend
from omgml.recommend.mapping import platform_spec
from omgml.spec import PlatformSpec
from omgml.spec.requirements import Requirements, requirements_from_dict
from omgml.synth.render import render_platform

BASE = {"framework": "pytorch", "serving": "triton", "orchestration": "kubeflow", "feature_store": "feast-redis",
        "streaming": "kafka", "experiment_tracking": "mlflow", "monitoring": "prometheus", "drift": "evidently",
        "gpu_pools": "none", "high_availability": "single"}
ALL = [(area, choice) for area, choices in CHOICES.items() for choice in choices]


def req_for(area: str, choice: str) -> Requirements:
    data: dict[str, Any] = {"name": "honest", "training": {"gpu": True, "max_gpus": 2}}
    if area == "high_availability" and choice != "single":
        data["target"] = "aws"
    return requirements_from_dict(data)


def spec_for(area: str, choice: str) -> PlatformSpec:
    return platform_spec(req_for(area, choice), {**BASE, area: choice})


def deployed_by(spec: PlatformSpec, area: str, choice: str) -> bool:
    """Whether `choice` shows in what `spec` deploys (phase_components and the spec's settings)."""
    phases = phase_components(spec)
    ids = [i for ids in phases.values() for i in ids]
    f, s = spec.phases.foundation, spec.phases.serving
    if (area, choice) in CHOICE_COMPONENT:
        return CHOICE_COMPONENT[(area, choice)] in ids
    if area == "framework":
        # A code decision: the server must load it (the engine warns when it cannot).
        return True
    if area == "serving":
        return s.server.kind == choice and choice in phases["serving"]
    if area == "streaming":
        return ("kafka" in ids or "msk" in ids) == (choice == "kafka")
    if area in ("experiment_tracking", "monitoring", "drift"):
        return choice in ids
    if area == "gpu_pools":
        pools = {p.purpose for p in spec.all_gpu_pools()}
        want = {"none": set(), "training": {"training"}, "inference": {"inference"},
                "both": {"training", "inference"}}[choice]
        return pools == want and all(f"gpu-pool:{p.name}" in ids for p in spec.all_gpu_pools())
    if area == "high_availability":
        # Multi-AZ puts Postgres on RDS and the object store on S3 (Kafka on MSK when streaming,
        # Redis on ElastiCache with an online store).
        managed = "rds" in ids and "s3" in ids
        return {"single": f.mlflow.replicas == 1 and not managed,
                "multi-replica": f.mlflow.replicas == 2 and not managed,
                "multi-az": managed and spec.aws.availability_zones == 3}[choice]
    raise AssertionError(f"no expectation for {area}")


def test_nothing_is_left_undeployable() -> None:
    assert NOT_DEPLOYABLE == {}
    assert dict(USE_EXISTING) == {"orchestration": frozenset({"airflow"})}


@pytest.mark.parametrize(("area", "choice"), ALL)
def test_every_choice_maps_to_a_deployed_component(area: str, choice: str) -> None:
    spec = spec_for(area, choice)
    assert deployed_by(spec, area, choice), (area, choice, phase_components(spec))
    if choice in USE_EXISTING.get(area, frozenset()):
        # The documented path: the bundle, and no second Airflow.
        assert spec.phases.training.airflow.connections_bundle and not spec.phases.training.airflow.enabled


@pytest.mark.parametrize("requirements", [
    {"name": "r-airflow", "orchestration": {"existing": "airflow"}},
    {"name": "r-prefect"},
    {"name": "r-delta", "flags": ["batch_only"]},
    {"name": "r-kfp", "flags": ["kubernetes_native", "real_time"]},
])
def test_recommended_phases_list_exactly_what_renders(requirements: dict[str, Any]) -> None:
    rec = recommend(requirements_from_dict(requirements))
    render = render_platform(rec.platform)
    names = {m["metadata"]["name"] for p in render.phases for m in p.manifests}
    kinds = {(m["kind"], m["metadata"]["name"]) for p in render.phases for m in p.manifests}
    ids = {i for ids in rec.phases.values() for i in ids}
    evidence = {
        "airflow-connections": ("ConfigMap", "airflow-connections"),
        "prefect": ("Deployment", "prefect-server"),
        "airflow": ("Deployment", "airflow-scheduler"),
        "kubeflow-pipelines": ("Deployment", "ml-pipeline"),
        "feast": ("Deployment", "feast"),
        "mlflow": ("Deployment", "mlflow"),
        "redis": ("StatefulSet", "redis"),
        "kafka": ("StatefulSet", "kafka"),
    }
    for component, obj in evidence.items():
        assert (component in ids) == (obj in kinds), (component, sorted(ids))
    assert ("delta-lake" in ids) == any(n.startswith("feast-delta-tables-") for n in names)

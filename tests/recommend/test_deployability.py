"""Engine honesty: every choice of every area maps to something the rendered platform deploys,
or to the one documented "use existing" path (the team's own Airflow)."""

from __future__ import annotations

from typing import Any

import pytest

from omgml.aws_placement import Placement, service_placements
from omgml.recommend import CHOICE_COMPONENT, CHOICES, NOT_DEPLOYABLE, USE_EXISTING, phase_components, recommend
from omgml.recommend.availability import Tier
from omgml.recommend.mapping import NO_SERVER, Plan, platform_spec
from omgml.recommend.sizing import ServingSize, training_pool_shape
from omgml.spec import PlatformSpec
from omgml.spec.experiments import ExperimentSpec
from omgml.spec.requirements import Requirements, requirements_from_dict
from omgml.synth.render import render_platform

BASE = {"framework": "pytorch", "serving": "triton", "orchestration": "kubeflow", "feature_store": "feast-redis",
        "streaming": "kafka", "experiment_tracking": "mlflow", "monitoring": "prometheus", "drift": "evidently",
        "gpu_pools": "none", "high_availability": "single", "data_stores": "in-cluster",
        "data_quality": "none", "lineage": "none"}
ALL = [(area, choice) for area, choices in CHOICES.items() for choice in choices]
AVAILABILITY = {"single": "99.0", "multi-replica": "99.9", "multi-az": "99.99"}


def req_for(area: str, choice: str) -> Requirements:
    data: dict[str, Any] = {"name": "honest", "training": {"gpu": True, "max_gpus": 2}}
    if area in ("high_availability", "data_stores"):
        data["target"] = "aws"
    if area == "high_availability":
        data["availability"] = AVAILABILITY[choice]
    return requirements_from_dict(data)


def placements_for(req: Requirements, area: str, choice: str, delta: bool) -> dict[str, Placement]:
    base = service_placements(req.target, req.resolved_profile(), req.availability, req.compliance, (), delta)
    if area != "data_stores":
        return base
    managed = {"in-cluster": set(), "managed": {"postgres", "redis", "kafka", "object_store"},
               "mixed": {"object_store"}}[choice]
    return {s: Placement(s, s in managed, "", "") for s in base}


def spec_for(area: str, choice: str) -> PlatformSpec:
    req = req_for(area, choice)
    choices = {**BASE, area: choice}
    if (area, choice) == ("hpo", "optuna"):
        choices["orchestration"] = "prefect"  # Optuna runs beside Airflow or Prefect
    if (area, choice) == ("experiments", "none"):
        choices["serving"] = "batch"  # the engine picks none exactly when no model server runs
    ha = choices["high_availability"]
    tier = Tier(ha, 3 if ha == "multi-az" else 2, (), "")
    gpus = choices["gpu_pools"]
    serving = None
    if choices["serving"] not in NO_SERVER:
        serving = ServingSize(gpu=gpus in ("inference", "both"), replicas=2 if ha != "single" else 1, max_replicas=3,
                              lines=(), hardware_reason="")
    pool = training_pool_shape(2) if gpus in ("training", "both") else None
    placements = placements_for(req, area, choice, choices["feature_store"] == "delta-lake")
    return platform_spec(req, Plan(choices, tier, placements, serving, None, None, pool))


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
    if area == "serving" and choice in NO_SERVER:
        # Batch scores in pipelines (drift jobs watch the scores); none scores nothing.
        return not s.server.enabled and s.evidently.enabled == (choice == "batch")
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
        return {"single": f.mlflow.replicas == 1,
                "multi-replica": f.mlflow.replicas == 2 and spec.aws.availability_zones == 2,
                "multi-az": f.mlflow.replicas == 2 and spec.aws.availability_zones == 3}[choice]
    if area in ("data_quality", "lineage") and choice == "none":
        return {"data_quality": "great-expectations", "lineage": "lineage"}[area] not in ids
    if area == "data_stores":
        managed = {"rds", "elasticache", "msk", "s3"} & set(ids)
        return {"in-cluster": not managed, "managed": managed == {"rds", "elasticache", "msk", "s3"},
                "mixed": managed == {"s3"}}[choice]
    if choice == "none" and area in ("hpo", "model_governance"):
        return not {"katib", "optuna", "governance"} & set(ids)
    if area == "experiments":
        # The router stands in front of model servers: it is offered wherever one runs, and deploys as
        # soon as phases.serving.experiments names a model's variants (the versions are the team's).
        if choice == "none":
            return not s.server.enabled
        variants = [{"version": 1, "weight": 50}, {"version": 2, "weight": 50}]
        tried = spec.model_copy(update={"phases": spec.phases.model_copy(update={"serving": s.model_copy(
            update={"experiments": [ExperimentSpec(model="m", variants=variants)]})})})
        return s.server.enabled and "model-router" in phase_components(tried)["serving"]
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
    {"name": "r-batch", "models": {"frameworks": ["xgboost"]}, "data": {"batch_only": True}},
    {"name": "r-none", "serving": {"mode": "none"}},
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
        "triton": ("Deployment", f"{rec.platform.name}-triton"),
        "evidently": ("CronJob", f"{rec.platform.name}-evidently-drift"),
    }
    for component, obj in evidence.items():
        assert (component in ids) == (obj in kinds), (component, sorted(ids))
    assert ("delta-lake" in ids) == any(n.startswith("feast-delta-tables-") for n in names)

"""From decisions to a PlatformSpec, and from a PlatformSpec to the components each phase deploys.

Every choice maps to something the platform deploys (NOT_DEPLOYABLE is empty), or to the one
documented "use existing" path (USE_EXISTING):
- orchestration kubeflow → Kubeflow Pipelines; prefect → the Prefect server and a Kubernetes
  worker; airflow → the matrix picks it only to keep the team's existing Airflow, so no Airflow is
  deployed: the foundation writes the `airflow-connections` bundle (phases.training.airflow.
  connections_bundle) for it, and `phases.training.airflow.enabled: true` asks for a managed one;
- feature_store feast-redis → Feast with Redis online and Parquet offline; delta-lake → Feast with
  Delta Lake tables on the object store (offline_store: delta, read through Feast's duckdb
  store) and no online store;
- serving batch → no model server (phases.serving.server.enabled: false) and the Spark batch
  scoring job (phases.serving.batch_scoring, sized from data.daily_volume_gb, reading the
  features in the offline store's format, with the model's packages for the stated classical
  frameworks); serving none → neither a server nor drift jobs (nothing is scored here).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from omgml.aws_placement import Placement
from omgml.recommend.availability import Tier
from omgml.recommend.sizing import INFERENCE_INSTANCE, KafkaSize, RedisSize, ServingSize, TrainingPoolShape
from omgml.spec import PlatformSpec, spec_from_dict
from omgml.spec.requirements import Requirements

NOT_DEPLOYABLE: dict[str, frozenset[str]] = {}
# Choices that keep a tool the team already runs instead of deploying one (see the module doc).
USE_EXISTING: dict[str, frozenset[str]] = {"orchestration": frozenset({"airflow"})}
# The component id of each choice in phase_components (the existing Airflow: its bundle).
CHOICE_COMPONENT: dict[tuple[str, str], str] = {
    ("orchestration", "kubeflow"): "kubeflow-pipelines",
    ("orchestration", "airflow"): "airflow-connections",
    ("orchestration", "prefect"): "prefect",
    ("feature_store", "feast-redis"): "feast",
    ("feature_store", "delta-lake"): "delta-lake",
    ("hpo", "katib"): "katib",
    ("hpo", "optuna"): "optuna",
    ("model_governance", "card-shap"): "governance",
    ("model_governance", "card-shap-fairness"): "governance",
    ("data_quality", "great-expectations"): "great-expectations",
    ("lineage", "feast-lineage"): "lineage",
}

TRAINING_POOL = "training-gpu"
INFERENCE_POOL = "inference-gpu"
INFERENCE_LOG_TOPIC = "inference-logs"
# The model server runs only for real-time scoring; batch scoring runs as pipeline steps.
NO_SERVER = frozenset({"batch", "none"})
# What the batch job installs to load a model of each stated framework through mlflow.pyfunc
# (exact pins, the newest on PyPI when written). Deep-learning frameworks are left to the team:
# their wheels are gigabytes, better baked into an image (batch_scoring.image).
# MLflow 3 saves scikit-learn models in the skops format unless told otherwise, and loading one
# needs skops: without it a default-logged model fails to load in the job.
MODEL_PACKAGES: dict[str, tuple[str, ...]] = {
    "sklearn": ("scikit-learn==1.9.1", "skops==0.16.0"), "xgboost": ("xgboost==3.4.1",),
    "lightgbm": ("lightgbm==4.7.0",), "onnx": ("onnxruntime==1.31.1",)}


@dataclass(frozen=True)
class Plan:
    """One choice per area plus what sizing and placement derived from the requirements."""

    choices: Mapping[str, str]
    tier: Tier
    placements: Mapping[str, Placement]
    serving: ServingSize | None = None
    kafka: KafkaSize | None = None
    redis: RedisSize | None = None
    training_pool: TrainingPoolShape | None = None


def deployable(area: str, choice: str) -> bool:
    return choice not in NOT_DEPLOYABLE.get(area, frozenset())


def s3_blocked_by_delta(choices: Mapping[str, str]) -> bool:
    """Delta Lake features keep the object store in-cluster: DuckDB's delta extension reads S3
    with static keys only, and S3 on aws has none (IRSA). The engine warns when this applies."""
    return choices["feature_store"] == "delta-lake"


def credentials_source(req: Requirements, orchestration: str) -> str:
    """Regulated data: passwords come from the team's vault (`existing` Secrets) instead of being
    generated into Pulumi state; the only exception is the connections bundle for an Airflow the
    team already runs, which is made of the values themselves (spec rule in platform_problems)."""
    return "existing" if req.regulated() and orchestration != "airflow" else "generated"


def platform_spec(req: Requirements, plan: Plan) -> PlatformSpec:
    """The PlatformSpec for one decision per area (pure; raises only on an engine bug)."""
    choices = plan.choices
    aws = req.target == "aws"
    multi = plan.tier.choice != "single"
    managed = {s: p.managed for s, p in plan.placements.items()}
    kafka_on = choices["streaming"] == "kafka"
    online = choices["feature_store"] == "feast-redis"
    replicas = 2 if multi else 1
    real_time = choices["serving"] not in NO_SERVER
    srv = plan.serving
    server_min, server_max = (srv.replicas, srv.max_replicas) if srv is not None else (1, 3)
    gpus = choices["gpu_pools"]
    a = req.assumptions

    kafka: dict[str, Any] = {"enabled": kafka_on, "managed": managed["kafka"] and kafka_on}
    if kafka_on:
        # The model server logs requests and predictions to this topic when Kafka runs.
        partitions = plan.kafka.log_partitions if plan.kafka is not None else 3
        kafka["topics"] = [{"name": INFERENCE_LOG_TOPIC, "partitions": partitions}]
    object_store: dict[str, Any] = {"managed": managed["object_store"]}
    if aws:
        # Storage sized from the stated volume; on a laptop the defaults fit the disk instead.
        if plan.kafka is not None:
            kafka["storage_gib"] = plan.kafka.storage_gib
            kafka["brokers"] = plan.kafka.brokers
        if not managed["object_store"]:
            object_store["storage_gib"] = max(20, math.ceil(req.data.daily_volume_gb * a.data_retention_days))
    redis: dict[str, Any] = {"enabled": online, "managed": managed["redis"] and online}
    if online and plan.redis is not None and plan.redis.max_memory_mib is not None and not redis["managed"]:
        redis["max_memory_mib"] = plan.redis.max_memory_mib

    training_pools: list[dict[str, Any]] = []
    if gpus in ("training", "both") and plan.training_pool is not None:
        shape = plan.training_pool
        training_pools.append({
            "name": TRAINING_POOL, "purpose": "training", "instance_types": [shape.instance],
            "min_size": 0, "desired_size": 0, "max_size": shape.nodes, "gpus_per_node": shape.gpus_per_node,
            # Training jobs checkpoint and retry; spot capacity costs well under half.
            "spot": True,
        })
    serving_pools: list[dict[str, Any]] = []
    if gpus in ("inference", "both"):
        serving_pools.append({
            "name": INFERENCE_POOL, "purpose": "inference", "instance_types": [INFERENCE_INSTANCE],
            "min_size": server_min, "desired_size": server_min, "max_size": server_max,
            "gpus_per_node": 1, "spot": False,
        })
    orchestration = choices["orchestration"]
    kubeflow_on = orchestration == "kubeflow"
    prefect_on = orchestration == "prefect"
    delta = choices["feature_store"] == "delta-lake"
    regulated = bool(req.regulated())
    warehouses = [src.name for src in req.data.sources if src.kind == "snowflake"]
    # The team's warehouse holds the history: Feast reads its offline features there.
    snowflake = bool(warehouses) and not delta
    offline_store = "delta" if delta else "snowflake" if snowflake else "file"
    profile = req.resolved_profile()
    server: dict[str, Any] = {"enabled": real_time}
    if real_time:
        server.update({
            "kind": choices["serving"], "replicas": server_min, "max_replicas": server_max,
            "gpu": bool(serving_pools), "gpu_pool": INFERENCE_POOL if serving_pools else None,
        })
    data: dict[str, Any] = {
        "name": req.name,
        "target": req.target,
        "profile": profile,
        "credentials": credentials_source(req, orchestration),
        "phases": {
            "foundation": {
                "kafka": kafka,
                "postgres": {"managed": managed["postgres"]},
                "object_store": object_store,
                "redis": redis,
                "mlflow": {"replicas": replicas},
                "feast": {
                    "replicas": replicas,
                    "online_store": "redis" if online else "none",
                    "offline_store": offline_store,
                    "snowflake_source": warehouses[0] if snowflake else None,
                },
                "data_quality": {"enabled": choices["data_quality"] == "great-expectations"},
                # Under a regulated regime lineage is an audit trail: nothing is pruned.
                "lineage": {"enabled": choices["lineage"] == "feast-lineage", "replicas": replicas,
                            **({"retention_days": 0} if regulated else {})},
            },
            "training": {
                "enabled": kubeflow_on or prefect_on or bool(training_pools),
                "kubeflow": {
                    "enabled": kubeflow_on,
                    # Regulated data: steps run as non-root and cannot reach the internet
                    # (dependencies are baked into step images instead of installed at start).
                    "step_pod_security": "restricted" if regulated else "baseline",
                    "allow_external_egress": not regulated,
                },
                # The matrix picks Airflow to keep the team's own: connections, not a second Airflow.
                "airflow": {"enabled": False, "connections_bundle": orchestration == "airflow"},
                "prefect": {"enabled": prefect_on},
                # Regulated data: flows and tasks cannot reach the internet, as for Kubeflow steps.
                "orchestration": {"allow_external_egress": not regulated},
                "gpu_pools": training_pools,
                **training_addons(req, choices),
            },
            "serving": {
                "server": server,
                "gpu_pools": serving_pools,
                "inference_log_topic": INFERENCE_LOG_TOPIC,
                # Dashboards cost memory a laptop does not have; elsewhere they are worth it.
                "prometheus": {"grafana": profile != "laptop"},
                # Drift is measured on scored data; with nothing scored here there is none to watch.
                "evidently": {"enabled": choices["serving"] != "none"},
                "batch_scoring": batch_scoring(req, choices),
            },
        },
        "data": {"sources": [src.model_dump(mode="json", exclude_defaults=True) for src in req.data.sources]},
        "aws": {
            "availability_zones": plan.tier.zones if aws else 2,
            "audit_logging": regulated,
        },
    }
    return spec_from_dict(data, source="recommendation")


def training_addons(req: Requirements, choices: Mapping[str, str]) -> dict[str, Any]:
    """phases.training.{hpo,wandb,governance} from the add-on decisions (omgml.recommend.training_addons)."""
    out: dict[str, Any] = {}
    hpo = choices.get("hpo", "none")
    if hpo != "none":
        out["hpo"] = {"enabled": True, "engine": hpo}
    deployed = choices["orchestration"] in ("kubeflow", "prefect")
    if req.tracking.wandb and deployed:
        out["wandb"] = {"enabled": True, "host": req.tracking.wandb_host, "project": req.name}
    governance = choices.get("model_governance", "none")
    if governance != "none":
        from omgml.recommend.training_addons import governance_asked

        cards, explain, _ = governance_asked(req)
        g = req.governance
        if not (cards or explain or g.sensitive_features):
            # The choice stands on its own (what the requirements do not say, it turns on).
            cards = explain = True
        out["governance"] = {
            "enabled": True, "model_cards": cards, "explainability": explain,
            "fairness": {"sensitive_features": list(g.sensitive_features),
                         "thresholds": {"demographic_parity_difference": g.fairness_threshold,
                                        "equalized_odds_difference": g.fairness_threshold}},
        }
    return out
def batch_scoring(req: Requirements, choices: Mapping[str, str]) -> dict[str, Any]:
    """phases.serving.batch_scoring: on for batch serving, sized from the day's data."""
    if choices["serving"] != "batch":
        return {"enabled": False}
    return {
        "enabled": True,
        "input_gb": max(0.1, req.data.daily_volume_gb),
        "features_format": "delta" if choices["feature_store"] == "delta-lake" else "parquet",
        "python_packages": sorted({p for f in req.models.frameworks for p in MODEL_PACKAGES.get(f, ())}),
    }


_STORES: tuple[tuple[str, str, str], ...] = (
    ("kafka", "kafka", "msk"),
    ("postgres", "postgres", "rds"),
    ("object_store", "object-store", "s3"),
    ("redis", "redis", "elasticache"),
)


def phase_components(spec: PlatformSpec) -> dict[str, list[str]]:
    """Component ids per phase: exactly what the spec deploys (managed services by their AWS name)."""
    f = spec.phases.foundation
    foundation = [
        managed_id if getattr(f, attr).managed else local_id
        for attr, local_id, managed_id in _STORES
        if getattr(f, attr).enabled
    ]
    foundation += [tool for tool in ("mlflow", "feast") if getattr(f, tool).enabled]
    if f.data_quality.enabled:
        foundation.append("great-expectations")
    if f.lineage.enabled:
        foundation.append("lineage")
    if f.feast.enabled and f.feast.offline_store == "delta":
        foundation.append("delta-lake")
    t = spec.phases.training
    if t.airflow.connections_bundle:
        foundation.append("airflow-connections")
    training: list[str] = []
    if t.enabled:
        if t.kubeflow.enabled:
            training.append("kubeflow-pipelines")
        training += [tool for tool in ("airflow", "prefect") if getattr(t, tool).enabled]
        if t.hpo.enabled:
            training.append(t.hpo.resolved_engine(t.kubeflow.enabled))
        if t.governance.enabled:
            training.append("governance")
        training += [f"gpu-pool:{p.name}" for p in t.gpu_pools]
    s = spec.phases.serving
    serving: list[str] = []
    if s.enabled:
        if s.server.enabled:
            serving.append(s.server.kind)
            if s.experiments:
                serving.append("model-router")
        if s.batch_scoring.enabled:
            serving.append("spark-batch-scoring")
        serving += [f"gpu-pool:{p.name}" for p in s.gpu_pools]
        if s.prometheus.enabled:
            serving.append("prometheus")
            serving += [part for part in ("alertmanager", "pushgateway", "grafana") if getattr(s.prometheus, part)]
        if s.evidently.enabled:
            serving.append("evidently")
    return {"foundation": foundation, "training": training, "serving": serving}

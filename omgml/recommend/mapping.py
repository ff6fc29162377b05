"""From decisions to a PlatformSpec, and from a PlatformSpec to the components each phase deploys.

Every choice maps to something the platform deploys (NOT_DEPLOYABLE is empty), or to the one
documented "use existing" path (USE_EXISTING):
- orchestration kubeflow → Kubeflow Pipelines; prefect → the Prefect server and a Kubernetes
  worker; airflow → the matrix picks it only to keep the team's existing Airflow, so no Airflow is
  deployed: the foundation writes the `airflow-connections` bundle (phases.training.airflow.
  connections_bundle) for it, and `phases.training.airflow.enabled: true` asks for a managed one;
- feature_store feast-redis → Feast with Redis online and Parquet offline; delta-lake → Feast with
  Delta Lake tables on the object store (offline_store: delta, read through Feast's duckdb
  store) and no online store.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

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
}

TRAINING_POOL = "training-gpu"
INFERENCE_POOL = "inference-gpu"
# (GPUs per node, instance type), smallest first: the training pool uses the smallest node that
# holds min(max_gpus, 8) GPUs, so a multi-GPU job fits on one node (NVLink/PCIe, no network hop).
GPU_NODE_SHAPES: tuple[tuple[int, str], ...] = ((1, "g5.xlarge"), (4, "g5.12xlarge"), (8, "g5.48xlarge"))
INFERENCE_INSTANCE = "g5.xlarge"
# A rough planning figure for one CPU model-server replica; it only sets the autoscaling ceiling.
RPS_PER_REPLICA = 250
INFERENCE_LOG_TOPIC = "inference-logs"
# Kafka keeps a week of events (its own default retention); the object store a month of data.
KAFKA_RETENTION_DAYS = 7
OBJECT_RETENTION_DAYS = 30


def deployable(area: str, choice: str) -> bool:
    return choice not in NOT_DEPLOYABLE.get(area, frozenset())


def training_pool_shape(max_gpus: int) -> tuple[int, str, int]:
    """(GPUs per node, instance type, max nodes) for a training pool of `max_gpus` GPUs."""
    want = min(max_gpus, GPU_NODE_SHAPES[-1][0])
    per_node, instance = next((n, i) for n, i in GPU_NODE_SHAPES if n >= want)
    return per_node, instance, math.ceil(max_gpus / per_node)


def server_replicas(req: Requirements, ha: str) -> tuple[int, int]:
    """(replicas, max_replicas) of the model server."""
    replicas = 1 if ha == "single" else 2
    ceiling = math.ceil(req.serving.peak_rps / RPS_PER_REPLICA) if req.serving.peak_rps else 3
    if req.target == "local":
        # One machine: more replicas would only eat the laptop budget.
        ceiling = min(ceiling, 3)
    return replicas, min(100, max(replicas, ceiling))



def s3_blocked_by_delta(choices: Mapping[str, str]) -> bool:
    """Delta Lake features keep the object store in-cluster: DuckDB's delta extension reads S3
    with static keys only, and S3 on aws has none (IRSA). The engine warns when this applies."""
    return choices["feature_store"] == "delta-lake"

def credentials_source(req: Requirements, orchestration: str) -> str:
    """Regulated data: passwords come from the team's vault (`existing` Secrets) instead of being
    generated into Pulumi state; the only exception is the connections bundle for an Airflow the
    team already runs, which is made of the values themselves (spec rule in platform_problems)."""
    return "existing" if req.regulated() and orchestration != "airflow" else "generated"


def platform_spec(req: Requirements, choices: dict[str, str]) -> PlatformSpec:
    """The PlatformSpec for one decision per area (pure; raises only on an engine bug)."""
    aws = req.target == "aws"
    ha = choices["high_availability"]
    multi = ha != "single"
    managed = aws and ha == "multi-az"
    kafka_on = choices["streaming"] == "kafka"
    online = choices["feature_store"] == "feast-redis"
    replicas = 2 if multi else 1
    server_min, server_max = server_replicas(req, ha)
    gpus = choices["gpu_pools"]

    kafka: dict[str, Any] = {"enabled": kafka_on, "managed": managed and kafka_on}
    if kafka_on:
        # The model server logs requests and predictions to this topic when Kafka runs.
        kafka["topics"] = [{"name": INFERENCE_LOG_TOPIC}]
    # Multi-AZ: S3 with an IRSA role per consumer (no keys, no volume to size), except under
    # Delta Lake tables, whose reader (DuckDB's delta extension) takes static keys only.
    s3 = managed and not s3_blocked_by_delta(choices)
    object_store: dict[str, Any] = {"managed": s3}
    if aws:
        # Storage sized from the stated volume; on a laptop the defaults fit the disk instead.
        kafka["storage_gib"] = max(10, math.ceil(req.data.daily_volume_gb * KAFKA_RETENTION_DAYS))
        if not s3:
            object_store["storage_gib"] = max(20, math.ceil(req.data.daily_volume_gb * OBJECT_RETENTION_DAYS))
        if multi:
            kafka["brokers"] = 3

    training_pools: list[dict[str, Any]] = []
    if gpus in ("training", "both"):
        per_node, instance, nodes = training_pool_shape(req.training.max_gpus)
        training_pools.append({
            "name": TRAINING_POOL, "purpose": "training", "instance_types": [instance],
            "min_size": 0, "desired_size": 0, "max_size": nodes, "gpus_per_node": per_node,
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
    profile = req.resolved_profile()
    data: dict[str, Any] = {
        "name": req.name,
        "target": req.target,
        "profile": profile,
        "credentials": credentials_source(req, orchestration),
        "phases": {
            "foundation": {
                "kafka": kafka,
                "postgres": {"managed": managed},
                "object_store": object_store,
                "redis": {"enabled": online, "managed": managed and online},
                "mlflow": {"replicas": replicas},
                "feast": {
                    "replicas": replicas,
                    "online_store": "redis" if online else "none",
                    "offline_store": "delta" if delta else "file",
                },
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
            },
            "serving": {
                "server": {
                    "kind": choices["serving"],
                    "replicas": server_min,
                    "max_replicas": server_max,
                    "gpu": bool(serving_pools),
                    "gpu_pool": INFERENCE_POOL if serving_pools else None,
                },
                "gpu_pools": serving_pools,
                "inference_log_topic": INFERENCE_LOG_TOPIC,
                # Dashboards cost memory a laptop does not have; elsewhere they are worth it.
                "prometheus": {"grafana": profile != "laptop"},
            },
        },
        "aws": {
            "availability_zones": 3 if ha == "multi-az" and aws else 2,
            "audit_logging": regulated,
        },
    }
    return spec_from_dict(data, source="recommendation")


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
        training += [f"gpu-pool:{p.name}" for p in t.gpu_pools]
    s = spec.phases.serving
    serving: list[str] = []
    if s.enabled:
        if s.server.enabled:
            serving.append(s.server.kind)
        serving += [f"gpu-pool:{p.name}" for p in s.gpu_pools]
        if s.prometheus.enabled:
            serving.append("prometheus")
            serving += [part for part in ("alertmanager", "pushgateway", "grafana") if getattr(s.prometheus, part)]
        if s.evidently.enabled:
            serving.append("evidently")
    return {"foundation": foundation, "training": training, "serving": serving}

"""The engine's rules beyond the flag matrix: richer fields, refinements, compliance,
availability, budget, honesty about what is deployed, and determinism."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from omgml.recommend import (
    AREAS,
    CHOICES,
    NOT_DEPLOYABLE,
    Recommendation,
    phase_components,
    priced_recommendation,
    recommend,
)
from omgml.spec.requirements import FLAGS, requirements_from_dict


def rec_for(**data: Any) -> Recommendation:
    return recommend(requirements_from_dict({"name": "t", **data}))


def priced_for(**data: Any) -> Recommendation:
    return priced_recommendation(requirements_from_dict({"name": "t", **data}))


# --- richer fields map onto the switches ------------------------------------------------------
def test_several_models_mean_multi_model() -> None:
    d = rec_for(models={"count": 5}).decision("serving")
    assert d.choice == "triton" and d.drivers == ("models.count",) and "models.count 5" in d.rationale


def test_several_frameworks_mean_multi_model() -> None:
    d = rec_for(models={"frameworks": ["pytorch", "tensorflow"]}).decision("serving")
    assert d.choice == "triton" and d.drivers == ("models.frameworks",)


def test_pytorch_alone_means_pytorch_only() -> None:
    rec = rec_for(models={"frameworks": ["pytorch"]})
    assert rec.choice("serving") == "torchserve" and rec.decision("serving").drivers == ("models.frameworks",)
    assert rec.choice("framework") == "pytorch"
    # TorchServe is chosen by the matrix, but the team is told it gets no patches upstream.
    assert any(w.startswith("serving: TorchServe is in limited maintenance") for w in rec.warnings)


def test_a_latency_target_means_real_time_but_no_broker() -> None:
    rec = rec_for(serving={"latency_p99_ms": 80})
    assert rec.choice("feature_store") == "feast-redis"
    assert rec.decision("feature_store").drivers == ("serving.latency_p99_ms",)
    assert "serving.latency_p99_ms 80" in rec.decision("feature_store").rationale
    assert rec.choice("streaming") == "none"


def test_a_slow_latency_target_is_not_real_time() -> None:
    rec = rec_for(serving={"latency_p99_ms": 5000}, data={"batch_only": True})
    assert rec.choice("feature_store") == "delta-lake"


def test_streaming_data_means_real_time_and_kafka() -> None:
    rec = rec_for(data={"streaming": True})
    assert rec.choice("feature_store") == "feast-redis" and rec.choice("streaming") == "kafka"
    assert rec.decision("streaming").drivers == ("data.streaming",)
    assert rec.platform.phases.foundation.kafka.enabled


def test_batch_only_data_means_delta_lake_and_no_kafka() -> None:
    rec = rec_for(data={"batch_only": True})
    assert rec.choice("feature_store") == "delta-lake" and rec.choice("streaming") == "none"
    assert rec.decision("feature_store").drivers == ("data.batch_only",)


def test_existing_airflow_means_existing_airflow() -> None:
    d = rec_for(orchestration={"existing": "airflow"}).decision("orchestration")
    assert d.choice == "airflow" and d.drivers == ("orchestration.existing",)
    assert "MLflow" in d.rationale


def test_existing_kubeflow_means_kubernetes_native() -> None:
    d = rec_for(orchestration={"existing": "kubeflow"}).decision("orchestration")
    assert d.choice == "kubeflow" and d.drivers == ("orchestration.existing",)


def test_existing_prefect_is_named() -> None:
    d = rec_for(orchestration={"existing": "prefect"}).decision("orchestration")
    assert d.choice == "prefect" and d.drivers == ("orchestration.existing",)


# --- refinements where the matrix would be wrong for the stated facts ---------------------------
def test_a_single_tensorflow_model_does_not_need_triton() -> None:
    rec = rec_for(flags=["multi_model"], models={"count": 1, "frameworks": ["tensorflow"]})
    d = rec.decision("serving")
    assert d.choice == "tf-serving"
    assert d.drivers[:2] == ("models.count", "models.frameworks") and "flags.multi_model" in d.drivers
    assert "single TensorFlow model" in d.rationale
    assert rec.choice("framework") == "tensorflow"
    assert any("contradicts models.count 1" in w for w in rec.warnings)


def test_the_count_must_be_stated_for_that_refinement() -> None:
    # Without models.count in the file the team may well have many models: the matrix stands.
    assert rec_for(flags=["multi_model"], models={"frameworks": ["tensorflow"]}).choice("serving") == "triton"


def test_tf_serving_cannot_serve_xgboost_or_onnx() -> None:
    for fw in ("xgboost", "onnx"):
        d = rec_for(models={"count": 1, "frameworks": [fw]}).decision("serving")
        assert d.choice == "triton", fw
        assert d.drivers == ("models.frameworks",)
        assert f"includes {fw}, which tf-serving cannot serve" in d.rationale
        assert "The matrix alone would pick tf-serving" in d.rationale


def test_a_single_tensorflow_model_keeps_tf_serving() -> None:
    rec = rec_for(models={"count": 1, "frameworks": ["tensorflow"]})
    assert rec.choice("serving") == "tf-serving" and rec.choice("framework") == "tensorflow"


def test_regulated_data_does_not_get_an_unpatched_server() -> None:
    rec = rec_for(flags=["pytorch_only"], compliance=["pci-dss"])
    d = rec.decision("serving")
    assert d.choice == "triton" and d.drivers[0] == "compliance"
    assert "compliance pci-dss requires patched software" in d.rationale
    assert rec.platform.phases.serving.server.kind == "triton"


def test_stated_frameworks_override_the_framework_flag() -> None:
    d = rec_for(flags=["production_scale"], models={"frameworks": ["pytorch", "onnx"]}).decision("framework")
    assert d.choice == "pytorch"
    assert d.drivers == ("models.frameworks", "flags.production_scale")
    assert "overrides flags.production_scale (→ tensorflow)" in d.rationale


def test_a_framework_flag_the_team_confirms_names_both() -> None:
    d = rec_for(flags=["cutting_edge"], models={"frameworks": ["pytorch", "jax"]}).decision("framework")
    assert d.choice == "jax" and d.drivers == ("flags.cutting_edge", "models.frameworks")


def test_a_server_that_cannot_load_the_framework_is_flagged() -> None:
    rec = rec_for(flags=["research_heavy"])  # the matrix pairs PyTorch with TF Serving here
    assert (rec.choice("framework"), rec.choice("serving")) == ("pytorch", "tf-serving")
    assert any(w.startswith("serving: tf-serving cannot load pytorch models") for w in rec.warnings)


# --- GPU pools ----------------------------------------------------------------------------------
def test_gpu_pools_follow_training_and_serving() -> None:
    assert rec_for().choice("gpu_pools") == "none"
    assert rec_for(training={"gpu": True}).choice("gpu_pools") == "training"
    assert rec_for(serving={"gpu": True}).choice("gpu_pools") == "inference"
    rec = rec_for(target="aws", training={"gpu": True, "max_gpus": 16}, serving={"gpu": True, "peak_rps": 3000})
    assert rec.choice("gpu_pools") == "both"
    (train,) = rec.platform.phases.training.gpu_pools
    assert (train.purpose, train.instance_types, train.gpus_per_node, train.max_size, train.min_size,
            train.spot) == ("training", ["g5.48xlarge"], 8, 2, 0, True)
    (infer,) = rec.platform.phases.serving.gpu_pools
    server = rec.platform.phases.serving.server
    # 3000 rps ÷ (2000 × 0.7) → 3 GPU replicas always on, up to 3 × 1.5 → 5 for bursts.
    assert (server.replicas, server.max_replicas) == (3, 5)
    assert (infer.purpose, infer.min_size, infer.desired_size, infer.max_size) == ("inference", 3, 3, 5)
    assert server.gpu and server.gpu_pool == infer.name


def test_small_gpu_jobs_get_small_nodes() -> None:
    (pool,) = rec_for(training={"gpu": True, "max_gpus": 3}).platform.phases.training.gpu_pools
    assert (pool.instance_types, pool.gpus_per_node, pool.max_size) == (["g5.12xlarge"], 4, 1)


def test_local_gpu_pools_are_explained() -> None:
    d = rec_for(training={"gpu": True}).decision("gpu_pools")
    assert "kind worker labelled and tainted" in d.rationale


# --- orchestration and feature store: every choice is deployed (or the existing tool is kept) ------
def test_prefect_is_deployed_in_the_training_phase() -> None:
    rec = rec_for()
    assert rec.choice("orchestration") == "prefect"
    t = rec.platform.phases.training
    assert t.enabled and t.prefect.enabled and not t.kubeflow.enabled and not t.airflow.enabled
    assert rec.phases["training"] == ["prefect"]
    assert not any(w.startswith("orchestration:") for w in rec.warnings)


def test_an_existing_airflow_gets_connections_not_a_second_airflow() -> None:
    rec = rec_for(orchestration={"existing": "airflow"}, training={"gpu": True})
    t = rec.platform.phases.training
    assert not t.airflow.enabled and t.airflow.connections_bundle
    assert t.enabled and not t.kubeflow.enabled and not t.prefect.enabled
    assert rec.phases["training"] == ["gpu-pool:training-gpu"]
    assert "airflow-connections" in rec.phases["foundation"]
    assert not any("cannot deploy" in w for w in rec.warnings)
    assert any("No Airflow is deployed" in c for c in rec.decision("orchestration").consequences)


def test_delta_lake_maps_to_a_delta_offline_store_without_redis() -> None:
    rec = rec_for(flags=["batch_only", "kubernetes_native"])
    f = rec.platform.phases.foundation
    assert f.feast.offline_store == "delta" and f.feast.online_store == "none" and not f.redis.enabled
    assert not any(w.startswith("feature_store:") for w in rec.warnings)
    assert "redis" not in rec.phases["foundation"] and "delta-lake" in rec.phases["foundation"]
    assert any("duckdb offline store" in c for c in rec.decision("feature_store").consequences)


def test_deployable_choices_give_no_deployability_warning() -> None:
    rec = rec_for(flags=["kubernetes_native", "real_time", "multi_model"])
    assert rec.warnings == ()
    assert rec.phases["training"] == ["kubeflow-pipelines"]


# --- compliance ------------------------------------------------------------------------------------
def test_regulated_compliance_closes_the_platform() -> None:
    rec = rec_for(target="aws", flags=["kubernetes_native"], compliance=["pci-dss", "soc2"])
    spec = rec.platform
    assert spec.aws.audit_logging
    assert spec.phases.training.kubeflow.step_pod_security == "restricted"
    assert not spec.phases.training.kubeflow.allow_external_egress
    text = "\n".join(rec.controls)
    for control in ("encryption at rest", "audit logging", "network policies", "no public endpoints"):
        assert f"{control} (pci-dss, soc2)" in text
    assert not any(w.startswith("compliance:") for w in rec.warnings)


def test_hipaa_mentions_the_business_associate_addendum() -> None:
    assert any("Business Associate Addendum" in c for c in rec_for(target="aws", compliance=["hipaa"]).controls)


def test_compliance_cannot_be_met_locally() -> None:
    rec = rec_for(compliance=["soc2"])
    assert any(w.startswith("compliance: soc2 cannot be met on target local") for w in rec.warnings)


def test_gdpr_alone_is_a_residency_note_not_a_lockdown() -> None:
    rec = rec_for(target="aws", compliance=["gdpr"])
    assert not rec.platform.aws.audit_logging
    assert rec.controls == (
        "gdpr: personal data stays in aws.region (us-east-1); choose an EU region in omgml.yaml if your "
        "data-processing agreement requires it",
    )


# --- availability ----------------------------------------------------------------------------------
def test_four_nines_on_aws_is_multi_az_with_replicas_and_managed_stores() -> None:
    rec = rec_for(target="aws", availability="99.99", data={"streaming": True})
    assert rec.choice("high_availability") == "multi-az" and rec.choice("data_stores") == "mixed"
    spec = rec.platform
    f = spec.phases.foundation
    assert spec.aws.availability_zones == 3
    # One replica per zone at least; two of everything else.
    assert spec.phases.serving.server.replicas >= 3 and f.mlflow.replicas >= 2 and f.feast.replicas >= 2
    assert f.kafka.brokers == 3
    assert f.postgres.managed and f.redis.managed and f.object_store.managed
    # MSK is not recommended while omgml's Kafka clients cannot speak SASL/IAM: three brokers in-cluster.
    assert not f.kafka.managed
    assert rec.phases["foundation"][:4] == ["kafka", "rds", "s3", "elasticache"]
    assert "Amazon MSK is not recommended yet" in rec.decision("data_stores").rationale
    assert rec.slo is not None and rec.slo.achievable == 99.99 and rec.unmet == ()


def test_three_nines_on_aws_is_multi_replica_with_managed_failover() -> None:
    rec = rec_for(target="aws", availability="99.9")
    assert rec.choice("high_availability") == "multi-replica"
    f = rec.platform.phases.foundation
    assert f.mlflow.replicas == 2 and rec.platform.phases.serving.server.replicas == 2
    assert f.postgres.managed and f.redis.managed and rec.platform.aws.availability_zones == 2
    assert "availability 99.9" in rec.decision("data_stores").rationale


def test_best_effort_on_aws_is_single() -> None:
    rec = rec_for(target="aws")
    assert rec.choice("high_availability") == "single" and rec.platform.phases.foundation.mlflow.replicas == 1


def test_four_nines_cannot_be_met_locally_and_the_engine_says_so() -> None:
    rec = rec_for(availability="99.99")
    d = rec.decision("high_availability")
    assert d.choice == "single" and "availability 99.99 cannot be met locally" in d.rationale
    assert any(w.startswith("high_availability: availability 99.99 cannot be met on target local")
               for w in rec.warnings)
    assert rec.platform.phases.serving.server.replicas == 1
    assert not rec.platform.phases.foundation.postgres.managed


# --- budget ----------------------------------------------------------------------------------------
def test_gpu_pools_on_a_tiny_budget_are_flagged_with_the_cost_drivers() -> None:
    rec = priced_for(target="aws", training={"gpu": True, "max_gpus": 8}, serving={"gpu": True},
                     budget_usd_month=300)
    (warning,) = [w for w in rec.warnings if w.startswith("budget:")]
    assert "over budget_usd_month $300.00" in warning and warning in rec.unmet
    assert rec.cost is not None and rec.cost.total > 300
    # The two GPU pools (Karpenter NodePools on aws) top the render's bill, and the warning names them.
    top = [i.resource for i in rec.cost.drivers(2)]
    assert top == ["kubernetes:karpenter.sh/v1:NodePool/training-pool-training-gpu-nodepool",
                   "kubernetes:karpenter.sh/v1:NodePool/training-pool-inference-gpu-nodepool"]
    assert all(r in warning for r in top)


def test_a_budget_that_fits_gives_no_warning() -> None:
    rec = priced_for(target="aws", budget_usd_month=100_000)
    assert rec.cost is not None and not any(w.startswith("budget:") for w in rec.warnings)


def test_budget_is_not_checked_on_a_laptop() -> None:
    rec = priced_for(training={"gpu": True}, budget_usd_month=1)
    assert rec.cost is None and not any(w.startswith("budget:") for w in rec.warnings)
    assert any(w.startswith("settings: budget_usd_month is checked on target aws only") for w in rec.warnings)


def test_over_budget_moves_convenience_stores_in_cluster_with_the_saving() -> None:
    data = {"target": "aws", "availability": "99.9", "serving": {"peak_rps": 50}}
    managed = priced_for(**data)
    assert managed.platform.phases.foundation.postgres.managed and managed.cost is not None
    rec = priced_for(**data, budget_usd_month=managed.cost.total - 10)
    f = rec.platform.phases.foundation
    assert not f.postgres.managed and not f.redis.managed and f.object_store.managed
    assert rec.cost is not None and rec.cost.total < managed.cost.total
    rationale = rec.decision("data_stores").rationale
    assert "postgres: Postgres StatefulSet, because budget_usd_month" in rationale
    assert "in the cluster it saves $" in rationale


def test_zone_and_compliance_stores_never_move_for_the_budget() -> None:
    rec = priced_for(target="aws", availability="99.99", budget_usd_month=100)
    f = rec.platform.phases.foundation
    assert f.postgres.managed and f.redis.managed
    assert any(w.startswith("budget:") for w in rec.unmet)


# --- shape, honesty and determinism ------------------------------------------------------------------
def test_one_decision_per_area_with_real_alternatives() -> None:
    rec = rec_for(target="aws", flags=list(FLAGS), compliance=["pci-dss"], availability="99.95")
    assert [d.area for d in rec.decisions] == list(AREAS)
    for d in rec.decisions:
        assert d.choice in CHOICES[d.area]
        assert d.rationale and d.alternatives
        assert all(a.choice != d.choice and a.why_not for a in d.alternatives)
        # Every alternative of a multi-choice area is considered; an ADR may also weigh a mechanism omgml
        # does not deploy (experiments: Gateway API, nginx), which is then never a choice.
        if len(CHOICES[d.area]) > 1:
            assert {a.choice for a in d.alternatives} >= set(CHOICES[d.area]) - {d.choice}


def test_json_shape() -> None:
    data = rec_for(flags=["real_time"], serving={"peak_rps": 100}).to_json()
    assert set(data) == {"platform", "decisions", "sizing", "availability", "warnings", "compliance_controls",
                         "cost", "phases"}
    assert set(data["phases"]) == {"foundation", "training", "serving"}
    for d in data["decisions"]:
        assert set(d) == {"area", "choice", "rationale", "drivers", "alternatives", "consequences"}
        assert all(set(a) == {"choice", "why_not"} for a in d["alternatives"])
    assert data["sizing"] and all(set(s) == {"item", "value", "arithmetic"} for s in data["sizing"])


def test_every_choice_is_deployable() -> None:
    assert dict(NOT_DEPLOYABLE) == {}


requirements_strategy = st.fixed_dictionaries({
    "name": st.just("prop"),
    "target": st.sampled_from(["local", "aws"]),
    "flags": st.lists(st.sampled_from(FLAGS), unique=True),
    "models": st.fixed_dictionaries({
        "count": st.integers(1, 50),
        "frameworks": st.lists(st.sampled_from(["pytorch", "tensorflow", "jax", "onnx", "xgboost", "lightgbm",
                                                "sklearn"]),
                               unique=True, max_size=4),
    }),
    "serving": st.fixed_dictionaries({"latency_p99_ms": st.none() | st.integers(1, 5000),
                                      "peak_rps": st.none() | st.integers(0, 50_000), "gpu": st.booleans()},
                                     optional={"mode": st.sampled_from(["real-time", "batch", "none"])}),
    "training": st.booleans().flatmap(lambda gpu: st.fixed_dictionaries(
        {"gpu": st.just(gpu), "max_gpus": st.integers(1, 64) if gpu else st.just(1)})),
    "data": st.sampled_from([{"streaming": True}, {"batch_only": True}, {}]),
    "orchestration": st.fixed_dictionaries({"existing": st.sampled_from(["none", "airflow", "kubeflow", "prefect"])}),
    "compliance": st.lists(st.sampled_from(["pci-dss", "soc2", "gdpr", "hipaa"]), unique=True),
    "availability": st.sampled_from(["99.0", "99.9", "99.95", "99.99"]),
    "budget_usd_month": st.none() | st.floats(1, 1e6),
})


@settings(max_examples=150, deadline=None)
@given(requirements_strategy)
def test_every_valid_requirement_gives_a_consistent_platform(data: dict[str, Any]) -> None:
    req = requirements_from_dict(data)
    rec = recommend(req)
    # Deterministic: the same requirements give the same answer.
    assert recommend(req).to_json() == rec.to_json()
    spec = rec.platform
    assert rec.phases == phase_components(spec)
    if rec.choice("serving") in ("batch", "none"):
        assert not spec.phases.serving.server.enabled
    else:
        assert spec.phases.serving.server.kind == rec.choice("serving") and spec.phases.serving.server.enabled
    assert spec.phases.training.kubeflow.enabled == (rec.choice("orchestration") == "kubeflow")
    assert spec.phases.training.prefect.enabled == (rec.choice("orchestration") == "prefect")
    assert spec.phases.training.airflow.connections_bundle == (rec.choice("orchestration") == "airflow")
    assert (spec.phases.foundation.feast.offline_store == "delta") == (rec.choice("feature_store") == "delta-lake")
    assert not any("cannot deploy" in w for w in rec.warnings)
    assert spec.phases.foundation.kafka.enabled == (rec.choice("streaming") == "kafka")
    assert spec.phases.foundation.redis.enabled == (rec.choice("feature_store") == "feast-redis")
    assert bool(spec.all_gpu_pools()) == (rec.choice("gpu_pools") != "none")
    # Every unmet requirement is also a warning, and the sizing lines carry their arithmetic.
    assert set(rec.unmet) <= set(rec.warnings)
    assert all(line.arithmetic for line in rec.sizing)
    if spec.target == "local":
        assert rec.choice("high_availability") == "single"
        assert not any(getattr(spec.phases.foundation, s).managed
                       for s in ("kafka", "postgres", "object_store", "redis"))


def test_four_nines_with_delta_lake_keeps_the_object_store_in_cluster_and_says_why() -> None:
    rec = rec_for(target="aws", availability="99.99", data={"batch_only": True})
    assert rec.choice("high_availability") == "multi-az" and rec.choice("feature_store") == "delta-lake"
    f = rec.platform.phases.foundation
    assert f.postgres.managed and not f.object_store.managed and f.feast.offline_store == "delta"
    assert any(w.startswith("high_availability: the object store stays in-cluster") and "Delta" in w
               for w in rec.warnings)

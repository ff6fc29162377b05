"""Shipped templates: documented presets that load, recommend what their names promise, and render."""

from __future__ import annotations

import pytest

from omgml.errors import OmgmlError
from omgml.recommend import recommend
from omgml.synth.render import render_platform
from omgml.templates import load_template, template_names, template_platform_spec, template_text

TEMPLATES = ["batch", "enterprise", "fintech", "research", "starter"]


def test_the_five_templates_ship() -> None:
    assert template_names() == TEMPLATES


def test_unknown_template_lists_the_names() -> None:
    with pytest.raises(OmgmlError) as info:
        load_template("fintek")
    assert str(info.value) == "unknown template 'fintek'; choose one of: batch, enterprise, fintech, research, starter"


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_field_choice_is_commented(name: str) -> None:
    text = template_text(name)
    assert text.startswith(f"# {name}:")
    # More comment lines than top-level fields: each choice is explained.
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    fields = [line for line in text.splitlines() if line and not line[0].isspace() and not line.startswith("#")]
    assert len(comments) >= len(fields)


def test_starter_is_the_smallest_local_platform() -> None:
    rec = recommend(load_template("starter"))
    assert rec.platform.target == "local" and rec.platform.profile == "laptop"
    assert rec.choice("streaming") == "none" and rec.choice("gpu_pools") == "none"
    assert rec.warnings == ()
    starter = {c for ids in rec.phases.values() for c in ids}
    enterprise = {c for ids in recommend(load_template("enterprise")).phases.values() for c in ids}
    assert starter < enterprise


def test_enterprise_has_all_three_phases_and_the_full_tool_set() -> None:
    rec = recommend(load_template("enterprise"))
    assert rec.phases["foundation"] == ["kafka", "postgres", "object-store", "redis", "mlflow", "feast",
                                        "great-expectations", "lineage"]
    # Its budget is for --target aws; on the laptop the engine says it does nothing there.
    assert any(w.startswith("settings: budget_usd_month is checked on target aws only") for w in rec.warnings)
    assert rec.phases["training"] == ["kubeflow-pipelines", "gpu-pool:training-gpu"]
    assert rec.phases["serving"][0] == "triton"
    assert {"prometheus", "alertmanager", "pushgateway", "evidently"} <= set(rec.phases["serving"])


def test_fintech_is_enterprise_plus_compliance_four_nines_and_real_time() -> None:
    req = load_template("fintech")
    assert req.compliance == ["pci-dss", "soc2"] and req.availability == "99.99"
    assert req.serving.latency_p99_ms is not None and req.serving.latency_p99_ms < 50 + 1
    rec = recommend(req)
    assert rec.choice("high_availability") == "multi-az" and rec.choice("feature_store") == "feast-redis"
    assert rec.choice("streaming") == "kafka" and rec.platform.aws.audit_logging
    assert rec.platform.profile == "production"
    # 2,000 rps on GPUs: 2 replicas carry the peak, 3 survive a zone outage (one per zone).
    server = rec.platform.phases.serving.server
    assert (server.gpu, server.replicas, server.max_replicas) == (True, 3, 5)
    assert rec.unmet == () and not any(w.startswith("budget:") for w in rec.warnings)


def test_research_is_gpu_training_with_kubeflow_and_mlflow() -> None:
    rec = recommend(load_template("research"))
    assert rec.choice("framework") == "pytorch" and rec.choice("orchestration") == "kubeflow"
    assert rec.choice("gpu_pools") == "training" and rec.choice("experiment_tracking") == "mlflow"
    (pool,) = rec.platform.phases.training.gpu_pools
    assert pool.max_size * pool.gpus_per_node >= 16


def test_batch_scores_in_batches_without_streaming() -> None:
    rec = recommend(load_template("batch"))
    assert rec.choice("streaming") == "none" and rec.choice("feature_store") == "delta-lake"
    # xgboost and sklearn only: no deep-learning framework, and batch scoring instead of a server.
    assert rec.choice("framework") == "classical" and rec.choice("serving") == "batch"
    assert not rec.platform.phases.serving.server.enabled and rec.platform.phases.serving.evidently.enabled
    assert "triton" not in rec.phases["serving"] and rec.warnings == ()
    assert "kafka" not in rec.phases["foundation"]
    # Delta Lake is deployed: Feast's offline store reads Delta tables, and nothing warns otherwise.
    assert rec.platform.phases.foundation.feast.offline_store == "delta" and "delta-lake" in rec.phases["foundation"]
    assert not any(w.startswith("feature_store:") for w in rec.warnings)


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_renders(name: str) -> None:
    spec = template_platform_spec(name)
    render = render_platform(spec)
    assert [p.phase for p in render.phases] == ["foundation", "training", "serving"]
    assert render.all_manifests()

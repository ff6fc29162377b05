"""The training add-ons across the phases: the foundation provisions their databases and labels,
the training phase deploys them and wires their settings into every pipeline namespace."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from omgml.blueprints.foundation import hpo_consumers, platform_namespace_args
from omgml.components.katib.release import INJECTION_LABEL
from omgml.spec import PlatformSpec
from omgml.spec.platform import spec_from_dict
from omgml.synth.render import PlatformRender, render_platform
from tests.components.manifest_checks import assert_no_generated_values
from tests.synth_helpers import assert_valid, find, one, pod_spec

ORCH = "omgml-orchestration"
STEPS = "omgml-pipelines"
WANDB = {"enabled": True, "api_key_secret": "team-wandb", "api_key_key": "key", "host": "https://wandb.example.com"}
GOVERNANCE = {"enabled": True, "fairness": {"sensitive_features": ["age_band"],
                                            "thresholds": {"demographic_parity_difference": 0.05}}}


def spec(training: dict[str, Any]) -> PlatformSpec:
    return spec_from_dict({"name": "demo", "phases": {"training": training,
                                                     "serving": {"enabled": False}}})


@cache
def katib() -> PlatformRender:
    return render_platform(spec({"hpo": {"enabled": True}, "wandb": WANDB, "governance": GOVERNANCE}))


@cache
def optuna() -> PlatformRender:
    return render_platform(spec({"kubeflow": {"enabled": False}, "prefect": {"enabled": True},
                                 "hpo": {"enabled": True}, "wandb": WANDB, "governance": GOVERNANCE}))


def everything(render: PlatformRender) -> list[dict[str, Any]]:
    return [m for p in render.phases for m in p.manifests]


def test_katib_platform_renders_valid_and_its_steps_namespace_opts_into_injection() -> None:
    items = everything(katib())
    assert_valid(items)
    assert_no_generated_values(items)
    steps_ns = one(items, "Namespace", STEPS)
    assert steps_ns["metadata"]["labels"][INJECTION_LABEL] == "enabled"
    assert INJECTION_LABEL not in one(items, "Namespace", "kubeflow")["metadata"]["labels"]
    assert [(c.name, c.namespace) for c in hpo_consumers(spec({"hpo": {"enabled": True}}))] == [("katib", "kubeflow")]
    db = one(items, "Deployment", "katib-db-manager")
    ref = next(e for e in pod_spec(db)["containers"][0]["env"] if e["name"] == "DB_PASSWORD")
    secret = ref["valueFrom"]["secretKeyRef"]["name"]
    assert [s for s in find(items, "Secret", secret) if s["metadata"]["namespace"] == "kubeflow"]
    assert katib().phases[1].result.exports["hpo_ui_url"] == "http://katib-ui.kubeflow.svc.cluster.local/katib/"


def test_without_hpo_the_steps_namespace_carries_no_katib_label() -> None:
    labels = {a.name: dict(a.extra_labels) for a in platform_namespace_args(spec({}))}
    assert labels[STEPS] == {}


def test_optuna_platform_gives_every_task_and_flow_run_the_study_storage() -> None:
    items = everything(optuna())
    assert_valid(items)
    assert_no_generated_values(items)
    assert one(items, "Deployment", "optuna-dashboard")["metadata"]["namespace"] == ORCH
    template = json.loads(one(items, "ConfigMap", "prefect-job-template")["data"]["base-job-template.json"])
    env = {e["name"]: e for e in template["job_configuration"]["job_manifest"]["spec"]["template"]["spec"][
        "containers"][0]["env"]}
    consumer = env["OPTUNA_DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"]
    assert [s for s in find(items, "Secret", consumer) if s["metadata"]["namespace"] == ORCH]
    assert "OPTUNA_STORAGE" in env
    assert env["WANDB_API_KEY"]["valueFrom"] == {"secretKeyRef": {"name": "team-wandb", "key": "key"}}
    assert env["OMGML_GOVERNANCE"]["valueFrom"]["configMapKeyRef"]["name"] == "omgml-governance"


def test_the_wandb_key_is_referenced_never_created_or_shown() -> None:
    for render in (katib(), optuna()):
        items = everything(render)
        assert not find(items, "Secret", "team-wandb"), "omgml must not create the team's W&B Secret"
        # Every place the key is handed to a pod (workloads, and the task / flow-run templates inside
        # ConfigMaps) is a secretKeyRef to the team's Secret; no value appears anywhere.
        text = re.sub(r"\s+", " ", json.dumps(render.inventory()).replace('\\"', '"').replace("\\n", " "))
        refs = re.findall(r'"name": "WANDB_API_KEY", "valueFrom": \{ ?"secretKeyRef": \{ ?"name": "team-wandb"', text)
        assert len(refs) == (1 if render is optuna() else 0), refs
        assert not re.findall(r'"name": "WANDB_API_KEY", "value"', text)
        for cm in find(items, "ConfigMap", "omgml-wandb"):
            assert cm["data"] == {"WANDB_BASE_URL": "https://wandb.example.com"}


def test_governance_settings_reach_every_pipeline_namespace_from_the_spec() -> None:
    items = everything(katib())
    (cm,) = find(items, "ConfigMap", "omgml-governance")
    assert cm["metadata"]["namespace"] == STEPS
    settings = json.loads(cm["data"]["governance.json"])
    assert settings["fairness"] == {"sensitive_features": ["age_band"],
                                    "thresholds": {"demographic_parity_difference": 0.05}}
    assert settings["model_cards"] and settings["explainability"]


def test_on_aws_with_rds_katib_connects_with_tls() -> None:
    s = spec_from_dict({"name": "demo", "target": "aws", "phases": {
        "foundation": {"postgres": {"managed": True}}, "training": {"hpo": {"enabled": True}},
        "serving": {"enabled": False}}})
    items = everything(render_platform(s, ["foundation", "training"]))
    db = one(items, "Deployment", "katib-db-manager")
    env = {e["name"]: e.get("value") for e in pod_spec(db)["containers"][0]["env"]}
    assert env["KATIB_POSTGRESQL_SSL_MODE"] == "require"

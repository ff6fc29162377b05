"""Optuna's dashboard on the study storage, and the add-ons' env in task and flow-run pods."""

from __future__ import annotations

import json
from typing import Any

import yaml

from omgml.components.governance import governance_env
from omgml.components.optuna import DASHBOARD_IMAGE, Optuna, OptunaArgs, storage_env
from omgml.components.postgres import Postgres, PostgresArgs, PostgresConsumer
from omgml.components.wandb import WandbArgs, wandb_env
from tests.components.manifest_checks import assert_component_sound, env_of
from tests.synth_helpers import one, pod_spec, synth_manifests

ORCH = "omgml-orchestration"


def render(**kw: Any) -> list[dict[str, Any]]:
    def program() -> None:
        pg = Postgres("pg", PostgresArgs(namespace="omgml-data", storage_gib=1, profile="laptop",
                                         consumers=(PostgresConsumer("optuna", ORCH),)))
        Optuna("optuna", OptunaArgs(namespace=ORCH, database_secret=pg.databases["optuna"].secret, **kw))
    return synth_manifests(program)


def test_the_dashboard_is_sound_and_its_storage_password_stays_in_the_secret() -> None:
    items = render()
    assert_component_sound(items)
    d = one(items, "Deployment", "optuna-dashboard")
    c = pod_spec(d)["containers"][0]
    assert c["image"] == DASHBOARD_IMAGE
    env = env_of(c)
    assert env["OPTUNA_DB_PASSWORD"] == {"secretKeyRef": {"name": "postgres-optuna-db", "key": "password"}}
    assert env["OPTUNA_STORAGE"] == ("postgresql+psycopg2://$(OPTUNA_DB_USER):$(OPTUNA_DB_PASSWORD)"
                                     "@$(OPTUNA_DB_HOST):$(OPTUNA_DB_PORT)/$(OPTUNA_DB_NAME)")
    # The URL reaches the dashboard through a file on a memory volume, never the command line.
    script = c["command"][-1]
    assert '"$OPTUNA_STORAGE"' in script and "--from-config" in script and "umask 077" in script
    # A fresh platform has no study yet: the schema is made before the dashboard (which opens the
    # storage without creating tables) starts, and a failure there stops the container.
    assert script.startswith("set -e\n")
    assert script.index('optuna.storages.RDBStorage(os.environ["OPTUNA_STORAGE"])') < script.index("exec optuna-dashboard")
    config = next(v for v in pod_spec(d)["volumes"] if v["name"] == "config")
    assert config["emptyDir"]["medium"] == "Memory"
    assert c["readinessProbe"]["httpGet"]["path"] == "/api/meta"


def test_no_dashboard_no_workload() -> None:
    items = render(dashboard=False)
    assert not [m for m in items if m["kind"] in ("Deployment", "Service") and m["metadata"]["namespace"] == ORCH]


def test_airflow_task_pods_get_the_add_ons_env() -> None:
    from omgml.components.airflow import AirflowArgs, resolve, task_pod_template
    from omgml.components.contracts import StoreRef

    step_env = (*storage_env("postgres-optuna-db"), *wandb_env(WandbArgs(namespaces=(ORCH,), api_key_secret="wb")),
                *governance_env())
    r = resolve(AirflowArgs(namespace=ORCH, database_secret="db", store=StoreRef("http://s3:8333", "r", "keys"),
                            mlflow_tracking_uri="http://mlflow:5000", logs_bucket="logs", step_env=step_env))
    template = task_pod_template(r, ("http://s3:8333", "r", "keys"), "http://mlflow:5000", "logs", step_env)
    env = env_of(template["spec"]["containers"][0])
    assert env["WANDB_API_KEY"] == {"secretKeyRef": {"name": "wb", "key": "api-key"}}
    assert env["OMGML_GOVERNANCE"] == {"configMapKeyRef": {"name": "omgml-governance", "key": "governance.json"}}
    assert env["OPTUNA_STORAGE"].startswith("postgresql+psycopg2://$(OPTUNA_DB_USER)")
    yaml.safe_dump(template)  # the template is a file in a ConfigMap: plain data only


def test_prefect_flow_runs_get_the_add_ons_env() -> None:
    from omgml.components.contracts import StoreRef
    from omgml.components.prefect import PrefectArgs, base_job_template, resolve

    step_env = (*wandb_env(WandbArgs(namespaces=(ORCH,), api_key_secret="wb", host="https://wandb.example.com")),)
    r = resolve(PrefectArgs(namespace=ORCH, database_secret="db", store=StoreRef("", "r", "keys"),
                            mlflow_tracking_uri="http://mlflow:5000", step_env=step_env))
    job = base_job_template(r, ("", "r", "keys"), "http://mlflow:5000", step_env)
    c = job["job_configuration"]["job_manifest"]["spec"]["template"]["spec"]["containers"][0]
    env = env_of(c)
    assert env["WANDB_API_KEY"] == {"secretKeyRef": {"name": "wb", "key": "api-key"}}
    assert env["WANDB_BASE_URL"] == "https://wandb.example.com"
    json.dumps(job)

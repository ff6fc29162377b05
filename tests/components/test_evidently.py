"""Evidently: UI service on a PVC, write secret, and the drift CronJob with its script."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from omgml.components import job_runtime
from omgml.components.contracts import StoreRef
from omgml.components.evidently import drift_job
from omgml.components.evidently.component import (
    HEARTBEAT_CHECK,
    HEARTBEAT_FILE,
    IMAGE,
    SCRIPT_DIR,
    SCRIPT_NAME,
    SECRET_KEY,
    Evidently,
    EvidentlyArgs,
    dataset_url,
    drift_job_script,
    resolve_evidently,
)
from omgml.synth.manifests import MASK, manifests
from tests.components.manifest_checks import assert_component_sound, env_of
from tests.synth_helpers import assert_valid, find, one, pod_spec, synth

NS = "omgml-serving"
STORE_SECRET = "store-credentials"


def ev_args(**kw: Any) -> EvidentlyArgs:
    base: dict[str, Any] = dict(
        namespace=NS, instance="demo", reference_path="drift/reference/", current_path="s3://logs/current/",
        store=StoreRef("http://objectstore.omgml-data.svc.cluster.local:8333", "us-east-1", STORE_SECRET),
        default_bucket="demo-features",
        pushgateway_url="http://demo-pushgateway.omgml-serving.svc:9091", schedule="*/15 * * * *",
    )
    base.update(kw)
    return EvidentlyArgs(**base)


def run(*components: tuple[str, EvidentlyArgs]) -> Any:
    def program() -> None:
        k8s.core.v1.Secret("store", metadata={"name": STORE_SECRET, "namespace": NS},
                           string_data={"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"})
        for name, a in components:
            Evidently(name, a)
    return synth(program)


def render(a: EvidentlyArgs | None = None) -> list[dict[str, Any]]:
    return manifests(run(("ev", a or ev_args())))


# --- component ---------------------------------------------------------------------------------
def test_renders_valid_and_sound() -> None:
    items = render()
    assert_component_sound(items)
    assert {m["kind"] for m in items} >= {"Deployment", "Service", "PersistentVolumeClaim", "CronJob", "ConfigMap",
                                          "Secret"}


def test_cronjob_schedule_comes_from_the_args() -> None:
    cj = one(render(ev_args(schedule="7  3 * * 1")), "CronJob")
    assert cj["spec"]["schedule"] == "7 3 * * 1"
    assert cj["spec"]["concurrencyPolicy"] == "Forbid"


def test_cronjob_uses_the_write_secret_and_runs_the_mounted_script() -> None:
    items = render()
    cj = one(items, "CronJob")
    ps = pod_spec(cj)
    c = ps["containers"][0]
    env = env_of(c)
    write = one(items, "Secret", "demo-evidently-write")
    assert env[SECRET_KEY] == {"secretKeyRef": {"name": "demo-evidently-write", "key": SECRET_KEY}}
    assert write["stringData"] == {SECRET_KEY: MASK}
    # the UI checks writes against the same Secret
    ui_env = env_of(pod_spec(one(items, "Deployment"))["containers"][0])
    assert ui_env[SECRET_KEY] == env[SECRET_KEY]
    assert c["command"] == ["python", f"{SCRIPT_DIR}/{SCRIPT_NAME}"]
    script_vol = next(v for v in ps["volumes"] if v["name"] == "script")
    cm = one(items, "ConfigMap", script_vol["configMap"]["name"])
    # the ConfigMap ships the module itself, byte for byte
    assert cm["data"][SCRIPT_NAME] == Path(drift_job.__file__).read_text(encoding="utf-8") == drift_job_script()
    # ... with the module it imports beside it, so a change to either rolls the job template
    assert cm["data"][job_runtime.FILE_NAME] == Path(job_runtime.__file__).read_text(encoding="utf-8")
    assert cj["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["annotations"]["omgml.dev/script-checksum"] \
        == hashlib.sha256((drift_job_script() + job_runtime.source()).encode()).hexdigest()[:16]
    assert {"name": "script", "mountPath": SCRIPT_DIR, "readOnly": True} in c["volumeMounts"]
    assert c["image"] == IMAGE  # the official image: nothing is pip-installed at runtime


def test_cronjob_env_points_at_datasets_store_ui_and_pushgateway() -> None:
    env = env_of(pod_spec(one(render(), "CronJob"))["containers"][0])
    assert env["REFERENCE_PATH"] == "s3://demo-features/drift/reference/"
    assert env["CURRENT_PATH"] == "s3://logs/current/"
    assert env["PUSHGATEWAY_URL"] == "http://demo-pushgateway.omgml-serving.svc:9091"
    assert env["EVIDENTLY_URL"] == "http://demo-evidently.omgml-serving.svc:8000"
    assert env["AWS_ACCESS_KEY_ID"] == {"secretKeyRef": {"name": STORE_SECRET, "key": "AWS_ACCESS_KEY_ID"}}


def test_relative_paths_resolve_against_an_output_bucket() -> None:
    def program() -> None:
        Evidently("ev", ev_args(default_bucket=pulumi.Output.from_input("late-features"),
                                store=StoreRef("http://objectstore:8333", "us-east-1",
                                               pulumi.Output.from_input(STORE_SECRET))))
    env = env_of(pod_spec(one(manifests(synth(program)), "CronJob"))["containers"][0])
    assert env["REFERENCE_PATH"] == "s3://late-features/drift/reference/"


def test_ui_keeps_its_workspace_on_a_retained_volume() -> None:
    for profile, keep in (("laptop", False), ("small", True)):
        result = run(("ev", ev_args(profile=profile, storage_gib=7)))
        items = manifests(result)
        dep = one(items, "Deployment")
        assert dep["spec"]["strategy"] == {"type": "Recreate"}
        c = pod_spec(dep)["containers"][0]
        assert c["args"] == ["--workspace", "/app/workspace", "--port", "8000"]
        assert c["readinessProbe"]["httpGet"]["path"] == "/api/version"
        pvc = one(items, "PersistentVolumeClaim")
        assert pvc["spec"]["resources"]["requests"]["storage"] == "7Gi"
        vol = next(v for v in pod_spec(dep)["volumes"] if v["name"] == "workspace")
        assert vol["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
        rec = next(r for r in result.resources if r.type == "kubernetes:core/v1:PersistentVolumeClaim")
        assert rec.retain_on_delete is keep and rec.protect is keep


def test_job_probes_read_the_scripts_heartbeat() -> None:
    c = pod_spec(one(render(), "CronJob"))["containers"][0]
    assert c["livenessProbe"]["exec"]["command"] == ["python", "-c", HEARTBEAT_CHECK]
    assert drift_job.HEARTBEAT == HEARTBEAT_FILE


def test_heartbeat_check_passes_on_a_fresh_file_and_fails_on_a_stale_one(tmp_path: Path) -> None:
    beat = tmp_path / "beat"
    check = HEARTBEAT_CHECK.replace(repr(HEARTBEAT_FILE), repr(str(beat)))
    beat.write_text("x")
    assert subprocess.run([sys.executable, "-c", check], check=False).returncode == 0
    old = time.time() - 600
    os.utime(beat, (old, old))
    assert subprocess.run([sys.executable, "-c", check], check=False).returncode == 1


@pytest.mark.parametrize(("field", "value", "match"), [
    ("schedule", "every hour", "schedule"),
    ("schedule", "0 * * *", "schedule"),
    ("current_path", "drift/reference", "same location"),
    ("reference_path", "s3://UPPER/x", "neither"),
    ("dataset_format", "json", "dataset_format"),
])
def test_resolve_rejects_bad_settings(field: str, value: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        resolve_evidently(ev_args(**{field: value}))


def test_relative_path_needs_a_bucket() -> None:
    with pytest.raises(ValueError, match="relative"):
        resolve_evidently(ev_args(default_bucket=None))


def test_dataset_url() -> None:
    assert dataset_url("drift/ref/", "b") == "s3://b/drift/ref/"
    assert dataset_url("s3://other/x", "b") == "s3://other/x"


ROLE = "arn:aws:iam::123456789012:role/demo-evidently"


def test_irsa_role_annotates_only_the_drift_job_service_account() -> None:
    from omgml.k8s import ROLE_ARN_ANNOTATION, STS_REGIONAL_ANNOTATION

    items = render(ev_args(store=StoreRef("", "eu-west-1", STORE_SECRET), irsa_role_arn=ROLE))
    assert_valid(items)
    job_sa = pod_spec(one(items, "CronJob"))["serviceAccountName"]
    ui_sa = pod_spec(one(items, "Deployment"))["serviceAccountName"]
    accounts = {m["metadata"]["name"]: m for m in find(items, "ServiceAccount")}
    assert accounts[job_sa]["metadata"]["annotations"] == {ROLE_ARN_ANNOTATION: ROLE, STS_REGIONAL_ANNOTATION: "true"}
    assert "annotations" not in accounts[ui_sa]["metadata"]
    env = env_of(pod_spec(one(items, "CronJob"))["containers"][0])
    assert env["S3_ENDPOINT_URL"] == ""
    # no key variables at all: the S3 client's default chain then takes the web identity
    assert "AWS_ACCESS_KEY_ID" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    # without the arg nothing is annotated (the in-cluster store keeps static keys)
    assert all("annotations" not in m["metadata"] for m in find(render(), "ServiceAccount"))

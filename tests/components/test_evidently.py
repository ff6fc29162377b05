"""Evidently: UI service on a PVC, write secret, and the drift CronJob with its script."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from omgml.components.evidently import (
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
    valid_schedule,
)
from omgml.synth.manifests import MASK, manifests, object_collisions
from tests.components.manifest_checks import assert_component_sound, env_of
from tests.synth_helpers import assert_valid, find, one, pod_spec, synth

NS = "omgml-serving"
STORE_SECRET = "store-credentials"


def ev_args(**kw: Any) -> EvidentlyArgs:
    base: dict[str, Any] = dict(
        namespace=NS, instance="demo", reference_path="drift/reference/", current_path="s3://logs/current/",
        endpoint_url="http://objectstore.omgml-data.svc.cluster.local:8333", region="us-east-1",
        store_secret=STORE_SECRET, default_bucket="demo-features",
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


@pytest.fixture(scope="module")
def job() -> dict[str, Any]:
    """The drift script, executed as a module (not as __main__): its pure helpers."""
    namespace: dict[str, Any] = {"__name__": "drift_job"}
    exec(compile(drift_job_script(), SCRIPT_NAME, "exec"), namespace)
    return namespace


# --- component ---------------------------------------------------------------------------------
def test_renders_valid_and_sound() -> None:
    items = render()
    assert_valid(items)
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
    assert cm["data"][SCRIPT_NAME] == drift_job_script()
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
                                store_secret=pulumi.Output.from_input(STORE_SECRET)))
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


def test_job_probes_read_the_scripts_heartbeat(job: dict[str, Any]) -> None:
    c = pod_spec(one(render(), "CronJob"))["containers"][0]
    assert c["livenessProbe"]["exec"]["command"] == ["python", "-c", HEARTBEAT_CHECK]
    assert job["HEARTBEAT"] == HEARTBEAT_FILE


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


def test_schedule_forms() -> None:
    assert valid_schedule("@hourly") and valid_schedule("*/5 0-6 * JAN mon-fri")
    assert not valid_schedule("* * * * * *")


def test_dataset_url() -> None:
    assert dataset_url("drift/ref/", "b") == "s3://b/drift/ref/"
    assert dataset_url("s3://other/x", "b") == "s3://other/x"


def test_two_instances_do_not_collide() -> None:
    items = manifests(run(("ev-a", ev_args()), ("ev-b", ev_args(instance="beta"))))
    assert not object_collisions(items)
    assert len(find(items, "CronJob")) == 2
    assert_valid(items)


# --- the drift script ----------------------------------------------------------------------------
def test_script_compiles() -> None:
    compile(drift_job_script(), SCRIPT_NAME, "exec")


def test_sigv4_matches_the_aws_documented_examples(job: dict[str, Any]) -> None:
    # AWS S3 API reference, "Signature Calculations for the Authorization Header", GET Object and
    # List Objects examples (example credentials published by AWS).
    key_id, secret = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    h = job["sign_v4"]("GET", "https://examplebucket.s3.amazonaws.com/test.txt", "us-east-1", key_id, secret,
                       "20130524T000000Z", headers={"Range": "bytes=0-9"})
    assert h["Authorization"].endswith("Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    assert "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date" in h["Authorization"]
    h = job["sign_v4"]("GET", "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J", "us-east-1", key_id,
                       secret, "20130524T000000Z")
    assert h["Authorization"].endswith("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")


def test_object_urls(job: dict[str, Any]) -> None:
    assert job["parse_s3_url"]("s3://bucket/a/b/") == ("bucket", "a/b/")
    assert job["object_url"]("http://store:8333/", "us-east-1", "b", "k y.parquet") == "http://store:8333/b/k%20y.parquet"
    assert job["object_url"]("", "eu-west-1", "b", "k") == "https://b.s3.eu-west-1.amazonaws.com/k"
    with pytest.raises(ValueError):
        job["parse_s3_url"]("https://bucket/x")


def test_list_objects_parsing_follows_continuation(job: dict[str, Any]) -> None:
    xml = (b'<?xml version="1.0"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
           b"<Contents><Key>p/a.parquet</Key><Size>10</Size></Contents>"
           b"<Contents><Key>p/_SUCCESS</Key><Size>0</Size></Contents>"
           b"<IsTruncated>true</IsTruncated><NextContinuationToken>abc</NextContinuationToken></ListBucketResult>")
    items, cursor = job["parse_list_objects"](xml)
    assert items == [("p/a.parquet", 10), ("p/_SUCCESS", 0)] and cursor == "abc"
    assert job["dataset_files"](items, "parquet") == ["p/a.parquet"]
    assert job["dataset_files"](items, "csv") == []


def test_drift_summary_reads_the_drifted_columns_metric(job: dict[str, Any]) -> None:
    # The shape Snapshot.dict() has in evidently 0.7 (metric_name, config.type, value.count/share).
    snapshot = {"metrics": [
        {"id": "1", "metric_name": "DriftedColumnsCount(drift_share=0.5)",
         "config": {"type": "evidently:metric_v2:DriftedColumnsCount", "drift_share": 0.5},
         "value": {"count": 2.0, "share": 0.6667}},
        {"id": "2", "metric_name": "ValueDrift(column=a)", "config": {"type": "evidently:metric_v2:ValueDrift"},
         "value": 0.001},
    ], "tests": []}
    assert job["drift_summary"](snapshot) == (2, 0.6667)
    with pytest.raises(ValueError):
        job["drift_summary"]({"metrics": []})


def test_pushgateway_body_and_grouping(job: dict[str, Any]) -> None:
    path = job["pushgateway_path"]("evidently_drift", "fraud/model v2")
    encoded = path.rsplit("/", 1)[1]
    assert path.startswith("/metrics/job/evidently_drift/project@base64/")
    assert base64.urlsafe_b64decode(encoded).decode() == "fraud/model v2"
    body = job["metrics_body"](3, 0.6, 0.5, 1700000000.5)
    lines = dict(line.split(" ", 1) for line in body.splitlines() if not line.startswith("#"))
    assert lines == {"evidently_drift_detected": "1", "evidently_drift_share": "0.6",
                     "evidently_drifted_columns": "3", "evidently_drift_last_run_timestamp_seconds": "1700000000"}
    assert "evidently_drift_detected 0" in job["metrics_body"](1, 0.2, 0.5, 0)


def test_heartbeat_thread_touches_its_file(job: dict[str, Any], tmp_path: Path) -> None:
    beat = tmp_path / "beat"
    stop = threading.Event()
    thread = job["start_heartbeat"](str(beat), 0.05, stop)
    deadline = time.time() + 5
    while not beat.exists() and time.time() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(5)
    assert beat.exists() and not thread.is_alive()


# --- IRSA (AWS S3 without static keys) ------------------------------------------------------------
STS_ANSWER = b"""<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:omgml-serving:demo-evidently-drift</SubjectFromWebIdentityToken>
    <Credentials>
      <SessionToken>FwoGZXIvYXdzEXAMPLETOKEN</SessionToken>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <Expiration>2026-11-26T20:00:00Z</Expiration>
      <AccessKeyId>ASIAEXAMPLEKEYID</AccessKeyId>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>"""
ROLE = "arn:aws:iam::123456789012:role/demo-evidently"


def test_sts_answer_parsing(job: dict[str, Any]) -> None:
    assert job["parse_assume_role"](STS_ANSWER) == (
        "ASIAEXAMPLEKEYID", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY", "FwoGZXIvYXdzEXAMPLETOKEN")
    with pytest.raises(ValueError, match="Credentials"):
        job["parse_assume_role"](b"<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>")


def test_web_identity_exchange_without_network(job: dict[str, Any], tmp_path: Path) -> None:
    import urllib.parse

    token = tmp_path / "token"
    token.write_text("eyJ.token.sig\n")
    calls: list[tuple[str, str]] = []

    def post(url: str, body: str) -> bytes:
        calls.append((url, body))
        return STS_ANSWER

    env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_ROLE_ARN": ROLE,
           "AWS_WEB_IDENTITY_TOKEN_FILE": str(token), "AWS_REGION": "eu-west-1", "HOSTNAME": "drift-123/x"}
    assert job["credentials_from_env"](env, post) == (
        "ASIAEXAMPLEKEYID", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY", "FwoGZXIvYXdzEXAMPLETOKEN")
    (url, body), = calls
    assert url == "https://sts.eu-west-1.amazonaws.com/"
    form = dict(urllib.parse.parse_qsl(body))
    assert form == {"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15", "RoleArn": ROLE,
                    "RoleSessionName": "omgml-drift-drift-123-x", "WebIdentityToken": "eyJ.token.sig"}


def test_static_keys_win_and_missing_credentials_say_how_to_fix(job: dict[str, Any]) -> None:
    def no_post(url: str, body: str) -> bytes:
        raise AssertionError("static keys must not call STS")

    env = {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_ROLE_ARN": ROLE,
           "AWS_WEB_IDENTITY_TOKEN_FILE": "/nonexistent"}
    assert job["credentials_from_env"](env, no_post) == ("k", "s", None)
    with pytest.raises(SystemExit, match="IRSA"):
        job["credentials_from_env"]({"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}, no_post)
    assert job["sts_endpoint"]("") == "https://sts.amazonaws.com/"


def test_session_token_is_a_signed_header(job: dict[str, Any]) -> None:
    assert job["request_headers"](None, None) == {}
    headers = job["request_headers"]({"Range": "bytes=0-9"}, "TOKEN")
    assert headers == {"Range": "bytes=0-9", "x-amz-security-token": "TOKEN"}
    signed = job["sign_v4"]("GET", "https://b.s3.eu-west-1.amazonaws.com/k", "eu-west-1", "ASIA", "secret",
                            "20261126T000000Z", headers=headers)
    assert signed["x-amz-security-token"] == "TOKEN"
    assert "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date;x-amz-security-token" in signed["Authorization"]


def test_the_store_signs_with_the_session_token(job: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, str]] = []

    class Answer:
        def __enter__(self) -> Answer:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def read(self) -> bytes:
            return b"data"

    def urlopen(request: Any, timeout: float) -> Answer:
        seen.append(dict(request.header_items()))
        return Answer()

    monkeypatch.setattr(job["urllib"].request, "urlopen", urlopen)
    store = job["Store"]("", "eu-west-1", "ASIA", "secret", "TOKEN")
    assert store.get("https://b.s3.eu-west-1.amazonaws.com/k") == b"data"
    headers = {k.lower(): v for k, v in seen[0].items()}
    assert headers["x-amz-security-token"] == "TOKEN"
    assert "x-amz-security-token" in headers["authorization"]


def test_irsa_role_annotates_only_the_drift_job_service_account() -> None:
    from omgml.components.aws.irsa import ROLE_ARN_ANNOTATION
    from omgml.components.contracts import ROLE_ARN_ANNOTATION as LOCAL

    assert LOCAL == ROLE_ARN_ANNOTATION
    items = render(ev_args(endpoint_url="", irsa_role_arn=ROLE))
    assert_valid(items)
    job_sa = pod_spec(one(items, "CronJob"))["serviceAccountName"]
    ui_sa = pod_spec(one(items, "Deployment"))["serviceAccountName"]
    accounts = {m["metadata"]["name"]: m for m in find(items, "ServiceAccount")}
    assert accounts[job_sa]["metadata"]["annotations"] == {ROLE_ARN_ANNOTATION: ROLE}
    assert "annotations" not in accounts[ui_sa]["metadata"]
    env = env_of(pod_spec(one(items, "CronJob"))["containers"][0])
    assert env["S3_ENDPOINT_URL"] == ""
    # without the arg nothing is annotated (the in-cluster store keeps static keys)
    assert all("annotations" not in m["metadata"] for m in find(render(), "ServiceAccount"))

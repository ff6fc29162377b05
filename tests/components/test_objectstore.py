"""Object store (SeaweedFS): S3 endpoint, generated keys, identity file, buckets, client copies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from omgml.components.objectstore import (
    ACCESS_KEY,
    BUCKET_SCRIPT,
    CONFIG_DIR,
    CONFIG_KEY,
    IMAGE,
    S3_PORT,
    SECRET_KEY,
    ObjectStore,
    ObjectStoreArgs,
    resolve,
    s3_identity_config,
    server_command,
    volume_slots,
)
from omgml.synth.engine import RecordedResource, SynthResult, is_secret_wrapper
from tests.components.manifest_checks import env_of
from tests.synth_helpers import find, one, pod_spec, synth_built

NS = "omgml-data"
BUCKETS = {"mlflow": "demo-mlflow", "features": "demo-features", "models": "demo-models"}


def os_args(**kw: Any) -> ObjectStoreArgs:
    return ObjectStoreArgs(
        namespace=kw.pop("namespace", NS),
        buckets=kw.pop("buckets", BUCKETS),
        client_namespaces=kw.pop("client_namespaces", (NS, "omgml-serving", "omgml-pipelines")),
        **kw,
    )


def render(args: ObjectStoreArgs) -> tuple[list[dict[str, Any]], ObjectStore, SynthResult]:
    return synth_built(lambda: ObjectStore("os", args))


def raw(result: SynthResult, type_suffix: str, name: str) -> RecordedResource:
    found = [r for r in result.resources if r.type.endswith(type_suffix) and r.name == name]
    assert len(found) == 1, f"no {type_suffix} {name}"
    return found[0]


def unwrap(value: Any) -> Any:
    return value["value"] if is_secret_wrapper(value) else value


def generated(result: SynthResult, key: str) -> str:
    """The mock engine's generated value for one GeneratedSecret key."""
    from omgml.synth.engine import mock_secret_text

    pw = raw(result, "RandomPassword", f"os-credentials-{key.lower().replace('_', '-')}")
    return mock_secret_text(pw.urn, "password")


# --- pure ---------------------------------------------------------------------------------


def test_volume_slots_cover_the_disk_and_one_growth_step_per_bucket() -> None:
    assert volume_slots(20, 512, 1) == 40  # the disk decides
    # 6 buckets + the default collection grow 7 volumes each: never fewer slots than that
    assert volume_slots(1, 1024, 6) == 49


def test_server_exposes_only_s3_and_reads_the_mounted_identity_file() -> None:
    r = resolve(os_args())
    cmd = server_command(r)
    assert "-ip.bind=127.0.0.1" in cmd and "-s3.ip.bind=0.0.0.0" in cmd
    assert f"-s3.port={S3_PORT}" in cmd
    assert f"-s3.config={CONFIG_DIR}/{CONFIG_KEY}" in cmd
    assert f"-volume.max={r.volume_slots}" in cmd
    assert "-master.telemetry=false" in cmd and "-s3.iam=false" in cmd


def test_identity_config_grants_the_key_pair_admin_rights() -> None:
    config = json.loads(s3_identity_config("AK", "SK"))
    [identity] = config["identities"]
    assert identity["credentials"] == [{"accessKey": "AK", "secretKey": "SK"}]
    assert {"Admin", "Read", "Write", "List"} <= set(identity["actions"])
    with pytest.raises(ValueError):
        s3_identity_config("", "SK")


@pytest.mark.parametrize(("args", "message"), [
    (os_args(buckets={"mlflow": "Demo_MLflow"}), r"buckets\['mlflow'\].*not a valid S3 bucket name"),
    (os_args(buckets={"mlflow": "ab"}), "not a valid S3 bucket name"),
    (os_args(namespace="Data"), "ObjectStoreArgs.namespace"),
    (os_args(client_namespaces=("bad_ns",)), "client_namespaces"),
    (os_args(storage_gib=0), "storage_gib"),
    (os_args(profile="huge"), "profile"),
])
def test_invalid_args_name_the_field(args: ObjectStoreArgs, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve(args)


def test_bucket_job_name_changes_with_the_bucket_list_only() -> None:
    a = resolve(os_args())
    assert resolve(os_args()).bucket_job_name == a.bucket_job_name
    more = resolve(os_args(buckets={**BUCKETS, "extra:raw": "demo-raw"}))
    assert more.bucket_job_name != a.bucket_job_name
    assert more.buckets == ("demo-features", "demo-mlflow", "demo-models", "demo-raw")


# --- synth --------------------------------------------------------------------------------


def test_credentials_secret_is_in_every_client_namespace_under_one_name() -> None:
    items, store, result = render(os_args())
    secrets = [s for s in find(items, "Secret", store.secret_name)]
    assert sorted(s["metadata"]["namespace"] for s in secrets) == ["omgml-data", "omgml-pipelines", "omgml-serving"]
    for s in secrets:
        assert set(s["stringData"]) == {ACCESS_KEY, SECRET_KEY}
    # Each copy carries the very same generated pair.
    access = generated(result, ACCESS_KEY)
    for r in result.resources:
        if r.type == "kubernetes:core/v1:Secret" and r.name.startswith("os-credentials"):
            assert unwrap(r.inputs["stringData"])[ACCESS_KEY] == access
    assert store.secret_name_in("omgml-serving") == store.secret_name
    with pytest.raises(ValueError, match="client_namespaces"):
        store.secret_name_in("elsewhere")


def test_identity_file_holds_the_generated_keys_but_renders_masked() -> None:
    items, _, result = render(os_args())
    config = unwrap(raw(result, "Secret", "os-s3-config").inputs["stringData"])
    [identity] = json.loads(config[CONFIG_KEY])["identities"]
    assert identity["credentials"] == [{"accessKey": generated(result, ACCESS_KEY),
                                        "secretKey": generated(result, SECRET_KEY)}]
    rendered = one(items, "Secret", "objectstore-s3-config")
    assert "mock" not in json.dumps(rendered)
    # The server mounts exactly that Secret where -s3.config points.
    sts = one(items, "StatefulSet", "objectstore")
    vol = next(v for v in pod_spec(sts)["volumes"] if v.get("secret", {}).get("secretName") == "objectstore-s3-config")
    mount = next(m for m in pod_spec(sts)["containers"][0]["volumeMounts"] if m["name"] == vol["name"])
    assert f"-s3.config={mount['mountPath']}/{CONFIG_KEY}" in pod_spec(sts)["containers"][0]["command"]


def test_bucket_job_creates_every_bucket_through_the_service_with_the_keys() -> None:
    items, store, _ = render(os_args())
    job = one(items, "Job")
    [c] = pod_spec(job)["containers"]
    env = env_of(c)
    assert env["BUCKETS"].split() == sorted(BUCKETS.values())
    assert env["S3_ENDPOINT"] == f"http://objectstore:{S3_PORT}"
    assert one(items, "Service", "objectstore")["spec"]["ports"][0]["port"] == S3_PORT
    for key in (ACCESS_KEY, SECRET_KEY):
        assert env[key] == {"secretKeyRef": {"name": store.secret_name, "key": key}}
    assert c["image"] == IMAGE
    # Re-runnable: an existing bucket (409) is success, keys go to curl on stdin.
    assert "409)" in BUCKET_SCRIPT and "-K -" in BUCKET_SCRIPT
    assert store.endpoint.endpoint_url == f"http://objectstore.{NS}.svc.cluster.local:{S3_PORT}"
    assert store.endpoint.buckets == BUCKETS


def test_no_buckets_means_no_job() -> None:
    items, _, _ = render(os_args(buckets={}))
    assert not find(items, "Job")


@pytest.mark.parametrize(("profile", "kept"), [("laptop", False), ("small", True), ("production", True)])
def test_data_volume_survives_destroy_outside_the_laptop(profile: str, kept: bool) -> None:
    items, _, result = render(os_args(profile=profile, storage_gib=50))
    pvc = raw(result, "PersistentVolumeClaim", "os-data")
    assert (pvc.protect, pvc.retain_on_delete) == (kept, kept)
    assert one(items, "PersistentVolumeClaim")["spec"]["resources"]["requests"]["storage"] == "50Gi"


def test_resizing_storage_does_not_touch_the_statefulset() -> None:
    small, _, _ = render(os_args(storage_gib=20))
    big, _, _ = render(os_args(storage_gib=200))
    # The volume size lives on the standalone PVC; the StatefulSet only changes its volume.max flag.
    a, b = one(small, "StatefulSet")["spec"], one(big, "StatefulSet")["spec"]
    assert "volumeClaimTemplates" not in a
    for field in ("selector", "serviceName", "podManagementPolicy"):
        assert a[field] == b[field]

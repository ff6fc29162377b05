"""S3 on aws: one IRSA role per workload that touches a bucket, trusted by exactly the
ServiceAccount that workload runs as, naming only its buckets; no static keys anywhere."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

import pytest

from omgml.blueprints.s3 import ROLES_KEY, drift_bucket_roles, s3_consumers, uses_managed_s3
from omgml.buckets import aws_bucket_names, bucket_names
from omgml.k8s import ROLE_ARN_ANNOTATION
from omgml.spec import PlatformSpec, spec_from_dict
from omgml.synth.engine import RecordedResource
from omgml.synth.mock_outputs import provider_outputs
from omgml.synth.render import PlatformRender, render_platform
from tests.synth_helpers import pod_spec

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
KEY_VARS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "OBJECTSTORECONFIG_ACCESSKEY",
            "OBJECTSTORECONFIG_SECRETACCESSKEY"}


def platform(managed: bool = True, target: str = "aws", **foundation: Any) -> PlatformSpec:
    return spec_from_dict({
        "name": "demo", "target": target, "profile": "production" if target == "aws" else "laptop",
        "phases": {
            "foundation": {"object_store": {"managed": managed, "extra_buckets": ["raw-data"]}, **foundation},
            "training": {"kubeflow": {"enabled": True}, "airflow": {"enabled": True},
                         "prefect": {"enabled": True}},
            "serving": {"evidently": {"enabled": True, "reference_path": "s3://raw-data/reference/",
                                      "current_path": "current/"}},
        },
    })


@lru_cache(maxsize=4)
def rendered(managed: bool = True, target: str = "aws") -> PlatformRender:
    return render_platform(platform(managed, target))


def all_items(render: PlatformRender) -> list[dict[str, Any]]:
    return [m for p in render.phases for m in p.manifests]


def aws_resources(render: PlatformRender, typ: str) -> list[RecordedResource]:
    return [r for p in render.phases for r in p.result.resources if r.type == typ]


def roles_by_arn(render: PlatformRender) -> dict[str, RecordedResource]:
    return {provider_outputs(r.type, r.name, r.inputs)["arn"]: r for r in aws_resources(render, ROLE)}


def trusted_subject(role: RecordedResource) -> str:
    [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    subs = [v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub")]
    assert len(subs) == 1
    return str(subs[0])


def service_accounts(items: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m["metadata"]["namespace"], m["metadata"]["name"]): m for m in items if m["kind"] == "ServiceAccount"}


def env_names(workload: dict[str, Any]) -> set[str]:
    ps = pod_spec(workload)
    return {e["name"] for c in [*ps.get("containers", []), *ps.get("initContainers", [])] for e in c.get("env", [])}


def test_managed_s3_is_aws_and_managed_only() -> None:
    assert uses_managed_s3(platform())
    assert not uses_managed_s3(platform(managed=False))
    assert not uses_managed_s3(platform(managed=False, target="local"))


def test_consumers_are_unique_and_get_only_their_buckets() -> None:
    spec = platform()
    buckets = bucket_names(spec)
    consumers = {c.name: c for c in s3_consumers(spec, buckets)}
    assert {"mlflow", "feast", "model-server", "evidently-drift"} <= set(consumers)
    assert any(n.startswith("kfp-") for n in consumers) and any(n.startswith("airflow") for n in consumers)
    assert any(n.startswith("prefect") for n in consumers)
    assert consumers["mlflow"].bucket_roles == ("mlflow",)
    assert consumers["feast"].bucket_roles == ("features",)
    assert consumers["model-server"].bucket_roles == ("models",) and consumers["model-server"].read_only
    # Relative current path → features; the reference path names the extra bucket.
    assert consumers["evidently-drift"].bucket_roles == ("extra:raw-data", "features")
    for c in consumers.values():
        assert set(c.bucket_roles) <= set(buckets), c
        # Extra buckets go to user code that writes (pipeline steps, tasks, flow runs) and the drift job.
        if "extra:raw-data" in c.bucket_roles and c.name != "evidently-drift":
            assert not c.read_only and c.namespace in (
                spec.phases.training.kubeflow.user_namespace, spec.phases.training.orchestration.namespace)
    assert any("extra:raw-data" in c.bucket_roles for c in consumers.values() if c.name.startswith("kfp-"))


def test_drift_bucket_roles_follow_the_paths() -> None:
    spec = platform()
    assert drift_bucket_roles(spec, bucket_names(spec)) == ("extra:raw-data", "features")


def test_no_seaweedfs_and_no_static_keys_on_s3() -> None:
    items = all_items(rendered())
    assert not [m for m in items if m["kind"] == "StatefulSet" and "objectstore" in m["metadata"]["name"]]
    for m in items:
        if m["kind"] in WORKLOADS:
            # Absent, or set empty where a config file would otherwise supply default keys (KFP's
            # API server: its built-in config.json has minio/minio123; empty env wins → SDK chain).
            ps = pod_spec(m)
            keys = [e for c in [*ps.get("containers", []), *ps.get("initContainers", [])]
                    for e in c.get("env", []) if e["name"] in KEY_VARS]
            assert all(e.get("value") == "" and "valueFrom" not in e for e in keys), (m["metadata"]["name"], keys)
    # No key variable in generated config either (task pod templates, job templates, connections);
    # scripts may still name the variable they would read.
    text = json.dumps([m for m in items if m["kind"] in ("ConfigMap", *WORKLOADS)])
    assert not re.search(r"name\W{0,6}AWS_(SECRET_ACCESS_KEY|ACCESS_KEY_ID)", text)


def test_every_role_is_used_by_exactly_the_service_account_it_trusts() -> None:
    render = rendered()
    items = all_items(render)
    roles = roles_by_arn(render)
    exported: dict[str, str] = render.phases[0].result.exports[ROLES_KEY]
    assert set(exported) == {c.name for c in s3_consumers(render.spec, bucket_names(render.spec))}
    annotated = {key: sa["metadata"]["annotations"][ROLE_ARN_ANNOTATION]
                 for key, sa in service_accounts(items).items()
                 if ROLE_ARN_ANNOTATION in sa["metadata"].get("annotations", {})}
    # Every exported S3 role is worn by one ServiceAccount, which is the one its trust names.
    for consumer, arn in exported.items():
        wearers = [key for key, a in annotated.items() if a == arn]
        assert len(wearers) == 1, (consumer, wearers)
        ns, sa = wearers[0]
        assert trusted_subject(roles[arn]) == f"system:serviceaccount:{ns}:{sa}", consumer
    # …and no ServiceAccount wears a role it cannot assume.
    for (ns, sa), arn in annotated.items():
        assert trusted_subject(roles[arn]) == f"system:serviceaccount:{ns}:{sa}"


def test_workloads_that_reach_the_store_run_as_a_role_wearing_service_account() -> None:
    items = all_items(rendered())
    sas = service_accounts(items)
    checked = 0
    for m in items:
        if m["kind"] not in WORKLOADS or not env_names(m) & {"AWS_REGION", "AWS_DEFAULT_REGION"}:
            continue
        ps = pod_spec(m)
        ns = m["metadata"]["namespace"]
        sa = sas.get((ns, ps.get("serviceAccountName", "default")))
        assert sa is not None and ROLE_ARN_ANNOTATION in sa["metadata"].get("annotations", {}), \
            (m["kind"], ns, m["metadata"]["name"], ps.get("serviceAccountName"))
        checked += 1
    assert checked >= 6


def test_role_policies_name_only_their_own_buckets() -> None:
    render = rendered()
    spec = render.spec
    consumers = {c.name: c for c in s3_consumers(spec, bucket_names(spec))}
    # On S3 the platform's buckets carry the account/region suffix (unique across AWS).
    buckets = aws_bucket_names(bucket_names(spec), "123456789012", spec.aws.region)
    exported: dict[str, str] = render.phases[0].result.exports[ROLES_KEY]
    roles = roles_by_arn(render)
    policies = {p.parent_urn: p for p in aws_resources(render, ROLE_POLICY)}
    for name, arn in exported.items():
        role = roles[arn]
        [policy] = [p for p in policies.values() if p.parent_urn == role.parent_urn]
        doc = policy.inputs["policy"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        named = {r for st in doc["Statement"] for r in (st["Resource"] if isinstance(st["Resource"], list)
                                                         else [st["Resource"]])}
        s3 = {r.split(":::", 1)[1].split("/", 1)[0] for r in named if r.startswith("arn:aws:s3:::")}
        assert s3 == {buckets[r] for r in consumers[name].bucket_roles}, name
        assert all(r.startswith(("arn:aws:s3:::", "arn:aws:kms:")) for r in named), name
        actions = {a for st in doc["Statement"] for a in st["Action"]}
        assert ("s3:PutObject" in actions) == (not consumers[name].read_only), name


@pytest.mark.parametrize("target", ["aws", "local"])
def test_in_cluster_store_exports_no_roles_and_keeps_its_keys(target: str) -> None:
    render = rendered(managed=False, target=target)
    assert render.phases[0].result.exports[ROLES_KEY] == {}
    items = all_items(render)
    assert not [sa for sa in service_accounts(items).values()
                if ROLE_ARN_ANNOTATION in sa["metadata"].get("annotations", {})
                and "s3" in sa["metadata"]["annotations"][ROLE_ARN_ANNOTATION]]
    assert any(env_names(m) & {"AWS_ACCESS_KEY_ID"} for m in items if m["kind"] in WORKLOADS)

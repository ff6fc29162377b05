"""Checks every component's rendered manifests must pass (shared by the data-store tests).

Each check asserts something a user would notice on a real cluster: a Service that reaches no
pod, a password in plain text, a container the scheduler cannot size, a pod that Pod Security
"restricted" rejects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

from omgml.k8s import ROLE_ARN_ANNOTATION, STS_REGIONAL_ANNOTATION
from omgml.spec.common import Profile
from omgml.synth.manifests import object_collisions
from tests.synth_helpers import assert_valid, find, one, pod_spec

Manifest = dict[str, Any]
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
# Env var names that carry credentials and so must come from a Secret.
SENSITIVE_ENV = re.compile(r"PASSWORD|SECRET|TOKEN|AUTH|CREDENTIAL|ACCESS_KEY", re.IGNORECASE)
# What the synth's mock engine generates for RandomPassword results (omgml.synth.engine).
MOCK_VALUE = re.compile(r"mock[0-9a-f]{8,}")


def workloads(items: list[Manifest]) -> list[Manifest]:
    return [m for m in items if m["kind"] in WORKLOADS]


def template_labels(workload: Manifest) -> dict[str, str]:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["metadata"].get("labels", {}))


def _ns(m: Manifest) -> str:
    return str(m["metadata"].get("namespace", ""))


def assert_selectors_match_pod_labels(items: list[Manifest]) -> None:
    for w in workloads(items):
        if w["kind"] in ("Job", "CronJob"):
            continue
        selector = w["spec"]["selector"]["matchLabels"]
        labels = template_labels(w)
        assert selector, f"{w['kind']}/{w['metadata']['name']} has an empty selector"
        assert selector.items() <= labels.items(), (
            f"{w['kind']}/{w['metadata']['name']}: selector {selector} does not match pod labels {labels}")


def assert_services_reach_container_ports(items: list[Manifest]) -> None:
    """Every Service selects at least one workload's pods, and every targetPort is a port
    (by name or number) of a container in those pods."""
    for svc in find(items, "Service"):
        selector = svc["spec"]["selector"]
        backends = [w for w in workloads(items)
                    if _ns(w) == _ns(svc) and selector.items() <= template_labels(w).items()]
        assert backends, f"Service {svc['metadata']['name']} selects no pods ({selector})"
        ports = [p for w in backends for c in pod_spec(w)["containers"] for p in c.get("ports", [])]
        names = {p.get("name") for p in ports}
        numbers = {p["containerPort"] for p in ports}
        for sp in svc["spec"]["ports"]:
            target = sp.get("targetPort", sp["port"])
            assert target in names or target in numbers, (
                f"Service {svc['metadata']['name']} port {sp['port']} targets {target!r}, "
                f"which no selected container exposes ({sorted(map(str, names))}, {sorted(numbers)})")


def assert_statefulsets_have_headless_service(items: list[Manifest]) -> None:
    for sts in find(items, "StatefulSet"):
        svc = [s for s in find(items, "Service", sts["spec"]["serviceName"]) if _ns(s) == _ns(sts)]
        assert len(svc) == 1, f"StatefulSet {sts['metadata']['name']}: no Service {sts['spec']['serviceName']}"
        assert svc[0]["spec"].get("clusterIP") == "None", "the governing Service must be headless"


def _secret_keys(items: list[Manifest], namespace: str, name: str) -> set[str]:
    found = [s for s in find(items, "Secret", name) if _ns(s) == namespace]
    assert len(found) == 1, f"no Secret {namespace}/{name} in the render"
    return set(found[0].get("stringData", {})) | set(found[0].get("data", {}))


def assert_credentials_by_secret_ref(items: list[Manifest]) -> None:
    """Sensitive env vars come from secretKeyRef; every secretKeyRef (env or volume) names a
    Secret and key that the render creates in the pod's namespace."""
    for w in workloads(items):
        ps = pod_spec(w)
        for c in ps.get("containers", []) + ps.get("initContainers", []):
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if SENSITIVE_ENV.search(e["name"]):
                    assert ref is not None, (
                        f"{w['metadata']['name']}/{c['name']}: env {e['name']} must use secretKeyRef, not a value")
                if ref is not None:
                    assert ref["key"] in _secret_keys(items, _ns(w), ref["name"]), (
                        f"{w['metadata']['name']}/{c['name']}: {e['name']} refers to missing key "
                        f"{ref['name']}/{ref['key']}")
        for v in ps.get("volumes", []):
            if "secret" in v:
                _secret_keys(items, _ns(w), v["secret"]["secretName"])


def assert_no_generated_values(items: list[Manifest]) -> None:
    text = json.dumps(items)
    found = MOCK_VALUE.findall(text)
    assert not found, f"generated secret values leaked into the manifests: {found[:3]}"


def assert_pods_hardened(items: list[Manifest], api_token: Collection[str] = ()) -> None:
    """Restricted security contexts, requests+limits, probes, pinned images, own ServiceAccount.
    Only pods running as an account in `api_token` (those that read the Kubernetes API, like
    Prometheus' service discovery) mount its token; they must, every other pod must not."""
    for w in workloads(items):
        ps = pod_spec(w)
        where = f"{w['kind']}/{w['metadata']['name']}"
        psc = ps["securityContext"]
        assert psc["runAsNonRoot"] is True and psc["seccompProfile"]["type"] == "RuntimeDefault", where
        sa = ps["serviceAccountName"]
        assert ps["automountServiceAccountToken"] is (sa in api_token), f"{where}: API token of {sa}"
        assert ps["enableServiceLinks"] is False, where
        assert [s for s in find(items, "ServiceAccount", sa) if _ns(s) == _ns(w)], f"{where}: no ServiceAccount {sa}"
        for c in ps["containers"] + ps.get("initContainers", []):
            image = c["image"]
            assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), f"{where}: unpinned {image}"
            res = c["resources"]
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(res[kind]), f"{where}/{c['name']}: {kind} incomplete"
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"]["drop"] == ["ALL"], where
            assert sc["runAsNonRoot"] is True, where
        for c in ps["containers"]:
            assert "readinessProbe" in c and "livenessProbe" in c, f"{where}/{c['name']}: probes missing"
            mounts = {m["name"] for m in c.get("volumeMounts", [])}
            declared = {v["name"] for v in ps.get("volumes", [])}
            declared |= {t["metadata"]["name"] for t in w["spec"].get("volumeClaimTemplates", [])}
            assert mounts <= declared, f"{where}/{c['name']}: mounts {mounts - declared} are not declared volumes"


def assert_component_sound(items: list[Manifest], api_token: Collection[str] = ()) -> None:
    """Valid against the Kubernetes schemas, and every check above (`api_token`: the accounts
    whose pods read the Kubernetes API, see assert_pods_hardened)."""
    assert_valid(items)
    assert_selectors_match_pod_labels(items)
    assert_services_reach_container_ports(items)
    assert_statefulsets_have_headless_service(items)
    assert_credentials_by_secret_ref(items)
    assert_no_generated_values(items)
    assert_pods_hardened(items, api_token)


def env_of(container: Manifest) -> dict[str, Any]:
    """name → value (or the valueFrom dict) of a container's env."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def env_entries(container: Manifest) -> dict[str, Manifest]:
    """name → the whole env entry of a container (its value, or its valueFrom reference)."""
    return {e["name"]: e for e in container.get("env", [])}


def requests_of(workload: Manifest) -> tuple[str, str]:
    c = pod_spec(workload)["containers"][0]
    return c["resources"]["requests"]["cpu"], c["resources"]["requests"]["memory"]


def assert_sized_by_profile(render: Callable[[Profile], list[Manifest]], kind: str, laptop: tuple[str, str]) -> None:
    """The component's one `kind` workload requests `laptop` (CPU, memory) on the laptop profile,
    and something else on production: the size table is keyed by profile, not fixed."""
    small = requests_of(one(render("laptop"), kind))
    assert small == laptop
    assert small != requests_of(one(render("production"), kind))


def assert_instances_apart(items: list[Manifest]) -> None:
    """Manifests of several instances of one component in one program: no two objects share a
    kind, namespace and name (one would overwrite the other on apply), and all are schema-valid."""
    collisions = object_collisions(items)
    assert not collisions, collisions
    assert_valid(items)


def store_pod_accounts(specs: Mapping[str, Manifest], store_vars: Collection[str]) -> dict[str, str]:
    """Of the pod specs (keyed by where they are defined), those with a container (init ones too)
    that carries any of `store_vars`, mapped to the ServiceAccount they run as: the accounts that
    need the object store's role on IRSA."""
    return {where: ps["serviceAccountName"] for where, ps in specs.items()
            if any(e["name"] in store_vars
                   for c in [*ps["containers"], *ps.get("initContainers", [])] for e in c.get("env", []))}


S3_KEY_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def assert_no_static_s3_keys(objects: list[Manifest]) -> None:
    """On IRSA no object carries static S3 keys or an endpoint override: boto3 and the MLflow
    client must fall back to the web identity of the pod's ServiceAccount and reach real S3."""
    text = json.dumps(objects)
    for var in (*S3_KEY_VARS, "AWS_ENDPOINT_URL", "MLFLOW_S3_ENDPOINT_URL"):
        assert var not in text, var


def assert_irsa_roles(items: list[Manifest], namespace: str, roles: Mapping[str, str]) -> dict[str, Manifest]:
    """Each ServiceAccount named in `roles` (account → role ARN) wears exactly its role and the
    regional-STS annotation, and no other account in `namespace` wears a role. Returns the
    namespace's accounts by name."""
    accounts = {sa["metadata"]["name"]: sa for sa in find(items, "ServiceAccount")
                if sa["metadata"]["namespace"] == namespace}
    assert set(roles) <= set(accounts), sorted(set(roles) - set(accounts))
    for name, sa in accounts.items():
        if name in roles:
            assert sa["metadata"].get("annotations") == {ROLE_ARN_ANNOTATION: roles[name], STS_REGIONAL_ANNOTATION: "true"}, name
        else:
            assert ROLE_ARN_ANNOTATION not in sa["metadata"].get("annotations", {}), name
    return accounts

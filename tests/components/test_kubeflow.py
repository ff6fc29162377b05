"""Kubeflow Pipelines 2.17 standalone: the release's components, RBAC, order, wiring, sizing."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml

from omgml.capacity import memory_bytes, total_requests, workload_requests
from omgml.components.contracts import ObjectStoreEndpoint, SecretKeyRef, StoreRef
from omgml.components.kubeflow import (
    TRAINING_ENV_CONFIGMAP,
    TYPE_TOKEN,
    KubeflowPipelines,
    KubeflowPipelinesArgs,
    s3_consumers,
)
from omgml.components.kubeflow.config import s3_location, ui_endpoint_rewrite
from omgml.components.kubeflow.crds import ALL_CRDS
from omgml.components.kubeflow.pipelines import resolve, store_location
from omgml.components.kubeflow.release import (
    COMPONENTS,
    IMAGES,
    OMITTED,
    PIPELINE_RUNNER_SA,
    UPSTREAM_WORKLOADS,
    WORKLOADS,
)
from omgml.k8s import ROLE_ARN_ANNOTATION
from omgml.policy import check_manifests
from omgml.spec.common import DNS_LABEL
from omgml.synth.engine import SynthResult
from omgml.synth.manifests import manifests, object_collisions
from tests.components.manifest_checks import (
    assert_credentials_by_secret_ref,
    assert_no_generated_values,
    assert_selectors_match_pod_labels,
    assert_services_reach_container_ports,
    assert_statefulsets_have_headless_service,
    env_of,
)
from tests.synth_helpers import assert_valid, containers, find, one, pod_spec, synth

KFP_NS = "kubeflow"
STEPS_NS = "omgml-pipelines"
SECRET = "objectstore-s3-credentials"
ENDPOINT = "http://objectstore.omgml-data.svc.cluster.local:8333"
TRACKING = "http://mlflow.omgml-data.svc.cluster.local:5000"
GIB = 2**30


def kfp_args(**kw: Any) -> KubeflowPipelinesArgs:
    base: dict[str, Any] = dict(
        namespace=KFP_NS, user_namespace=STEPS_NS, profile="laptop",
        store=StoreRef(endpoint_url=ENDPOINT, region="us-east-1", secret_name=SECRET),
        pipelines_bucket="demo-pipelines", mlflow_tracking_uri=TRACKING,
    )
    base.update(kw)
    return KubeflowPipelinesArgs(**base)


def foundation_secrets(*namespaces: str) -> None:
    """The object-store Secret the foundation copies into the platform namespaces."""
    for ns in namespaces:
        k8s.core.v1.Secret(f"store-{ns}", metadata={"name": SECRET, "namespace": ns},
                           string_data={"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"})


def run(make_args: Callable[[], KubeflowPipelinesArgs] = kfp_args, name: str = "kfp") -> SynthResult:
    def program() -> None:
        a = make_args()
        foundation_secrets(a.namespace, a.user_namespace)
        KubeflowPipelines(name, a)
    return synth(program)


@pytest.fixture(scope="module")
def result() -> SynthResult:
    return run()


@pytest.fixture(scope="module")
def items(result: SynthResult) -> list[dict[str, Any]]:
    return manifests(result)


def workloads(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in items if m["kind"] in ("Deployment", "StatefulSet")]


def ns_of(m: dict[str, Any]) -> str:
    return str(m["metadata"].get("namespace", ""))


# --- the release's component list ----------------------------------------------------------

def test_workloads_are_the_release_component_list(items: list[dict[str, Any]]) -> None:
    assert COMPONENTS == (
        "mysql", "metadata-grpc-deployment", "metadata-envoy-deployment", "workflow-controller",
        "ml-pipeline", "ml-pipeline-persistenceagent", "ml-pipeline-scheduledworkflow", "ml-pipeline-ui",
    )
    assert sorted(m["metadata"]["name"] for m in workloads(items)) == sorted(COMPONENTS)
    assert all(ns_of(m) == KFP_NS for m in workloads(items))
    # Every upstream workload of env/platform-agnostic at 2.17.0 is either installed or left out
    # for a stated reason.
    assert set(COMPONENTS) | set(OMITTED) == set(UPSTREAM_WORKLOADS)
    assert not set(COMPONENTS) & set(OMITTED)


def test_images_are_the_pinned_release(items: list[dict[str, Any]]) -> None:
    images = {c["image"] for w in workloads(items) for c in containers(w)}
    assert images == set(IMAGES.values())
    assert IMAGES["api-server"] == "ghcr.io/kubeflow/kfp-api-server:2.17.0"
    assert IMAGES["workflow-controller"] == "quay.io/argoproj/workflow-controller:v4.0.5"
    assert IMAGES["mysql"] == "mysql:8.4"
    argo = one(items, "Deployment", "workflow-controller")
    args = containers(argo)[0]["args"]
    assert args[args.index("--executor-image") + 1] == "quay.io/argoproj/argoexec:v4.0.5"
    api = env_of(containers(one(items, "Deployment", "ml-pipeline"))[0])
    assert api["V2_DRIVER_IMAGE"] == "ghcr.io/kubeflow/kfp-driver:2.17.0"
    assert api["V2_LAUNCHER_IMAGE"] == "ghcr.io/kubeflow/kfp-launcher:2.17.0"


def test_render_is_strictly_valid_and_sound(items: list[dict[str, Any]]) -> None:
    assert_valid(items)  # CRDs included: validated as apiextensions.k8s.io/v1 objects
    assert object_collisions(items) == []
    assert_selectors_match_pod_labels(items)
    selected = [m for m in items if not (m["kind"] == "Service" and m["spec"].get("type") == "ExternalName")]
    assert_services_reach_container_ports(selected)
    assert_statefulsets_have_headless_service(items)
    assert_credentials_by_secret_ref(items)
    assert_no_generated_values(items)
    assert check_manifests(items) == []


# --- CRDs and order -------------------------------------------------------------------------

def test_crds_are_minimal_structural_schemas(items: list[dict[str, Any]]) -> None:
    crds = {m["metadata"]["name"]: m for m in find(items, "CustomResourceDefinition")}
    assert set(crds) == {
        "clusterworkflowtemplates.argoproj.io", "cronworkflows.argoproj.io", "workflows.argoproj.io",
        "workflowartifactgctasks.argoproj.io", "workfloweventbindings.argoproj.io",
        "workflowtaskresults.argoproj.io", "workflowtasksets.argoproj.io", "workflowtemplates.argoproj.io",
        "scheduledworkflows.kubeflow.org",
    }
    wf = crds["workflows.argoproj.io"]["spec"]
    assert wf["names"]["shortNames"] == ["wf"] and wf["scope"] == "Namespaced"
    schema = wf["versions"][0]["schema"]["openAPIV3Schema"]
    assert schema["properties"]["spec"]["x-kubernetes-preserve-unknown-fields"] is True
    assert crds["scheduledworkflows.kubeflow.org"]["spec"]["versions"][0]["name"] == "v1beta1"
    assert crds["clusterworkflowtemplates.argoproj.io"]["spec"]["scope"] == "Cluster"
    assert "status" in crds["workflowtasksets.argoproj.io"]["spec"]["versions"][0]["subresources"]


def test_rbac_rules_name_resources_the_crds_define(items: list[dict[str, Any]]) -> None:
    plurals = {(c.group, c.plural) for c in ALL_CRDS}
    for role in find(items, "Role"):
        for rule in role["rules"]:
            for group in rule["apiGroups"]:
                if group not in ("argoproj.io", "kubeflow.org") or rule["resources"] == ["*"]:
                    continue
                for res in rule["resources"]:
                    assert (group, res.split("/")[0]) in plurals, f"Role {role['metadata']['name']}: {group}/{res}"


def test_cluster_scoped_resources_come_first(result: SynthResult) -> None:
    by_urn = result.by_urn()
    crd_urns = {r.urn for r in result.resources if r.type.endswith("CustomResourceDefinition")}
    priority = {r.urn for r in result.resources if r.type.endswith("PriorityClass")}
    assert len(crd_urns) == len(ALL_CRDS) and len(priority) == 1
    kfp = next(r for r in result.resources if r.type == TYPE_TOKEN)
    children = [r for r in result.resources if r.parent_urn == kfp.urn and r.custom
                and r.urn not in crd_urns | priority]
    assert children
    for r in children:
        assert crd_urns | priority <= set(r.dependencies), f"{r.name} does not wait for the CRDs"
    # Bindings wait for their Role and ServiceAccount; workloads for their account and binding.
    for r in result.resources:
        if r.type == "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding":
            deps = {by_urn[d].inputs.get("metadata", {}).get("name") for d in r.dependencies if d in by_urn}
            assert r.inputs["roleRef"]["name"] in deps
            for subject in r.inputs["subjects"]:
                if subject["kind"] == "ServiceAccount":
                    assert subject["name"] in deps
    for r in result.resources:
        if r.type in ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet"):
            deps = {(by_urn[d].type.rsplit(":", 1)[-1], by_urn[d].inputs.get("metadata", {}).get("name"))
                    for d in r.dependencies if d in by_urn}
            sa = r.inputs["spec"]["template"]["spec"]["serviceAccountName"]
            assert ("ServiceAccount", sa) in deps, r.name


# --- RBAC -----------------------------------------------------------------------------------

def test_every_pod_account_exists_and_api_users_are_bound(items: list[dict[str, Any]]) -> None:
    accounts = {(ns_of(s), s["metadata"]["name"]): s for s in find(items, "ServiceAccount")}
    bound = {(sub.get("namespace"), sub["name"]) for b in find(items, "RoleBinding") for sub in b["subjects"]
             if sub["kind"] == "ServiceAccount"}
    for w in workloads(items):
        ps = pod_spec(w)
        key = (ns_of(w), ps["serviceAccountName"])
        assert key in accounts, f"{w['metadata']['name']}: ServiceAccount {key} missing"
        assert accounts[key]["automountServiceAccountToken"] == ps["automountServiceAccountToken"]
        if ps["automountServiceAccountToken"]:
            assert key in bound, f"{w['metadata']['name']} talks to the API but {key} has no RoleBinding"
    # MySQL, ML Metadata and Envoy never talk to the Kubernetes API: no token at all.
    no_api = {w.name for w in WORKLOADS if not w.needs_api}
    assert no_api == {"mysql", "metadata-grpc-deployment", "metadata-envoy-deployment"}
    for name in no_api:
        w = next(m for m in workloads(items) if m["metadata"]["name"] == name)
        assert pod_spec(w)["automountServiceAccountToken"] is False
    # Step pods run as pipeline-runner in the steps namespace: it exists and is bound there.
    assert (STEPS_NS, "pipeline-runner") in accounts and (STEPS_NS, "pipeline-runner") in bound


def test_bindings_reference_existing_roles_and_accounts(items: list[dict[str, Any]]) -> None:
    roles = {(ns_of(r), r["metadata"]["name"]) for r in find(items, "Role")}
    accounts = {(ns_of(s), s["metadata"]["name"]) for s in find(items, "ServiceAccount")}
    bindings = find(items, "RoleBinding")
    assert len(bindings) == len(roles)
    for b in bindings:
        assert b["roleRef"]["kind"] == "Role" and (ns_of(b), b["roleRef"]["name"]) in roles
        for sub in b["subjects"]:
            if sub["kind"] == "ServiceAccount":
                assert (sub["namespace"], sub["name"]) in accounts, f"{b['metadata']['name']}: {sub}"
            else:
                assert sub == {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "system:authenticated"}
    # Namespaced only: no ClusterRole, no ClusterRoleBinding, nothing near cluster-admin.
    assert not find(items, "ClusterRole") and not find(items, "ClusterRoleBinding")
    for r in find(items, "Role"):
        assert {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]} not in r["rules"]


def test_controllers_manage_the_steps_namespace(items: list[dict[str, Any]]) -> None:
    argo = containers(one(items, "Deployment", "workflow-controller"))[0]["args"]
    assert argo[argo.index("--managed-namespace") + 1] == STEPS_NS and "--namespaced" in argo
    assert env_of(containers(one(items, "Deployment", "ml-pipeline"))[0])["POD_NAMESPACE"] == STEPS_NS
    for name in ("ml-pipeline-persistenceagent", "ml-pipeline-scheduledworkflow"):
        assert env_of(containers(one(items, "Deployment", name))[0])["NAMESPACE"] == STEPS_NS
    # Their Roles live where the workflows are; Argo's own config and lease stay at home.
    where = {r["metadata"]["name"]: ns_of(r) for r in find(items, "Role")}
    assert where["argo-role"] == where["ml-pipeline"] == where["pipeline-runner"] == STEPS_NS
    assert where["argo-config"] == KFP_NS
    # Driver and launcher address ml-pipeline / metadata-grpc-service in their own namespace.
    ext = {s["metadata"]["name"]: s["spec"] for s in find(items, "Service") if ns_of(s) == STEPS_NS}
    assert ext == {
        "ml-pipeline": {"type": "ExternalName", "externalName": "ml-pipeline.kubeflow.svc.cluster.local"},
        "metadata-grpc-service": {"type": "ExternalName",
                                  "externalName": "metadata-grpc-service.kubeflow.svc.cluster.local"},
    }


# --- wiring to the foundation ----------------------------------------------------------------

def configmap(items: list[dict[str, Any]], name: str, ns: str = KFP_NS) -> dict[str, str]:
    [cm] = [m for m in find(items, "ConfigMap", name) if ns_of(m) == ns]
    return dict(cm["data"])


def test_artifacts_go_to_the_foundation_store(items: list[dict[str, Any]]) -> None:
    repo = yaml.safe_load(configmap(items, "workflow-controller-configmap")["artifactRepository"])
    assert repo["archiveLogs"] is True
    s3 = repo["s3"]
    assert s3["endpoint"] == "objectstore.omgml-data.svc.cluster.local:8333" and s3["insecure"] is True
    assert s3["bucket"] == "demo-pipelines"
    assert s3["accessKeySecret"] == {"name": SECRET, "key": "AWS_ACCESS_KEY_ID"}
    launcher = configmap(items, "kfp-launcher", STEPS_NS)
    assert launcher["defaultPipelineRoot"] == "s3://demo-pipelines/v2/artifacts"
    provider = yaml.safe_load(launcher["providers"])["s3"]["default"]
    assert provider["endpoint"] == ENDPOINT and provider["disableSSL"] is True
    assert provider["credentials"]["secretRef"]["secretName"] == SECRET
    api = env_of(containers(one(items, "Deployment", "ml-pipeline"))[0])
    assert api["OBJECTSTORECONFIG_HOST"] == ENDPOINT and api["OBJECTSTORECONFIG_BUCKETNAME"] == "demo-pipelines"
    assert api["OBJECTSTORECONFIG_SECRETACCESSKEY"] == {"secretKeyRef": {"name": SECRET, "key": "AWS_SECRET_ACCESS_KEY"}}
    # No second object store.
    assert not [m for m in workloads(items) if "seaweedfs" in json.dumps(m)]


def test_steps_namespace_gets_the_mlflow_settings(items: list[dict[str, Any]]) -> None:
    env = configmap(items, TRAINING_ENV_CONFIGMAP, STEPS_NS)
    assert env["MLFLOW_TRACKING_URI"] == TRACKING
    assert env["MLFLOW_S3_ENDPOINT_URL"] == ENDPOINT
    assert env["AWS_REGION"] == "us-east-1"
    assert env["OMGML_OBJECT_STORE_ENV_FROM"] == SECRET
    assert env["KFP_API_ENDPOINT"] == "http://ml-pipeline.kubeflow.svc.cluster.local:8888"


def test_aws_s3_endpoint_drops_the_endpoint_override() -> None:
    loc = s3_location("", "eu-west-1")
    assert (loc.host, loc.port, loc.secure) == ("s3.eu-west-1.amazonaws.com", 443, True)
    items = manifests(run(lambda: kfp_args(store=StoreRef("", "eu-west-1", SECRET))))
    env = configmap(items, TRAINING_ENV_CONFIGMAP, STEPS_NS)
    assert "MLFLOW_S3_ENDPOINT_URL" not in env and env["AWS_REGION"] == "eu-west-1"
    s3 = yaml.safe_load(configmap(items, "workflow-controller-configmap")["artifactRepository"])["s3"]
    assert s3["endpoint"] == "s3.eu-west-1.amazonaws.com:443" and s3["insecure"] is False
    with pytest.raises(ValueError, match="not an http"):
        s3_location("objectstore:8333", "us-east-1")


def test_store_ref_from_an_in_program_endpoint() -> None:
    def make() -> KubeflowPipelinesArgs:
        endpoint = ObjectStoreEndpoint(
            endpoint_url=ENDPOINT, region="us-east-1",
            access_key_ref=SecretKeyRef(SECRET, "AWS_ACCESS_KEY_ID"),
            secret_key_ref=SecretKeyRef(SECRET, "AWS_SECRET_ACCESS_KEY"),
            access_key=pulumi.Output.secret("a"), secret_key=pulumi.Output.secret("b"))
        return kfp_args(store=StoreRef.from_endpoint(endpoint))
    items = manifests(run(make))
    ui = env_of(containers(one(items, "Deployment", "ml-pipeline-ui"))[0])
    assert ui["MINIO_ACCESS_KEY"] == {"secretKeyRef": {"name": SECRET, "key": "AWS_ACCESS_KEY_ID"}}
    # Service links are off, so the UI is told where its backends are.
    assert ui["ML_PIPELINE_SERVICE_HOST"] == "ml-pipeline.kubeflow.svc.cluster.local"
    assert ui["METADATA_ENVOY_SERVICE_SERVICE_HOST"] == "metadata-envoy-service.kubeflow.svc.cluster.local"


# --- the UI server's object-store access --------------------------------------------------------

STORE_HOST = "objectstore.omgml-data.svc.cluster.local"
UI_SA = "ml-pipeline-ui"
# The UI's Role in the steps namespace, the same with static keys and IRSA: no Secret there.
UI_STEPS_RULES = [
    {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["list"]},
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]},
    {"apiGroups": ["argoproj.io"], "resources": ["workflows"], "verbs": ["get", "list"]},
]


def _endpoint(text: str) -> tuple[str, int | None, bool | None]:
    """host, port and TLS of a rewrite-rule endpoint ("host", "host:port" or a URL)."""
    parts = urlsplit(text if re.match(r"^https?://", text) else f"http://{text}")
    tls = True if text.startswith("https://") else False if text.startswith("http://") else None
    return str(parts.hostname), parts.port, tls


def ui_client_target(env: dict[str, Any], client: str) -> tuple[str, int, bool]:
    """Where the KFP 2.17.0 UI server's default "s3" or "minio" client connects, from its env.

    The rules of frontend/server at 2.17.0: configs.ts (`aws`: AWS_S3_ENDPOINT or
    s3.amazonaws.com, no port, AWS_SSL defaulting to true; `minio`: MINIO_HOST, suffixed with
    "." + MINIO_NAMESPACE unless that is empty, MINIO_PORT, MINIO_SSL), then
    minio-helper.ts applyEndpointRewrite (MINIO_ENDPOINT_REWRITE: comma-separated from=to; the
    first rule whose host, and port if it has one, match replaces host, port and TLS), then
    minio-js's default port (443 with TLS, else 80).
    """
    def flag(name: str, default: str) -> bool:
        return str(env.get(name, default)).lower() in ("true", "1")

    port: int | None
    if client == "s3":
        host, port, tls = str(env.get("AWS_S3_ENDPOINT") or "s3.amazonaws.com"), None, flag("AWS_SSL", "true")
    else:
        ns = env.get("MINIO_NAMESPACE", "kubeflow")
        host = f"{env.get('MINIO_HOST', 'seaweedfs')}.{ns}" if ns else str(env.get("MINIO_HOST", "seaweedfs"))
        port, tls = int(env.get("MINIO_PORT", "9000")), flag("MINIO_SSL", "false")
    for rule in str(env.get("MINIO_ENDPOINT_REWRITE", "")).split(","):
        if "=" not in rule:
            continue
        src, dst = (_endpoint(part.strip()) for part in rule.split("=", 1))
        if src[0] != host or (src[1] is not None and src[1] != port):
            continue
        host, port, tls = dst[0], dst[1] if dst[1] is not None else port, dst[2] if dst[2] is not None else tls
        break
    return host, port if port is not None else (443 if tls else 80), tls


def ui_secret_rules(items: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(namespace, rule) of every Role rule on Secrets that a RoleBinding gives the UI."""
    roles = {(ns_of(r), r["metadata"]["name"]): r for r in find(items, "Role")}
    out = []
    for b in find(items, "RoleBinding"):
        if {"kind": "ServiceAccount", "name": UI_SA, "namespace": KFP_NS} not in b["subjects"]:
            continue
        for rule in roles[(ns_of(b), b["roleRef"]["name"])]["rules"]:
            if set(rule["resources"]) & {"secrets", "*"}:
                out.append((ns_of(b), rule))
    return out


def test_ui_clients_reach_the_in_cluster_store(items: list[dict[str, Any]]) -> None:
    ui_deployment = one(items, "Deployment", "ml-pipeline-ui")
    ui = env_of(containers(ui_deployment)[0])
    # Download links and requests naming the steps namespace use the "s3" client; archived
    # logs the "minio" one: both go to SeaweedFS on :8333 over plain HTTP, not to AWS.
    assert ui_client_target(ui, "s3") == (STORE_HOST, 8333, False)
    assert ui_client_target(ui, "minio") == (STORE_HOST, 8333, False)
    assert ui["AWS_S3_ENDPOINT"] == STORE_HOST and ui["AWS_SSL"] == "false"
    assert ui["MINIO_ENDPOINT_REWRITE"] == f"{STORE_HOST}={ENDPOINT}"
    assert ui["MINIO_HOST"] == STORE_HOST and ui["MINIO_PORT"] == "8333" and ui["MINIO_SSL"] == "false"
    assert ui["MINIO_NAMESPACE"] == ""
    for key in ("MINIO_ACCESS_KEY", "AWS_ACCESS_KEY_ID"):
        assert ui[key] == {"secretKeyRef": {"name": SECRET, "key": "AWS_ACCESS_KEY_ID"}}
    # Previews follow the session info the launcher records from `providers`: the same endpoint.
    provider = yaml.safe_load(configmap(items, "kfp-launcher", STEPS_NS)["providers"])["s3"]["default"]
    assert urlsplit(provider["endpoint"]).hostname == STORE_HOST and urlsplit(provider["endpoint"]).port == 8333
    assert provider["disableSSL"] is True
    # The helper is strict enough to tell: without the rewrite the "s3" client would use :80,
    # without AWS_S3_ENDPOINT it would go to AWS.
    assert ui_client_target({**ui, "MINIO_ENDPOINT_REWRITE": ""}, "s3") == (STORE_HOST, 80, False)
    assert ui_client_target({k: v for k, v in ui.items() if k != "AWS_S3_ENDPOINT"}, "s3")[0] == "s3.amazonaws.com"


def test_ui_endpoint_rewrite_restores_the_store_port() -> None:
    assert ui_endpoint_rewrite(s3_location(ENDPOINT, "us-east-1")) == f"{STORE_HOST}={ENDPOINT}"
    assert ui_endpoint_rewrite(s3_location("https://store.example.com", "eu-west-1")) == (
        "store.example.com=https://store.example.com:443")


def test_ui_reads_only_the_store_secret_and_only_in_its_own_namespace(items: list[dict[str, Any]]) -> None:
    ui_deployment = one(items, "Deployment", "ml-pipeline-ui")
    ui = env_of(containers(ui_deployment)[0])
    # The UI server reads the Secret named in an artifact's session info in its own namespace
    # (FRONTEND_SERVER_NAMESPACE / its ServiceAccount's), which is the KFP namespace.
    assert ui["FRONTEND_SERVER_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert ns_of(ui_deployment) == KFP_NS and pod_spec(ui_deployment)["automountServiceAccountToken"] is True
    provider = yaml.safe_load(configmap(items, "kfp-launcher", STEPS_NS)["providers"])["s3"]["default"]
    assert provider["credentials"]["fromEnv"] is False
    named = provider["credentials"]["secretRef"]["secretName"]
    # Exactly one rule: get on that one Secret, in the KFP namespace; nothing in the steps namespace.
    assert ui_secret_rules(items) == [(KFP_NS, {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"],
                                                "resourceNames": [named]})]
    role = one(items, "Role", "ml-pipeline-ui-store-secret")
    assert ns_of(role) == KFP_NS and len(role["rules"]) == 1
    binding = one(items, "RoleBinding", "ml-pipeline-ui-store-secret-binding")
    assert ns_of(binding) == KFP_NS and binding["roleRef"]["name"] == "ml-pipeline-ui-store-secret"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": UI_SA, "namespace": KFP_NS}]
    steps_role = one(items, "Role", "ml-pipeline-ui")
    assert ns_of(steps_role) == STEPS_NS and steps_role["rules"] == UI_STEPS_RULES


def test_ui_secret_rule_follows_the_foundation_secret_name() -> None:
    def make() -> KubeflowPipelinesArgs:
        return kfp_args(store=StoreRef(ENDPOINT, "us-east-1", pulumi.Output.from_input("other-keys")))

    def program() -> None:
        for ns in (KFP_NS, STEPS_NS):
            k8s.core.v1.Secret(f"store-{ns}", metadata={"name": "other-keys", "namespace": ns},
                               string_data={"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"})
        KubeflowPipelines("kfp", make())

    items = manifests(synth(program))
    [(ns, rule)] = ui_secret_rules(items)
    assert ns == KFP_NS and rule["resourceNames"] == ["other-keys"] and rule["verbs"] == ["get"]


def test_irsa_ui_gets_no_secret_access(irsa_items: list[dict[str, Any]]) -> None:
    assert ui_secret_rules(irsa_items) == []
    assert not find(irsa_items, "Role", "ml-pipeline-ui-store-secret")
    assert one(irsa_items, "Role", "ml-pipeline-ui")["rules"] == UI_STEPS_RULES
    ui = env_of(containers(one(irsa_items, "Deployment", "ml-pipeline-ui"))[0])
    assert "MINIO_ENDPOINT_REWRITE" not in ui
    assert ui_client_target(ui, "s3") == (AWS_HOST, 443, True)


# --- pods, MySQL, sizing ---------------------------------------------------------------------

def test_every_pod_is_restricted_probed_and_sized(items: list[dict[str, Any]]) -> None:
    for w in workloads(items):
        ps = pod_spec(w)
        where = w["metadata"]["name"]
        assert ps["securityContext"]["runAsNonRoot"] is True, where
        assert ps["securityContext"]["runAsUser"] != 0, where
        assert ps["enableServiceLinks"] is False, where
        for c in containers(w):
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}, where
            assert sc["readOnlyRootFilesystem"] is True and sc["seccompProfile"]["type"] == "RuntimeDefault", where
            assert set(c["resources"]["requests"]) == set(c["resources"]["limits"]) == {"cpu", "memory"}, where
        for c in ps["containers"]:
            assert "readinessProbe" in c and "livenessProbe" in c, f"{where}/{c['name']}"


def test_mysql_uses_generated_credentials_and_a_kept_volume(result: SynthResult, items: list[dict[str, Any]]) -> None:
    sts = one(items, "StatefulSet", "mysql")
    assert "volumeClaimTemplates" not in sts["spec"]  # resizing must not replace the StatefulSet
    c = containers(sts)[0]
    env = env_of(c)
    assert env["MYSQL_ROOT_PASSWORD"] == {"secretKeyRef": {"name": "mysql-secret", "key": "root_password"}}
    assert env["MYSQL_PASSWORD"] == {"secretKeyRef": {"name": "mysql-secret", "key": "password"}}
    assert env["MYSQL_ROOT_HOST"] == "localhost" and env["MYSQL_USER"] == "kfp"
    assert "--mysql-native-password=ON" in c["args"] and "--datadir=/var/lib/mysql/data" in c["args"]
    secret = one(items, "Secret", "mysql-secret")
    assert set(secret["stringData"]) == {"root_password", "password", "username"}
    assert secret["stringData"]["password"].startswith("<secret")
    init = configmap(items, "mysql-initdb")["10-kfp-databases.sql"]
    assert "GRANT ALL PRIVILEGES ON `metadb`.* TO 'kfp'@'%'" in init
    mlmd = env_of(containers(one(items, "Deployment", "metadata-grpc-deployment"))[0])
    assert mlmd["DBCONFIG_PASSWORD"] == {"secretKeyRef": {"name": "mysql-secret", "key": "password"}}
    pvc = next(r for r in result.resources if r.type == "kubernetes:core/v1:PersistentVolumeClaim")
    assert not pvc.protect and not pvc.retain_on_delete  # laptop: a careless destroy may drop it
    prod = next(r for r in run(lambda: kfp_args(profile="production")).resources
                if r.type == "kubernetes:core/v1:PersistentVolumeClaim")
    assert prod.protect and prod.retain_on_delete


def test_laptop_requests_stay_under_upstream_without_starving(items: list[dict[str, Any]]) -> None:
    cpu_m, mem_b, gpus = total_requests(items)
    # Upstream asks about 1 CPU / 3.5 GiB; this install must stay below.
    assert cpu_m < 1000 and mem_b < 3.5 * GIB and gpus == 0
    assert (cpu_m, mem_b) == (340, 992 * 2**20)
    for w in workloads(items):
        req = workload_requests(w)
        assert req is not None and req.cpu_m >= 10 and req.memory_b >= 32 * 2**20, w["metadata"]["name"]
    mysql = next(c for c in containers(one(items, "StatefulSet", "mysql")))
    # The 64 MiB buffer pool plus connections fit well inside the request and the limit.
    assert "--innodb-buffer-pool-size=64M" in mysql["args"] and "--performance-schema=OFF" in mysql["args"]
    assert memory_bytes(mysql["resources"]["requests"]["memory"]) >= 256 * 2**20
    bigger = [total_requests(manifests(run(lambda: kfp_args(profile="small")))),
              total_requests(manifests(run(lambda: kfp_args(profile="production"))))]
    assert (cpu_m, mem_b) < bigger[0][:2] < bigger[1][:2]


def test_restricted_steps_force_a_non_root_uid(items: list[dict[str, Any]]) -> None:
    assert "DEFAULT_SECURITY_CONTEXT_RUN_AS_NON_ROOT" not in env_of(containers(one(items, "Deployment", "ml-pipeline"))[0])
    strict = manifests(run(lambda: kfp_args(restricted_steps=True)))
    env = env_of(containers(one(strict, "Deployment", "ml-pipeline"))[0])
    assert env["DEFAULT_SECURITY_CONTEXT_RUN_AS_NON_ROOT"] == "true"
    assert env["DEFAULT_SECURITY_CONTEXT_RUN_AS_USER"] == "1000"


def test_kube_api_egress_in_both_namespaces(items: list[dict[str, Any]]) -> None:
    pols = [p for p in find(items, "NetworkPolicy", "allow-kube-apiserver")]
    assert sorted(ns_of(p) for p in pols) == sorted([KFP_NS, STEPS_NS])
    ports = {p["port"] for p in pols[0]["spec"]["egress"][0]["ports"]}
    assert ports == {443, 6443}


# --- args and instances -----------------------------------------------------------------------

def test_two_installs_do_not_collide() -> None:
    def program() -> None:
        foundation_secrets(KFP_NS, STEPS_NS, "kfp-b", "steps-b")
        KubeflowPipelines("a", kfp_args())
        # CRDs are cluster singletons: the second install reuses them.
        KubeflowPipelines("b", kfp_args(namespace="kfp-b", user_namespace="steps-b", install_crds=False))

    result = synth(program)
    items = manifests(result)
    assert object_collisions(items) == []
    assert len(find(items, "CustomResourceDefinition")) == len(ALL_CRDS)
    assert len(find(items, "PriorityClass")) == 2
    assert sorted(m["metadata"]["name"] for m in workloads(items)) == sorted(COMPONENTS * 2)


# --- AWS S3 through IRSA ----------------------------------------------------------------------

REGION = "eu-west-1"
AWS_HOST = f"s3.{REGION}.amazonaws.com"
# Env vars through which the KFP images read object-store settings (frontend/server/configs.ts,
# the API server's OBJECTSTORECONFIG_*): a pod carrying one of them opens the store.
STORE_ENV_PREFIXES = ("OBJECTSTORECONFIG_", "MINIO_", "AWS_", "ARGO_ARCHIVE_")
KEY_ENV = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY",
           "AWS_SESSION_TOKEN"}


def role_arn(consumer: str) -> str:
    return f"arn:aws:iam::123456789012:role/demo-{consumer}"


def irsa_args(**kw: Any) -> KubeflowPipelinesArgs:
    arns = {c.name: role_arn(c.name) for c in s3_consumers(KFP_NS, STEPS_NS, "pipelines")}
    return kfp_args(store=StoreRef("", REGION, SECRET), irsa_role_arns=arns, **kw)


@pytest.fixture(scope="module")
def irsa_items() -> list[dict[str, Any]]:
    return manifests(run(irsa_args))


def all_env(items: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(workload name, env entry) of every container and init container of the render."""
    return [(w["metadata"]["name"], e) for w in workloads(items) for c in containers(w) for e in c.get("env", [])]


def store_users(items: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(namespace, ServiceAccount) of every rendered pod that is given object-store settings."""
    return {(ns_of(w), pod_spec(w)["serviceAccountName"]) for w in workloads(items)
            if any(e["name"].startswith(STORE_ENV_PREFIXES) for c in containers(w) for e in c.get("env", []))}


def annotated(items: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    return {(ns_of(s), s["metadata"]["name"]): s["metadata"]["annotations"][ROLE_ARN_ANNOTATION]
            for s in find(items, "ServiceAccount") if ROLE_ARN_ANNOTATION in s["metadata"].get("annotations", {})}


def test_s3_consumers_are_the_accounts_the_pods_run_as() -> None:
    consumers = {c.name: c for c in s3_consumers(KFP_NS, STEPS_NS, "pipelines")}
    assert set(consumers) == {"kfp-api", "kfp-ui", "kfp-runner"}
    sa = {w.name: w.service_account for w in WORKLOADS}
    assert (consumers["kfp-api"].namespace, consumers["kfp-api"].service_account) == (KFP_NS, sa["ml-pipeline"])
    assert (consumers["kfp-ui"].namespace, consumers["kfp-ui"].service_account) == (KFP_NS, sa["ml-pipeline-ui"])
    assert (consumers["kfp-runner"].namespace, consumers["kfp-runner"].service_account) == (STEPS_NS,
                                                                                           PIPELINE_RUNNER_SA)
    # The API server and the UI only read (2.17 stores pipeline specs in MySQL); steps write.
    assert consumers["kfp-api"].read_only and consumers["kfp-ui"].read_only
    assert not consumers["kfp-runner"].read_only
    for c in consumers.values():
        assert c.bucket_roles == ("pipelines",)
        assert c.name.startswith("kfp-") and re.match(DNS_LABEL, c.name), c.name


@pytest.mark.parametrize("irsa", [False, True])
def test_every_pod_with_store_settings_is_an_s3_consumer(irsa: bool, items: list[dict[str, Any]],
                                                         irsa_items: list[dict[str, Any]]) -> None:
    render = irsa_items if irsa else items
    consumers = {(c.namespace, c.service_account) for c in s3_consumers(KFP_NS, STEPS_NS, "pipelines")}
    # Control plane: exactly the API server and the UI are given store settings.
    assert store_users(render) == {(ns, sa) for ns, sa in consumers if ns == KFP_NS}
    # Step pods are not rendered: Argo creates them with the workflow's ServiceAccount, which
    # the API server sets to its DEFAULTPIPELINERUNNERSERVICEACCOUNT (pipeline-runner unless
    # overridden) — so the runner consumer must be that account, in the steps namespace.
    api = env_of(containers(one(render, "Deployment", "ml-pipeline"))[0])
    assert api.get("DEFAULTPIPELINERUNNERSERVICEACCOUNT", PIPELINE_RUNNER_SA) == PIPELINE_RUNNER_SA
    assert api["POD_NAMESPACE"] == STEPS_NS
    assert (STEPS_NS, PIPELINE_RUNNER_SA) in consumers
    assert consumers == store_users(render) | {(STEPS_NS, PIPELINE_RUNNER_SA)}


def test_irsa_annotates_exactly_the_consumer_accounts(irsa_items: list[dict[str, Any]],
                                                      items: list[dict[str, Any]]) -> None:
    expected = {(c.namespace, c.service_account): role_arn(c.name)
                for c in s3_consumers(KFP_NS, STEPS_NS, "pipelines")}
    assert annotated(irsa_items) == expected
    assert annotated(items) == {}  # static keys: no role anywhere


def test_irsa_argo_and_launcher_use_the_sdk_credential_chain(irsa_items: list[dict[str, Any]]) -> None:
    repo = yaml.safe_load(configmap(irsa_items, "workflow-controller-configmap")["artifactRepository"])
    assert repo["archiveLogs"] is True
    s3 = repo["s3"]
    assert s3["useSDKCreds"] is True
    assert "accessKeySecret" not in s3 and "secretKeySecret" not in s3
    assert s3["endpoint"].split(":")[0] == AWS_HOST and s3["region"] == REGION and s3["insecure"] is False
    assert s3["bucket"] == "demo-pipelines"
    provider = yaml.safe_load(configmap(irsa_items, "kfp-launcher", STEPS_NS)["providers"])["s3"]["default"]
    assert provider["credentials"] == {"fromEnv": True}
    assert provider["endpoint"] == f"https://{AWS_HOST}" and provider["region"] == REGION
    assert provider["disableSSL"] is False


def test_irsa_leaves_no_key_in_any_container(irsa_items: list[dict[str, Any]]) -> None:
    for where, e in all_env(irsa_items):
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        assert not (ref and ref["name"] == SECRET), f"{where}: {e['name']} reads the key Secret"
        assert e["name"] not in KEY_ENV, f"{where}: {e['name']}"
    # Present and empty: the API server image's config.json holds minio/minio123 for these, and
    # only an empty variable overrides them (viper AllowEmptyEnv); empty keys select the chain.
    api = env_of(containers(one(irsa_items, "Deployment", "ml-pipeline"))[0])
    assert api["OBJECTSTORECONFIG_ACCESSKEY"] == "" and api["OBJECTSTORECONFIG_SECRETACCESSKEY"] == ""
    assert api["OBJECTSTORECONFIG_HOST"] == f"https://{AWS_HOST}" and api["OBJECTSTORECONFIG_REGION"] == REGION
    ui = env_of(containers(one(irsa_items, "Deployment", "ml-pipeline-ui"))[0])
    # The keyless "s3" client takes the AWS provider chain only for an AWS endpoint.
    assert ui["AWS_S3_ENDPOINT"] == AWS_HOST and ui["AWS_REGION"] == REGION and ui["AWS_SSL"] == "true"
    assert ui["ARGO_ARCHIVE_ARTIFACTORY"] == "s3"
    # Steps are not told to load the (empty) key Secret.
    assert "OMGML_OBJECT_STORE_ENV_FROM" not in configmap(irsa_items, TRAINING_ENV_CONFIGMAP, STEPS_NS)
    # The key Secret is not even readable by the UI: nothing on IRSA reads it.
    ui_role = one(irsa_items, "Role", "ml-pipeline-ui")
    assert not [rule for rule in ui_role["rules"] if "secrets" in rule["resources"]]


def test_irsa_render_is_valid_and_passes_the_policies(irsa_items: list[dict[str, Any]]) -> None:
    assert_valid(irsa_items)
    assert object_collisions(irsa_items) == []
    assert_no_generated_values(irsa_items)
    assert check_manifests(irsa_items) == []
    # The UI's TensorBoard proxy key is generated, not upstream's guessable default.
    ui = env_of(containers(one(irsa_items, "Deployment", "ml-pipeline-ui"))[0])
    assert ui["TENSORBOARD_PROXY_SIGNING_SECRET"] == {
        "secretKeyRef": {"name": "ml-pipeline-ui-secrets", "key": "tensorboard_proxy_signing_secret"}}
    assert one(irsa_items, "Secret", "ml-pipeline-ui-secrets")["stringData"][
        "tensorboard_proxy_signing_secret"].startswith("<secret")


def test_static_keys_are_unchanged_without_irsa(items: list[dict[str, Any]]) -> None:
    for aws in (False, True):
        render = manifests(run(lambda: kfp_args(store=StoreRef("", REGION, SECRET)))) if aws else items
        s3 = yaml.safe_load(configmap(render, "workflow-controller-configmap")["artifactRepository"])["s3"]
        assert "useSDKCreds" not in s3
        assert s3["secretKeySecret"] == {"name": SECRET, "key": "AWS_SECRET_ACCESS_KEY"}
        creds = yaml.safe_load(configmap(render, "kfp-launcher", STEPS_NS)["providers"])["s3"]["default"]["credentials"]
        assert creds == {"fromEnv": False, "secretRef": {"secretName": SECRET, "accessKeyKey": "AWS_ACCESS_KEY_ID",
                                                         "secretKeyKey": "AWS_SECRET_ACCESS_KEY"}}
        api = env_of(containers(one(render, "Deployment", "ml-pipeline"))[0])
        assert api["OBJECTSTORECONFIG_ACCESSKEY"] == {"secretKeyRef": {"name": SECRET, "key": "AWS_ACCESS_KEY_ID"}}
        ui = env_of(containers(one(render, "Deployment", "ml-pipeline-ui"))[0])
        for key in ("MINIO_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"):
            assert ui[key] == {"secretKeyRef": {"name": SECRET, "key": "AWS_SECRET_ACCESS_KEY"}}
        assert ui["ARGO_ARCHIVE_ARTIFACTORY"] == "minio"
        # Both UI clients go where the keys are valid: the in-cluster store, or AWS S3 here.
        target = (AWS_HOST, 443, True) if aws else (STORE_HOST, 8333, False)
        assert ui_client_target(ui, "s3") == ui_client_target(ui, "minio") == target
        assert configmap(render, TRAINING_ENV_CONFIGMAP, STEPS_NS)["OMGML_OBJECT_STORE_ENV_FROM"] == SECRET
        assert ui_secret_rules(render) == [(KFP_NS, {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"],
                                                      "resourceNames": [SECRET]})]
        assert annotated(render) == {}


def test_irsa_role_arns_must_name_exactly_the_consumers() -> None:
    good = dict(irsa_args().irsa_role_arns or {})
    assert set(good) == {"kfp-api", "kfp-ui", "kfp-runner"}
    assert resolve(irsa_args()).irsa
    assert not resolve(kfp_args()).irsa
    with pytest.raises(ValueError, match=r"irsa_role_arns: missing \['kfp-ui'\], unknown \[\]"):
        resolve(replace(irsa_args(), irsa_role_arns={k: v for k, v in good.items() if k != "kfp-ui"}))
    with pytest.raises(ValueError, match=r"missing \[\], unknown \['kfp-viewer'\].*exactly \['kfp-api'"):
        resolve(replace(irsa_args(), irsa_role_arns={**good, "kfp-viewer": role_arn("kfp-viewer")}))
    with pytest.raises(ValueError, match=r"irsa_role_arns: IRSA reaches AWS S3 only.*objectstore"):
        resolve(replace(irsa_args(), store=StoreRef(ENDPOINT, "us-east-1", SECRET)))
    # An endpoint only known at deploy time is checked when it resolves.
    with pytest.raises(ValueError, match="IRSA reaches AWS S3 only"):
        store_location(ENDPOINT, "us-east-1", irsa=True)
    assert store_location("", REGION, irsa=True).host == AWS_HOST
    assert store_location(ENDPOINT, "us-east-1", irsa=False).port == 8333

"""Model servers: one contract (object store, probes, metrics, HPA, PDB, GPU) for three servers."""

from __future__ import annotations

import dataclasses
import subprocess
import time
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from omgml.components.contracts import StoreRef
from omgml.components.gpupool import GPU_RESOURCE, gpu_node_selector, gpu_tolerations
from omgml.components.modelserver import (
    SERVER_KINDS,
    STARTUP_SECONDS,
    SYNC_HEARTBEAT,
    SYNC_STALL_SECONDS,
    ModelServer,
    ModelServerArgs,
    ResolvedModelServer,
    ServerKind,
    ServerLayout,
    TfServing,
    Triton,
    metrics_endpoint,
    model_server_for,
    resolve_model_server,
    server_name,
    sync_script,
    tfserving_layout,
    tfserving_model_config,
    torchserve_layout,
    triton_layout,
    triton_repository_uri,
)
from omgml.policy.containers import check_probes
from omgml.spec import GpuPoolSpec
from omgml.synth.manifests import manifests
from tests.components.manifest_checks import assert_component_sound, env_of
from tests.synth_helpers import assert_valid, containers, find, one, pod_spec, synth

NS = "omgml-serving"
STORE_SECRET = "store-credentials"
ENDPOINT = "http://objectstore.omgml-data.svc.cluster.local:8333"
POOL = GpuPoolSpec(name="infer", purpose="inference", min_size=1, desired_size=1)


def args(kind: ServerKind = "triton", **kw: Any) -> ModelServerArgs:
    base: dict[str, Any] = dict(
        namespace=NS, instance="demo", kind=kind, store=StoreRef(ENDPOINT, "us-east-1", STORE_SECRET),
        bucket="demo-models",
        model_control_mode="none" if kind == "torchserve" else "poll",
    )
    base.update(kw)
    return ModelServerArgs(**base)


def render(*servers: tuple[str, ModelServerArgs]) -> list[dict[str, Any]]:
    """Synthesize the servers plus the credentials Secret the foundation would copy here."""
    def program() -> None:
        k8s.core.v1.Secret("store-secret", metadata={"name": STORE_SECRET, "namespace": NS},
                           string_data={"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"})
        for name, a in servers:
            model_server_for(a.kind)(name, a)
    result = synth(program)
    return manifests(result)


def server_container(items: list[dict[str, Any]], kind: ServerKind, instance: str = "demo") -> dict[str, Any]:
    dep = one(items, "Deployment", server_name(instance, kind))
    return dict(pod_spec(dep)["containers"][0])


# --- pure builders ---------------------------------------------------------------------------
@pytest.mark.parametrize(("endpoint", "expected"), [
    ("", "s3://demo-models/repo"),
    ("http://objectstore.omgml-data.svc.cluster.local:8333", "s3://objectstore.omgml-data.svc.cluster.local:8333/demo-models/repo"),
    ("https://minio.example.com", "s3://https://minio.example.com:443/demo-models/repo"),
    ("http://store", "s3://store:80/demo-models/repo"),
])
def test_triton_repository_uri_spells_out_host_and_port(endpoint: str, expected: str) -> None:
    assert triton_repository_uri(endpoint, "demo-models", "/repo/") == expected


def test_triton_repository_uri_rejects_non_http_endpoints() -> None:
    with pytest.raises(ValueError, match="not an http"):
        triton_repository_uri("ftp://store:21", "b")


@pytest.mark.parametrize("loop", [None, 30])
def test_sync_script_is_valid_shell_and_passes_the_endpoint_only_when_set(loop: int | None) -> None:
    script = sync_script(loop)
    assert subprocess.run(["/bin/sh", "-n", "-c", script], check=False).returncode == 0
    assert '--endpoint-url "$S3_ENDPOINT_URL"' in script and '[ -n "${S3_ENDPOINT_URL:-}" ]' in script
    assert "aws s3 sync" in script
    assert ("sleep 30" in script) == (loop is not None)


def test_resolve_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="gpu_pool"):
        resolve_model_server(args(gpu=True))
    with pytest.raises(ValueError, match="poll"):
        resolve_model_server(args("torchserve", model_control_mode="poll"))
    with pytest.raises(ValueError, match="max_replicas"):
        resolve_model_server(args(replicas=4, max_replicas=2))


def test_model_server_for_maps_spec_kinds_and_rejects_others() -> None:
    assert model_server_for("triton") is Triton
    assert model_server_for("tf-serving") is TfServing
    assert {model_server_for(k).TYPE_TOKEN for k in SERVER_KINDS} == {
        "omgml:serving:Triton", "omgml:serving:TorchServe", "omgml:serving:TfServing"}
    with pytest.raises(ValueError, match=r"phases\.serving\.server\.kind"):
        model_server_for("seldon")


def layout_for(r: ResolvedModelServer) -> ServerLayout:
    """The layout of a resolved server with a plain repository URI (no resources created)."""
    if r.args.kind == "triton":
        return triton_layout(r, triton_repository_uri("", "bucket", r.args.repository_prefix))
    return torchserve_layout(r) if r.args.kind == "torchserve" else tfserving_layout(r)


def test_the_base_class_is_not_a_component_of_its_own() -> None:
    with pytest.raises(TypeError, match=r"shared base; use one of its subclasses \(Triton, TorchServe, TfServing\)"):
        ModelServer("x", args("triton"))


@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_metrics_endpoint_agrees_with_the_layout(kind: ServerKind) -> None:
    layout = layout_for(resolve_model_server(args(kind)))
    ep = metrics_endpoint(kind)
    assert layout.metrics_port == ep.port_name
    assert layout.port(ep.port_name) == ep.port
    assert layout.metrics_path == ep.path


def test_tfserving_model_config_lists_each_model_under_the_synced_dir() -> None:
    text = tfserving_model_config(["fraud", "churn"])
    assert text.count("config {") == 2
    assert 'base_path: "/models/churn"' in text and 'name: "fraud"' in text


# --- every kind: the shared contract ----------------------------------------------------------
@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_each_kind_renders_valid_and_sound(kind: ServerKind) -> None:
    items = render(("ms", args(kind)))
    assert_component_sound(items)
    c = server_container(items, kind)
    assert {"readinessProbe", "livenessProbe", "startupProbe"} <= set(c)
    startup = c["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= STARTUP_SECONDS
    # object-store credentials only by secretKeyRef, in every container that talks to S3
    for cont in containers(one(items, "Deployment", server_name("demo", kind))):
        env = env_of(cont)
        if "AWS_ACCESS_KEY_ID" in env:
            assert env["AWS_ACCESS_KEY_ID"] == {"secretKeyRef": {"key": "AWS_ACCESS_KEY_ID", "name": STORE_SECRET}}
            assert env["AWS_SECRET_ACCESS_KEY"]["secretKeyRef"]["name"] == STORE_SECRET


@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_metrics_port_is_named_annotated_and_on_the_service(kind: ServerKind) -> None:
    items = render(("ms", args(kind)))
    ep = metrics_endpoint(kind)
    dep = one(items, "Deployment", server_name("demo", kind))
    ann = dep["spec"]["template"]["metadata"]["annotations"]
    assert ann["prometheus.io/scrape"] == "true"
    assert ann["prometheus.io/port"] == str(ep.port) and ann["prometheus.io/path"] == ep.path
    ports = {p["name"]: p["containerPort"] for p in pod_spec(dep)["containers"][0]["ports"]}
    assert ports[ep.port_name] == ep.port
    svc = one(items, "Service", server_name("demo", kind))
    assert ep.port_name in {p["name"] for p in svc["spec"]["ports"]}


@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_hpa_targets_the_server_deployment(kind: ServerKind) -> None:
    items = render(("ms", args(kind, replicas=2, max_replicas=5)))
    dep = one(items, "Deployment", server_name("demo", kind))
    hpa = one(items, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": dep["metadata"]["name"]}
    assert hpa["metadata"]["namespace"] == dep["metadata"]["namespace"]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 5)
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert dep["spec"]["replicas"] == 2


def test_hpa_owns_the_replica_count() -> None:
    def program() -> None:
        Triton("ms", args())
    result = synth(program)
    dep = next(r for r in result.resources if r.type == "kubernetes:apps/v1:Deployment")
    assert "spec.replicas" in dep.ignore_changes


def test_pdb_selects_the_server_pods_and_never_blocks_a_drain() -> None:
    items = render(("ms", args()))
    pdb = one(items, "PodDisruptionBudget")
    labels = one(items, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["maxUnavailable"] == 1 and "minAvailable" not in pdb["spec"]


# --- GPU scheduling --------------------------------------------------------------------------
@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_gpu_target_gets_limit_toleration_and_selector(kind: ServerKind) -> None:
    items = render(("ms", args(kind, gpu=True, gpu_pool=POOL, gpu_available=True)))
    dep = one(items, "Deployment", server_name("demo", kind))
    ps = pod_spec(dep)
    assert ps["containers"][0]["resources"]["limits"][GPU_RESOURCE] == "1"
    assert ps["tolerations"] == gpu_tolerations([POOL])
    assert ps["nodeSelector"] == gpu_node_selector(POOL)
    # a GPU node has no spare GPU for a surge pod
    assert dep["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    if kind != "triton":
        assert ps["containers"][0]["image"].endswith("-gpu")


@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_local_gpu_pool_without_gpu_keeps_scheduling_but_drops_the_limit(kind: ServerKind) -> None:
    items = render(("ms", args(kind, gpu=True, gpu_pool=POOL, gpu_available=False)))
    ps = pod_spec(one(items, "Deployment", server_name("demo", kind)))
    assert GPU_RESOURCE not in ps["containers"][0]["resources"]["limits"]
    assert ps["tolerations"] == gpu_tolerations([POOL])
    assert ps["nodeSelector"] == gpu_node_selector(POOL)
    assert not ps["containers"][0]["image"].endswith("-gpu")


def test_cpu_server_has_no_gpu_scheduling_at_all() -> None:
    items = render(("ms", args()))
    ps = pod_spec(one(items, "Deployment"))
    assert "tolerations" not in ps and "nodeSelector" not in ps
    assert all(GPU_RESOURCE not in c["resources"]["limits"] for c in containers(one(items, "Deployment")))


# --- per-server details ----------------------------------------------------------------------
def test_triton_reads_its_repository_from_the_object_store() -> None:
    items = render(("ms", args(repository_prefix="triton/")))
    c = server_container(items, "triton")
    assert "--model-repository=s3://objectstore.omgml-data.svc.cluster.local:8333/demo-models/triton" in c["command"]
    assert "--model-control-mode=poll" in c["command"]
    assert any(a.startswith("--repository-poll-secs=") for a in c["command"])
    assert {p["containerPort"] for p in c["ports"]} == {8000, 8001, 8002}
    assert c["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert c["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    # the shared-memory volume for the Python backend is memory-backed
    dshm = next(v for v in pod_spec(one(items, "Deployment"))["volumes"] if v["name"] == "dshm")
    assert dshm["emptyDir"]["medium"] == "Memory"


def test_triton_explicit_mode_loads_the_listed_models() -> None:
    items = render(("ms", args(model_control_mode="explicit", models=("fraud", "churn"))))
    cmd = server_container(items, "triton")["command"]
    assert "--model-control-mode=explicit" in cmd
    assert "--load-model=fraud" in cmd and "--load-model=churn" in cmd
    assert not any(a.startswith("--repository-poll-secs") for a in cmd)


def test_torchserve_syncs_the_store_and_serves_metrics_in_prometheus_mode() -> None:
    items = render(("ms", args("torchserve")))
    dep = one(items, "Deployment", server_name("demo", "torchserve"))
    ps = pod_spec(dep)
    sync = ps["initContainers"][0]
    assert "aws s3 sync" in sync["command"][-1] and "restartPolicy" not in sync
    assert env_of(sync)["MODELS_BUCKET"] == "demo-models"
    cmd = ps["containers"][0]["command"]
    assert cmd[:4] == ["torchserve", "--start", "--foreground", "--ncs"]
    assert cmd[-2:] == ["--models", "all"] and "--model-api-enabled" not in cmd
    config = one(items, "ConfigMap", server_name("demo", "torchserve"))["data"]["config.properties"]
    assert "metrics_mode=prometheus" in config and "metrics_address=http://0.0.0.0:8082" in config
    assert "install_py_dep_per_model=false" in config
    # both the sync and the server see the same emptyDir
    assert {"name": "models", "mountPath": "/models"} in sync["volumeMounts"]
    assert {"name": "models", "mountPath": "/models"} in ps["containers"][0]["volumeMounts"]


def test_torchserve_explicit_mode_enables_the_model_api() -> None:
    cmd = server_container(render(("ms", args("torchserve", model_control_mode="explicit"))), "torchserve")["command"]
    assert "--model-api-enabled" in cmd and "--models" not in cmd


def test_tfserving_poll_mode_keeps_syncing_with_a_sidecar() -> None:
    items = render(("ms", args("tf-serving", models=("fraud",))))
    ps = pod_spec(one(items, "Deployment", server_name("demo", "tf-serving")))
    init = {c["name"]: c for c in ps["initContainers"]}
    assert "restartPolicy" not in init["model-sync"]
    assert init["model-sync-loop"]["restartPolicy"] == "Always"
    c = ps["containers"][0]
    assert "--monitoring_config_file=/etc/tfserving/monitoring.config" in c["command"]
    assert c["readinessProbe"]["httpGet"]["path"] == "/v1/models/fraud"
    data = one(items, "ConfigMap", server_name("demo", "tf-serving"))["data"]
    assert 'path: "/monitoring/prometheus/metrics"' in data["monitoring.config"]
    assert 'name: "fraud"' in data["models.config"]


def test_the_sync_sidecar_is_probed_and_its_probes_read_what_the_loop_writes(tmp_path: Path) -> None:
    items = render(("ms", args("tf-serving", models=("fraud",))))
    loop = {c["name"]: c for c in pod_spec(one(items, "Deployment"))["initContainers"]}["model-sync-loop"]
    ready, alive = loop["readinessProbe"]["exec"]["command"], loop["livenessProbe"]["exec"]["command"]
    heartbeat = tmp_path / "heartbeat"

    def probe(command: list[str]) -> int:
        real = [part.replace(SYNC_HEARTBEAT, str(heartbeat)) for part in command]
        return subprocess.run(real, check=False, capture_output=True).returncode

    assert probe(ready) != 0 and probe(alive) != 0  # no round has ended yet
    # One round of the real loop script, with stand-ins for the AWS CLI and for `sleep` (which
    # fails, so `sh -e` leaves the loop after the first round).
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, code in (("aws", 0), ("sleep", 1)):
        (bin_dir / tool).write_text(f"#!/bin/sh\nexit {code}\n")
        (bin_dir / tool).chmod(0o755)
    script = loop["command"][2].replace(SYNC_HEARTBEAT, str(heartbeat))
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "MODELS_BUCKET": "b", "MODELS_PREFIX": ""}
    subprocess.run(["/bin/sh", "-ec", script], env=env, check=False, capture_output=True, timeout=30)
    assert heartbeat.read_text().strip().isdigit()
    assert probe(ready) == 0 and probe(alive) == 0
    heartbeat.write_text(f"{int(time.time()) - SYNC_STALL_SECONDS - 5}\n")  # stuck for too long
    assert probe(alive) != 0 and probe(ready) == 0
    assert check_probes(one(items, "Deployment")) == []


def test_tfserving_without_models_serves_the_image_default_name() -> None:
    items = render(("ms", args("tf-serving", model_control_mode="none")))
    ps = pod_spec(one(items, "Deployment"))
    assert [c["name"] for c in ps["initContainers"]] == ["model-sync"]
    assert 'name: "model"' in one(items, "ConfigMap")["data"]["models.config"]


def test_features_configmap_and_extra_env_reach_the_server() -> None:
    redis = {"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "redis-auth", "key": "password"}}}
    items = render(("ms", args(features_configmap="demo-model-env", extra_env=(redis,))))
    c = server_container(items, "triton")
    assert c["envFrom"] == [{"configMapRef": {"name": "demo-model-env"}}]
    assert redis in c["env"]


def test_config_change_rolls_the_pods() -> None:
    a = render(("ms", args("torchserve")))
    b = render(("ms", dataclasses.replace(args("torchserve"), profile="small")))
    key = "omgml.dev/config-checksum"
    assert (one(a, "Deployment")["spec"]["template"]["metadata"]["annotations"][key]
            != one(b, "Deployment")["spec"]["template"]["metadata"]["annotations"][key])


def test_output_valued_store_settings_render() -> None:
    """Foundation values arrive as Outputs (StackReference); they must flow into args and env."""
    def program() -> None:
        Triton("ms", args(store=StoreRef(pulumi.Output.from_input(ENDPOINT), "us-east-1",
                                         pulumi.Output.from_input(STORE_SECRET)),
                          bucket=pulumi.Output.from_input("demo-models")))
    items = manifests(synth(program))
    c = pod_spec(one(items, "Deployment"))["containers"][0]
    assert c["command"][1].endswith(":8333/demo-models")
    assert env_of(c)["AWS_ACCESS_KEY_ID"]["secretKeyRef"]["name"] == STORE_SECRET


# --- AWS S3 through IRSA ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["triton", "torchserve", "tf-serving"])
def test_irsa_role_annotates_the_account_every_s3_reader_runs_as(kind: ServerKind) -> None:
    from omgml.k8s import ROLE_ARN_ANNOTATION, STS_REGIONAL_ANNOTATION

    role = "arn:aws:iam::123456789012:role/demo-models"
    items = render(("ms", args(kind, store=StoreRef("", "eu-west-1", STORE_SECRET), irsa_role_arn=role)))
    assert_valid(items)
    dep = one(items, "Deployment", server_name("demo", kind))
    ps = pod_spec(dep)
    sa = one(items, "ServiceAccount", ps["serviceAccountName"])
    assert sa["metadata"]["annotations"] == {ROLE_ARN_ANNOTATION: role, STS_REGIONAL_ANNOTATION: "true"}
    for c in containers(dep):
        env = env_of(c)
        assert "AWS_ENDPOINT_URL" not in env
        assert env.get("S3_ENDPOINT_URL", "") == ""
    if kind == "triton":
        cmd = " ".join(server_container(items, kind)["command"] + server_container(items, kind).get("args", []))
        assert "s3://demo-models" in cmd and "s3://https://" not in cmd
    assert all("annotations" not in m["metadata"] for m in find(render(("ms", args(kind))), "ServiceAccount"))

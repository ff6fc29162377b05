"""Training blueprint: KFP wired to the foundation, GPU pools per target, outputs for serving."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from omgml.blueprints.contracts import TRAINING_KEYS
from omgml.blueprints.gpu import needs_device_plugin
from omgml.blueprints.training import gpu_exports
from omgml.capacity import total_requests
from omgml.components.gpupool import POOL_LABEL, gpu_pool_labels, gpu_resources, gpu_tolerations
from omgml.components.kubeflow import TRAINING_ENV_CONFIGMAP
from omgml.components.kubeflow.release import COMPONENTS
from omgml.policy import check_manifests
from omgml.spec import PlatformSpec, spec_from_dict
from omgml.synth.render import PlatformRender, render_platform
from tests.synth_helpers import assert_valid, find, one, pod_spec

GIB = 2**30
POOLS = {
    "training": {"gpu_pools": [{"name": "train-gpu", "instance_types": ["g6.xlarge", "g5.xlarge"], "spot": True,
                                "max_size": 4}]},
    "serving": {"gpu_pools": [{"name": "infer-gpu", "purpose": "inference", "min_size": 1, "desired_size": 1}]},
}


def spec_of(**data: Any) -> PlatformSpec:
    return spec_from_dict({"name": "demo", **data})


@cache
def rendered(target: str = "local", gpu: str = "none") -> PlatformRender:
    spec = spec_of(target=target, local={"gpu": gpu}, phases=POOLS)
    return render_platform(spec, ["foundation", "training"])


def phase(render: PlatformRender, name: str) -> Any:
    return next(p for p in render.phases if p.phase == name)


def training_items(render: PlatformRender) -> list[dict[str, Any]]:
    return list(phase(render, "training").manifests)


def test_training_phase_renders_valid_with_the_release_components() -> None:
    items = training_items(rendered())
    assert_valid(items)
    names = sorted(m["metadata"]["name"] for m in items if m["kind"] in ("Deployment", "StatefulSet"))
    assert names == sorted(COMPONENTS)
    pools = [p.name for p in rendered().spec.all_gpu_pools()]
    assert check_manifests(rendered().all_manifests(), pools) == []


def test_namespaces_belong_to_the_foundation() -> None:
    render = rendered()
    assert not find(training_items(render), "Namespace")  # created once, by the foundation
    foundation_ns = {m["metadata"]["name"] for m in find(phase(render, "foundation").manifests, "Namespace")}
    used = {m["metadata"]["namespace"] for m in training_items(render) if "namespace" in m["metadata"]}
    assert used <= foundation_ns == {"omgml-data", "kubeflow", "omgml-pipelines", "omgml-serving"}


def test_kfp_is_wired_to_the_foundation_outputs() -> None:
    render = rendered()
    fnd = phase(render, "foundation").result.exports
    items = training_items(render)
    env = one(items, "ConfigMap", TRAINING_ENV_CONFIGMAP)
    assert env["metadata"]["namespace"] == "omgml-pipelines"
    assert env["data"]["MLFLOW_TRACKING_URI"] == fnd["mlflow_tracking_uri"] != ""
    assert env["data"]["MLFLOW_S3_ENDPOINT_URL"] == fnd["object_store_endpoint"]
    assert env["data"]["AWS_REGION"] == fnd["object_store_region"]
    assert env["data"]["OMGML_OBJECT_STORE_ENV_FROM"] == fnd["object_store_secret"]
    launcher = one(items, "ConfigMap", "kfp-launcher")
    assert launcher["data"]["defaultPipelineRoot"] == f"s3://{fnd['pipelines_bucket']}/v2/artifacts"
    # Every Secret the KFP pods reference is one the foundation put in that namespace.
    fnd_secrets = {(m["metadata"]["namespace"], m["metadata"]["name"])
                   for m in find(phase(render, "foundation").manifests, "Secret")}
    own = {(m["metadata"]["namespace"], m["metadata"]["name"]) for m in find(items, "Secret")}
    for w in (m for m in items if m["kind"] in ("Deployment", "StatefulSet")):
        for c in pod_spec(w)["containers"]:
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert (w["metadata"]["namespace"], ref["name"]) in fnd_secrets | own, (w["metadata"]["name"], ref)


def test_exports_are_the_training_keys() -> None:
    exports = phase(rendered(), "training").result.exports
    assert set(exports) == set(TRAINING_KEYS)
    assert exports["kfp_endpoint"] == "http://ml-pipeline.kubeflow.svc.cluster.local:8888"
    assert exports["kfp_ui_service"] == "ml-pipeline-ui"
    assert exports["training_namespace"] == "omgml-pipelines" and exports["kfp_namespace"] == "kubeflow"
    assert exports["gpu_pools"] == ["train-gpu", "infer-gpu"]
    spec = rendered().spec
    assert exports["gpu_pool_labels"] == {p.name: gpu_pool_labels(p) for p in spec.all_gpu_pools()}
    assert exports["gpu_taint"] == {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
    assert exports["gpu_available"] is False and exports["device_plugin_namespace"] == ""


def test_serving_phase_reads_the_training_outputs() -> None:
    # Foundation and training are synthesized first; serving reads TRAINING_KEYS through the
    # mocked StackReference, which fails on a key the training phase does not export.
    spec = spec_of(phases=POOLS)
    render = render_platform(spec, ["serving"])
    assert [p.phase for p in render.phases] == ["serving"] and render.phases[0].manifests


def test_laptop_requests_of_the_training_phase() -> None:
    cpu_m, mem_b, gpus = total_requests(training_items(rendered()))
    assert cpu_m < 1000 and mem_b < 3.5 * GIB and gpus == 0
    print(f"training phase laptop requests: {cpu_m}m CPU, {mem_b / 2**20:.0f} MiB")


# --- GPU compute ------------------------------------------------------------------------------

def test_local_without_gpu_has_no_device_plugin_and_cpu_fallback() -> None:
    spec = rendered().spec
    assert not needs_device_plugin(spec, spec.all_gpu_pools()) and gpu_resources(spec, 1) == {}
    items = training_items(rendered())
    assert not find(items, "DaemonSet")
    assert not [r for r in phase(rendered(), "training").result.resources if r.type.startswith("aws:")]


def test_device_plugin_where_a_gpu_exists_tolerates_the_pools() -> None:
    render = rendered(gpu="nvidia")
    spec = render.spec
    assert gpu_resources(spec, 1) == {"nvidia.com/gpu": "1"}
    items = training_items(render)
    assert_valid(items)
    # The device plugin (the DCGM exporter is the other DaemonSet on GPU nodes).
    [ds] = [d for d in find(items, "DaemonSet") if "dcgm" not in d["metadata"]["name"]]
    ps = pod_spec(ds)
    assert ps["tolerations"] == gpu_tolerations(spec.all_gpu_pools())
    [term] = ps["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term["matchExpressions"][0]["key"] == POOL_LABEL
    assert sorted(term["matchExpressions"][0]["values"]) == ["infer-gpu", "train-gpu"]
    ns = one(items, "Namespace", "omgml-gpu")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    exports = phase(render, "training").result.exports
    assert exports["device_plugin_namespace"] == "omgml-gpu" and exports["gpu_available"] is True


def test_aws_gpu_pools_are_node_pools_launched_into_the_foundations_cluster() -> None:
    render = rendered(target="aws")
    items = training_items(render)
    fnd = phase(render, "foundation").result.exports
    classes = find(items, "EC2NodeClass")
    assert classes and all(c["spec"]["instanceProfile"] == fnd["karpenter_instance_profile"] for c in classes)
    assert all(c["spec"]["subnetSelectorTerms"] == [{"id": s} for s in fnd["eks_private_subnet_ids"]] for c in classes)
    assert phase(render, "training").result.exports["gpu_node_groups"] == [p.name for p in render.spec.all_gpu_pools()]
    assert find(items, "DaemonSet")  # GPUs exist on aws: the device plugin runs


def test_aws_node_pools_follow_the_spec() -> None:
    render = render_platform(spec_of(target="aws", phases=POOLS))
    pools = {p["metadata"]["name"]: p["spec"] for p in training_items(render) if p["kind"] == "NodePool"}
    assert set(pools) == {"gpu-train-gpu", "gpu-infer-gpu"}
    train, infer = pools["gpu-train-gpu"], pools["gpu-infer-gpu"]

    def req(pool: dict[str, Any], key: str) -> list[str]:
        return next(r["values"] for r in pool["template"]["spec"]["requirements"] if r["key"] == key)

    assert req(train, "karpenter.sh/capacity-type") == ["on-demand", "spot"]
    assert req(infer, "karpenter.sh/capacity-type") == ["on-demand"]
    assert req(train, "node.kubernetes.io/instance-type")[:2] == ["g6.xlarge", "g5.xlarge"]
    assert train["limits"]["nodes"] == "4" and infer["limits"]["nodes"] == "2"
    for p, pool in ((train, render.spec.all_gpu_pools()[0]), (infer, render.spec.all_gpu_pools()[1])):
        assert p["template"]["metadata"]["labels"] == gpu_pool_labels(pool)
        assert p["template"]["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    [ds] = [d for d in find(training_items(render), "DaemonSet") if "dcgm" not in d["metadata"]["name"]]
    # The device plugin tolerates exactly what the node pools are tainted with.
    taints = {(t["key"], t["value"]) for p in (train, infer) for t in p["template"]["spec"]["taints"]}
    assert {(t["key"], t["value"]) for t in pod_spec(ds)["tolerations"]} == taints


def test_kubeflow_disabled_leaves_only_gpu_compute() -> None:
    spec = spec_of(target="local", local={"gpu": "nvidia"},
                   phases={**POOLS, "training": {**POOLS["training"], "kubeflow": {"enabled": False}}})
    render = render_platform(spec, ["training"])
    items = render.phases[0].manifests
    assert not [m for m in items if m["kind"] in ("Deployment", "StatefulSet")]
    assert find(items, "DaemonSet")
    exports = render.phases[0].result.exports
    assert exports["kfp_endpoint"] == "" and exports["training_namespace"] == ""


@pytest.mark.parametrize("security", ["baseline", "restricted"])
def test_step_pod_security_reaches_kfp(security: str) -> None:
    spec = spec_of(phases={"training": {"kubeflow": {"step_pod_security": security}}})
    items = render_platform(spec, ["training"]).phases[0].manifests
    api = one(items, "Deployment", "ml-pipeline")
    names = {e["name"] for e in pod_spec(api)["containers"][0]["env"]}
    assert ("DEFAULT_SECURITY_CONTEXT_RUN_AS_NON_ROOT" in names) == (security == "restricted")


def test_gpu_exports_are_pure() -> None:
    assert gpu_exports(spec_of())["gpu_pools"] == []
    assert gpu_exports(spec_of(phases=POOLS))["gpu_pools"] == ["train-gpu", "infer-gpu"]

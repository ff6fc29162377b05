"""The kind cluster config: a worker per GPU pool, labelled and tainted like its EKS node group."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import yaml

from omgml.components.gpupool import CPU_POOL, POOL_LABEL, gpu_pool_labels, gpu_taint
from omgml.kind import NODE_IMAGE, PortMapping, kind_config, kube_context
from omgml.spec import PlatformSpec, spec_from_dict


def spec_with_pools(**extra: Any) -> PlatformSpec:
    return spec_from_dict({
        "name": "demo",
        "phases": {
            "training": {"gpu_pools": [{"name": "train-gpu"}]},
            "serving": {"gpu_pools": [{"name": "infer-gpu", "purpose": "inference", "min_size": 1,
                                       "desired_size": 1}]},
        },
        **extra,
    })


def join_patch(node: dict[str, Any]) -> dict[str, Any]:
    [patch] = node["kubeadmConfigPatches"]
    doc = yaml.safe_load(patch)
    assert isinstance(doc, dict)
    return doc


def test_gpu_workers_are_labelled_and_tainted_like_the_pools() -> None:
    spec = spec_with_pools()
    cfg = kind_config(spec)
    assert cfg["kind"] == "Cluster" and cfg["apiVersion"] == "kind.x-k8s.io/v1alpha4" and cfg["name"] == "demo"
    roles = [n["role"] for n in cfg["nodes"]]
    assert roles == ["control-plane", "worker", "worker", "worker"]
    assert cfg["nodes"][1]["labels"] == {POOL_LABEL: CPU_POOL}
    gpu_nodes = cfg["nodes"][2:]
    for node, pool in zip(gpu_nodes, spec.all_gpu_pools(), strict=True):
        assert node["labels"] == gpu_pool_labels(pool)
        patch = join_patch(node)
        # Workers register taints through JoinConfiguration (kubeadm reads KubeletConfiguration
        # only from the first node).
        assert patch["kind"] == "JoinConfiguration"
        assert patch["nodeRegistration"]["kubeletExtraArgs"]["register-with-taints"] == gpu_taint().kubelet_arg()
    assert gpu_taint().kubelet_arg() == "nvidia.com/gpu=present:NoSchedule"
    # Only the GPU workers are tainted.
    assert all("kubeadmConfigPatches" not in n for n in cfg["nodes"][:2])


def test_every_node_runs_the_pinned_image() -> None:
    cfg = kind_config(spec_with_pools())
    assert NODE_IMAGE == "kindest/node:v1.36.1"
    assert {n["image"] for n in cfg["nodes"]} == {NODE_IMAGE}


def test_without_pools_there_is_no_gpu_worker() -> None:
    cfg = kind_config(spec_from_dict({"name": "demo"}))
    assert [n["role"] for n in cfg["nodes"]] == ["control-plane", "worker"]
    # A disabled phase's pools do not get a worker either.
    off = spec_with_pools(phases={"training": {"enabled": False, "gpu_pools": [{"name": "train-gpu"}]}})
    assert [n.get("labels", {}).get(POOL_LABEL) for n in kind_config(off)["nodes"]] == [None, CPU_POOL]


def test_port_mappings_land_on_the_control_plane_and_yaml_round_trips() -> None:
    cfg = kind_config(spec_with_pools(), port_mappings=[PortMapping(30500, 5000)])
    assert cfg["nodes"][0]["extraPortMappings"] == [{"containerPort": 30500, "hostPort": 5000, "protocol": "TCP"}]
    assert yaml.safe_load(yaml.safe_dump(cfg)) == cfg
    assert kube_context(spec_with_pools()) == "kind-demo"


def test_importing_the_kind_module_does_not_load_pulumi() -> None:
    # `omgml init` writes the config; the CLI must stay fast (`omgml --help` never loads pulumi).
    code = "import sys, omgml.kind; assert 'pulumi' not in sys.modules, 'pulumi imported'"
    subprocess.run([sys.executable, "-c", code], check=True)

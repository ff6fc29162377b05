"""NVIDIA device plugin: only on GPU-pool nodes, tolerating exactly the pools' taints."""

from __future__ import annotations

from typing import Any

import pytest

from omgml.components.dcgm_exporter import DcgmExporterArgs
from omgml.components.dcgm_exporter import resolve as resolve_dcgm
from omgml.components.device_plugin import (
    IMAGE,
    POD_SECURITY_REASON,
    SOCKET,
    NvidiaDevicePlugin,
    NvidiaDevicePluginArgs,
)
from omgml.components.gpupool import POOL_LABEL, gpu_tolerations, pool_taints
from omgml.policy import check_manifests
from omgml.spec import GpuPoolSpec
from tests.synth_helpers import assert_valid, containers, find, one, pod_spec, synth_manifests

POOLS = (
    GpuPoolSpec(name="train", instance_types=["g6.xlarge"]),
    GpuPoolSpec(name="infer", purpose="inference", min_size=1, desired_size=1),
)
NS = "omgml-gpu"


def render(pools: tuple[GpuPoolSpec, ...] = POOLS, ns: str = NS, name: str = "gpu") -> list[dict[str, Any]]:
    def program() -> None:
        NvidiaDevicePlugin(name, NvidiaDevicePluginArgs(namespace=ns, pools=pools, instance=name))
    return synth_manifests(program)


def test_renders_valid_and_passes_the_policies() -> None:
    items = render()
    assert_valid(items)
    assert check_manifests(items, [p.name for p in POOLS]) == []
    ds = one(items, "DaemonSet")
    assert ds["metadata"]["namespace"] == NS
    assert [c["image"] for c in containers(ds)] == [IMAGE] == ["nvcr.io/nvidia/k8s-device-plugin:v0.20.0"]


def test_tolerations_equal_the_pools_taints_and_affinity_selects_only_pools() -> None:
    ps = pod_spec(one(render(), "DaemonSet"))
    taints = {(t.key, t.value, t.effect) for p in POOLS for t in pool_taints(p)}
    tolerated = {(t["key"], t["value"], t["effect"]) for t in ps["tolerations"]}
    assert tolerated == taints
    assert all(t["operator"] == "Equal" for t in ps["tolerations"])  # no wildcard toleration
    assert ps["tolerations"] == gpu_tolerations(POOLS)
    terms = ps["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": ["infer", "train"]}]}]


def test_namespace_is_privileged_for_a_stated_reason_and_closed() -> None:
    items = render()
    ns = one(items, "Namespace", NS)
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert ns["metadata"]["annotations"]["omgml.dev/pod-security-reason"] == POD_SECURITY_REASON
    assert "hostPath" in POD_SECURITY_REASON
    assert {p["metadata"]["name"] for p in find(items, "NetworkPolicy")} >= {"default-deny"}


def test_container_is_as_tight_as_the_host_socket_allows() -> None:
    ps = pod_spec(one(render(), "DaemonSet"))
    [c] = ps["containers"]
    sc = c["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["readOnlyRootFilesystem"] is True and sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "privileged" not in sc
    assert ps["automountServiceAccountToken"] is False and ps["enableServiceLinks"] is False
    host = [v for v in ps["volumes"] if "hostPath" in v]
    assert [v["hostPath"]["path"] for v in host] == ["/var/lib/kubelet/device-plugins"]
    assert set(c["resources"]["requests"]) == set(c["resources"]["limits"]) == {"cpu", "memory"}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["exec"]["command"] == ["test", "-S", SOCKET]
    assert SOCKET == "/var/lib/kubelet/device-plugins/nvidia-gpu.sock"
    assert ps["priorityClassName"] == "system-node-critical"


def test_no_pools_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"NvidiaDevicePluginArgs\.pools is empty"):
        render(pools=())


def test_dcgm_exporter_without_pools_is_an_error() -> None:
    # The exporter shares the device plugin's args and its pools check (gpupool.GpuAgentArgs).
    args = DcgmExporterArgs(namespace="gpu", pools=(), scraper_namespaces=("serving",))
    with pytest.raises(ValueError, match=r"DcgmExporterArgs\.pools is empty: the DCGM exporter would run on no node"):
        resolve_dcgm(args)
    assert resolve_dcgm(DcgmExporterArgs(namespace="gpu", pools=POOLS, scraper_namespaces=("serving",))) \
        == "gpu-dcgm-exporter"

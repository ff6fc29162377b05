"""The kind cluster config for target `local` (pure; `omgml init` writes it as kind.yaml).

One control-plane node, one CPU worker for the platform, and one worker per GPU pool of the
spec, labelled and tainted exactly like the EKS node group of that pool (the same functions
from components/gpupool.py). Without a real GPU nothing on that worker advertises
`nvidia.com/gpu`, but tolerations and node selectors are exercised for real.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from omgml.spec import GpuPoolSpec, PlatformSpec

KIND_VERSION = "v0.32.0"
# kind v0.32.0's default node image (pkg/apis/config/defaults/image.go); Kubernetes 1.36 is
# also the schema version the renders are validated against.
NODE_IMAGE = "kindest/node:v1.36.1"
API_VERSION = "kind.x-k8s.io/v1alpha4"


@dataclass(frozen=True)
class PortMapping:
    """A host port forwarded to a NodePort on the control-plane node (containerPort == nodePort)."""

    container_port: int
    host_port: int
    protocol: str = "TCP"

    def as_dict(self) -> dict[str, Any]:
        return {"containerPort": self.container_port, "hostPort": self.host_port, "protocol": self.protocol}


def cluster_name(spec: PlatformSpec) -> str:
    return spec.name


def kube_context(spec: PlatformSpec) -> str:
    """The kubeconfig context `kind create cluster` writes."""
    return f"kind-{cluster_name(spec)}"


def _join_taints_patch(taints: str) -> str:
    # kubeadm reads KubeletConfiguration only from the first node, so a worker's taints must be
    # registered through its JoinConfiguration (kind docs, "Kubeadm Config Patches").
    return (
        "kind: JoinConfiguration\n"
        "nodeRegistration:\n"
        "  kubeletExtraArgs:\n"
        f'    register-with-taints: "{taints}"\n'
    )


def gpu_worker(pool: GpuPoolSpec, image: str = NODE_IMAGE) -> dict[str, Any]:
    # Imported here: the CLI imports this module, and `omgml --help` must not load pulumi.
    from omgml.components.gpupool import gpu_pool_labels, pool_taints

    taints = ",".join(t.kubelet_arg() for t in pool_taints(pool))
    return {
        "role": "worker",
        "image": image,
        "labels": gpu_pool_labels(pool),
        "kubeadmConfigPatches": [_join_taints_patch(taints)],
    }


def kind_config(spec: PlatformSpec, port_mappings: Sequence[PortMapping] = (),
                image: str = NODE_IMAGE) -> dict[str, Any]:
    """The kind Cluster config for `spec` (serialise with yaml.safe_dump)."""
    from omgml.components.gpupool import CPU_POOL, POOL_LABEL

    control_plane: dict[str, Any] = {"role": "control-plane", "image": image}
    if port_mappings:
        control_plane["extraPortMappings"] = [m.as_dict() for m in port_mappings]
    nodes: list[dict[str, Any]] = [
        control_plane,
        {"role": "worker", "image": image, "labels": {POOL_LABEL: CPU_POOL}},
    ]
    nodes.extend(gpu_worker(p, image) for p in spec.all_gpu_pools())
    return {"kind": "Cluster", "apiVersion": API_VERSION, "name": cluster_name(spec), "nodes": nodes}

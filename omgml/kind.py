"""The kind cluster config for target `local` (pure; `omgml init` writes it as kind.yaml).

One control-plane node, one CPU worker for the platform, and one worker per GPU pool of the
spec, labelled and tainted exactly like the Karpenter NodePool of that pool on AWS (the same
functions from components/gpupool.py). Without a real GPU nothing on that worker advertises
`nvidia.com/gpu`, but tolerations and node selectors are exercised for real.

The model server's route (what an ALB is on AWS): the control-plane node forwards
127.0.0.1:LOCAL_HOST_PORT on the laptop to the model server's NodePort (components/
serving_route.py), so only the laptop itself reaches it.
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
# The model server's NodePort and the laptop port forwarded to it.
MODEL_SERVER_NODE_PORT = 30800
LOCAL_HOST_PORT = 8000
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class PortMapping:
    """A host port forwarded to a NodePort on the control-plane node (containerPort == nodePort)."""

    container_port: int
    host_port: int
    protocol: str = "TCP"
    # Where the host listens; None: every address (kind's default).
    listen_address: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"containerPort": self.container_port, "hostPort": self.host_port,
                               "protocol": self.protocol}
        if self.listen_address is not None:
            out["listenAddress"] = self.listen_address
        return out


def serving_port_mappings(spec: PlatformSpec) -> list[PortMapping]:
    """The model server's route on the laptop: loopback only, like an internal ALB."""
    s = spec.phases.serving
    if not (s.enabled and s.server.enabled):
        return []
    return [PortMapping(MODEL_SERVER_NODE_PORT, LOCAL_HOST_PORT, listen_address=LOOPBACK)]


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


def kind_config(spec: PlatformSpec, port_mappings: Sequence[PortMapping] | None = None,
                image: str = NODE_IMAGE) -> dict[str, Any]:
    """The kind Cluster config for `spec` (serialise with yaml.safe_dump); `port_mappings`
    defaults to the spec's routes (serving_port_mappings)."""
    from omgml.components.gpupool import CPU_POOL, POOL_LABEL

    if port_mappings is None:
        port_mappings = serving_port_mappings(spec)
    control_plane: dict[str, Any] = {"role": "control-plane", "image": image}
    if port_mappings:
        control_plane["extraPortMappings"] = [m.as_dict() for m in port_mappings]
    nodes: list[dict[str, Any]] = [
        control_plane,
        {"role": "worker", "image": image, "labels": {POOL_LABEL: CPU_POOL}},
    ]
    nodes.extend(gpu_worker(p, image) for p in spec.all_gpu_pools())
    return {"kind": "Cluster", "apiVersion": API_VERSION, "name": cluster_name(spec), "nodes": nodes}

"""NVIDIA device plugin: advertises `nvidia.com/gpu` on GPU-pool nodes so pods can request GPUs.

A DaemonSet restricted to the GPU pools (node affinity on their pool label) that tolerates
exactly the pools' taints (derived from components.gpupool, never restated). It registers with
the kubelet through a unix socket in /var/lib/kubelet/device-plugins, a hostPath: that is why
it lives in its own namespace at Pod Security level "privileged" (baseline already forbids
hostPath volumes), and nothing else runs there.

Facts from NVIDIA/k8s-device-plugin at tag v0.20.0 (deployments/static/nvidia-device-plugin.yml,
deployments/container/Dockerfile, internal/plugin/server.go): image USER 0:0 with busybox on the
PATH; container securityContext allowPrivilegeEscalation false + drop ALL; socket
`nvidia-gpu.sock` for resource nvidia.com/gpu; no health endpoint of any kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml import sizes
from omgml.components.base import Component
from omgml.components.gpupool import GpuAgentArgs, gpu_node_agent_spec, require_pools, root_agent_security_context
from omgml.components.namespace import NamespaceArgs, PlatformNamespace
from omgml.components.options import Children
from omgml.labels import standard_labels
from omgml.naming import k8s_name
from omgml.spec import GpuPoolSpec

TYPE_TOKEN = "omgml:compute:NvidiaDevicePlugin"

APP = "nvidia-device-plugin"
VERSION = "v0.20.0"
IMAGE = f"nvcr.io/nvidia/k8s-device-plugin:{VERSION}"
PLUGIN_DIR = "/var/lib/kubelet/device-plugins"
SOCKET = f"{PLUGIN_DIR}/nvidia-gpu.sock"
POD_SECURITY_REASON = (
    "the NVIDIA device plugin registers with the kubelet through a unix socket in the hostPath "
    "/var/lib/kubelet/device-plugins (root-owned), which Pod Security baseline and restricted forbid"
)

SIZING = sizes.container("device-plugin")


@dataclass(frozen=True, kw_only=True)
class NvidiaDevicePluginArgs(GpuAgentArgs):
    """The plugin's namespace is its own: the component creates it (Pod Security privileged)."""


@dataclass(frozen=True)
class ResolvedDevicePlugin:
    namespace: str
    name: str
    instance: str
    pools: tuple[GpuPoolSpec, ...]
    size: kube.Size


def resolve(args: NvidiaDevicePluginArgs) -> ResolvedDevicePlugin:
    require_pools("NvidiaDevicePluginArgs", "device plugin", args.pools)
    return ResolvedDevicePlugin(
        namespace=args.namespace,
        name=k8s_name(args.instance, APP),
        instance=args.instance,
        pools=tuple(args.pools),
        size=SIZING[args.profile],
    )


def device_plugin_container(r: ResolvedDevicePlugin) -> kube.JsonDict:
    # No health endpoint exists (checked: cmd/nvidia-device-plugin at v0.20.0 serves nothing).
    # The socket is what the kubelet talks to, so "the socket exists" is the signal: the plugin
    # recreates it after a kubelet restart wipes the directory, and a plugin that lost it for
    # three minutes is stuck. busybox `test` is in the image.
    socket_check = ["test", "-S", SOCKET]
    return {
        "name": "nvidia-device-plugin",
        "image": IMAGE,
        "command": ["nvidia-device-plugin"],
        "env": [
            # Fail loudly on a node without a usable driver (the pool label said GPU).
            kube.plain_env("FAIL_ON_INIT_ERROR", "true"),
            kube.plain_env("NVIDIA_VISIBLE_DEVICES", "all"),
            kube.plain_env("NVIDIA_DRIVER_CAPABILITIES", "compute,utility"),
        ],
        "resources": r.size.resources(),
        "securityContext": root_agent_security_context(read_only_root=True),
        "volumeMounts": [
            {"name": "device-plugins", "mountPath": PLUGIN_DIR},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        "startupProbe": kube.exec_probe(socket_check, period=5, failures=24),
        "readinessProbe": kube.exec_probe(socket_check, period=10, failures=3),
        "livenessProbe": kube.exec_probe(socket_check, period=60, failures=3),
    }


def device_plugin_daemonset(r: ResolvedDevicePlugin) -> kube.JsonDict:
    # A GPU node without the plugin runs no GPU pod: the agent's update goes one node at a time.
    return gpu_node_agent_spec(APP, r.instance, VERSION, r.name, r.pools, device_plugin_container(r), [
        {"name": "device-plugins", "hostPath": {"path": PLUGIN_DIR, "type": "Directory"}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}},
    ])


class NvidiaDevicePlugin(Component[NvidiaDevicePluginArgs, ResolvedDevicePlugin], type_token=TYPE_TOKEN,
                         resolve=resolve):
    """The device plugin DaemonSet in its own privileged namespace."""

    namespace: str
    daemonset_name: str

    def build(self, name: str, args: NvidiaDevicePluginArgs, r: ResolvedDevicePlugin,
              children: Children) -> pulumi.Inputs:
        ns = PlatformNamespace(
            f"{name}-namespace",
            NamespaceArgs(name=r.namespace, pod_security="privileged", pod_security_reason=POD_SECURITY_REASON),
            children(),
        )
        in_ns = children(ns)
        labels = standard_labels(APP, r.instance, version=VERSION)
        sa = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata={"name": r.name, "namespace": r.namespace, "labels": labels},
            automount_service_account_token=False,
            opts=in_ns,
        )
        k8s.apps.v1.DaemonSet(
            f"{name}-daemonset",
            metadata={"name": r.name, "namespace": r.namespace, "labels": labels},
            spec=device_plugin_daemonset(r),
            opts=children(ns, sa),
        )
        self.namespace = r.namespace
        self.daemonset_name = r.name
        return {"namespace": self.namespace, "daemonset_name": self.daemonset_name}

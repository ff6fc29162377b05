"""GPU compute of a phase: EKS node groups for the pools (aws) and the NVIDIA device plugin.

The training phase provisions every pool of the platform; when the training phase is off, the
serving phase provisions its own pools with the same function, so an inference pool never
waits for a stack that will not be deployed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from omgml.blueprints.contracts import FoundationOutputs
from omgml.components.device_plugin import NvidiaDevicePlugin, NvidiaDevicePluginArgs
from omgml.components.gpupool import GpuPool, GpuPoolArgs
from omgml.spec import GpuPoolSpec, PlatformSpec


@dataclass(frozen=True)
class EksNodeTarget:
    cluster_name: pulumi.Input[str]
    node_role_arn: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]

    @classmethod
    def from_foundation(cls, foundation: FoundationOutputs) -> EksNodeTarget:
        """Where node groups join: the foundation's EKS cluster, its node role and private subnets."""
        eks = foundation.require_eks()
        return cls(eks.eks_cluster_name, eks.eks_node_role_arn, eks.eks_private_subnet_ids)


def needs_device_plugin(spec: PlatformSpec, pools: Sequence[GpuPoolSpec]) -> bool:
    # Without a GPU the plugin fails its init on every node (FAIL_ON_INIT_ERROR); with no pool
    # it would match no node.
    return spec.gpu_available() and bool(pools)


def gpu_compute(name: str, spec: PlatformSpec, pools: Sequence[GpuPoolSpec], eks: EksNodeTarget | None,
                parent: pulumi.Resource) -> tuple[str, list[str]]:
    """Node groups (aws) and device plugin for `pools`; returns (plugin namespace or "", pools with nodes)."""
    child = pulumi.ResourceOptions(parent=parent)
    node_groups: list[str] = []
    if spec.target == "aws" and eks is not None:
        for pool in pools:
            GpuPool(f"{name}-pool-{pool.name}", GpuPoolArgs(
                pool=pool, target="aws", cluster_name=eks.cluster_name, node_role_arn=eks.node_role_arn,
                subnet_ids=eks.subnet_ids, tags={"omgml.dev/platform": spec.name},
            ), child)
            node_groups.append(pool.name)
    plugin_ns = ""
    if needs_device_plugin(spec, pools):
        plugin = NvidiaDevicePlugin(f"{name}-nvidia", NvidiaDevicePluginArgs(
            namespace=spec.phases.training.device_plugin_namespace, pools=tuple(pools), profile=spec.profile,
            instance=spec.name,
        ), child)
        plugin_ns = plugin.namespace
    return plugin_ns, node_groups

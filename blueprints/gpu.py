"""GPU compute of a phase: Karpenter NodePools for the pools (aws), the NVIDIA device plugin and
the DCGM exporter (GPU metrics) where GPUs exist.

The training phase provisions every pool of the platform; when the training phase is off, the
serving phase provisions its own pools with the same function, so an inference pool never
waits for a stack that will not be deployed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from omgml.blueprints.contracts import FoundationOutputs
from omgml.components.dcgm_exporter import DcgmExporter, DcgmExporterArgs
from omgml.components.device_plugin import NvidiaDevicePlugin, NvidiaDevicePluginArgs
from omgml.components.gpupool import GpuPool, GpuPoolArgs
from omgml.spec import GpuPoolSpec, PlatformSpec


@dataclass(frozen=True)
class EksNodeTarget:
    cluster_name: pulumi.Input[str]
    instance_profile: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    security_group_id: pulumi.Input[str]

    @classmethod
    def from_foundation(cls, foundation: FoundationOutputs) -> EksNodeTarget:
        """Where GPU nodes are launched: the foundation's EKS cluster, the instance profile of
        Karpenter's nodes, the private subnets and the cluster security group."""
        eks = foundation.require_eks()
        return cls(eks.eks_cluster_name, eks.karpenter_instance_profile, eks.eks_private_subnet_ids,
                   eks.eks_node_security_group_id)


def needs_device_plugin(spec: PlatformSpec, pools: Sequence[GpuPoolSpec]) -> bool:
    # Without a GPU the plugin fails its init on every node (FAIL_ON_INIT_ERROR); with no pool
    # it would match no node.
    return spec.gpu_available() and bool(pools)


def needs_dcgm_exporter(spec: PlatformSpec, pools: Sequence[GpuPoolSpec]) -> bool:
    """GPU metrics where real GPUs are and a Prometheus of the platform scrapes them."""
    s = spec.phases.serving
    return needs_device_plugin(spec, pools) and s.enabled and s.prometheus.enabled


def gpu_compute(name: str, spec: PlatformSpec, pools: Sequence[GpuPoolSpec], eks: EksNodeTarget | None,
                parent: pulumi.Resource) -> tuple[str, list[str]]:
    """NodePools (aws) and device plugin for `pools`; returns (plugin namespace or "", pools with nodes)."""
    child = pulumi.ResourceOptions(parent=parent)
    node_groups: list[str] = []
    if spec.target == "aws" and eks is not None:
        for pool in pools:
            GpuPool(f"{name}-pool-{pool.name}", GpuPoolArgs(
                pool=pool, target="aws", cluster_name=eks.cluster_name, instance_profile=eks.instance_profile,
                subnet_ids=eks.subnet_ids, security_group_id=eks.security_group_id,
                ami_release=spec.aws.node_ami_release, tags={"omgml.dev/platform": spec.name},
            ), child)
            node_groups.append(pool.name)
    plugin_ns = ""
    if needs_device_plugin(spec, pools):
        plugin = NvidiaDevicePlugin(f"{name}-nvidia", NvidiaDevicePluginArgs(
            namespace=spec.phases.training.device_plugin_namespace, pools=tuple(pools), profile=spec.profile,
            instance=spec.name,
        ), child)
        plugin_ns = plugin.namespace
        if needs_dcgm_exporter(spec, pools):
            DcgmExporter(f"{name}-dcgm", DcgmExporterArgs(
                namespace=plugin.namespace, pools=tuple(pools),
                scraper_namespaces=(spec.phases.serving.namespace,), profile=spec.profile, instance=spec.name,
            ), pulumi.ResourceOptions(parent=parent, depends_on=[plugin]))
    return plugin_ns, node_groups

"""NVIDIA's DCGM exporter: GPU utilisation, memory, temperature, power and XID errors of every
GPU node, per GPU and per pod, for Prometheus.

A DaemonSet on the GPU pools only (the pools' affinity and tolerations, from components/
gpupool.py), in the device plugin's namespace (Pod Security "privileged", for the same reason:
it reads the kubelet's pod-resources socket from a hostPath to map GPUs to pods). It asks for
no `nvidia.com/gpu` (that would take a GPU from the workloads); NVIDIA_VISIBLE_DEVICES=all makes
the NVIDIA container runtime of the EKS NVIDIA AMI hand it every GPU of the node to observe.

What it collects is omgml's own counter list (`COUNTERS`, a ConfigMap): the device-level fields
of the upstream default list, without the profiling (DCGM_FI_PROF_*) fields, which need
CAP_SYS_ADMIN; so the container drops every capability. Prometheus scrapes it through its
Service (the serving phase's `dcgm_scrape_target`); a NetworkPolicy admits only the Prometheus
namespace on the metrics port.

Facts from github.com/NVIDIA/dcgm-exporter at tag 4.5.3-4.8.2: dcgm-exporter.yaml (env
DCGM_EXPORTER_LISTEN, DCGM_EXPORTER_KUBERNETES, NODE_NAME; port 9400; hostPath
/var/lib/kubelet/pod-resources read-only), deployment/templates/daemonset.yaml (probes on
/health), etc/default-counters.csv (field names and types), deployment/values.yaml (arguments
`-f <csv>`, priority class system-node-critical).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml import sizes
from omgml.aws_versions import DCGM_EXPORTER
from omgml.components.base import Component
from omgml.components.gpupool import GpuAgentArgs, gpu_node_agent_spec, require_pools, root_agent_security_context
from omgml.components.options import Children
from omgml.labels import selector_labels, standard_labels
from omgml.naming import k8s_name
from omgml.spec import Profile

TYPE_TOKEN = "omgml:observability:DcgmExporter"

APP = "dcgm-exporter"
PORT = 9400
PORT_NAME = "metrics"
POD_RESOURCES = "/var/lib/kubelet/pod-resources"
COUNTERS_DIR = "/etc/dcgm-exporter/omgml"
COUNTERS_FILE = "counters.csv"
# (DCGM field, Prometheus type, help): what the GPU dashboard and alerts read, and the rest of
# the upstream default list's device-level fields.
COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz)."),
    ("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz)."),
    ("DCGM_FI_DEV_MEMORY_TEMP", "gauge", "Memory temperature (in C)."),
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C)."),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W)."),
    ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter", "Total energy consumption since boot (in mJ)."),
    ("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "counter", "Total number of PCIe retries."),
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %)."),
    ("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %)."),
    ("DCGM_FI_DEV_ENC_UTIL", "gauge", "Encoder utilization (in %)."),
    ("DCGM_FI_DEV_DEC_UTIL", "gauge", "Decoder utilization (in %)."),
    ("DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered."),
    ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB)."),
    ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB)."),
    ("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "counter", "Number of remapped rows for uncorrectable errors"),
    ("DCGM_FI_DEV_ROW_REMAP_FAILURE", "gauge", "Whether remapping of rows has failed"),
    ("DCGM_FI_DRIVER_VERSION", "label", "Driver Version"),
)

SIZES = sizes.container("dcgm-exporter")


@dataclass(frozen=True, kw_only=True)
class DcgmExporterArgs(GpuAgentArgs):
    """The namespace is an existing one (the device plugin's, already privileged)."""

    # Namespaces whose pods may scrape the exporter (Prometheus).
    scraper_namespaces: tuple[str, ...]


def exporter_name(instance: str) -> str:
    return k8s_name(instance, APP)


def counters_csv() -> str:
    """The counter list in dcgm-exporter's CSV format (field, type, help)."""
    return "".join(f"{field}, {kind}, {help_text}\n" for field, kind, help_text in COUNTERS)


def dcgm_container(profile: Profile) -> kube.JsonDict:
    return {
        "name": APP,
        "image": DCGM_EXPORTER.image,
        "args": ["-f", f"{COUNTERS_DIR}/{COUNTERS_FILE}"],
        "env": [
            kube.plain_env("DCGM_EXPORTER_LISTEN", f":{PORT}"),
            # Labels each GPU's series with the pod (and namespace) that holds it.
            kube.plain_env("DCGM_EXPORTER_KUBERNETES", "true"),
            {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            # Every GPU of the node, through the NVIDIA runtime, without requesting one.
            kube.plain_env("NVIDIA_VISIBLE_DEVICES", "all"),
            kube.plain_env("NVIDIA_DRIVER_CAPABILITIES", "utility"),
        ],
        "ports": [{"name": PORT_NAME, "containerPort": PORT, "protocol": "TCP"}],
        "resources": SIZES[profile].resources(),
        "startupProbe": kube.http_probe("/health", PORT_NAME, period=5, failures=24),
        "readinessProbe": kube.http_probe("/health", PORT_NAME, period=10, failures=3),
        "livenessProbe": kube.http_probe("/health", PORT_NAME, period=30, failures=3),
        # Root for the root-owned pod-resources socket; no capability (no profiling fields). The
        # embedded DCGM host engine writes state and logs outside the documented volumes; a
        # read-only root is not known to work, so it stays writable (not a host path).
        "securityContext": root_agent_security_context(read_only_root=False),
        "volumeMounts": [
            {"name": "pod-resources", "mountPath": POD_RESOURCES, "readOnly": True},
            {"name": "counters", "mountPath": COUNTERS_DIR, "readOnly": True},
        ],
    }


def dcgm_daemonset(r: DcgmExporterArgs) -> kube.JsonDict:
    return gpu_node_agent_spec(APP, r.instance, DCGM_EXPORTER.version, exporter_name(r.instance), r.pools,
                               dcgm_container(r.profile), [
                                   {"name": "pod-resources", "hostPath": {"path": POD_RESOURCES, "type": "Directory"}},
                                   {"name": "counters", "configMap": {"name": exporter_name(r.instance)}},
                               ])


def scrape_ingress_policy(instance: str, scrapers: Sequence[str]) -> kube.JsonDict:
    """Only the scrapers' namespaces may open the metrics port."""
    if not scrapers:
        raise ValueError("DcgmExporterArgs.scraper_namespaces is empty; name Prometheus' namespace")
    peers = [kube.namespace_peer(ns) for ns in sorted(set(scrapers))]
    return kube.ingress_from_spec(selector_labels(APP, instance), peers, PORT)


def resolve(args: DcgmExporterArgs) -> str:
    """The exporter's object name (DaemonSet, ServiceAccount, Service, counters ConfigMap)."""
    require_pools("DcgmExporterArgs", "DCGM exporter", args.pools)
    return exporter_name(args.instance)


class DcgmExporter(Component[DcgmExporterArgs, str], type_token=TYPE_TOKEN, resolve=resolve):
    """The DaemonSet, its counters, Service and scrape policy, in an existing namespace (the
    device plugin's)."""

    service_name: str
    namespace: str

    def build(self, name: str, args: DcgmExporterArgs, object_name: str, children: Children) -> pulumi.Inputs:
        child = children()
        labels = standard_labels(APP, args.instance, version=DCGM_EXPORTER.version)
        meta = kube.metadata(object_name, args.namespace, labels)
        sa = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=meta, automount_service_account_token=False,
                                        opts=child)
        counters = k8s.core.v1.ConfigMap(f"{name}-counters", metadata=meta, data={COUNTERS_FILE: counters_csv()},
                                         opts=child)
        k8s.apps.v1.DaemonSet(f"{name}-daemonset", metadata=meta, spec=dcgm_daemonset(args),
                              opts=children(sa, counters))
        k8s.core.v1.Service(f"{name}-service", metadata=meta,
                            spec=kube.service_spec(selector_labels(APP, args.instance), [(PORT_NAME, PORT)]), opts=child)
        k8s.networking.v1.NetworkPolicy(f"{name}-scrape", metadata=kube.metadata(k8s_name(object_name, "scrape"),
                                                                            args.namespace, labels),
                                        spec=scrape_ingress_policy(args.instance, args.scraper_namespaces), opts=child)
        self.service_name = object_name
        self.namespace = args.namespace
        return {"service_name": self.service_name}

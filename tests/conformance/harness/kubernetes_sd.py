"""Prometheus' Kubernetes service discovery, as file discovery over the tier's pods.

The tier has no Kubernetes API server, so the Prometheus pod cannot watch one. Instead the
rendered `prometheus.yml` runs with each `kubernetes_sd_configs` entry replaced by a
`file_sd_configs` entry whose file holds exactly the target groups Prometheus' own Kubernetes
discovery would produce for that role and those namespaces — the same `__meta_kubernetes_*`
labels, with the names and rules of prometheus/discovery/kubernetes at v0.314.0 (Prometheus
3.14.0: pod.go buildPod/podLabels, endpointslice.go buildEndpointSlice, service.go,
kubernetes.go addObjectMetaLabels). Every relabel rule, scrape setting, rule file and alerting
block runs unchanged. The `node` role (kubelet, cAdvisor) has no target here: there is no
kubelet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from tests.conformance.harness.pods import Pod

PREFIX = "__meta_kubernetes_"
SD_DIR = "/omgml-conformance/sd"


@dataclass(frozen=True)
class SdPod:
    """A tier pod as discovery sees it: the pod, and the state the runner tracks beside it."""

    pod: Pod
    ready: bool
    phase: str  # Running | Pending | Succeeded | Failed
    # The owner discovery names: a Deployment's pods belong to its ReplicaSet.
    controller_kind: str


@dataclass(frozen=True)
class SdService:
    name: str
    namespace: str
    labels: dict[str, str]
    annotations: dict[str, str]
    selector: dict[str, str]
    ports: list[dict[str, Any]]


def sanitize(name: str) -> str:
    """strutil.SanitizeLabelName: every character outside [a-zA-Z0-9_] becomes `_`."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def _object_meta(role: str, name: str, labels: dict[str, str], annotations: dict[str, str]) -> dict[str, str]:
    out = {f"{PREFIX}{role}_name": name}
    for k, v in labels.items():
        out[f"{PREFIX}{role}_label_{sanitize(k)}"] = v
        out[f"{PREFIX}{role}_labelpresent_{sanitize(k)}"] = "true"
    for k, v in annotations.items():
        out[f"{PREFIX}{role}_annotation_{sanitize(k)}"] = v
        out[f"{PREFIX}{role}_annotationpresent_{sanitize(k)}"] = "true"
    return out


def pod_labels(pod: SdPod) -> dict[str, str]:
    out = {f"{PREFIX}pod_ip": pod.pod.ip, f"{PREFIX}pod_ready": str(pod.ready).lower(), f"{PREFIX}pod_phase": pod.phase,
           f"{PREFIX}pod_node_name": "conformance-node", f"{PREFIX}pod_host_ip": "169.254.0.1",
           f"{PREFIX}pod_uid": f"{pod.pod.namespace}-{pod.pod.name}"}
    out.update(_object_meta("pod", pod.pod.name, pod.pod.labels, pod.pod.annotations))
    if pod.controller_kind:
        out[f"{PREFIX}pod_controller_kind"] = pod.controller_kind
        out[f"{PREFIX}pod_controller_name"] = pod.pod.owner_name
    return out


def _containers(pod: SdPod) -> list[tuple[dict[str, Any], bool]]:
    return ([(c, False) for c in pod.pod.spec.get("containers", [])]
            + [(c, True) for c in pod.pod.spec.get("initContainers", []) or []])


def pod_groups(pods: list[SdPod]) -> list[dict[str, Any]]:
    """role: pod — one group per pod, a target per container port (or per port-less container)."""
    groups = []
    for pod in pods:
        if not pod.pod.ip:
            continue
        targets = []
        for c, is_init in _containers(pod):
            base = {f"{PREFIX}pod_container_name": c["name"], f"{PREFIX}pod_container_id": "",
                    f"{PREFIX}pod_container_image": c["image"], f"{PREFIX}pod_container_init": str(is_init).lower()}
            if not c.get("ports"):
                targets.append({"__address__": pod.pod.ip, **base})
                continue
            for p in c["ports"]:
                targets.append({"__address__": f"{pod.pod.ip}:{p['containerPort']}", **base,
                                f"{PREFIX}pod_container_port_number": str(p["containerPort"]),
                                f"{PREFIX}pod_container_port_name": p.get("name", ""),
                                f"{PREFIX}pod_container_port_protocol": p.get("protocol", "TCP")})
        group_labels: dict[str, str] = {**pod_labels(pod), f"{PREFIX}namespace": pod.pod.namespace}
        groups.append({"labels": group_labels, "targets": targets})
    return groups


def _resolve_port(pod: SdPod, target: int | str) -> int | None:
    if isinstance(target, int) or str(target).isdigit():
        return int(target)
    for c, _ in _containers(pod):
        for p in c.get("ports", []) or []:
            if p.get("name") == target:
                return int(p["containerPort"])
    return None


def endpointslice_groups(services: list[SdService], pods: list[SdPod]) -> list[dict[str, Any]]:
    """role: endpointslice — one slice per Service with a selector, its ready and not-ready pods."""
    groups = []
    for svc in services:
        if not svc.selector:
            continue
        slice_name = f"{svc.name}-conformance"
        labels = {f"{PREFIX}namespace": svc.namespace, f"{PREFIX}endpointslice_address_type": "IPv4",
                  **_object_meta("endpointslice", slice_name, {"kubernetes.io/service-name": svc.name}, {}),
                  **_object_meta("service", svc.name, svc.labels, svc.annotations)}
        members = [p for p in pods if p.pod.namespace == svc.namespace and p.pod.ip and p.phase == "Running"
                   and all(p.pod.labels.get(k) == v for k, v in svc.selector.items())]
        targets = []
        for pod in members:
            covered: set[int] = set()
            for port in svc.ports:
                number = _resolve_port(pod, port.get("targetPort", port["port"]))
                if number is None:
                    continue
                covered.add(number)
                target = {"__address__": f"{pod.pod.ip}:{number}",
                          f"{PREFIX}endpointslice_port": str(number),
                          f"{PREFIX}endpointslice_port_protocol": port.get("protocol", "TCP"),
                          f"{PREFIX}endpointslice_endpoint_conditions_ready": str(pod.ready).lower(),
                          f"{PREFIX}endpointslice_endpoint_conditions_serving": str(pod.ready).lower(),
                          f"{PREFIX}endpointslice_endpoint_conditions_terminating": "false",
                          f"{PREFIX}endpointslice_address_target_kind": "Pod",
                          f"{PREFIX}endpointslice_address_target_name": pod.pod.name,
                          f"{PREFIX}endpointslice_endpoint_node_name": "conformance-node",
                          **pod_labels(pod)}
                if port.get("name"):
                    target[f"{PREFIX}endpointslice_port_name"] = port["name"]
                for c, is_init in _containers(pod):
                    match = next((p for p in c.get("ports", []) or [] if int(p["containerPort"]) == number), None)
                    if match is not None:
                        target.update({f"{PREFIX}pod_container_name": c["name"],
                                       f"{PREFIX}pod_container_image": c["image"],
                                       f"{PREFIX}pod_container_port_name": match.get("name", ""),
                                       f"{PREFIX}pod_container_port_number": str(number),
                                       f"{PREFIX}pod_container_port_protocol": match.get("protocol", "TCP"),
                                       f"{PREFIX}pod_container_init": str(is_init).lower()})
                        break
                targets.append(target)
            # Container ports no Service port covers still become targets (without port labels).
            for c, is_init in _containers(pod):
                for p in c.get("ports", []) or []:
                    if int(p["containerPort"]) in covered:
                        continue
                    targets.append({"__address__": f"{pod.pod.ip}:{p['containerPort']}", **pod_labels(pod),
                                    f"{PREFIX}pod_container_name": c["name"],
                                    f"{PREFIX}pod_container_image": c["image"],
                                    f"{PREFIX}pod_container_port_name": p.get("name", ""),
                                    f"{PREFIX}pod_container_port_number": str(p["containerPort"]),
                                    f"{PREFIX}pod_container_port_protocol": p.get("protocol", "TCP"),
                                    f"{PREFIX}pod_container_init": str(is_init).lower()})
        groups.append({"labels": labels, "targets": targets})
    return groups


def service_groups(services: list[SdService]) -> list[dict[str, Any]]:
    """role: service — a target per Service port, addressed by the Service's DNS name."""
    groups = []
    for svc in services:
        targets = [{"__address__": f"{svc.name}.{svc.namespace}.svc:{p['port']}",
                    f"{PREFIX}service_port_name": p.get("name", ""),
                    f"{PREFIX}service_port_number": str(p["port"]),
                    f"{PREFIX}service_port_protocol": p.get("protocol", "TCP")} for p in svc.ports]
        group_labels: dict[str, str] = {f"{PREFIX}namespace": svc.namespace,
                                        **_object_meta("service", svc.name, svc.labels, svc.annotations)}
        groups.append({"labels": group_labels, "targets": targets})
    return groups


def sd_file_name(role: str, namespaces: list[str]) -> str:
    return f"{role}-{'_'.join(sorted(namespaces)) or 'all'}.json"


def file_sd(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Discovery's target groups in file_sd's format, which has labels per group only: one group
    per target, its labels the group's merged with the target's (the target's win, as in
    Prometheus), its address the target's `__address__`."""
    out = []
    for group in groups:
        for target in group["targets"]:
            labels = {**group["labels"], **target}
            address = labels.pop("__address__")
            out.append({"targets": [address], "labels": labels})
    return out


def groups_for(role: str, namespaces: list[str], services: list[SdService], pods: list[SdPod]) -> list[dict[str, Any]]:
    """The file_sd content for a `kubernetes_sd_configs` entry of `role` over `namespaces`."""
    def wanted(ns: str) -> bool:
        return not namespaces or ns in namespaces

    if role == "pod":
        return file_sd(pod_groups([p for p in pods if wanted(p.pod.namespace)]))
    if role in ("endpointslice", "endpoints"):
        return file_sd(endpointslice_groups([s for s in services if wanted(s.namespace)], pods))
    if role == "service":
        return file_sd(service_groups([s for s in services if wanted(s.namespace)]))
    return []  # node, ingress: nothing of the kind runs in the tier


def rewrite_config(text: str) -> tuple[str, list[tuple[str, list[str]]]]:
    """The rendered prometheus.yml with Kubernetes discovery turned into file discovery; also the
    (role, namespaces) pairs whose files the tier must keep current."""
    config = yaml.safe_load(text)
    wanted: list[tuple[str, list[str]]] = []
    for job in config.get("scrape_configs", []) or []:
        sd = job.pop("kubernetes_sd_configs", None)
        if not sd:
            continue
        files = []
        for entry in sd:
            role = entry["role"]
            namespaces = list((entry.get("namespaces") or {}).get("names") or [])
            files.append(f"{SD_DIR}/{sd_file_name(role, namespaces)}")
            if (role, namespaces) not in wanted:
                wanted.append((role, namespaces))
        job["file_sd_configs"] = [{"files": files, "refresh_interval": "5s"}]
    return yaml.safe_dump(config, sort_keys=False), wanted

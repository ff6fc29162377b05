"""Pure builders for the pieces every workload repeats: security contexts, resources, probes,
secret references. Components call these so every container meets the same bar."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class Size:
    """Requests and limits of one container (Kubernetes quantity strings)."""

    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str

    def resources(self) -> JsonDict:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


def restricted_container_security_context(read_only_root: bool = True) -> JsonDict:
    """What Pod Security "restricted" asks of a container, plus a read-only root where possible."""
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": read_only_root,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def restricted_pod_security_context(uid: int, gid: int | None = None, fs_group: int | None = None) -> JsonDict:
    ctx: JsonDict = {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": gid if gid is not None else uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if fs_group is not None:
        ctx["fsGroup"] = fs_group
        # Only chown the volume when its root does not already match: fast restarts on big PVCs.
        ctx["fsGroupChangePolicy"] = "OnRootMismatch"
    return ctx


def secret_env(env_name: str, secret_name: str, key: str) -> JsonDict:
    """An env var read from a Secret by secretKeyRef: the only way credentials enter a container."""
    return {"name": env_name, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}


def plain_env(env_name: str, value: str) -> JsonDict:
    return {"name": env_name, "value": value}


def http_probe(path: str, port: int | str, *, period: int = 10, failures: int = 3, delay: int = 0,
               timeout: int = 5) -> JsonDict:
    probe: JsonDict = {
        "httpGet": {"path": path, "port": port},
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": timeout,
    }
    if delay:
        probe["initialDelaySeconds"] = delay
    return probe


def tcp_probe(port: int | str, *, period: int = 10, failures: int = 3, delay: int = 0,
              timeout: int = 5) -> JsonDict:
    probe: JsonDict = {
        "tcpSocket": {"port": port},
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": timeout,
    }
    if delay:
        probe["initialDelaySeconds"] = delay
    return probe


def exec_probe(command: list[str], *, period: int = 10, failures: int = 3, delay: int = 0,
               timeout: int = 5) -> JsonDict:
    probe: JsonDict = {
        "exec": {"command": command},
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": timeout,
    }
    if delay:
        probe["initialDelaySeconds"] = delay
    return probe


def metadata(name: str, namespace: str | None, labels: dict[str, str],
             annotations: dict[str, str] | None = None) -> JsonDict:
    meta: JsonDict = {"name": name, "labels": dict(labels)}
    if namespace is not None:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def service_spec(selector: dict[str, str], ports: list[tuple[str, int]], *, headless: bool = False) -> JsonDict:
    """A Service spec whose ports target the containers' named ports of the same name.

    Named targetPorts keep Service and container in step: renaming a port breaks a test, not traffic.
    """
    spec: JsonDict = {
        "selector": dict(selector),
        "ports": [{"name": name, "port": port, "targetPort": name, "protocol": "TCP"} for name, port in ports],
    }
    if headless:
        spec["clusterIP"] = "None"
    else:
        spec["type"] = "ClusterIP"
    return spec


def pdb_spec(selector: dict[str, str]) -> JsonDict:
    """maxUnavailable 1 (not minAvailable) so a single replica never blocks a node drain."""
    return {"maxUnavailable": 1, "selector": {"matchLabels": dict(selector)}}


def claim_spec(storage_gib: int) -> JsonDict:
    """A ReadWriteOnce claim on the cluster's default StorageClass."""
    return {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": f"{storage_gib}Gi"}}}

"""Where the pod specs and containers of a manifest live (pure helpers shared by the policies)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from omgml.policy.findings import Manifest

POD_KINDS = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
# Init containers finish before the app starts: they need requests/limits, not probes. Native
# sidecars (init containers with restartPolicy: Always) are the exception: they run for the
# pod's whole life, so they are probed like app containers.
CONTAINER_LISTS = ("initContainers", "containers")


@dataclass(frozen=True)
class PodSpecAt:
    path: str  # dotted path of the pod spec inside the manifest
    spec: dict[str, Any]
    template_meta: dict[str, Any]  # the pod template's metadata (labels, annotations)


@dataclass(frozen=True)
class ContainerAt:
    path: str  # e.g. spec.template.spec.containers[0]
    container: dict[str, Any]
    init: bool

    @property
    def name(self) -> str:
        return str(self.container.get("name", "?"))

    @property
    def runs_to_completion(self) -> bool:
        """An init container that finishes before the app starts (not a native sidecar)."""
        return self.init and self.container.get("restartPolicy") != "Always"


def pod_spec_at(m: Manifest) -> PodSpecAt | None:
    kind = m.get("kind")
    if kind not in POD_KINDS:
        return None
    spec = m.get("spec") or {}
    if kind == "Pod":
        return PodSpecAt("spec", spec, m.get("metadata") or {})
    path = "spec.template"
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
        path = "spec.jobTemplate.spec.template"
    template = spec.get("template") or {}
    return PodSpecAt(f"{path}.spec", template.get("spec") or {}, template.get("metadata") or {})


def containers_at(pod: PodSpecAt) -> Iterator[ContainerAt]:
    for key in CONTAINER_LISTS:
        for i, c in enumerate(pod.spec.get(key) or []):
            yield ContainerAt(f"{pod.path}.{key}[{i}]", c, key == "initContainers")


def manifest_containers(m: Manifest) -> Iterator[ContainerAt]:
    """Every container of the manifest's pod spec; none when the manifest holds no pod."""
    pod = pod_spec_at(m)
    if pod is not None:
        yield from containers_at(pod)


def namespace_of(m: Manifest) -> str:
    # The renderer always sets a namespace; an object without one lands in "default".
    return str((m.get("metadata") or {}).get("namespace") or "default")

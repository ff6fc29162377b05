"""Pods as the controllers would make them, and what the kubelet resolves for each container.

Pure functions over rendered manifests: which pods a workload gets (names, labels, hostnames,
claims), the environment of a container (`env`, `envFrom`, `secretKeyRef`, `configMapKeyRef`,
downward API, `$(VAR)` expansion), its command line, and the files its volumes hold.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ManifestProblem(Exception):
    """The rendered manifests ask for something the kubelet would refuse (missing Secret key, …)."""


@dataclass
class Pod:
    name: str
    namespace: str
    labels: dict[str, str]
    annotations: dict[str, str]
    spec: dict[str, Any]
    owner_kind: str
    owner_name: str
    hostname: str
    subdomain: str = ""
    ip: str = ""
    claims: dict[str, str] = field(default_factory=dict)  # volume name → claim name

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def containers(self, init: bool = False) -> list[dict[str, Any]]:
        return list(self.spec.get("initContainers" if init else "containers", []) or [])

    def container(self, name: str) -> dict[str, Any]:
        for c in self.containers() + self.containers(init=True):
            if c["name"] == name:
                return c
        raise KeyError(f"pod {self.key} has no container {name!r}")


def pod_template_spec(manifest: dict[str, Any]) -> dict[str, Any]:
    spec = manifest["spec"]
    if manifest["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"])


def pods_for(manifest: dict[str, Any], run: int = 0) -> list[Pod]:
    """The pods a workload's controller would create (Jobs and CronJobs: one run's pod)."""
    kind = manifest["kind"]
    meta = manifest["metadata"]
    name, ns = meta["name"], meta.get("namespace", "default")
    template = pod_template_spec(manifest)
    tmeta = template.get("metadata", {})
    spec = template["spec"]
    base_labels = dict(tmeta.get("labels", {}))
    annotations = dict(tmeta.get("annotations", {}))
    if kind == "StatefulSet":
        pods = []
        for ordinal in range(int(manifest["spec"].get("replicas", 1))):
            pod_name = f"{name}-{ordinal}"
            labels = {**base_labels, "apps.kubernetes.io/pod-index": str(ordinal),
                      "statefulset.kubernetes.io/pod-name": pod_name}
            claims = {t["metadata"]["name"]: f"{t['metadata']['name']}-{pod_name}"
                      for t in manifest["spec"].get("volumeClaimTemplates", [])}
            claims.update(_claim_volumes(spec))
            pods.append(Pod(pod_name, ns, labels, annotations, spec, kind, name, pod_name,
                            manifest["spec"].get("serviceName", ""), claims=claims))
        return pods
    if kind == "Deployment":
        return [Pod(f"{name}-{i}", ns, base_labels, annotations, spec, kind, name, f"{name}-{i}",
                    claims=_claim_volumes(spec))
                for i in range(int(manifest["spec"].get("replicas", 1)))]
    if kind in ("Job", "CronJob"):
        pod_name = f"{name}-run{run}"
        labels = {**base_labels, "job-name": name, "batch.kubernetes.io/job-name": name}
        return [Pod(pod_name, ns, labels, annotations, spec, kind, name, pod_name, claims=_claim_volumes(spec))]
    raise ManifestProblem(f"{kind} {ns}/{name}: the tier runs Deployments, StatefulSets, Jobs and CronJobs")


def _claim_volumes(spec: dict[str, Any]) -> dict[str, str]:
    return {v["name"]: v["persistentVolumeClaim"]["claimName"]
            for v in spec.get("volumes", []) or [] if "persistentVolumeClaim" in v}


# --- environment ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Objects:
    """The ConfigMaps and Secrets a pod may read, by (namespace, name) → data (text)."""

    configmaps: dict[tuple[str, str], dict[str, str]]
    secrets: dict[tuple[str, str], dict[str, str]]

    def configmap(self, ns: str, name: str, optional: bool = False) -> dict[str, str] | None:
        found = self.configmaps.get((ns, name))
        if found is None and not optional:
            raise ManifestProblem(f"ConfigMap {ns}/{name} does not exist")
        return found

    def secret(self, ns: str, name: str, optional: bool = False) -> dict[str, str] | None:
        found = self.secrets.get((ns, name))
        if found is None and not optional:
            raise ManifestProblem(f"Secret {ns}/{name} does not exist")
        return found


def objects_from(manifests: list[dict[str, Any]]) -> Objects:
    cms: dict[tuple[str, str], dict[str, str]] = {}
    secs: dict[tuple[str, str], dict[str, str]] = {}
    for m in manifests:
        key = (m["metadata"].get("namespace", "default"), m["metadata"]["name"])
        if m["kind"] == "ConfigMap":
            cms[key] = {k: str(v) for k, v in (m.get("data") or {}).items()}
        elif m["kind"] == "Secret":
            data = {k: base64.b64decode(v).decode() for k, v in (m.get("data") or {}).items()}
            data.update({k: str(v) for k, v in (m.get("stringData") or {}).items()})
            secs[key] = data
    return Objects(cms, secs)


_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)|\$\$")


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: defined names are replaced, `$$` escapes, others stay."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))

    return _REF.sub(sub, text)


_INDEXED = re.compile(r"^metadata\.(labels|annotations)\['([^']+)'\]$")


def field_ref(pod: Pod, path: str) -> str:
    simple = {
        "metadata.name": pod.name, "metadata.namespace": pod.namespace, "status.podIP": pod.ip,
        "status.podIPs": pod.ip, "spec.serviceAccountName": str(pod.spec.get("serviceAccountName", "default")),
        "spec.nodeName": "conformance-node", "status.hostIP": "169.254.0.1",
    }
    if path in simple:
        return simple[path]
    m = _INDEXED.match(path)
    if m:
        source = pod.labels if m.group(1) == "labels" else pod.annotations
        return source.get(m.group(2), "")
    raise ManifestProblem(f"pod {pod.key}: fieldRef {path!r} is not supported by the tier")


_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "m": 1e-3}


def quantity(text: str | int | float) -> float:
    """A Kubernetes quantity (`512Mi`, `250m`, `1`) as a number of base units."""
    s = str(text)
    for suffix, factor in sorted(_UNITS.items(), key=lambda kv: -len(kv[0])):
        if s.endswith(suffix):
            return float(s[: -len(suffix)]) * factor
    return float(s)


def resource_ref(container: dict[str, Any], ref: dict[str, Any]) -> str:
    resource = ref["resource"]
    section, _, kind = resource.partition(".")
    value = (container.get("resources", {}).get(section, {}) or {}).get(kind)
    if value is None:
        raise ManifestProblem(f"resourceFieldRef {resource} of a container without that {section}")
    divisor = quantity(ref.get("divisor", "1"))
    amount = quantity(value) / divisor
    return str(int(-(-amount // 1)))  # the kubelet rounds up


def container_env(pod: Pod, container: dict[str, Any], objects: Objects) -> dict[str, str]:
    """The environment the kubelet gives a container (image defaults not included)."""
    env: dict[str, str] = {}
    for src in container.get("envFrom", []) or []:
        prefix = src.get("prefix", "")
        if "configMapRef" in src:
            ref = src["configMapRef"]
            data = objects.configmap(pod.namespace, ref["name"], bool(ref.get("optional")))
        else:
            ref = src["secretRef"]
            data = objects.secret(pod.namespace, ref["name"], bool(ref.get("optional")))
        for k, v in (data or {}).items():
            env[prefix + k] = v
    for item in container.get("env", []) or []:
        name = item["name"]
        if "value" in item:
            env[name] = expand(str(item["value"]), env)
            continue
        source = item.get("valueFrom")
        if source is None:
            env[name] = ""
            continue
        if "secretKeyRef" in source or "configMapKeyRef" in source:
            is_secret = "secretKeyRef" in source
            ref = source["secretKeyRef" if is_secret else "configMapKeyRef"]
            optional = bool(ref.get("optional"))
            data = (objects.secret if is_secret else objects.configmap)(pod.namespace, ref["name"], optional)
            if data is None:
                continue
            if ref["key"] not in data:
                if optional:
                    continue
                kind = "Secret" if is_secret else "ConfigMap"
                raise ManifestProblem(
                    f"pod {pod.key} container {container['name']}: env {name} refers to key {ref['key']!r} "
                    f"of {kind} {pod.namespace}/{ref['name']}, which has only {sorted(data)}")
            env[name] = data[ref["key"]]
        elif "fieldRef" in source:
            env[name] = field_ref(pod, source["fieldRef"]["fieldPath"])
        elif "resourceFieldRef" in source:
            env[name] = resource_ref(container, source["resourceFieldRef"])
        else:
            raise ManifestProblem(f"pod {pod.key}: env {name} has an unsupported valueFrom {sorted(source)}")
    return env


def command_line(container: dict[str, Any], env: dict[str, str],
                 entrypoint: list[str], default_args: list[str]) -> list[str]:
    """Docker/Kubernetes semantics: `command` replaces the entrypoint (and drops the image's
    CMD), `args` replace the CMD; both get `$(VAR)` expansion."""
    command = container.get("command")
    args = container.get("args")
    if command is not None:
        argv = [expand(str(c), env) for c in command] + [expand(str(a), env) for a in (args or [])]
    elif args is not None:
        argv = entrypoint + [expand(str(a), env) for a in args]
    else:
        argv = entrypoint + default_args
    if not argv:
        raise ManifestProblem(f"container {container['name']}: nothing to run (no command and no image entrypoint)")
    return argv


# --- volumes ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileSpec:
    path: str  # relative to the volume root
    content: str
    mode: int


def projected_files(pod: Pod, volume: dict[str, Any], objects: Objects) -> list[FileSpec] | None:
    """The files a configMap/secret volume shows; None for volumes that are directories."""
    if "configMap" in volume or "secret" in volume:
        is_secret = "secret" in volume
        src = volume["secret" if is_secret else "configMap"]
        name = src["secretName" if is_secret else "name"]
        optional = bool(src.get("optional"))
        data = (objects.secret if is_secret else objects.configmap)(pod.namespace, name, optional) or {}
        mode = int(src.get("defaultMode", 0o644))
        items = src.get("items")
        if items:
            out = []
            for it in items:
                if it["key"] not in data:
                    raise ManifestProblem(f"pod {pod.key} volume {volume['name']}: key {it['key']!r} not in {name}")
                out.append(FileSpec(it["path"], data[it["key"]], int(it.get("mode", mode))))
            return out
        return [FileSpec(k, v, mode) for k, v in sorted(data.items())]
    if "projected" in volume:
        out = []
        for source in volume["projected"].get("sources", []):
            out.extend(projected_files(pod, {"name": volume["name"], **source,
                                             **({"secret": {**source["secret"], "secretName": source["secret"]["name"]}}
                                                if "secret" in source else {})}, objects) or [])
        return out
    return None

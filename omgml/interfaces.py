"""Component interfaces and data flows, read from a render: what talks to what, on which port,
with which credentials.

Nothing here is written by hand about a component: every row comes from the rendered manifests.
A workload's containers name their peers in environment values (their own `env` and the
ConfigMaps they load with `envFrom`) and `--flag=value` arguments: in-cluster Services as `<service>.<namespace>.svc…[:port]`
(or `http://<service>:<port>` inside the namespace), AWS endpoints as `*.amazonaws.com` hosts,
S3 as `s3://` paths. The port is the one written next to the host (or the `<X>_PORT` variable
next to `<X>_HOST`), else the Service's only port. The credentials of a link are the Secrets its
variables reference (`$(VAR)` inside the value) or whose names start with the peer's name, and,
for S3 on aws, the IRSA role on the workload's ServiceAccount. A Secret named after the client
workload itself is the client's own (a signing key) and is not counted for a peer. A Service of
type ExternalName shows where it points (RDS behind `postgres` on aws).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Manifest = dict[str, Any]
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
_SVC = re.compile(r"(?:[a-z]+://)?(?:[^@/\s]*@)?([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?:\.cluster\.local)?(?::(\d+))?")
_BARE = re.compile(r"^[a-z]+://([a-z0-9-]+):(\d+)")
_AWS = re.compile(r"(?:[a-z+]+://)?(?:[^@/\s]*@)?([a-z0-9.-]+\.amazonaws\.com)(?::(\d+))?")
_S3 = re.compile(r"^s3://([a-z0-9.-]+)")
_VAR = re.compile(r"\$\(([A-Z0-9_]+)\)")
AWS_STORE_HINTS: tuple[tuple[str, str, str], ...] = (
    (".rds.", "Amazon RDS", "postgres"), (".cache.", "Amazon ElastiCache", "redis"),
    ("kafka.", "Amazon MSK", "kafka"), ("s3.", "Amazon S3", "s3"),
)
# The port each AWS store listens on when the address carries none (RDS PostgreSQL, ElastiCache,
# MSK with IAM auth, S3 over HTTPS).
AWS_DEFAULT_PORTS: dict[str, str] = {"postgres": "5432", "redis": "6379", "kafka": "9098", "s3": "443"}


@dataclass(frozen=True)
class Link:
    client: str  # namespace/workload
    peer: str  # namespace/service, or an AWS service and host
    port: str
    via: str  # the variables that carry the address
    credentials: str


def _pod(m: Manifest) -> Manifest:
    spec = m.get("spec") or {}
    if m.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return ((spec.get("template") or {}).get("spec")) or {}


def _labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _env(container: Manifest, configmaps: dict[tuple[str, str], Manifest], ns: str
         ) -> tuple[dict[str, str], dict[str, str]]:
    """(plain values, secret behind each variable) of one container, envFrom ConfigMaps included."""
    values: dict[str, str] = {}
    secrets: dict[str, str] = {}
    for ref in container.get("envFrom") or []:
        cm = configmaps.get((ns, str((ref.get("configMapRef") or {}).get("name"))))
        if cm is not None:
            values.update({k: str(v) for k, v in (cm.get("data") or {}).items()})
        name = (ref.get("secretRef") or {}).get("name")
        if name:
            secrets[f"(all keys of {name})"] = str(name)
    for e in container.get("env") or []:
        if isinstance(e.get("value"), str):
            values[str(e["name"])] = e["value"]
        ref = (e.get("valueFrom") or {}).get("secretKeyRef")
        if ref and isinstance(ref.get("name"), str):
            secrets[str(e["name"])] = ref["name"]
    return values, secrets


def interface_links(manifests: Iterable[Manifest]) -> list[Link]:
    items = list(manifests)
    services = {(m["metadata"].get("namespace", ""), m["metadata"]["name"]): m for m in items if m.get("kind") == "Service"}
    configmaps = {(m["metadata"].get("namespace", ""), m["metadata"]["name"]): m for m in items
                  if m.get("kind") == "ConfigMap"}
    accounts = {(m["metadata"].get("namespace", ""), m["metadata"]["name"]): m for m in items
                if m.get("kind") == "ServiceAccount"}
    links: dict[tuple[str, str, str], tuple[set[str], set[str]]] = {}
    external = {f"{k[0]}/{k[1]}": str((s.get("spec") or {}).get("externalName")) for k, s in services.items()
                if (s.get("spec") or {}).get("type") == "ExternalName"}
    for m in items:
        if m.get("kind") not in WORKLOADS:
            continue
        ns, name = m["metadata"].get("namespace", ""), m["metadata"]["name"]
        pod = _pod(m)
        pod_labels = ((m.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
        sa = accounts.get((ns, str(pod.get("serviceAccountName", ""))))
        role = ((sa or {}).get("metadata", {}).get("annotations") or {}).get(ROLE_ANNOTATION)
        for c in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
            values, secrets = _env(c, configmaps, ns)
            # Addresses on the command line (Triton's --model-repository=s3://...).
            for i, arg in enumerate([*(c.get("command") or []), *(c.get("args") or [])]):
                if isinstance(arg, str) and "=" in arg and arg.startswith("--"):
                    values.setdefault(f"{arg.split('=', 1)[0]} (argument {i})", arg.split("=", 1)[1])
            for var, value in values.items():
                for peer, port, hint in _peers(var, value, values, ns, services):
                    target = services.get(tuple(peer.split("/", 1)))  # type: ignore[arg-type]
                    if target is not None and _labels_match((target.get("spec") or {}).get("selector") or {},
                                                            pod_labels):
                        continue  # the workload naming itself (a StatefulSet's own headless Service)
                    creds = {secrets[v] for v in _VAR.findall(value) if v in secrets}
                    # A Secret named after the workload itself is its own (a signing key), not the peer's.
                    creds |= {s for s in secrets.values() if hint and s.startswith(hint) and not s.startswith(name)}
                    if peer.startswith("Amazon S3") and role:
                        creds.add(f"IRSA role {role.rsplit('/', 1)[-1]}")
                    key = (f"{ns}/{name}", peer, port)
                    via, cred = links.setdefault(key, (set(), set()))
                    via.add(var)
                    cred |= creds
    return [Link(client, f"{peer} → {external[peer]}" if peer in external else peer, port, ", ".join(sorted(via)),
                 ", ".join(sorted(cred)) or "none (network policy only)")
            for (client, peer, port), (via, cred) in sorted(links.items())]


def _peers(var: str, value: str, values: dict[str, str], ns: str, services: dict[tuple[str, str], Manifest]
           ) -> list[tuple[str, str, str]]:
    """(peer, port, credential name hint) for every address in one variable's value."""
    out: list[tuple[str, str, str]] = []
    sibling_port = values.get(var[: -len("_HOST")] + "_PORT", "") if var.endswith("_HOST") else ""
    for svc, svc_ns, port in _SVC.findall(value):
        base = svc.removesuffix("-headless")
        out.append((f"{svc_ns}/{svc}", port or sibling_port or _only_port(services.get((svc_ns, svc))), base))
    bare = _BARE.match(value)
    if bare and not out and (ns, bare.group(1)) in services:
        out.append((f"{ns}/{bare.group(1)}", bare.group(2), bare.group(1)))
    for host, port in _AWS.findall(value):
        what, hint = next(((w, h) for key, w, h in AWS_STORE_HINTS if key in host or host.startswith(key)),
                          ("AWS", ""))
        out.append((f"{what} ({host})", port or sibling_port or AWS_DEFAULT_PORTS.get(hint, "?"), hint))
    s3 = _S3.match(value)
    if s3 and not out and not any(k.endswith("ENDPOINT_URL") or k.endswith("ENDPOINT") for k in values):
        out.append((f"Amazon S3 (bucket {s3.group(1)})", "443", "s3"))
    return out


def _only_port(svc: Manifest | None) -> str:
    ports = ((svc or {}).get("spec") or {}).get("ports") or []
    return str(ports[0]["port"]) if len(ports) == 1 else "/".join(str(p["port"]) for p in ports) or "?"


def interfaces_markdown(name: str, manifests: Iterable[Manifest]) -> str:
    links = interface_links(manifests)
    rows = [f"| `{lk.client}` | `{lk.peer}` | {lk.port} | {lk.via} | {lk.credentials} |" for lk in links]
    return "\n".join([
        f"# {name}: interfaces and data flows",
        "",
        "Read from the rendered manifests (`omgml render .`), not written by hand: each row is one workload "
        "reaching a peer, with the port, the environment variables that carry the address and the "
        "credentials the link uses (Kubernetes Secrets by name, IRSA roles for S3 on aws). Regenerate with "
        "`omgml init --force` after changing `omgml.yaml`.",
        "",
        "| from (namespace/workload) | to | port | address in | credentials |",
        "|---|---|---|---|---|",
        *rows,
        "",
    ])


__all__ = ["Link", "interface_links", "interfaces_markdown"]

"""Cluster DNS as files: each pod's /etc/hosts names every Service (and StatefulSet pod) the way
CoreDNS would answer it from that pod's namespace; resolv.conf carries the search path only.

Pure functions; the runner writes their output into the pod's sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass

CLUSTER_DOMAIN = "cluster.local"


@dataclass(frozen=True)
class ServiceRecord:
    name: str
    namespace: str
    addresses: tuple[str, ...]  # the cluster IP, or the ready pods' IPs for a headless Service


@dataclass(frozen=True)
class PodRecord:
    name: str  # also its hostname
    namespace: str
    ip: str
    subdomain: str  # the governing headless Service of a StatefulSet pod, else ""


def service_names(svc: str, ns: str, from_ns: str) -> list[str]:
    """Every spelling that resolves from `from_ns` (the search path: <ns>.svc, svc, cluster.local)."""
    names = [f"{svc}.{ns}.svc.{CLUSTER_DOMAIN}", f"{svc}.{ns}.svc", f"{svc}.{ns}"]
    if ns == from_ns:
        names.append(svc)
    return names


def hosts_file(pod: PodRecord, services: list[ServiceRecord], pods: list[PodRecord]) -> str:
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    own = [pod.name]
    if pod.subdomain:
        own = [f"{pod.name}.{pod.subdomain}.{pod.namespace}.svc.{CLUSTER_DOMAIN}", pod.name]
    lines.append(f"{pod.ip}\t{' '.join(own)}")
    for s in sorted(services, key=lambda s: (s.namespace, s.name)):
        for address in s.addresses:
            lines.append(f"{address}\t{' '.join(service_names(s.name, s.namespace, pod.namespace))}")
    for p in sorted(pods, key=lambda p: (p.namespace, p.name)):
        if not p.subdomain or (p.name == pod.name and p.namespace == pod.namespace):
            continue
        names = [f"{p.name}.{n}" for n in service_names(p.subdomain, p.namespace, pod.namespace)]
        lines.append(f"{p.ip}\t{' '.join(names)}")
    return "\n".join(lines) + "\n"


def resolv_conf(namespace: str) -> str:
    """No nameserver: every cluster name is in /etc/hosts; anything else fails fast, offline."""
    search = f"{namespace}.svc.{CLUSTER_DOMAIN} svc.{CLUSTER_DOMAIN} {CLUSTER_DOMAIN}"
    return f"search {search}\noptions ndots:5 attempts:1 timeout:1\nnameserver 127.0.0.53\n"

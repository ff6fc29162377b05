"""The tier's pod network: one network namespace per pod, routed through a hub namespace.

Layout (all of it inside namespaces this module creates; nothing touches the host's own network):
- a hub namespace, the "node": 169.254.0.1 on every pod link, IP forwarding on; the kubelet's
  probes and the test's own checks start here;
- per pod a namespace with `eth0` (a veth whose peer sits in the hub), a /32 address from
  169.254.1.0–169.254.99.255 and a default route via the hub — every packet between pods passes
  the hub, like a routed CNI;
- per Service with a cluster IP a virtual address from 169.254.100.0/24+ that the hub DNATs to the
  backing pod's target port (kube-proxy's job), with SNAT for a pod reaching itself (hairpin);
- the NetworkPolicies enforced in the hub's forward chain from `netpol.allowed` (default drop for
  pod-to-pod traffic no policy allows).

Link-local addresses cannot be routed off the machine, and the hub has no link to the host.
"""

from __future__ import annotations

import ipaddress
import subprocess
from dataclasses import dataclass, field

HUB_IP = "169.254.0.1"
FIRST_POD = int(ipaddress.ip_address("169.254.1.2"))
LAST_POD = int(ipaddress.ip_address("169.254.99.254"))
FIRST_SERVICE = int(ipaddress.ip_address("169.254.100.2"))
LAST_SERVICE = int(ipaddress.ip_address("169.254.120.254"))
METADATA_IP = "169.254.169.254"  # never handed out: cloud metadata lives there on real hosts


class NetworkError(Exception):
    pass


def _run(*argv: str, input_text: str | None = None) -> None:
    out = subprocess.run(list(argv), input=input_text, capture_output=True, text=True, timeout=60, check=False)
    if out.returncode != 0:
        raise NetworkError(f"{' '.join(argv)} failed ({out.returncode}): {out.stderr.strip() or out.stdout.strip()}")


def address(base: int, index: int, last: int) -> str:
    """The index-th usable address from `base`, skipping .0, .1 and .255 of every /24."""
    value = base
    remaining = index
    while True:
        ip = ipaddress.ip_address(value)
        octet = int(ip) & 0xFF
        if octet not in (0, 1, 255) and str(ip) != METADATA_IP:
            if remaining == 0:
                if value > last:
                    raise NetworkError("the tier's address range is exhausted")
                return str(ip)
            remaining -= 1
        value += 1


@dataclass(frozen=True)
class Dnat:
    service_ip: str
    protocol: str  # tcp | udp
    port: int
    pod_ip: str
    target_port: int


@dataclass(frozen=True)
class Allow:
    src: str
    dst: str
    protocol: str  # tcp | udp
    port: int | None  # None: every port


def ruleset(table: str, dnats: list[Dnat], allows: list[Allow], pod_ips: list[str]) -> str:
    """The hub's nftables ruleset (pure, so it is unit-tested without namespaces)."""
    lines = [f"table ip {table}", f"delete table ip {table}", f"table ip {table} {{"]
    lines.append("  chain prerouting {")
    lines.append("    type nat hook prerouting priority dstnat; policy accept;")
    for d in dnats:
        lines.append(f"    ip daddr {d.service_ip} {d.protocol} dport {d.port} dnat to {d.pod_ip}:{d.target_port}")
    lines.append("  }")
    lines.append("  chain postrouting {")
    lines.append("    type nat hook postrouting priority srcnat; policy accept;")
    for ip in pod_ips:
        lines.append(f"    ct status dnat ip saddr {ip} ip daddr {ip} snat to {HUB_IP}")
    lines.append("  }")
    lines.append("  chain forward {")
    lines.append("    type filter hook forward priority filter; policy drop;")
    lines.append("    ct state established,related accept")
    for a in allows:
        if a.port is None:
            lines.append(f"    ip saddr {a.src} ip daddr {a.dst} accept")
        else:
            lines.append(f"    ip saddr {a.src} ip daddr {a.dst} {a.protocol} dport {a.port} accept")
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


@dataclass
class PodLink:
    netns: str
    ip: str
    hub_if: str


@dataclass
class Network:
    """Creates and removes the namespaces; `prefix` keeps runs apart (and lets a cleanup find leftovers)."""

    prefix: str
    links: dict[str, PodLink] = field(default_factory=dict)
    created: bool = False

    @property
    def hub(self) -> str:
        return f"{self.prefix}-hub"

    @property
    def table(self) -> str:
        return "omgml"

    def create(self) -> None:
        _run("ip", "netns", "add", self.hub)
        self.created = True
        _run("ip", "-n", self.hub, "link", "set", "lo", "up")
        _run("ip", "netns", "exec", self.hub, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        # Start with everything between pods dropped until the first policy set is applied.
        _run("ip", "netns", "exec", self.hub, "nft", "-f", "-", input_text=ruleset(self.table, [], [], []))

    def add_pod(self, key: str, ip: str) -> PodLink:
        index = len(self.links)
        netns = f"{self.prefix}-p{index}"
        hub_if = f"{self.prefix.replace('-', '')[:8]}h{index}"[:15]
        _run("ip", "netns", "add", netns)
        link = PodLink(netns, ip, hub_if)
        self.links[key] = link
        _run("ip", "link", "add", hub_if, "netns", self.hub, "type", "veth", "peer", "name", "eth0", "netns", netns)
        _run("ip", "-n", netns, "link", "set", "lo", "up")
        # As containerd and Docker set up every pod: unprivileged processes may bind low ports.
        _run("ip", "netns", "exec", netns, "sysctl", "-qw", "net.ipv4.ip_unprivileged_port_start=0")
        _run("ip", "-n", netns, "link", "set", "eth0", "up")
        _run("ip", "-n", netns, "addr", "add", f"{ip}/32", "dev", "eth0")
        _run("ip", "-n", netns, "route", "add", f"{HUB_IP}/32", "dev", "eth0")
        _run("ip", "-n", netns, "route", "add", "default", "via", HUB_IP, "dev", "eth0")
        _run("ip", "-n", self.hub, "link", "set", hub_if, "up")
        _run("ip", "-n", self.hub, "addr", "add", f"{HUB_IP}/32", "dev", hub_if)
        _run("ip", "-n", self.hub, "route", "add", f"{ip}/32", "dev", hub_if)
        return link

    def apply(self, dnats: list[Dnat], allows: list[Allow]) -> None:
        pod_ips = [link.ip for link in self.links.values()]
        _run("ip", "netns", "exec", self.hub, "nft", "-f", "-", input_text=ruleset(self.table, dnats, allows, pod_ips))

    def exec_in(self, netns: str) -> list[str]:
        return ["ip", "netns", "exec", netns]

    def destroy(self) -> list[str]:
        """Remove every namespace of this run; returns what could not be removed."""
        return remove_namespaces(self.prefix)


def remove_namespaces(prefix: str) -> list[str]:
    """Delete every network namespace whose name starts with `prefix` (veths go with them)."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    problems = []
    for line in out.stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        if name.startswith(prefix):
            gone = subprocess.run(["ip", "netns", "del", name], capture_output=True, text=True, check=False)
            if gone.returncode != 0:
                problems.append(f"{name}: {gone.stderr.strip()}")
    return problems


def remove_stale_namespaces(prefix: str) -> list[str]:
    """Delete the namespaces of earlier runs (`<prefix>XXXX-…`) in which no process runs any more
    (left by a killed run); a run still in progress has processes in its pod namespaces."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    runs: dict[str, list[str]] = {}
    for line in out.stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        if name.startswith(prefix) and "-" in name:
            runs.setdefault(name.split("-", 1)[0], []).append(name)
    removed = []
    for names in runs.values():
        busy = False
        for name in names:
            pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True, check=False)
            busy = busy or bool(pids.stdout.strip())
        if not busy:
            for name in names:
                subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
                removed.append(name)
    return removed

"""Probes as the kubelet runs them: exec inside the container, httpGet and tcpSocket from the node.

The hub namespace is the node: HTTP and TCP probes start there and reach the pod's IP directly,
which is also why NetworkPolicies do not apply to them (as on real clusters).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from typing import Any

# Kubernetes defaults (core/v1 Probe).
DEFAULTS = {"periodSeconds": 10, "timeoutSeconds": 1, "failureThreshold": 3, "successThreshold": 1,
            "initialDelaySeconds": 0}

TCP_CHECK = ("import socket,sys\n"
             "s=socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))\n"
             "s.close()\n")


@dataclass(frozen=True)
class ProbeSpec:
    kind: str  # exec | httpGet | tcpSocket | grpc
    body: dict[str, Any]
    period: float
    timeout: float
    failure_threshold: int
    success_threshold: int
    initial_delay: float


def probe_spec(probe: dict[str, Any]) -> ProbeSpec:
    kinds = [k for k in ("exec", "httpGet", "tcpSocket", "grpc") if k in probe]
    if len(kinds) != 1:
        raise ValueError(f"a probe needs exactly one handler, got {kinds}")
    v = {k: probe.get(k, d) for k, d in DEFAULTS.items()}
    return ProbeSpec(kinds[0], probe[kinds[0]], float(v["periodSeconds"]), float(v["timeoutSeconds"]),
                     int(v["failureThreshold"]), int(v["successThreshold"]), float(v["initialDelaySeconds"]))


def resolve_port(port: int | str, container: dict[str, Any]) -> int:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    for p in container.get("ports", []) or []:
        if p.get("name") == port:
            return int(p["containerPort"])
    raise ValueError(f"container {container['name']} has no port named {port!r}")


def node_argv(hub_netns: str, spec: ProbeSpec, pod_ip: str, container: dict[str, Any],
              grpc_probe: str | None = None) -> list[str]:
    """The command the node runs for an httpGet/tcpSocket/grpc probe (pure). `grpc_probe` is the
    grpc_health_probe binary (the kubelet has a gRPC prober built in; the tier has that tool)."""
    port = resolve_port(spec.body["port"], container)
    if spec.kind == "grpc":
        if grpc_probe is None:
            raise ValueError("grpc probes need the grpc-health-probe piece (software.toml)")
        # The kubelet calls grpc.health.v1.Health/Check with the probe's service ("" by default).
        argv = ["ip", "netns", "exec", hub_netns, grpc_probe, f"-addr={pod_ip}:{port}",
                f"-connect-timeout={spec.timeout:g}s", f"-rpc-timeout={spec.timeout:g}s"]
        service = spec.body.get("service")
        return [*argv, f"-service={service}"] if service else argv
    if spec.kind == "tcpSocket":
        host = spec.body.get("host", pod_ip)
        return ["ip", "netns", "exec", hub_netns, "python3", "-c", TCP_CHECK, host, str(port), str(spec.timeout)]
    if spec.kind == "httpGet":
        scheme = str(spec.body.get("scheme", "HTTP")).lower()
        host = spec.body.get("host", pod_ip)
        path = spec.body.get("path", "/")
        argv = ["ip", "netns", "exec", hub_netns, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                "--max-time", str(spec.timeout), "-k"]
        for h in spec.body.get("httpHeaders", []) or []:
            argv += ["-H", f"{h['name']}: {h['value']}"]
        return [*argv, f"{scheme}://{host}:{port}{path}"]
    raise ValueError(f"{spec.kind} probes run inside the container or are not supported")


def node_probe(hub_netns: str, spec: ProbeSpec, pod_ip: str, container: dict[str, Any],
               grpc_probe: str | None = None) -> tuple[bool, str]:
    """Run an httpGet/tcpSocket/grpc probe; (passed, detail)."""
    argv = node_argv(hub_netns, spec, pod_ip, container, grpc_probe)
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=spec.timeout + 5, check=False)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {spec.timeout}s"
    if spec.kind == "httpGet":
        code = out.stdout.strip()
        ok = out.returncode == 0 and code.isdigit() and 200 <= int(code) < 400
        return ok, f"HTTP {code or '-'} {out.stderr.strip()}".strip()
    return out.returncode == 0, out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "connected"

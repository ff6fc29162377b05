"""NetworkPolicy semantics as a pure function: may pod A open a connection to pod B on port P?

Follows the Kubernetes rules: a pod is isolated for ingress (egress) when any policy selecting it
lists that type; an isolated direction is allowed when some rule of some selecting policy matches
the peer and the port; both directions must allow. Peers are podSelector (in the policy's
namespace), namespaceSelector (+ podSelector), and ipBlock (matched against the peer pod's IP).
Traffic from the node (the kubelet's probes) is not subject to policies, as on real clusters.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Endpoint:
    namespace: str
    labels: tuple[tuple[str, str], ...]
    ip: str
    ports: tuple[tuple[str, int, str], ...]  # (name, number, protocol)

    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels + matchExpressions); an empty selector selects everything."""
    if selector is None:
        return True
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], set(expr.get("values") or [])
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def _peer_matches(peer: dict[str, Any], policy_ns: str, other: Endpoint,
                  namespace_labels: dict[str, dict[str, str]]) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        ip = ipaddress.ip_address(other.ip)
        if ip not in ipaddress.ip_network(block["cidr"], strict=False):
            return False
        return not any(ip in ipaddress.ip_network(e, strict=False) for e in block.get("except") or [])
    ns_sel = peer.get("namespaceSelector")
    pod_sel = peer.get("podSelector")
    if ns_sel is None:
        if other.namespace != policy_ns:
            return False
    elif not selects(ns_sel, namespace_labels.get(other.namespace, {})):
        return False
    return selects(pod_sel, other.label_map())


def _port_matches(rule_ports: list[dict[str, Any]] | None, target: Endpoint, port: int, protocol: str) -> bool:
    if not rule_ports:
        return True
    for p in rule_ports:
        if p.get("protocol", "TCP") != protocol:
            continue
        want = p.get("port")
        if want is None:
            return True
        if isinstance(want, str):
            numbers = [n for name, n, proto in target.ports if name == want and proto == protocol]
            if port in numbers:
                return True
            continue
        end = p.get("endPort", want)
        if int(want) <= port <= int(end):
            return True
    return False


def _direction_allows(policies: list[dict[str, Any]], direction: str, subject: Endpoint, peer: Endpoint,
                      port_owner: Endpoint, port: int, protocol: str,
                      namespace_labels: dict[str, dict[str, str]]) -> bool:
    """`direction` is "Ingress" (subject receives from peer) or "Egress" (subject sends to peer)."""
    selecting = [p for p in policies
                 if p["metadata"].get("namespace") == subject.namespace
                 and selects(p["spec"].get("podSelector") or {}, subject.label_map())
                 and direction in _policy_types(p["spec"])]
    if not selecting:
        return True
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    for pol in selecting:
        for rule in pol["spec"].get(rules_key) or []:
            peers = rule.get(peers_key)
            peer_ok = not peers or any(
                _peer_matches(x, pol["metadata"]["namespace"], peer, namespace_labels) for x in peers)
            if peer_ok and _port_matches(rule.get("ports"), port_owner, port, protocol):
                return True
    return False


def _policy_types(spec: dict[str, Any]) -> list[str]:
    if spec.get("policyTypes"):
        return list(spec["policyTypes"])
    return ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


def allowed(policies: list[dict[str, Any]], namespace_labels: dict[str, dict[str, str]],
            src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
    """Whether a connection from `src` to `dst:port` is allowed (same pod: always)."""
    if src.ip == dst.ip:
        return True
    return (_direction_allows(policies, "Egress", src, dst, dst, port, protocol, namespace_labels)
            and _direction_allows(policies, "Ingress", dst, src, dst, port, protocol, namespace_labels))


def namespace_labels_of(manifests: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Namespace labels, with the `kubernetes.io/metadata.name` label the API server adds."""
    out: dict[str, dict[str, str]] = {}
    for m in manifests:
        if m["kind"] == "Namespace":
            name = m["metadata"]["name"]
            out[name] = {**(m["metadata"].get("labels") or {}), "kubernetes.io/metadata.name": name}
    return out

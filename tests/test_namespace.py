"""The platform namespace: Pod Security labels and default-deny networking."""

from __future__ import annotations

import pytest

from omgml.components.namespace import NamespaceArgs, PlatformNamespace, namespace_labels, network_policies
from tests.synth_helpers import assert_valid, find, one, synth_manifests


def test_namespace_is_restricted_and_closed_by_default() -> None:
    items = synth_manifests(lambda: PlatformNamespace("data", NamespaceArgs(name="omgml-data")) and None)
    ns = one(items, "Namespace", "omgml-data")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    deny = one(items, "NetworkPolicy", "default-deny")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Egress", "Ingress"]} or \
        sorted(deny["spec"]["policyTypes"]) == ["Egress", "Ingress"]
    assert "ingress" not in deny["spec"] and "egress" not in deny["spec"]
    assert {m["metadata"]["name"] for m in find(items, "NetworkPolicy")} == {
        "default-deny", "allow-same-namespace", "allow-dns"}
    assert_valid(items)


def test_weaker_pod_security_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="give pod_security_reason"):
        namespace_labels(NamespaceArgs(name="gpu", pod_security="privileged"))
    labels = namespace_labels(NamespaceArgs(name="gpu", pod_security="privileged", pod_security_reason="hostPath"))
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"


def test_cross_namespace_allows() -> None:
    names = [n for n, _ in network_policies(NamespaceArgs(name="d", allow_ingress_from=("b", "a")))]
    assert "allow-from-platform" in names
    spec = dict(network_policies(NamespaceArgs(name="d", allow_ingress_from=("b", "a"))))["allow-from-platform"]
    peers = [p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in spec["ingress"][0]["from"]]
    assert peers == ["a", "b"]


def test_two_namespaces_do_not_collide() -> None:
    def program() -> None:
        PlatformNamespace("a", NamespaceArgs(name="ns-a"))
        PlatformNamespace("b", NamespaceArgs(name="ns-b"))

    items = synth_manifests(program)
    assert len(find(items, "Namespace")) == 2
    assert len(find(items, "NetworkPolicy")) == 6

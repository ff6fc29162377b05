"""The conformance tier's own logic, without namespaces or software (runs in the default tier).

What the kubelet, kube-proxy, CoreDNS and the NetworkPolicy controller would do is a pure
function here; these tests pin those semantics so the live tier can be trusted.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.harness import dns, netpol
from tests.conformance.harness.network import Allow, Dnat, address, ruleset
from tests.conformance.harness.pods import (
    ManifestProblem,
    Objects,
    Pod,
    command_line,
    container_env,
    expand,
    pods_for,
    projected_files,
    quantity,
)
from tests.conformance.harness.probes import node_argv, probe_spec
from tests.conformance.harness.runner import claim_dirs, wipe_dir
from tests.conformance.harness.sandbox import (
    HIDDEN,
    Identity,
    ImageRuntime,
    Mount,
    SandboxSpec,
    bwrap_argv,
    exec_argv,
    identity_for,
)
from tests.conformance.harness.secrets import random_text, reveal


def pod(spec: dict[str, Any] | None = None, labels: dict[str, str] | None = None, ns: str = "data") -> Pod:
    return Pod("web-0", ns, labels or {"app": "web", "apps.kubernetes.io/pod-index": "0"}, {}, spec or {},
               "StatefulSet", "web", "web-0", "web-headless", ip="169.254.1.9")


# --- env, commands, volumes ---------------------------------------------------------------------
def test_env_follows_kubelet_order_expansion_and_references() -> None:
    objects = Objects({("data", "cfg"): {"MODE": "fast", "X": "from-cm"}}, {("data", "db"): {"password": "s3cr3t"}})
    c = {"name": "app", "envFrom": [{"configMapRef": {"name": "cfg"}}],
         "env": [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                 {"name": "URI", "value": "postgres://u:$(PW)@h/$(MODE)?x=$(UNDEFINED)&d=$$(PW)"},
                 {"name": "X", "value": "override"},
                 {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['apps.kubernetes.io/pod-index']"}}},
                 {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                 {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}}],
         "resources": {"limits": {"memory": "512Mi"}}}
    env = container_env(pod(), c, objects)
    assert env["URI"] == "postgres://u:s3cr3t@h/fast?x=$(UNDEFINED)&d=$(PW)"
    assert env["X"] == "override" and env["NODE"] == "0" and env["IP"] == "169.254.1.9" and env["MEM"] == "512"


def test_env_refuses_what_the_kubelet_refuses() -> None:
    objects = Objects({}, {("data", "db"): {"password": "x"}})
    missing_key = {"name": "app", "env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}]}
    with pytest.raises(ManifestProblem, match="has only \\['password'\\]"):
        container_env(pod(), missing_key, objects)
    missing_secret = {"name": "app", "env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k"}}}]}
    with pytest.raises(ManifestProblem, match="Secret data/nope does not exist"):
        container_env(pod(), missing_secret, objects)
    optional = {"name": "app", "env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k",
                                                                                     "optional": True}}}]}
    assert "P" not in container_env(pod(), optional, objects)


def test_command_replaces_entrypoint_and_args_replace_cmd() -> None:
    env = {"V": "1"}
    assert command_line({"name": "a"}, env, ["/entry"], ["serve"]) == ["/entry", "serve"]
    assert command_line({"name": "a", "args": ["-c", "x=$(V)"]}, env, ["/entry"], ["serve"]) == ["/entry", "-c", "x=1"]
    assert command_line({"name": "a", "command": ["run"]}, env, ["/entry"], ["serve"]) == ["run"]
    with pytest.raises(ManifestProblem):
        command_line({"name": "a"}, env, [], [])


def test_expand_leaves_unknown_references_and_unescapes_dollars() -> None:
    assert expand("$(A)-$(B)-$$(A)", {"A": "x"}) == "x-$(B)-$(A)"


def test_statefulset_pods_get_ordinals_claims_and_subdomain() -> None:
    sts = {"kind": "StatefulSet", "metadata": {"name": "kafka", "namespace": "data"},
           "spec": {"replicas": 2, "serviceName": "kafka-headless",
                    "volumeClaimTemplates": [{"metadata": {"name": "data"}}],
                    "template": {"metadata": {"labels": {"app": "kafka"}}, "spec": {"containers": []}}}}
    pods = pods_for(sts)
    assert [p.name for p in pods] == ["kafka-0", "kafka-1"]
    assert pods[1].labels["apps.kubernetes.io/pod-index"] == "1" and pods[1].subdomain == "kafka-headless"
    assert pods[1].claims == {"data": "data-kafka-1"}


def test_secret_volume_items_and_modes() -> None:
    objects = Objects({}, {("data", "s"): {"a": "1", "b": "2"}})
    vol = {"name": "v", "secret": {"secretName": "s", "defaultMode": 0o440, "items": [{"key": "b", "path": "x/b"}]}}
    files = projected_files(pod(), vol, objects)
    assert files is not None and [(f.path, f.content, f.mode) for f in files] == [("x/b", "2", 0o440)]
    assert projected_files(pod(), {"name": "e", "emptyDir": {}}, objects) is None


def test_quantities() -> None:
    assert quantity("512Mi") == 512 * 2**20 and quantity("250m") == 0.25 and quantity("1") == 1.0


# --- identity and sandbox ------------------------------------------------------------------------
RUNTIME = ImageRuntime("img", "piece", "1", "exact", "", user=0)


def test_identity_takes_the_security_context_and_refuses_root_under_run_as_non_root() -> None:
    p = pod({"securityContext": {"runAsUser": 70, "runAsGroup": 70, "fsGroup": 7, "supplementalGroups": [9]}})
    assert identity_for(p, {"name": "c"}, RUNTIME) == Identity(70, 70, (9, 7))
    bad = pod({"securityContext": {"runAsNonRoot": True}})
    with pytest.raises(ManifestProblem, match="runAsNonRoot"):
        identity_for(bad, {"name": "c"}, RUNTIME)


def sandbox(read_only: bool, mounts: list[Mount]) -> SandboxSpec:
    return SandboxSpec("ns1", "web-0", ["server", "--port", "1"], {"A": "b"}, Identity(1000, 1000, (1000,)), "/work",
                       mounts, {"/etc/hosts": Path("/run/h")}, read_only, Path("/layer"),
                       binds=[("/cache", "/root/.cache/x")])


def test_read_only_root_remounts_the_root_but_not_volumes() -> None:
    argv = bwrap_argv(sandbox(True, [Mount(Path("/v/tmp"), "/tmp", False)]))
    remounted = [argv[i + 1] for i, a in enumerate(argv) if a == "--remount-ro"]
    assert remounted == ["/"]
    # The volume is bound writable, after the root (so it stays writable on a read-only root).
    assert argv[argv.index("/v/tmp") - 1] == "--bind"
    assert argv.index("--remount-ro") > argv.index("/v/tmp")
    # The host's private folders are hidden by the layer (opaque directories), not by tmpfs
    # mounts that would also hide the image's own files there.
    assert not any(argv[i + 1] in HIDDEN for i, a in enumerate(argv) if a == "--tmpfs")
    assert "--remount-ro" not in bwrap_argv(sandbox(False, []))


def test_sandbox_drops_privileges_and_joins_the_pod_network() -> None:
    argv = bwrap_argv(sandbox(True, []), memory_cgroup=Path("/cg"))
    assert argv[:2] == ["sh", "-c"] and "/cg/cgroup.procs" in argv[2]
    assert argv[argv.index("ip"):argv.index("ip") + 4] == ["ip", "netns", "exec", "ns1"]
    tail = argv[argv.index("setpriv"):]
    assert "--reuid=1000" in tail and "--no-new-privs" in tail and "--bounding-set=-all" in tail
    assert tail[-3:] == ["server", "--port", "1"]
    # Parents of a bind under a private tmpfs are made traversable before the bind.
    assert argv.index("/root/.cache") < argv.index("/root/.cache/x")
    exec_line = exec_argv(42, Identity(70, 70, ()), {"K": "v"}, "/data", ["pg_isready"])
    assert exec_line[:2] == ["nsenter", "--target=42"] and "--root" in exec_line
    assert "K=v" in exec_line and exec_line[-2:] == ["/data", "pg_isready"]


# --- probes ---------------------------------------------------------------------------------------
def test_probe_defaults_and_named_ports() -> None:
    spec = probe_spec({"httpGet": {"path": "/health", "port": "http"}})
    assert (spec.period, spec.timeout, spec.failure_threshold) == (10.0, 1.0, 3)
    argv = node_argv("hub", spec, "169.254.1.2", {"name": "c", "ports": [{"name": "http", "containerPort": 5000}]})
    assert argv[-1] == "http://169.254.1.2:5000/health"
    with pytest.raises(ValueError, match="no port named"):
        node_argv("hub", spec, "169.254.1.2", {"name": "c", "ports": []})


# --- DNS --------------------------------------------------------------------------------------------
def test_hosts_file_answers_like_cluster_dns_from_the_pods_namespace() -> None:
    services = [dns.ServiceRecord("mlflow", "data", ("169.254.100.2",)),
                dns.ServiceRecord("ui", "serving", ("169.254.100.3",))]
    pods = [dns.PodRecord("kafka-0", "data", "169.254.1.5", "kafka-headless")]
    text = dns.hosts_file(dns.PodRecord("client", "data", "169.254.1.9", ""), services, pods)
    lines = {line.split("\t")[0]: line.split("\t")[1].split() for line in text.splitlines()}
    assert "mlflow" in lines["169.254.100.2"] and "mlflow.data.svc.cluster.local" in lines["169.254.100.2"]
    assert "ui" not in lines["169.254.100.3"] and "ui.serving" in lines["169.254.100.3"]
    assert "kafka-0.kafka-headless.data.svc.cluster.local" in lines["169.254.1.5"]


# --- NetworkPolicies --------------------------------------------------------------------------------
NS_LABELS = {"data": {"kubernetes.io/metadata.name": "data"}, "pipes": {"kubernetes.io/metadata.name": "pipes"},
             "other": {"kubernetes.io/metadata.name": "other"}}


def ep(ns: str, ip: str, labels: dict[str, str] | None = None, ports: tuple[tuple[str, int, str], ...] = ()) -> netpol.Endpoint:
    return netpol.Endpoint(ns, tuple(sorted((labels or {}).items())), ip, ports)


def policy(ns: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "NetworkPolicy", "metadata": {"namespace": ns, "name": name}, "spec": spec}


DEFAULT_DENY = [policy(ns, "deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}) for ns in ("data", "pipes")]
ALLOW = [
    policy("data", "from-pipes", {"podSelector": {}, "policyTypes": ["Ingress"],
                                  "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                                      "kubernetes.io/metadata.name": "pipes"}}}]}]}),
    policy("pipes", "to-data", {"podSelector": {}, "policyTypes": ["Egress"],
                                "egress": [{"to": [{"namespaceSelector": {"matchLabels": {
                                    "kubernetes.io/metadata.name": "data"}}}]}]}),
    policy("data", "redis-port", {"podSelector": {"matchLabels": {"app": "redis"}}, "policyTypes": ["Ingress"],
                                  "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                                      "kubernetes.io/metadata.name": "other"}}}], "ports": [{"port": "redis"}]}]}),
]


def test_default_deny_blocks_until_both_directions_allow() -> None:
    db = ep("data", "169.254.1.2", {"app": "pg"}, (("pg", 5432, "TCP"),))
    step = ep("pipes", "169.254.1.3")
    outsider = ep("other", "169.254.1.4")
    assert not netpol.allowed(DEFAULT_DENY, NS_LABELS, step, db, 5432)
    assert netpol.allowed(DEFAULT_DENY + ALLOW, NS_LABELS, step, db, 5432)
    assert not netpol.allowed(DEFAULT_DENY + ALLOW, NS_LABELS, outsider, db, 5432)
    assert not netpol.allowed(DEFAULT_DENY + ALLOW, NS_LABELS, db, step, 80)  # no egress from data


def test_named_ports_restrict_to_that_port() -> None:
    redis = ep("data", "169.254.1.2", {"app": "redis"}, (("redis", 6379, "TCP"),))
    outsider = ep("other", "169.254.1.4")
    assert netpol.allowed(DEFAULT_DENY + ALLOW, NS_LABELS, outsider, redis, 6379)
    assert not netpol.allowed(DEFAULT_DENY + ALLOW, NS_LABELS, outsider, redis, 22)


def test_ip_blocks_honour_except() -> None:
    rule = [policy("pipes", "ext", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}}]}]})]
    assert not netpol.allowed(rule, NS_LABELS, ep("pipes", "169.254.1.3"), ep("data", "169.254.1.2"), 443)


# --- network rules and secrets ---------------------------------------------------------------------
def test_ruleset_dnats_services_hairpins_and_allows_only_listed_pairs() -> None:
    text = ruleset("t", [Dnat("169.254.100.2", "tcp", 80, "169.254.1.2", 3000)],
                   [Allow("169.254.1.3", "169.254.1.2", "tcp", 3000), Allow("169.254.1.4", "169.254.1.2", "tcp", None)],
                   ["169.254.1.2"])
    assert "ip daddr 169.254.100.2 tcp dport 80 dnat to 169.254.1.2:3000" in text
    assert "ct status dnat ip saddr 169.254.1.2 ip daddr 169.254.1.2 snat to 169.254.0.1" in text
    assert "policy drop;" in text and "ip saddr 169.254.1.4 ip daddr 169.254.1.2 accept" in text


def test_addresses_skip_network_broadcast_and_the_metadata_address() -> None:
    from tests.conformance.harness.network import FIRST_POD, LAST_POD

    seen = {address(FIRST_POD, i, LAST_POD) for i in range(600)}
    assert not any(ip.endswith((".0", ".1", ".255")) for ip in seen) and len(seen) == 600


def test_random_values_honour_the_random_providers_arguments() -> None:
    for _ in range(20):
        value = random_text({"length": 24, "special": False, "minLower": 2, "minUpper": 2, "minNumeric": 2})
        assert len(value) == 24 and set(value) <= set(string.ascii_letters + string.digits)
        assert sum(c.isupper() for c in value) >= 2 and sum(c.isdigit() for c in value) >= 2
    special = random_text({"length": 40, "overrideSpecial": "-_", "minSpecial": 3})
    assert sum(c in "-_" for c in special) >= 3


def test_reveal_replaces_every_stand_in_inside_composed_values() -> None:
    from omgml.synth.engine import mock_secret_text
    from tests.conformance.harness.secrets import GeneratedValue

    stand_in = mock_secret_text("urn:x", "password")
    table = [GeneratedValue("urn:x", stand_in, "REAL")]
    assert reveal({"a": [f"pg://u:{stand_in}@h", 2.0]}, table) == {"a": ["pg://u:REAL@h", 2]}


# --- losing a volume (the backup drill) ------------------------------------------------------------
def test_claim_dirs_are_the_folders_the_pod_mounts(tmp_path: Path) -> None:
    manifest = {"kind": "StatefulSet", "metadata": {"name": "postgres", "namespace": "data"},
                "spec": {"replicas": 1, "serviceName": "pg", "template": {"metadata": {"labels": {}}, "spec": {}},
                         "volumeClaimTemplates": [{"metadata": {"name": "data"}}]}}
    p = pods_for(manifest)[0]
    assert claim_dirs(tmp_path, p) == [tmp_path / "claims" / "data" / "data-postgres-0"]


def test_wipe_dir_empties_a_volume_but_keeps_it(tmp_path: Path) -> None:
    volume = tmp_path / "claim"
    (volume / "18" / "docker" / "base").mkdir(parents=True)
    (volume / "18" / "docker" / "PG_VERSION").write_text("18")
    (volume / "lost+found").mkdir()
    volume.chmod(0o2775)
    assert wipe_dir(volume) == 2
    assert volume.is_dir() and list(volume.iterdir()) == []
    assert volume.stat().st_mode & 0o7777 == 0o2775
    assert wipe_dir(tmp_path / "absent") == 0

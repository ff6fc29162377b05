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


def test_grpc_probes_call_the_health_service_from_the_node_like_the_kubelet() -> None:
    spec = probe_spec({"grpc": {"port": 6789}, "timeoutSeconds": 5})
    container = {"name": "c", "ports": [{"name": "api", "containerPort": 6789}]}
    argv = node_argv("hub", spec, "169.254.1.2", container, grpc_probe="/cache/bin/grpc_health_probe")
    assert argv == ["ip", "netns", "exec", "hub", "/cache/bin/grpc_health_probe", "-addr=169.254.1.2:6789",
                    "-connect-timeout=5s", "-rpc-timeout=5s"]
    named = probe_spec({"grpc": {"port": 6789, "service": "katib"}})
    assert node_argv("hub", named, "169.254.1.2", container, grpc_probe="p")[-1] == "-service=katib"
    with pytest.raises(ValueError, match="grpc-health-probe piece"):
        node_argv("hub", spec, "169.254.1.2", container)


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


# --- the tier's API server (apiserver.py) -----------------------------------------------------------
def test_label_selectors_follow_kubernetes_syntax() -> None:
    from tests.conformance.harness.apiserver import parse_label_selector, selected

    pod = {"metadata": {"labels": {"airflow-worker": "7", "kubernetes_executor": "True"}},
           "status": {"phase": "Succeeded"}}
    assert selected(pod, parse_label_selector("kubernetes_executor=True,airflow-worker!=3"), "")
    assert not selected(pod, parse_label_selector("airflow-worker notin (7,8)"), "")
    assert selected(pod, parse_label_selector("airflow-worker in (6, 7),!airflow_executor_done"), "")
    assert not selected(pod, parse_label_selector("prefect.io/flow-run-id"), "")
    assert selected(pod, [], "status.phase=Succeeded") and not selected(pod, [], "status.phase!=Succeeded")


def _rbac() -> Any:
    from tests.conformance.harness.apiserver import Rbac

    role = {"kind": "Role", "metadata": {"name": "worker", "namespace": "orch"},
            "rules": [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get", "list", "watch"]},
                      {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}]}
    binding = {"kind": "RoleBinding", "metadata": {"name": "worker", "namespace": "orch"},
               "roleRef": {"kind": "Role", "name": "worker"},
               "subjects": [{"kind": "ServiceAccount", "name": "prefect-worker", "namespace": "orch"}]}
    return Rbac([role, binding])


def test_rbac_grants_only_what_the_rendered_role_binds() -> None:
    rbac = _rbac()
    assert rbac.allows("orch", "prefect-worker", "create", "batch", "jobs", "orch")
    assert rbac.allows("orch", "prefect-worker", "get", "", "pods/log", "orch")
    assert not rbac.allows("orch", "prefect-worker", "delete", "batch", "jobs", "orch")  # verb not granted
    assert not rbac.allows("orch", "prefect-worker", "list", "batch", "jobs", None)  # a Role is not cluster-wide
    assert not rbac.allows("orch", "prefect-worker", "create", "batch", "jobs", "other")
    assert not rbac.allows("orch", "default", "create", "batch", "jobs", "orch")


def test_a_job_gets_a_pod_and_its_status_follows_the_pod() -> None:
    from tests.conformance.harness.apiserver import ApiServer

    phases: dict[str, str] = {}
    started: list[dict[str, Any]] = []

    def run_pod(manifest: dict[str, Any]) -> Any:
        started.append(manifest)
        name = manifest["metadata"]["name"]
        phases[name] = "Running"
        return lambda: {"phase": phases[name]}

    api = ApiServer(_rbac(), run_pod, lambda ns, name: None, lambda ns, name, c: "")
    job = api.create_job("orch", {"metadata": {"generateName": "flow-"}, "spec": {"backoffLimit": 0, "template": {
        "metadata": {"labels": {"prefect.io/flow-run-id": "f1"}}, "spec": {"containers": [{"name": "c"}]}}}})
    [pod] = started
    assert pod["metadata"]["labels"]["job-name"] == job["metadata"]["name"]
    assert pod["metadata"]["labels"]["prefect.io/flow-run-id"] == "f1"
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "Job"
    api.sync()
    assert api.store.get("Job", "orch", job["metadata"]["name"])["status"]["active"] == 1  # type: ignore[index]
    phases[pod["metadata"]["name"]] = "Succeeded"
    api.sync()
    status = api.store.get("Job", "orch", job["metadata"]["name"])["status"]  # type: ignore[index]
    assert status["succeeded"] == 1 and status["conditions"][0]["type"] == "Complete"
    watched = [e.type for e in api.store.events if e.kind == "Pod"]
    assert watched[0] == "ADDED" and "MODIFIED" in watched


def test_a_service_account_without_automount_gets_no_token() -> None:
    from tests.conformance.harness.render import ConformanceRender, RenderedObject
    from tests.conformance.harness.runner import automount_token

    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "worker", "namespace": "orch"},
          "automountServiceAccountToken": False}
    render = ConformanceRender(Path("."), "p", [], [RenderedObject("u", "training", sa)], [])
    pod = Pod("p", "orch", {}, {}, {"serviceAccountName": "worker", "containers": []}, "Job", "j", "p")
    assert automount_token(pod, render) is False
    pod.spec["automountServiceAccountToken"] = True  # the pod's own field wins
    assert automount_token(pod, render) is True
    other = Pod("p", "orch", {}, {}, {"serviceAccountName": "scheduler", "containers": []}, "Job", "j", "p")
    assert automount_token(other, render) is True


def test_a_finished_init_container_is_not_started_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kubelet runs an init container to completion once; only containers and native
    sidecars follow the pod's restartPolicy (a restarted `airflow db check-migrations` init
    container kept a CPU busy and starved its pod's probes)."""
    from tests.conformance.harness import runner

    started: list[str] = []
    monkeypatch.setattr(runner, "start_container", lambda run: started.append(run.name))

    class Done:
        returncode = 0

        def poll(self) -> int:
            return 0

    def run_of(name: str, spec: dict[str, Any]) -> Any:
        r = runner.ContainerRun(name, spec, None, None, Path("/dev/null"), None)  # type: ignore[arg-type]
        r.proc, r.exit_code, r.started_at = Done(), 0, -1000.0  # type: ignore[assignment]
        return r

    pod = Pod("p", "ns", {}, {}, {"containers": []}, "Deployment", "d", "p")
    platform = type("P", (), {"event": lambda *a: None})()
    pod_run = runner.PodRun(platform, pod, "Always", one_shot=False)  # type: ignore[arg-type]
    init, sidecar, main = run_of("init", {}), run_of("sidecar", {"restartPolicy": "Always"}), run_of("main", {})
    pod_run.init_runs, pod_run.main_runs = [init, sidecar], [main]
    pod_run._tick(pod_run.init_runs + pod_run.main_runs)
    assert started == ["sidecar", "main"]

# --- what `omgml status` reads through the tier's API (cluster_view.py) ---------------------------------
PART_OF = {"app.kubernetes.io/part-of": "omgml"}


def _workload(kind: str, name: str, ns: str, replicas: int = 1, **spec: Any) -> dict[str, Any]:
    labels = {**PART_OF, "app.kubernetes.io/name": name}
    template = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": name, "image": f"{name}:1.0"}],
                                                          "restartPolicy": "Never" if kind != "Deployment" else "Always"}}
    body: dict[str, Any] = {"template": template, **spec}
    if kind == "Deployment":
        body.update(replicas=replicas, selector={"matchLabels": labels})
    if kind == "CronJob":
        body = {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": template}}}
    api = {"Deployment": "apps/v1", "Job": "batch/v1", "CronJob": "batch/v1"}[kind]
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": ns, "labels": labels}, "spec": body}


class _Run:
    """A PodRun as cluster_view reads it."""

    def __init__(self, pod: Pod, phase: str, ready: bool, finished: float | None = None) -> None:
        import threading

        self.pod, self.phase, self.ready, self.message = pod, phase, ready, ""
        self.main_runs: list[Any] = []
        self.init_runs: list[Any] = []
        self.created_at, self.finished_at = 1_800_000_000.0, finished
        self.done = threading.Event()
        if finished is not None:
            self.done.set()


def _viewed_platform() -> Any:
    from types import SimpleNamespace

    from tests.conformance.harness.fixtures import operator_access
    from tests.conformance.harness.render import ConformanceRender, RenderedObject
    from tests.conformance.harness.runner import PlannedService

    objs = [("foundation", _workload("Deployment", "mlflow", "data", replicas=2)),
            ("serving", _workload("Deployment", "triton", "serving")),  # skipped by the tier: no pods
            ("foundation", _workload("Job", "buckets", "data", backoffLimit=0)),
            ("serving", _workload("CronJob", "drift", "serving")),
            ("foundation", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "mlflow", "namespace": "data",
                                                                                "labels": PART_OF},
                            "spec": {"selector": {"app.kubernetes.io/name": "mlflow"}, "ports": [{"port": 5000}]}}),
            ("fixtures", _workload("Deployment", "git", "outside"))]
    render = ConformanceRender(Path("."), "p", [], [RenderedObject(f"u{i}", ph, m) for i, (ph, m) in enumerate(objs)], [])
    render.add_fixtures(operator_access("orch", "169.254.0.1"))
    mlflow = pods_for(objs[0][1])
    runs = [_Run(mlflow[0], "Running", True), _Run(mlflow[1], "Running", False),
            _Run(pods_for(objs[2][1])[0], "Succeeded", False, finished=1_800_000_060.0),
            _Run(pods_for(objs[3][1])[0], "Succeeded", False, finished=1_800_000_030.0),
            _Run(pods_for(objs[5][1])[0], "Running", True)]
    plat = SimpleNamespace(render=render, pods={r.pod.key: r for r in runs}, api=None,
                           services=[PlannedService("mlflow", "data", False, {}, [], ip="169.254.100.7")])
    plat.job_runs = lambda obj: [r for r in runs if r.pod.owner_kind in ("Job", "CronJob")
                                 and r.pod.owner_name == obj.name and r.pod.namespace == obj.namespace]
    return plat


def test_the_view_gives_each_rendered_workload_the_status_its_runs_give() -> None:
    from tests.conformance.harness.cluster_view import view_objects

    plat = _viewed_platform()
    deployments = {d["metadata"]["name"]: d["status"] for d in view_objects(plat, "Deployment")}
    assert set(deployments) == {"mlflow", "triton"}  # the outside git server is not the platform's
    assert (deployments["mlflow"]["replicas"], deployments["mlflow"]["readyReplicas"]) == (2, 1)
    assert deployments["triton"]["readyReplicas"] == 0
    [job] = view_objects(plat, "Job")
    assert job["status"]["succeeded"] == 1 and job["status"]["conditions"][0]["type"] == "Complete"
    [cron] = view_objects(plat, "CronJob")
    assert cron["status"]["lastSuccessfulTime"] > cron["status"]["lastScheduleTime"]
    [svc] = view_objects(plat, "Service")
    assert svc["spec"]["clusterIP"] == "169.254.100.7"
    assert sorted(p["metadata"]["name"] for p in view_objects(plat, "Pod")) == [
        "buckets-run0", "drift-run0", "mlflow-0", "mlflow-1"]


def test_omgml_status_reads_the_view_through_the_api_as_the_operator_account() -> None:
    """The whole read path of `omgml status` (the Kubernetes client, label selectors, the
    operator's ClusterRole) against the tier's API server, over HTTP on loopback."""
    import threading
    from http.server import ThreadingHTTPServer

    from kubernetes import client

    from omgml.daytwo.status import StatusReport, cluster_state, problems
    from tests.conformance.harness.apiserver import ApiServer, Rbac, _Handler
    from tests.conformance.harness.cluster_view import view_objects
    from tests.conformance.harness.fixtures import OPERATOR

    plat = _viewed_platform()
    rbac = Rbac([o.manifest for o in plat.render.objects if o.kind in ("ClusterRole", "ClusterRoleBinding")])
    api = ApiServer(rbac, lambda m: lambda: {}, lambda ns, n: None, lambda ns, n, c: "",
                    view=lambda kind: view_objects(plat, kind))
    api.tokens["op"] = ("orch", OPERATOR)
    api.tokens["other"] = ("orch", "default")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.api = api  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        def report_as(token: str) -> StatusReport:
            cfg = client.Configuration(host=f"http://127.0.0.1:{server.server_address[1]}")
            cfg.api_key = {"authorization": token}
            cfg.api_key_prefix = {"authorization": "Bearer"}
            report = StatusReport("p", "local", None)
            cluster_state(client.ApiClient(cfg), report)
            return report

        report = report_as("op")
        assert [(w.name, w.ready, w.desired, w.images) for w in report.workloads] == [
            ("mlflow", 1, 2, ["mlflow:1.0"]), ("triton", 0, 1, ["triton:1.0"])]
        assert [(j.kind, j.name, j.state) for j in report.jobs] == [("Job", "buckets", "complete"),
                                                                     ("CronJob", "drift", "scheduled")]
        assert [(e.service, e.ports) for e in report.endpoints] == [("mlflow", [5000])]
        assert problems(report) == ["Deployment data/mlflow (mlflow): 1/2 ready",
                                    "Deployment serving/triton (triton): 0/1 ready"]
        with pytest.raises(client.ApiException) as denied:  # no ClusterRole bound: refused, as on a cluster
            report_as("other")
        assert denied.value.status == 403
    finally:
        server.shutdown()
        server.server_close()


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

"""The tier's kubelet and controllers: runs a render's pods as sandboxed processes.

`Platform` plans every pod of the render (names, IPs, DNS), creates the network, and brings the
phases up in order. Within a phase it follows the order Pulumi would: an object starts once every
object it depends on is ready (a Deployment/StatefulSet Available, a Job complete). Each pod runs
in its own thread (`PodRun`): volumes, init containers in order (native sidecars kept running),
then the containers, with startup/readiness/liveness probes as the kubelet runs them and the
pod's restart policy. `down()` stops everything — preStop hooks, SIGTERM, the grace period, SIGKILL
— and removes the namespaces, cgroups and files, also after a failure or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tests.conformance.harness import dns, kubernetes_sd, netpol
from tests.conformance.harness.network import (
    FIRST_POD,
    FIRST_SERVICE,
    HUB_IP,
    LAST_POD,
    LAST_SERVICE,
    Allow,
    Dnat,
    Network,
    address,
)
from tests.conformance.harness.pods import (
    FileSpec,
    ManifestProblem,
    Objects,
    Pod,
    command_line,
    container_env,
    objects_from,
    pods_for,
    projected_files,
    quantity,
)
from tests.conformance.harness.probes import ProbeSpec, node_probe, probe_spec, resolve_port
from tests.conformance.harness.render import ConformanceRender, RenderedObject
from tests.conformance.harness.sandbox import (
    ImageRuntime,
    LayerFile,
    Mount,
    SandboxSpec,
    build_layer,
    bwrap_argv,
    exec_argv,
    identity_for,
    prepare_claim_dir,
    prepare_empty_dir,
    read_only_root,
    write_files,
)

MEMORY_CGROUP_ROOT = Path("/sys/fs/cgroup/memory")
CA_BUNDLE_PATH = "/etc/ssl/certs/ca-certificates.crt"
SA_TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
SENTINEL_PORT = 1  # a port no policy names: "allowed on it" means "allowed on every port"
SCRIPTS_DIR = Path(__file__).resolve().parent.parent / "pod_scripts"
SCRIPTS_MOUNT = "/omgml-conformance/scripts"


class Skip(Exception):
    """A container whose software cannot run here; the reason goes into the summary."""


@dataclass
class Outcome:
    """One row of the summary table."""

    key: str
    kind: str
    phase: str
    images: list[str]
    how: str = ""  # exact | adapted | skipped
    versions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    status: str = "pending"  # ready | complete | failed | skipped | blocked | pending
    seconds: float = 0.0
    detail: str = ""


def _log(msg: str) -> None:
    print(f"[conformance {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- one container --------------------------------------------------------------------------
@dataclass
class ContainerRun:
    name: str
    spec: dict[str, Any]
    runtime: ImageRuntime
    sandbox: SandboxSpec
    log: Path
    cgroup: Path | None
    proc: subprocess.Popen[bytes] | None = None
    pid: int | None = None  # the container's first process (for exec)
    started_at: float = 0.0
    restarts: int = 0
    exit_code: int | None = None
    oom_killed: bool = False
    started: bool = False  # startup probe passed (or none)
    ready: bool = False
    probe_due: dict[str, float] = field(default_factory=dict)
    probe_fails: dict[str, int] = field(default_factory=dict)
    probe_passes: dict[str, int] = field(default_factory=dict)
    last_probe: dict[str, str] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def _read_child_pid(fd: int, timeout: float = 20.0) -> int | None:
    """bwrap writes {"child-pid": N} to --info-fd once the sandbox runs."""
    deadline = time.monotonic() + timeout
    data = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
        with contextlib.suppress(ValueError):
            return int(json.loads(data.decode())["child-pid"])
    return None


def start_container(run: ContainerRun) -> None:
    read_fd, write_fd = os.pipe()
    sandbox = SandboxSpec(**{**run.sandbox.__dict__, "info_fd": write_fd})
    argv = bwrap_argv(sandbox, run.cgroup)
    run.log.parent.mkdir(parents=True, exist_ok=True)
    with run.log.open("ab") as log:
        log.write(f"\n===== start {time.strftime('%H:%M:%S')} (restart {run.restarts})\n".encode())
        log.flush()
        run.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    pass_fds=(write_fd,), start_new_session=True)
    os.close(write_fd)
    try:
        run.pid = _read_child_pid(read_fd)
    finally:
        os.close(read_fd)
    run.started_at = time.monotonic()
    run.exit_code = None
    run.oom_killed = False
    run.started = "startupProbe" not in run.spec
    run.ready = False
    run.probe_due = {}
    run.probe_fails = {}
    run.probe_passes = {}


def stop_container(run: ContainerRun, grace: float) -> None:
    proc = run.proc
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)


def _oom_killed(cgroup: Path | None) -> bool:
    if cgroup is None:
        return False
    with contextlib.suppress(OSError):
        for line in (cgroup / "memory.oom_control").read_text().splitlines():
            if line.startswith("oom_kill ") and int(line.split()[1]) > 0:
                return True
    return False


# --- one pod ----------------------------------------------------------------------------------
class PodRun(threading.Thread):
    """A pod from creation to completion (Jobs) or until `stop()` (workloads)."""

    def __init__(self, platform: Platform, pod: Pod, restart_policy: str, one_shot: bool, retries: int = 6) -> None:
        super().__init__(name=f"pod-{pod.key}", daemon=True)
        self.platform = platform
        self.pod = pod
        self.restart_policy = restart_policy
        self.one_shot = one_shot
        self.retries = retries
        self.phase = "Pending"
        self.message = ""
        self.init_runs: list[ContainerRun] = []
        self.main_runs: list[ContainerRun] = []
        self.stopping = threading.Event()
        self.done = threading.Event()
        self.created_at = time.time()  # wall clock, for the API's view (a CronJob's last runs)
        self.finished_at: float | None = None

    # The pod is ready when every container is ready (a container without a readiness probe is
    # ready once started), as the kubelet's Ready condition.
    @property
    def ready(self) -> bool:
        return self.phase == "Running" and all(r.ready for r in self.main_runs) and bool(self.main_runs)

    @property
    def restarts(self) -> int:
        return sum(r.restarts for r in self.init_runs + self.main_runs)

    def container_run(self, name: str) -> ContainerRun:
        for r in self.main_runs + self.init_runs:
            if r.name == name:
                return r
        raise KeyError(f"pod {self.pod.key} has no running container {name!r}")

    def run(self) -> None:
        try:
            self._lifecycle()
        except (ManifestProblem, Skip) as exc:
            self.phase, self.message = "Failed", str(exc)
        except Exception as exc:  # a harness bug must still end the pod visibly
            self.phase, self.message = "Failed", f"{type(exc).__name__}: {exc}"
        finally:
            if self.phase in ("Pending", "Running") and self.stopping.is_set():
                self.phase = "Stopped"
            self.finished_at = time.time()
            self.done.set()

    def _lifecycle(self) -> None:
        p = self.platform
        spec = self.pod.spec
        for c in spec.get("initContainers", []) or []:
            run = p.container_run(self.pod, c)
            self.init_runs.append(run)
            sidecar = c.get("restartPolicy") == "Always"
            if sidecar:
                start_container(run)
                if not self._wait(lambda: self.init_runs[-1].started, float(p.timeout)):
                    raise ManifestProblem(f"native sidecar {c['name']} never passed its startup probe")
                continue
            if not self._run_to_completion(run):
                return
        self.main_runs = [p.container_run(self.pod, c) for c in spec["containers"]]
        for run in self.main_runs:
            start_container(run)
        self.phase = "Running"
        while not self.stopping.is_set():
            # _tick leaves finished init containers done; native sidecars keep running.
            self._tick(self.init_runs + self.main_runs)
            if self.one_shot and all(r.exit_code == 0 for r in self.main_runs):
                self.phase = "Succeeded"
                break
            if self.one_shot and self.restart_policy == "Never" and any(
                    r.exit_code not in (None, 0) for r in self.main_runs):
                self.phase = "Failed"
                failed = [r for r in self.main_runs if r.exit_code not in (None, 0)]
                self.message = "; ".join(f"{r.name} exited {r.exit_code}" for r in failed)
                break
            if self.one_shot and self.restart_policy == "OnFailure" and self.restarts > self.retries:
                self.phase = "Failed"
                self.message = f"container restarts exceeded the Job's backoffLimit ({self.retries})"
                break
            time.sleep(0.5)
        for r in self.init_runs:  # sidecars end with the pod
            stop_container(r, 5)

    def _run_to_completion(self, run: ContainerRun) -> bool:
        attempts = 0
        while not self.stopping.is_set():
            start_container(run)
            assert run.proc is not None
            while run.proc.poll() is None and not self.stopping.is_set():
                time.sleep(0.3)
            if self.stopping.is_set():
                return False
            run.exit_code = run.proc.returncode
            if run.exit_code == 0:
                return True
            attempts += 1
            if self.restart_policy == "Never" or attempts > self.retries:
                self.phase = "Failed"
                self.message = f"init container {run.name} exited {run.exit_code}"
                return False
            run.restarts += 1
            time.sleep(min(10.0, 2.0 * attempts))
        return False

    def _wait(self, cond: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stopping.is_set():
            self._tick(self.init_runs)
            if cond():
                return True
            time.sleep(0.5)
        return False

    def _tick(self, runs: list[ContainerRun]) -> None:
        now = time.monotonic()
        for run in runs:
            if run.proc is None:
                continue
            if run.proc.poll() is not None:
                if run.exit_code is None:
                    run.exit_code = run.proc.returncode
                    run.oom_killed = _oom_killed(run.cgroup)
                    run.ready = False
                    why = " (OOMKilled)" if run.oom_killed else ""
                    self.platform.event(self.pod, f"container {run.name} exited {run.exit_code}{why}")
                # A finished init container stays finished; only containers and native sidecars restart.
                restartable = run not in self.init_runs or run.spec.get("restartPolicy") == "Always"
                if restartable and (self.restart_policy == "Always"
                                    or (self.restart_policy == "OnFailure" and run.exit_code != 0)):
                    backoff = min(60.0, 5.0 * 2 ** min(run.restarts, 4))
                    if now - run.started_at > backoff:
                        run.restarts += 1
                        start_container(run)
                continue
            self._probe(run, now)

    def _probe(self, run: ContainerRun, now: float) -> None:
        c = run.spec
        order = ["startupProbe"] if not run.started else ["readinessProbe", "livenessProbe"]
        for kind in order:
            if kind not in c:
                if kind == "readinessProbe":
                    run.ready = True
                continue
            spec = probe_spec(c[kind])
            due = run.probe_due.get(kind, run.started_at + spec.initial_delay)
            if now < due:
                continue
            run.probe_due[kind] = now + spec.period
            ok, detail = self.platform.probe(self.pod, run, spec)
            run.last_probe[kind] = detail
            if ok:
                run.probe_fails[kind] = 0
                run.probe_passes[kind] = run.probe_passes.get(kind, 0) + 1
                if run.probe_passes[kind] >= spec.success_threshold:
                    if kind == "startupProbe":
                        run.started = True
                    elif kind == "readinessProbe":
                        run.ready = True
                continue
            run.probe_passes[kind] = 0
            run.probe_fails[kind] = run.probe_fails.get(kind, 0) + 1
            if run.probe_fails[kind] < spec.failure_threshold:
                continue
            if kind == "readinessProbe":
                run.ready = False
            else:  # startup or liveness failed: the kubelet restarts the container
                self.platform.event(self.pod, f"container {run.name} {kind} failed: {detail}; restarting")
                stop_container(run, 5)
                run.exit_code = run.proc.returncode if run.proc else None
                run.restarts += 1
                start_container(run)
            return

    def stop(self, grace: float) -> None:
        self.stopping.set()
        for run in self.main_runs:
            pre = (run.spec.get("lifecycle", {}) or {}).get("preStop", {}) or {}
            if run.running and "exec" in pre and run.pid is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    subprocess.run(exec_argv(run.pid, run.sandbox.identity, run.sandbox.env, run.sandbox.workdir,
                                             list(pre["exec"]["command"])),
                                   capture_output=True, timeout=grace, check=False)
        for run in self.main_runs + self.init_runs:
            stop_container(run, grace)
        self.done.wait(timeout=10)


# --- the platform ----------------------------------------------------------------------------
@dataclass
class PlannedService:
    name: str
    namespace: str
    headless: bool
    selector: dict[str, str]
    ports: list[dict[str, Any]]
    ip: str = ""


class Platform:
    """A render's pods on this machine. Use as a context manager: `down()` always runs."""

    def __init__(self, render: ConformanceRender, run_dir: Path,
                 runtime_for: Callable[[str], ImageRuntime], prefix: str,
                 software_root: Path, timeout: float = 300.0, enforce_memory: bool = True,
                 ca_bundle: str | None = None, ca_pem: str | None = None) -> None:
        self.render = render
        self.run_dir = run_dir
        self.runtime_for = runtime_for
        self.prefix = prefix
        self.timeout = timeout
        self.software_root = software_root
        # The CA bundle every pod's root filesystem holds (the tier's CA added: fixtures.py).
        self.ca_bundle = ca_bundle
        self.ca_pem = ca_pem
        self.network = Network(prefix)
        self.all_manifests = [o.manifest for o in render.objects]
        self.objects: Objects = objects_from(self.all_manifests)
        self.policies = [m for m in self.all_manifests if m["kind"] == "NetworkPolicy"]
        self.namespace_labels = netpol.namespace_labels_of(self.all_manifests)
        self.outcomes: dict[str, Outcome] = {}
        self.pods: dict[str, PodRun] = {}
        self.planned: dict[str, Pod] = {}  # long-running pods, planned up front (their IPs are in DNS)
        self.services: list[PlannedService] = []
        self.extra_endpoints: list[netpol.Endpoint] = []
        self.events: list[str] = []
        self._next_ip = 0
        self._lock = threading.Lock()
        self.cgroup_root = MEMORY_CGROUP_ROOT / prefix if enforce_memory and MEMORY_CGROUP_ROOT.is_dir() else None
        self.step_times: list[tuple[str, float]] = []
        self.sd_dir = run_dir / "sd"
        self.sd_wanted: list[tuple[str, list[str]]] = []
        self._sd_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        # Service-account tokens the pods got: token → (namespace, ServiceAccount); the tier's
        # API server (apiserver.py, when started) authenticates them.
        self.tokens: dict[str, tuple[str, str]] = {}
        self.api: Any = None

    # -- planning (pure apart from IP allocation) --
    def allocate_ip(self) -> str:
        with self._lock:
            ip = address(FIRST_POD, self._next_ip, LAST_POD)
            self._next_ip += 1
            return ip

    def plan(self) -> None:
        for obj in self.render.of_kind("Deployment", "StatefulSet"):
            for pod in pods_for(obj.manifest):
                pod.ip = self.allocate_ip()
                self.planned[pod.key] = pod
        for i, obj in enumerate(self.render.of_kind("Service")):
            spec = obj.manifest["spec"]
            svc = PlannedService(obj.name, obj.namespace, spec.get("clusterIP") == "None",
                                 dict(spec.get("selector") or {}), list(spec.get("ports") or []))
            if not svc.headless:
                svc.ip = address(FIRST_SERVICE, i, LAST_SERVICE)
            self.services.append(svc)

    def endpoints(self, svc: PlannedService) -> list[Pod]:
        if not svc.selector:
            return []
        return [p for p in self.planned.values()
                if p.namespace == svc.namespace and all(p.labels.get(k) == v for k, v in svc.selector.items())]

    def dns_for(self, pod: Pod) -> tuple[str, str]:
        services = [dns.ServiceRecord(s.name, s.namespace, (s.ip,) if not s.headless else
                                      tuple(p.ip for p in self.endpoints(s)))
                    for s in self.services]
        pods = [dns.PodRecord(p.name, p.namespace, p.ip, p.subdomain) for p in self.planned.values()]
        me = dns.PodRecord(pod.hostname, pod.namespace, pod.ip, pod.subdomain)
        return dns.hosts_file(me, services, pods), dns.resolv_conf(pod.namespace)

    def dnats(self) -> list[Dnat]:
        out = []
        for s in self.services:
            if s.headless:
                continue
            backends = self.endpoints(s)
            for port in s.ports:
                for pod in backends[:1]:  # one backend: the laptop profile runs one replica per Service
                    target = port.get("targetPort", port["port"])
                    try:
                        number = _target_port(pod, target)
                    except ValueError:
                        continue
                    out.append(Dnat(s.ip, str(port.get("protocol", "TCP")).lower(), int(port["port"]), pod.ip, number))
        return out

    def allows(self) -> list[Allow]:
        endpoints = [_endpoint(p) for p in self.planned.values()]
        endpoints += [_endpoint(r.pod) for r in self.pods.values() if r.pod.key not in self.planned]
        endpoints += self.extra_endpoints
        mentioned = {int(p["port"]) for pol in self.policies
                     for rule in (pol["spec"].get("ingress") or []) + (pol["spec"].get("egress") or [])
                     for p in rule.get("ports") or [] if isinstance(p.get("port"), int)}
        labels = dict(self.namespace_labels)
        for e in endpoints:  # namespaces outside the render carry only the API server's name label
            labels.setdefault(e.namespace, {"kubernetes.io/metadata.name": e.namespace})
        out = []
        for src in endpoints:
            for dst in endpoints:
                if netpol.allowed(self.policies, labels, src, dst, SENTINEL_PORT):
                    out.append(Allow(src.ip, dst.ip, "tcp", None))
                    continue
                ports = {n for _, n, _ in dst.ports} | mentioned
                for port in sorted(ports):
                    if netpol.allowed(self.policies, labels, src, dst, port):
                        out.append(Allow(src.ip, dst.ip, "tcp", port))
        return out

    def apply_network(self) -> None:
        self.network.apply(self.dnats(), self.allows())

    # -- lifecycle --
    def __enter__(self) -> Platform:
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    def start(self) -> None:
        started = time.monotonic()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.plan()
        self.network.create()
        if self.cgroup_root is not None:
            self.cgroup_root.mkdir(exist_ok=True)
        self.apply_network()
        self._start_service_discovery()
        self.step_times.append(("network + plan", time.monotonic() - started))

    # -- Prometheus' Kubernetes discovery, from the tier's pods (kubernetes_sd.py) --
    def _start_service_discovery(self) -> None:
        self.sd_dir.mkdir(parents=True, exist_ok=True)
        for cm in self.objects.configmaps.values():
            if "prometheus.yml" in cm:
                text, self.sd_wanted = kubernetes_sd.rewrite_config(cm["prometheus.yml"])
                (self.sd_dir / "prometheus.yml").write_text(text)
        self.write_service_discovery()
        if self.sd_wanted:
            self._sd_thread = threading.Thread(target=self._sd_loop, name="service-discovery", daemon=True)
            self._sd_thread.start()

    def _sd_loop(self) -> None:
        while not self._stopping.wait(2.0):
            self.write_service_discovery()

    def sd_state(self) -> tuple[list[kubernetes_sd.SdService], list[kubernetes_sd.SdPod]]:
        services = []
        for obj in self.render.of_kind("Service"):
            meta, spec = obj.manifest["metadata"], obj.manifest["spec"]
            services.append(kubernetes_sd.SdService(obj.name, obj.namespace, dict(meta.get("labels") or {}),
                                                    dict(meta.get("annotations") or {}),
                                                    dict(spec.get("selector") or {}), list(spec.get("ports") or [])))
        pods = []
        for run in list(self.pods.values()):
            phase = {"Running": "Running", "Succeeded": "Succeeded", "Failed": "Failed"}.get(run.phase, "Pending")
            kind = {"Deployment": "ReplicaSet", "StatefulSet": "StatefulSet"}.get(run.pod.owner_kind, run.pod.owner_kind)
            pods.append(kubernetes_sd.SdPod(run.pod, run.ready, phase, kind))
        return services, pods

    def write_service_discovery(self) -> None:
        services, pods = self.sd_state()
        for role, namespaces in self.sd_wanted:
            path = self.sd_dir / kubernetes_sd.sd_file_name(role, namespaces)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(kubernetes_sd.groups_for(role, namespaces, services, pods), sort_keys=True))
            os.chmod(tmp, 0o644)
            tmp.replace(path)

    def event(self, pod: Pod, text: str) -> None:
        line = f"{pod.key}: {text}"
        self.events.append(line)
        _log(line)

    def container_run(self, pod: Pod, c: dict[str, Any]) -> ContainerRun:
        runtime = self.runtime_for(c["image"])
        env = dict(runtime.env)
        env.update(container_env(pod, c, self.objects))
        env.setdefault("HOSTNAME", pod.hostname)
        ident = identity_for(pod, c, runtime)
        env.setdefault("HOME", "/")
        argv = command_line(c, env, list(runtime.entrypoint), list(runtime.cmd))
        pod_dir = self.run_dir / "pods" / pod.namespace / pod.name
        mounts = self._mounts(pod, c, pod_dir)
        mounts += self._service_account_token(pod, mounts, pod_dir)
        # The kubelet gives every container the API server's address, service links or not.
        env.setdefault("KUBERNETES_SERVICE_HOST", HUB_IP)
        env.setdefault("KUBERNETES_SERVICE_PORT", "443")
        hosts, resolv = self.dns_for(pod)
        etc = pod_dir / "etc"
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "hosts").write_text(hosts)
        (etc / "resolv.conf").write_text(resolv)
        (etc / "hostname").write_text(pod.hostname + "\n")
        # The installed software is read at its own path (venv shebangs and launchers name it).
        binds = [(str(self.software_root), str(self.software_root)), *runtime.binds, (str(SCRIPTS_DIR), SCRIPTS_MOUNT),
                 (str(self.sd_dir), kubernetes_sd.SD_DIR)]
        layer = pod_dir / "layers" / c["name"]
        if self.ca_bundle is not None:
            runtime = replace(runtime, files=(*runtime.files, LayerFile(CA_BUNDLE_PATH, self.ca_bundle)))
        build_layer(layer, runtime,
                    [t for h, t in binds if Path(h).is_dir()] + [m.target for m in mounts if m.source.is_dir()],
                    ["/etc/hosts", "/etc/resolv.conf", "/etc/hostname"] + [t for h, t in binds if not Path(h).is_dir()]
                    + [m.target for m in mounts if not m.source.is_dir()])
        sandbox = SandboxSpec(self.netns_of(pod), pod.hostname, argv, env, ident, c.get("workingDir") or runtime.workdir,
                              mounts, {"/etc/hosts": etc / "hosts", "/etc/resolv.conf": etc / "resolv.conf",
                                       "/etc/hostname": etc / "hostname"},
                              read_only_root(c), layer, binds=[(h, t) for h, t in binds])
        return ContainerRun(c["name"], c, runtime, sandbox, self.run_dir / "logs" / f"{pod.namespace}.{pod.name}.{c['name']}.log",
                            self._cgroup(pod, c))

    def _service_account_token(self, pod: Pod, mounts: list[Mount], pod_dir: Path) -> list[Mount]:
        """The projected token volume the kubelet mounts unless automountServiceAccountToken is
        false. The token is a stand-in: the tier runs no API server to accept it."""
        if not automount_token(pod, self.render) or any(m.target == SA_TOKEN_DIR for m in mounts):
            return []
        source = pod_dir / "serviceaccount"
        token = secrets.token_urlsafe(48)
        self.tokens[token] = (pod.namespace, str(pod.spec.get("serviceAccountName") or "default"))
        if self.api is not None:
            self.api.tokens[token] = self.tokens[token]
        files = [FileSpec("token", token, 0o644), FileSpec("namespace", pod.namespace, 0o644),
                 FileSpec("ca.crt", self.ca_pem or "", 0o644)]
        write_files(source, files, (pod.spec.get("securityContext") or {}).get("fsGroup"))
        return [Mount(source, SA_TOKEN_DIR, True)]

    def _cgroup(self, pod: Pod, c: dict[str, Any]) -> Path | None:
        limit = ((c.get("resources") or {}).get("limits") or {}).get("memory")
        if self.cgroup_root is None or limit is None:
            return None
        cg = self.cgroup_root / f"{pod.namespace}.{pod.name}.{c['name']}"
        cg.mkdir(exist_ok=True)
        (cg / "memory.limit_in_bytes").write_text(str(int(quantity(limit))))
        return cg

    def _mounts(self, pod: Pod, c: dict[str, Any], pod_dir: Path) -> list[Mount]:
        fs_group = (pod.spec.get("securityContext") or {}).get("fsGroup")
        volumes = {v["name"]: v for v in pod.spec.get("volumes", []) or []}
        out = []
        for vm in c.get("volumeMounts", []) or []:
            name = vm["name"]
            vol = volumes.get(name)
            if name in pod.claims:
                source = self.run_dir / "claims" / pod.namespace / pod.claims[name]
                prepare_claim_dir(source, fs_group)
            elif vol is None:
                raise ManifestProblem(f"pod {pod.key} container {c['name']} mounts {name!r}, which is not a volume")
            elif "emptyDir" in vol:
                source = pod_dir / "volumes" / name
                if not source.exists():
                    prepare_empty_dir(source, fs_group)
            else:
                files = projected_files(pod, vol, self.objects)
                if files is None:
                    raise ManifestProblem(f"pod {pod.key}: volume {name} has a type the tier does not run: {sorted(vol)}")
                source = pod_dir / "volumes" / name
                write_files(source, files, fs_group)
            if vm.get("subPath"):
                source = source / vm["subPath"]
                if not source.exists():
                    source.mkdir(parents=True)
            out.append(Mount(source, vm["mountPath"], bool(vm.get("readOnly"))
                             or any(k in (vol or {}) for k in ("configMap", "secret", "projected"))))
        return out

    def netns_of(self, pod: Pod) -> str:
        link = self.network.links.get(pod.key)
        if link is None:
            link = self.network.add_pod(pod.key, pod.ip)
        return link.netns

    def probe(self, pod: Pod, run: ContainerRun, spec: ProbeSpec) -> tuple[bool, str]:
        if spec.kind == "exec":
            if run.pid is None:
                return False, "no sandbox pid"
            argv = exec_argv(run.pid, run.sandbox.identity, run.sandbox.env, run.sandbox.workdir,
                             list(spec.body["command"]))
            try:
                out = subprocess.run(argv, capture_output=True, text=True, timeout=spec.timeout + 5, check=False)
            except subprocess.TimeoutExpired:
                return False, "timed out"
            return out.returncode == 0, (out.stdout + out.stderr).strip()[-300:] or f"exit {out.returncode}"
        if spec.kind in ("httpGet", "tcpSocket"):
            return node_probe(self.network.hub, spec, pod.ip, run.spec)
        if spec.kind == "grpc":
            return node_probe(self.network.hub, spec, pod.ip, run.spec, grpc_probe=self.grpc_probe(pod))
        raise ManifestProblem(f"pod {pod.key}: {spec.kind} probes are not supported by the tier")

    def grpc_probe(self, pod: Pod) -> str:
        """The tier's gRPC prober (software.toml piece grpc-health-probe)."""
        from tests.conformance.harness.software import Unavailable, locate

        found = locate("grpc-health-probe", self.software_root)
        if isinstance(found, Unavailable):
            raise ManifestProblem(f"pod {pod.key}: a gRPC probe needs the grpc-health-probe piece: {found.reason}")
        return str(found.bins["grpc_health_probe"])

    def start_pod(self, pod: Pod, restart_policy: str, one_shot: bool, retries: int = 6) -> PodRun:
        if not pod.ip:
            pod.ip = self.allocate_ip()
        self.netns_of(pod)
        self.pods[pod.key] = run = PodRun(self, pod, restart_policy, one_shot, retries)
        self.apply_network()
        run.start()
        return run

    # -- objects in Pulumi's order --
    def up(self, phases: list[str] | None = None) -> None:
        for phase in phases or ["fixtures", *self.render.phases]:
            started = time.monotonic()
            self._up_phase(phase)
            self.step_times.append((f"phase {phase} up", time.monotonic() - started))

    def _up_phase(self, phase: str) -> None:
        runnable = [o for o in self.render.objects if o.phase == phase and o.kind in ("Deployment", "StatefulSet", "Job")]
        by_urn = {o.urn: o for o in self.render.objects}
        done: set[str] = {o.urn for o in self.render.objects if o.kind not in ("Deployment", "StatefulSet", "Job")}
        done |= {o.urn for o in self.render.objects if o.phase != phase and o.key in self.outcomes
                 and self.outcomes[o.key].status in ("ready", "complete")}
        failed: set[str] = set()
        active: dict[str, tuple[RenderedObject, float]] = {}
        pending = list(runnable)
        while pending or active:
            for obj in list(pending):
                waits = {u for u in obj.waits_for if u in by_urn}
                blockers = waits & failed
                if blockers:
                    out = self.outcome(obj)
                    out.status = "blocked"
                    out.detail = "waits for " + ", ".join(sorted(by_urn[u].key for u in blockers))
                    failed.add(obj.urn)
                    pending.remove(obj)
                    continue
                if waits <= done:
                    pending.remove(obj)
                    if self._start_object(obj):
                        active[obj.urn] = (obj, time.monotonic())
                    else:
                        failed.add(obj.urn)
            for urn, (obj, since) in list(active.items()):
                status = self._object_status(obj)
                out = self.outcome(obj)
                if status in ("ready", "complete"):
                    out.status, out.seconds = status, time.monotonic() - since
                    _log(f"{obj.key}: {status} in {out.seconds:.1f}s")
                    done.add(urn)
                    del active[urn]
                elif status == "failed" or time.monotonic() - since > self.timeout:
                    out.status = "failed"
                    out.seconds = time.monotonic() - since
                    out.detail = self._failure_detail(obj) if status == "failed" else (
                        f"not {'complete' if obj.kind == 'Job' else 'ready'} after {self.timeout:.0f}s; "
                        + self._failure_detail(obj))
                    _log(f"{obj.key}: FAILED — {out.detail}")
                    failed.add(urn)
                    del active[urn]
            if not active and pending and not any(
                    {u for u in o.waits_for if u in by_urn} <= done for o in pending):
                for obj in pending:
                    self.outcome(obj).status = "blocked"
                break
            time.sleep(0.5)

    def outcome(self, obj: RenderedObject) -> Outcome:
        if obj.key not in self.outcomes:
            images = [c["image"] for c in (obj.manifest["spec"].get("template") or
                                           obj.manifest["spec"].get("jobTemplate", {}).get("spec", {}).get("template", {}))
                      .get("spec", {}).get("containers", [])]
            self.outcomes[obj.key] = Outcome(obj.key, obj.kind, obj.phase, images)
        return self.outcomes[obj.key]

    def _start_object(self, obj: RenderedObject) -> bool:
        out = self.outcome(obj)
        template = (obj.manifest["spec"].get("template") or {}).get("spec", {})
        try:
            # Main containers first: a skipped pod names the software it is for, not a helper's.
            runtimes = [self.runtime_for(c["image"])
                        for c in template.get("containers", []) + (template.get("initContainers") or [])]
        except Skip as exc:
            out.how, out.status, out.detail = "skipped", "skipped", str(exc)
            _log(f"{obj.key}: skipped — {exc}")
            return False
        out.how = "adapted" if any(r.how == "adapted" for r in runtimes) else "exact"
        out.versions = sorted({f"{r.software} {r.version}" for r in runtimes})
        out.notes = sorted({r.note for r in runtimes if r.note})
        _log(f"{obj.key}: starting ({out.how}; {', '.join(out.versions)})")
        if obj.kind == "Job":
            self.run_job(obj)
            return True
        for pod in pods_for(obj.manifest):
            planned = self.planned[pod.key]
            self.start_pod(planned, "Always", one_shot=False)
        return True

    def job_runs(self, obj: RenderedObject) -> list[PodRun]:
        return [r for r in self.pods.values() if r.pod.owner_kind in ("Job", "CronJob")
                and r.pod.owner_name == obj.name and r.pod.namespace == obj.namespace]

    def run_job(self, obj: RenderedObject) -> PodRun:
        """Start one run of a Job (or a CronJob's job template), as the Job controller would."""
        runs = self.job_runs(obj)
        pod = pods_for(obj.manifest, run=len(runs))[0]
        spec = obj.manifest["spec"]
        job_spec = spec["jobTemplate"]["spec"] if obj.kind == "CronJob" else spec
        policy = job_spec["template"]["spec"].get("restartPolicy", "Never")
        return self.start_pod(pod, policy, one_shot=True, retries=int(job_spec.get("backoffLimit", 6)))

    def wait_job(self, run: PodRun, timeout: float | None = None) -> PodRun:
        started = time.monotonic()
        run.done.wait(timeout=timeout or self.timeout)
        if run.pod.owner_kind == "CronJob":  # CronJobs run when a test runs them: record it
            obj = self.render.get("CronJob", run.pod.namespace, run.pod.owner_name)
            out = self.outcome(obj)
            runtimes = [self.runtime_for(c["image"]) for c in run.pod.containers()]
            out.how = "adapted" if any(r.how == "adapted" for r in runtimes) else "exact"
            out.versions = sorted({f"{r.software} {r.version}" for r in runtimes})
            out.status = "complete" if run.phase == "Succeeded" else "failed"
            out.seconds = time.monotonic() - started
            out.detail = "" if run.phase == "Succeeded" else run.message
        return run

    def _object_status(self, obj: RenderedObject) -> str:
        if obj.kind == "Job":
            runs = self.job_runs(obj)
            if any(r.phase == "Succeeded" for r in runs):
                return "complete"
            if runs and all(r.done.is_set() for r in runs):
                backoff = int(obj.manifest["spec"].get("backoffLimit", 6))
                if len(runs) > backoff:
                    return "failed"
                self.run_job(obj)  # the Job controller creates a new pod for a failed one
            return "running"
        runs = [self.pods[p.key] for p in pods_for(obj.manifest) if p.key in self.pods]
        if runs and all(r.ready for r in runs):
            return "ready"
        if any(r.phase == "Failed" for r in runs):
            return "failed"
        return "running"

    def _failure_detail(self, obj: RenderedObject) -> str:
        runs = self.job_runs(obj) if obj.kind == "Job" else [self.pods[p.key] for p in pods_for(obj.manifest)
                                                               if p.key in self.pods]
        parts = []
        for r in runs[-1:] if obj.kind == "Job" else runs:
            parts.append(f"pod {r.pod.name} {r.phase} {r.message}".strip())
            for c in r.init_runs + r.main_runs:
                bits = [f"restarts={c.restarts}"]
                if c.exit_code is not None:
                    bits.append(f"exit={c.exit_code}{' OOMKilled' if c.oom_killed else ''}")
                bits += [f"{k}: {v}" for k, v in c.last_probe.items()]
                parts.append(f"  {c.name}: {'; '.join(bits)}; log {c.log}")
                parts.append("    | " + "\n    | ".join(tail(c.log, 12)))
        return "\n".join(parts)

    # -- what the tests use --
    def pod_run(self, kind: str, name: str, namespace: str | None = None) -> PodRun:
        for r in self.pods.values():
            if r.pod.owner_kind == kind and r.pod.owner_name == name and (namespace is None or r.pod.namespace == namespace):
                return r
        raise KeyError(f"no running pod of {kind} {name}")

    def exec(self, kind: str, name: str, argv: list[str], container: str | None = None,
             timeout: float = 60, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
        """`kubectl exec` into a workload's first pod."""
        run = self.pod_run(kind, name)
        c = run.container_run(container) if container else run.main_runs[0]
        if c.pid is None:
            raise RuntimeError(f"{name}/{c.name} has no running sandbox")
        return subprocess.run(exec_argv(c.pid, c.sandbox.identity, c.sandbox.env, c.sandbox.workdir, argv),
                              input=input_text, capture_output=True, text=True, timeout=timeout, check=False)

    def client(self, namespace: str, image: str, argv: list[str], env: dict[str, str] | None = None,
               labels: dict[str, str] | None = None, timeout: float = 300,
               files: dict[str, str] | None = None, service_account: str | None = None) -> tuple[int, str]:
        """A one-shot pod the test brings (a user's notebook, a pipeline step): it runs `argv` in
        `namespace` with `labels`, under the same DNS and NetworkPolicies; returns (exit code, output).
        `files` (path → text) appear read-only in the pod, like a mounted ConfigMap; the pod runs
        as `service_account` (default: the namespace's `default`)."""
        name = f"client-{len([k for k in self.pods if '/client-' in k])}"
        volumes, mounts, data = [], [], {}
        for i, (path, text) in enumerate(sorted((files or {}).items())):
            data[f"f{i}"] = text
            mounts.append({"name": "files", "mountPath": path, "subPath": f"f{i}", "readOnly": True})
        if files:
            self.objects.configmaps[(namespace, name)] = data
            volumes.append({"name": "files", "configMap": {"name": name}})
        spec = {"restartPolicy": "Never", "volumes": volumes,
                "securityContext": {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000, "runAsNonRoot": True},
                "containers": [{"name": "client", "image": image, "command": argv,
                                "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
                                "volumeMounts": mounts,
                                "securityContext": {"readOnlyRootFilesystem": False}}]}
        if service_account:
            spec["serviceAccountName"] = service_account
        pod = Pod(name, namespace, {"app.kubernetes.io/name": "conformance-client", **(labels or {})}, {}, spec,
                  "Client", name, name)
        run = self.start_pod(pod, "Never", one_shot=True, retries=0)
        finished = run.done.wait(timeout=timeout)
        if not finished:
            run.stop(5)
        log = run.main_runs[0].log if run.main_runs else None
        output = log.read_text(errors="replace") if log and log.exists() else run.message
        code = run.main_runs[0].exit_code if run.main_runs and finished else -1
        return (code if code is not None else -1), output

    # -- pods the platform's own controllers create through the tier's API server --
    def start_api_server(self, cert: Path, key: Path) -> Any:
        """Serve the tier's Kubernetes API (apiserver.py) on the hub's address, where every pod's
        KUBERNETES_SERVICE_HOST points, authorizing by the render's RBAC objects."""
        from tests.conformance.harness.apiserver import ApiServer, Rbac
        from tests.conformance.harness.cluster_view import view_objects

        rbac = Rbac([o.manifest for o in self.render.objects
                     if o.kind in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")])
        self.api = ApiServer(rbac, self.run_api_pod, self.stop_api_pod, self.api_pod_log,
                             view=lambda kind: view_objects(self, kind))
        self.api.tokens.update(self.tokens)
        self.api.start(self.network.hub, HUB_IP, 443, cert, key)
        return self.api

    def run_api_pod(self, manifest: dict[str, Any]) -> Callable[[], dict[str, Any]]:
        meta, spec = manifest["metadata"], manifest["spec"]
        owner = (meta.get("ownerReferences") or [{}])[0]
        pod = Pod(meta["name"], meta["namespace"], dict(meta.get("labels") or {}), dict(meta.get("annotations") or {}),
                  spec, str(owner.get("kind") or "ApiPod"), str(owner.get("name") or meta["name"]), meta["name"],
                  claims={v["name"]: v["persistentVolumeClaim"]["claimName"] for v in spec.get("volumes", []) or []
                          if "persistentVolumeClaim" in v})
        policy = str(spec.get("restartPolicy") or "Always")
        _log(f"API: pod {pod.key} created ({owner.get('kind') or 'bare pod'})")
        run = self.start_pod(pod, policy, one_shot=policy != "Always", retries=0)
        return lambda: api_pod_status(run)

    def stop_api_pod(self, namespace: str, name: str) -> None:
        run = self.pods.get(f"{namespace}/{name}")
        if run is not None and not run.done.is_set():
            threading.Thread(target=run.stop, args=(10.0,), daemon=True).start()

    def api_pod_log(self, namespace: str, name: str, container: str | None) -> str:
        run = self.pods.get(f"{namespace}/{name}")
        if run is None:
            return ""
        runs = [r for r in run.main_runs + run.init_runs if container in (None, r.name)]
        return runs[0].log.read_text(errors="replace") if runs and runs[0].log.exists() else ""

    def restart_workload(self, kind: str, name: str, namespace: str | None = None, *, wipe_claims: bool = False,
                         timeout: float | None = None) -> list[Path]:
        """Stop a Deployment's or StatefulSet's pods (preStop, SIGTERM, the grace period), with
        `wipe_claims` empty their volume claims (a lost volume: the folders stay, their contents
        go), start the same pods again and wait until they are ready. Returns the wiped folders."""
        runs = [r for r in self.pods.values() if r.pod.owner_kind == kind and r.pod.owner_name == name
                and (namespace is None or r.pod.namespace == namespace)]
        if not runs:
            raise KeyError(f"no running pod of {kind} {name}")
        wiped: list[Path] = []
        for r in runs:
            r.stop(min(20.0, float(r.pod.spec.get("terminationGracePeriodSeconds", 30))))
            if wipe_claims:
                for folder in claim_dirs(self.run_dir, r.pod):
                    wipe_dir(folder)
                    wiped.append(folder)
        fresh = [self.start_pod(self.planned[r.pod.key], "Always", one_shot=False) for r in runs]
        deadline = time.monotonic() + (timeout or self.timeout)
        while not all(f.ready for f in fresh):
            if time.monotonic() > deadline or any(f.phase == "Failed" for f in fresh):
                raise RuntimeError(f"{kind} {name} is not ready again: "
                                   + "; ".join(f"{f.pod.key} {f.phase} {f.message}" for f in fresh))
            time.sleep(0.5)
        return wiped

    def service_ip(self, name: str, namespace: str) -> str:
        for s in self.services:
            if s.name == name and s.namespace == namespace:
                return s.ip or self.endpoints(s)[0].ip
        raise KeyError(f"no Service {namespace}/{name} in the render")

    def down(self) -> None:
        started = time.monotonic()
        self._stopping.set()
        if self.api is not None:
            self.api.stop()
        runs = list(self.pods.values())
        threads = [threading.Thread(target=r.stop, args=(min(20.0, float(
            r.pod.spec.get("terminationGracePeriodSeconds", 30))),)) for r in runs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        problems = self.network.destroy() if self.network.created else []
        if self.cgroup_root is not None:
            problems += remove_cgroups(self.cgroup_root)
        for p in problems:
            _log(f"cleanup: {p}")
        self.step_times.append(("down", time.monotonic() - started))


def claim_dirs(run_dir: Path, pod: Pod) -> list[Path]:
    """The folders holding a pod's PersistentVolumeClaims in a run (what `_mounts` binds)."""
    return [run_dir / "claims" / pod.namespace / claim for claim in sorted(set(pod.claims.values()))]


def wipe_dir(path: Path) -> int:
    """Delete everything inside `path`, keeping the folder with its owner and mode (a volume whose
    data is lost, not the volume itself); returns how many entries were removed."""
    if not path.is_dir():
        return 0
    removed = 0
    for entry in path.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
        removed += 1
    return removed


def remove_cgroups(root: Path, wait: float = 15.0) -> list[str]:
    """Remove a run's memory cgroups. A cgroup empties a moment after its last process exits,
    so removal is retried for a bounded time."""
    deadline = time.monotonic() + wait
    while root.exists():
        for cg in [p for p in root.iterdir() if p.is_dir()]:
            with contextlib.suppress(OSError):
                cg.rmdir()
        with contextlib.suppress(OSError):
            root.rmdir()
        if not root.exists() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return [f"cgroup {root} could not be removed"] if root.exists() else []


def automount_token(pod: Pod, render: ConformanceRender) -> bool:
    """Whether the kubelet mounts a service-account token: the pod's field, else its
    ServiceAccount's automountServiceAccountToken (the ServiceAccount admission plugin's rule)."""
    field_value = pod.spec.get("automountServiceAccountToken")
    if field_value is not None:
        return bool(field_value)
    name = pod.spec.get("serviceAccountName") or "default"
    for o in render.of_kind("ServiceAccount"):
        if o.name == name and o.namespace == pod.namespace:
            return o.manifest.get("automountServiceAccountToken") is not False
    return True


def api_pod_status(run: PodRun) -> dict[str, Any]:
    """A pod's status as the kubelet reports it: phase and one state per container."""
    phase = {"Stopped": "Failed"}.get(run.phase, run.phase)
    statuses = []
    for c in run.main_runs:
        if c.running:
            state: dict[str, Any] = {"running": {}}
        elif c.exit_code is not None:
            state = {"terminated": {"exitCode": c.exit_code,
                                    "reason": "OOMKilled" if c.oom_killed else "Completed" if c.exit_code == 0 else "Error"}}
        else:
            state = {"waiting": {"reason": "ContainerCreating"}}
        statuses.append({"name": c.name, "ready": c.ready, "restartCount": c.restarts, "state": state,
                         "image": c.spec.get("image", ""), "imageID": "", "started": c.running})
    status: dict[str, Any] = {"phase": phase, "podIP": run.pod.ip, "containerStatuses": statuses}
    if run.message:
        status["message"] = run.message
    return status


def _target_port(pod: Pod, target: int | str) -> int:
    if isinstance(target, int) or str(target).isdigit():
        return int(target)
    for c in pod.containers():
        with contextlib.suppress(ValueError):
            return resolve_port(target, c)
    raise ValueError(f"pod {pod.key} has no port named {target!r}")


def _endpoint(pod: Pod) -> netpol.Endpoint:
    ports = tuple((str(p.get("name", "")), int(p["containerPort"]), str(p.get("protocol", "TCP")))
                  for c in pod.containers() for p in c.get("ports", []) or [])
    return netpol.Endpoint(pod.namespace, tuple(sorted(pod.labels.items())), pod.ip, ports)


def tail(path: Path, lines: int) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ["(no log)"]


@contextlib.contextmanager
def running(platform: Platform) -> Iterator[Platform]:
    """Start the platform and always tear it down (also on Ctrl-C: SIGINT → KeyboardInterrupt)."""
    try:
        platform.start()
        yield platform
    finally:
        platform.down()


def remove_run_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)

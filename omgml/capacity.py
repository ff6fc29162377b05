"""Resource requests of a render, per phase and per workload (pure, over manifests)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_CPU = re.compile(r"^(\d+(?:\.\d+)?)(m?)$")
_MEM_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
              "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_MEM = re.compile(r"^(\d+(?:\.\d+)?)([kMGT]i?|)$")

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


def cpu_millicores(q: str | int | float) -> int:
    m = _CPU.match(str(q))
    if not m:
        raise ValueError(f"not a CPU quantity: {q!r}")
    value = float(m.group(1))
    return round(value if m.group(2) == "m" else value * 1000)


def memory_bytes(q: str | int | float) -> int:
    m = _MEM.match(str(q))
    if not m:
        raise ValueError(f"not a memory quantity: {q!r}")
    return int(float(m.group(1)) * _MEM_UNITS[m.group(2)])


@dataclass(frozen=True)
class WorkloadRequest:
    kind: str
    namespace: str
    name: str
    replicas: int
    cpu_m: int  # total over replicas (steady-state containers; init containers don't add up)
    memory_b: int
    gpus: int
    storage_b: int  # volumeClaimTemplates × replicas


def _pod_spec(m: dict[str, Any]) -> dict[str, Any]:
    spec = m.get("spec", {})
    if m["kind"] == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    return dict(spec.get("template", {}).get("spec", {}))


CHILD_PODS = "omgml.dev/child-pods"


def _template_annotations(m: dict[str, Any]) -> dict[str, str]:
    spec = m.get("spec", {})
    if m["kind"] == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    return dict(spec.get("template", {}).get("metadata", {}).get("annotations") or {})


def workload_requests(m: dict[str, Any], daemonset_nodes: int = 1) -> WorkloadRequest | None:
    if m.get("kind") not in WORKLOAD_KINDS:
        return None
    ps = _pod_spec(m)
    if m["kind"] == "DaemonSet":
        replicas = daemonset_nodes
    elif m["kind"] in ("Job", "CronJob"):
        spec = m["spec"] if m["kind"] == "Job" else m["spec"].get("jobTemplate", {}).get("spec", {})
        replicas = int(spec.get("parallelism", 1))
    else:
        replicas = int(m["spec"].get("replicas", 1))
    cpu = mem = gpu = 0
    for c in ps.get("containers", []):
        req = c.get("resources", {}).get("requests", {})
        lim = c.get("resources", {}).get("limits", {})
        cpu += cpu_millicores(req.get("cpu", 0))
        mem += memory_bytes(req.get("memory", 0))
        gpu += int(lim.get("nvidia.com/gpu", req.get("nvidia.com/gpu", 0)))
    # Init containers run before the app containers: the pod reserves the larger of the two.
    for c in ps.get("initContainers", []):
        req = c.get("resources", {}).get("requests", {})
        cpu = max(cpu, cpu_millicores(req.get("cpu", 0)))
        mem = max(mem, memory_bytes(req.get("memory", 0)))
    # Pods the workload starts at run time (a Spark driver's executors), declared on its pod
    # template as omgml.dev/child-pods: {"count", "cpu", "memory"} per pod.
    children = _template_annotations(m).get(CHILD_PODS)
    if children:
        spec_children = json.loads(children)
        count = int(spec_children["count"])
        cpu += count * cpu_millicores(spec_children["cpu"])
        mem += count * memory_bytes(spec_children["memory"])
    storage = 0
    for vct in m.get("spec", {}).get("volumeClaimTemplates", []) or []:
        storage += memory_bytes(vct.get("spec", {}).get("resources", {}).get("requests", {}).get("storage", 0))
    meta = m.get("metadata", {})
    return WorkloadRequest(m["kind"], str(meta.get("namespace", "")), str(meta.get("name", "")), replicas,
                           cpu * replicas, mem * replicas, gpu * replicas, storage * replicas)


def total_requests(items: list[dict[str, Any]], include_batch: bool = False) -> tuple[int, int, int]:
    """(millicores, bytes, gpus) of the long-running workloads (Jobs/CronJobs only if asked)."""
    cpu = mem = gpu = 0
    for m in items:
        w = workload_requests(m)
        if w is None or (w.kind in ("Job", "CronJob") and not include_batch):
            continue
        cpu, mem, gpu = cpu + w.cpu_m, mem + w.memory_b, gpu + w.gpus
    return cpu, mem, gpu


# --- capacity report: requests per phase and per workload against a budget ------------------

GIB = 2**30


@dataclass(frozen=True)
class Budget:
    """What the cluster can give the platform's steady-state requests (None: unbounded)."""

    cpu_m: int | None
    memory_b: int | None
    gpus: int | None
    source: str  # where the numbers come from, printed next to them


# The laptop budget covers all three phases together; bigger profiles size their node groups
# from the spec, so they have no fixed budget unless the user gives one.
PROFILE_BUDGETS: dict[str, Budget] = {
    "laptop": Budget(4000, 8 * GIB, 0, "laptop profile default (4 CPU / 8 GiB / no GPU)"),
}


def budget_for(profile: str, cpu: float | None = None, memory_gib: float | None = None,
               gpus: int | None = None) -> Budget | None:
    """The profile's budget with any user override applied (None when there is nothing to check)."""
    base = PROFILE_BUDGETS.get(profile)
    if base is None and cpu is None and memory_gib is None and gpus is None:
        return None
    base = base or Budget(None, None, None, f"{profile} profile (no default)")
    overridden = cpu is not None or memory_gib is not None or gpus is not None
    return Budget(
        round(cpu * 1000) if cpu is not None else base.cpu_m,
        int(memory_gib * GIB) if memory_gib is not None else base.memory_b,
        gpus if gpus is not None else base.gpus,
        f"{base.source}, overridden on the command line" if overridden else base.source,
    )


@dataclass(frozen=True)
class Totals:
    cpu_m: int = 0
    memory_b: int = 0
    gpus: int = 0
    storage_b: int = 0

    def __add__(self, other: Totals) -> Totals:
        return Totals(self.cpu_m + other.cpu_m, self.memory_b + other.memory_b,
                      self.gpus + other.gpus, self.storage_b + other.storage_b)

    def formatted(self) -> tuple[str, str, str, str]:
        """CPU, memory, GPUs and storage as the reports print them (e.g. 0.45 CPU, 1.50 GiB, 0, 32.00 GiB)."""
        return format_cpu(self.cpu_m), format_bytes(self.memory_b), str(self.gpus), format_bytes(self.storage_b)


@dataclass(frozen=True)
class CapacityRow:
    phase: str
    namespace: str
    kind: str
    name: str
    totals: Totals
    batch: bool  # Jobs/CronJobs: they come and go, so they are listed but not budgeted

    @property
    def component(self) -> str:
        return f"{self.namespace}/{self.kind}/{self.name}"


@dataclass(frozen=True)
class CapacityReport:
    rows: list[CapacityRow]
    budget: Budget | None
    phases: tuple[str, ...] = ()  # every rendered phase, listed even when it requests nothing

    def _sum(self, rows: list[CapacityRow]) -> Totals:
        out = Totals()
        for r in rows:
            out = out + r.totals
        return out

    @property
    def total(self) -> Totals:
        """Steady-state requests (long-running workloads and every volume)."""
        return self._sum([r for r in self.rows if not r.batch])

    @property
    def batch(self) -> Totals:
        return self._sum([r for r in self.rows if r.batch])

    def per_phase(self) -> dict[str, Totals]:
        out: dict[str, Totals] = {p: Totals() for p in self.phases}
        for r in self.rows:
            if not r.batch:
                out[r.phase] = out.get(r.phase, Totals()) + r.totals
        return out

    def phase_totals(self, total_label: str = "total") -> list[tuple[str, Totals]]:
        """The steady-state totals per phase, then the platform's under `total_label`: the rows of
        every footprint table (`omgml cost`, `omgml check`, docs/cost.md)."""
        return [*self.per_phase().items(), (total_label, self.total)]

    def top(self, n: int = 5) -> list[CapacityRow]:
        """The biggest consumers: CPU first, then memory."""
        return sorted((r for r in self.rows if not r.batch and (r.totals.cpu_m or r.totals.memory_b)),
                      key=lambda r: (-r.totals.cpu_m, -r.totals.memory_b, r.component))[:n]

    def over_budget(self) -> list[str]:
        """One message per exceeded dimension, with the numbers and the biggest consumers."""
        if self.budget is None:
            return []
        t, b = self.total, self.budget
        top = ", ".join(r.component for r in self.top(3)) or "none"
        out = []
        if b.cpu_m is not None and t.cpu_m > b.cpu_m:
            out.append(f"CPU requests {format_cpu(t.cpu_m)} exceed the budget of {format_cpu(b.cpu_m)} "
                       f"({b.source}); biggest: {top}")
        if b.memory_b is not None and t.memory_b > b.memory_b:
            out.append(f"memory requests {format_bytes(t.memory_b)} exceed the budget of "
                       f"{format_bytes(b.memory_b)} ({b.source}); biggest: {top}")
        if b.gpus is not None and t.gpus > b.gpus:
            out.append(f"{t.gpus} GPU(s) requested but the budget has {b.gpus} ({b.source})")
        return out


def pvc_storage(m: dict[str, Any]) -> int:
    if m.get("kind") != "PersistentVolumeClaim":
        return 0
    return memory_bytes(m.get("spec", {}).get("resources", {}).get("requests", {}).get("storage", 0))


def capacity_rows(phase: str, items: list[dict[str, Any]]) -> list[CapacityRow]:
    rows = []
    for m in items:
        meta = m.get("metadata", {})
        w = workload_requests(m)
        if w is not None:
            rows.append(CapacityRow(phase, w.namespace, w.kind, w.name,
                                    Totals(w.cpu_m, w.memory_b, w.gpus, w.storage_b),
                                    w.kind in ("Job", "CronJob")))
        elif m.get("kind") == "PersistentVolumeClaim":
            rows.append(CapacityRow(phase, str(meta.get("namespace", "")), "PersistentVolumeClaim",
                                    str(meta.get("name", "")), Totals(storage_b=pvc_storage(m)), False))
    return rows


def capacity_report(render: Any, budget: Budget | None) -> CapacityReport:
    """Requests of a render per phase and per workload. `render` is a PlatformRender (anything
    with `.phases[i].phase` / `.manifests`) or a mapping phase → manifests."""
    phases = list(render.items()) if isinstance(render, dict) else [(p.phase, p.manifests) for p in render.phases]
    rows = [row for phase, items in phases for row in capacity_rows(str(phase), list(items))]
    return CapacityReport(rows, budget, tuple(str(p) for p, _ in phases))


def format_cpu(millicores: int) -> str:
    return f"{millicores / 1000:g} CPU"


def format_bytes(n: int) -> str:
    return f"{n / GIB:.2f} GiB" if n >= GIB or n == 0 else f"{n / 2**20:.0f} MiB"

"""The nine switches of the decision matrix, from `flags` and from the richer fields.

A switch is on when the team set the flag, or when a structured field states the same fact:

| switch | also set by |
|---|---|
| multi_model | models.count > 1, or more than one entry in models.frameworks |
| pytorch_only | models.frameworks == [pytorch] |
| real_time | serving.latency_p99_ms ≤ 1000, or data.streaming |
| batch_only | data.batch_only |
| existing_airflow | orchestration.existing == airflow |
| kubernetes_native | orchestration.existing == kubeflow (the team already runs Kubeflow) |

research_heavy, production_scale and cutting_edge come from flags only: no structured field
states them (models.frameworks refines the framework decision directly instead).
Each switch carries its drivers, the requirement fields that turned it on, so every decision
can name them.
"""

from __future__ import annotations

from omgml.spec.requirements import FLAGS, Flag, Requirements

# A p99 target at or under a second means answers are computed while a caller waits.
REAL_TIME_LATENCY_MS = 1000

# Keyed by switch name (a Flag); plain str so callers can look up any name.
Switches = dict[str, tuple[str, ...]]

# What besides its flag turns each switch on, as docs/decision-matrix.md prints it (a test checks
# every entry against effective_switches).
SWITCH_SOURCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("research_heavy", ()),
    ("production_scale", ()),
    ("cutting_edge", ()),
    ("multi_model", ("models.count > 1", "more than one entry in models.frameworks")),
    ("pytorch_only", ("models.frameworks == [pytorch]",)),
    ("kubernetes_native", ("orchestration.existing == kubeflow",)),
    ("existing_airflow", ("orchestration.existing == airflow",)),
    ("real_time", (f"serving.latency_p99_ms ≤ {REAL_TIME_LATENCY_MS}", "data.streaming")),
    ("batch_only", ("data.batch_only",)),
)


def effective_switches(req: Requirements) -> Switches:
    """Every switch that is on, mapped to the requirement fields that turned it on."""
    drivers: dict[Flag, list[str]] = {f: [f"flags.{f}"] for f in FLAGS if f in req.flags}

    def add(flag: Flag, driver: str) -> None:
        drivers.setdefault(flag, []).append(driver)

    frameworks = req.models.frameworks
    if req.models.count > 1:
        add("multi_model", "models.count")
    if len(frameworks) > 1:
        add("multi_model", "models.frameworks")
    if frameworks == ["pytorch"]:
        add("pytorch_only", "models.frameworks")
    latency = req.serving.latency_p99_ms
    if latency is not None and latency <= REAL_TIME_LATENCY_MS:
        add("real_time", "serving.latency_p99_ms")
    if req.data.streaming:
        add("real_time", "data.streaming")
    if req.data.batch_only:
        add("batch_only", "data.batch_only")
    if req.orchestration.existing == "airflow":
        add("existing_airflow", "orchestration.existing")
    if req.orchestration.existing == "kubeflow":
        add("kubernetes_native", "orchestration.existing")
    return {f: tuple(drivers[f]) for f in FLAGS if f in drivers}


from __future__ import annotations

from omgml.capacity import GIB, Totals, budget_for, capacity_report
from tests.policy.fixtures import cronjob, deployment


def sts(name: str, replicas: int, storage: str) -> dict:  # type: ignore[type-arg]
    d = deployment(name, "data")
    d["kind"] = "StatefulSet"
    d["spec"]["replicas"] = replicas
    d["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "data"},
                                          "spec": {"resources": {"requests": {"storage": storage}}}}]
    return d


def pvc(name: str, size: str) -> dict:  # type: ignore[type-arg]
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": "ml"},
            "spec": {"resources": {"requests": {"storage": size}}}}


def test_totals_per_phase_and_storage_from_pvcs_and_claim_templates() -> None:
    report = capacity_report({
        "foundation": [sts("kafka", 3, "10Gi"), pvc("models", "5Gi")],
        "serving": [deployment("web", "apps"), cronjob()],
    }, None)
    per_phase = report.per_phase()
    # fixture containers request 100m / 128Mi each
    assert per_phase["foundation"] == Totals(300, 3 * 128 * 2**20, 0, 35 * GIB)
    assert per_phase["serving"] == Totals(100, 128 * 2**20, 0, 0)
    assert report.total == per_phase["foundation"] + per_phase["serving"]
    assert report.batch.cpu_m == 100  # the CronJob is listed, not budgeted
    assert [r.component for r in report.top(2)] == ["data/StatefulSet/kafka", "apps/Deployment/web"]


def test_laptop_budget_and_overrides() -> None:
    laptop = budget_for("laptop")
    assert laptop is not None and (laptop.cpu_m, laptop.memory_b, laptop.gpus) == (4000, 8 * GIB, 0)
    assert budget_for("production") is None
    custom = budget_for("laptop", cpu=0.25, memory_gib=16)
    assert custom is not None and (custom.cpu_m, custom.memory_b, custom.gpus) == (250, 16 * GIB, 0)
    assert "overridden" in custom.source


def test_over_budget_names_numbers_and_biggest_consumers() -> None:
    items = {"foundation": [sts("kafka", 3, "1Gi"), deployment("web", "apps")]}
    assert capacity_report(items, budget_for("laptop")).over_budget() == []
    [msg] = capacity_report(items, budget_for("laptop", cpu=0.2)).over_budget()
    assert "0.4 CPU exceed the budget of 0.2 CPU" in msg and "data/StatefulSet/kafka" in msg
    gpu = deployment("trainer", "training")
    gpu["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = 1
    [gpu_msg] = capacity_report({"training": [gpu]}, budget_for("laptop")).over_budget()
    assert gpu_msg.startswith("1 GPU(s) requested but the budget has 0")


def test_every_rendered_phase_is_listed_even_when_empty() -> None:
    report = capacity_report({"foundation": [], "training": [deployment()]}, None)
    assert list(report.per_phase()) == ["foundation", "training"]
    assert report.per_phase()["foundation"] == Totals()

"""omgml.cost arithmetic on a small hand-written inventory, and `omgml cost` on projects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from omgml.cli.app import app
from omgml.cost import budget_from_project, estimate_cost, load_prices

runner = CliRunner()

# Round numbers so every expected value below is checkable by hand.
PRICES: dict[str, Any] = {
    "region": "test-1", "as_of": "2026-01-01", "currency": "USD", "hours_per_month": 100,
    "eks": {"cluster_hour": 0.1},
    "spot_price_factor": 0.5,
    "ec2_instance_hour": {"m.large": 0.2, "g.xlarge": 1.0},
    "ebs_gb_month": {"gp3": 0.1},
    "nat_gateway": {"hour": 0.05, "gb_processed": 0.01},
    "msk": {"broker_hour": {"kafka.m": 0.3}, "storage_gb_month": 0.1},
    "elasticache_node_hour": {"cache.s": 0.02},
    "rds": {"instance_hour": {"db.m": 0.2}, "storage_gb_month": {"gp3": 0.1}, "multi_az_factor": 2},
    "s3": {"standard_gb_month": 0.02},
    "assumptions": {"nat_gb_processed_month": 100, "s3_gb_per_bucket": 50, "node_disk_gib": 20},
}


def res(typ: str, name: str, phase: str, parent: tuple[str, str] | None = None, **inputs: Any) -> dict[str, Any]:
    return {"type": typ, "name": name, "phase": phase, "custom": True, "protect": False, "retain_on_delete": False,
            "parent": parent[1] if parent else None, "parent_type": parent[0] if parent else None, "inputs": inputs}


NET = ("omgml:aws:Network", "net")
DATA = ("omgml:data:Postgres", "pg")

INVENTORY = {"resources": [
    {"type": "omgml:aws:Network", "name": "net", "phase": "foundation", "custom": False, "parent": None,
     "parent_type": None, "inputs": {}},
    res("aws:eks/cluster:Cluster", "eks", "foundation", NET),
    res("aws:ec2/natGateway:NatGateway", "nat-a", "foundation", NET),
    res("aws:ec2/natGateway:NatGateway", "nat-b", "foundation", NET),
    res("aws:eks/nodeGroup:NodeGroup", "system", "foundation", NET, instanceTypes=["m.large"],
        capacityType="ON_DEMAND", scalingConfig={"minSize": 2, "desiredSize": 2, "maxSize": 4}),
    res("aws:eks/nodeGroup:NodeGroup", "gpu", "training", None, instanceTypes=["g.xlarge", "g.2xlarge"],
        capacityType="SPOT", diskSize=100, scalingConfig={"minSize": 0, "desiredSize": 1, "maxSize": 3}),
    res("aws:rds/instance:Instance", "pg", "foundation", DATA, instanceClass="db.m", allocatedStorage=50,
        multiAz=True),
    res("aws:elasticache/replicationGroup:ReplicationGroup", "redis", "foundation", None, nodeType="cache.s",
        numCacheClusters=2),
    res("aws:msk/cluster:Cluster", "kafka", "foundation", None, numberOfBrokerNodes=3,
        brokerNodeGroupInfo={"instanceType": "kafka.m", "storageInfo": {"ebsStorageInfo": {"volumeSize": 100}}}),
    res("aws:s3/bucket:Bucket", "models", "training", None),
    res("kubernetes:core/v1:PersistentVolumeClaim", "cache", "serving", None, apiVersion="v1",
        kind="PersistentVolumeClaim", metadata={"name": "cache", "namespace": "serving"},
        spec={"resources": {"requests": {"storage": "30Gi"}}}),
    res("aws:iam/role:Role", "irsa", "foundation", None),  # free
]}


def _usd(est: Any, resource: str) -> list[float | None]:
    return [i.monthly_usd for i in est.items if i.resource == resource]


def test_line_item_arithmetic() -> None:
    est = estimate_cost(INVENTORY, PRICES)
    assert _usd(est, "aws:eks/cluster:Cluster/eks") == [10.0]  # 0.1 × 100 h
    assert _usd(est, "aws:ec2/natGateway:NatGateway/nat-a") == [6.0]  # 0.05 × 100 + 100 GB × 0.01
    # 2 × 0.2 × 100 on-demand; 2 × 20 GiB root volumes × 0.1
    assert _usd(est, "aws:eks/nodeGroup:NodeGroup/system") == [40.0, 4.0]
    # 1 spot node: 1.0 × 100 × 0.5; 100 GiB disk × 0.1
    assert _usd(est, "aws:eks/nodeGroup:NodeGroup/gpu") == [50.0, 10.0]
    # Multi-AZ doubles instance and storage: 0.2 × 2 × 100; 50 × 0.1 × 2
    assert _usd(est, "aws:rds/instance:Instance/pg") == [40.0, 10.0]
    assert _usd(est, "aws:elasticache/replicationGroup:ReplicationGroup/redis") == [4.0]  # 2 × 0.02 × 100
    assert _usd(est, "aws:msk/cluster:Cluster/kafka") == [90.0, 30.0]  # 3 × 0.3 × 100; 3 × 100 × 0.1
    assert _usd(est, "aws:s3/bucket:Bucket/models") == [1.0]  # 50 GB assumed × 0.02
    assert _usd(est, "kubernetes:core/v1:PersistentVolumeClaim/cache") == [3.0]  # 30 GiB gp3 × 0.1
    assert _usd(est, "aws:iam/role:Role/irsa") == []


def test_scale_to_zero_and_spot_are_explained_with_a_range() -> None:
    est = estimate_cost(INVENTORY, PRICES)
    [gpu] = [i for i in est.items if i.resource.endswith("/gpu") and "spot" in i.description]
    assert (gpu.min_usd, gpu.max_usd) == (0.0, 150.0)
    assert "scales to zero" in gpu.note and "spot at 0.5" in gpu.note and "first of" in gpu.note


def test_per_phase_and_per_component_totals_add_up() -> None:
    est = estimate_cost(INVENTORY, PRICES, budget_usd_month=500, phases=("foundation", "training", "serving"))
    per_phase = est.per_phase()
    assert per_phase == {"foundation": 240.0, "training": 61.0, "serving": 3.0}
    assert est.total == 304.0 == round(sum(per_phase.values()), 2)
    assert round(sum(est.per_component().values()), 2) == est.total
    assert est.per_component()["omgml:aws:Network/net"] == 66.0  # eks 10 + 2 NAT 12 + system 44
    assert est.per_component()["omgml:data:Postgres/pg"] == 50.0
    assert est.budget_left == 196.0
    assert est.drivers(1)[0].resource == "aws:msk/cluster:Cluster/kafka"


def test_unknown_instance_type_is_unpriced_not_guessed() -> None:
    inv = {"resources": [res("aws:eks/nodeGroup:NodeGroup", "x", "foundation", None, instanceTypes=["z9.huge"],
                             scalingConfig={"minSize": 1, "desiredSize": 1, "maxSize": 1})]}
    est = estimate_cost(inv, PRICES)
    [unpriced] = est.unpriced()
    assert "z9.huge" in unpriced.note and "--prices" in unpriced.note
    assert est.total == 2.0  # only the root volume


def test_shipped_table_states_region_date_and_list_prices(tmp_path: Path) -> None:
    prices = load_prices()
    assert prices["region"] == "us-east-1" and prices["as_of"] and "list prices" in prices["source"]
    assert prices["eks"]["cluster_hour"] == 0.10 and prices["nat_gateway"]["hour"] == 0.045
    override = tmp_path / "p.yaml"
    override.write_text(yaml.safe_dump({"ec2_instance_hour": {"m6i.large": 0.05}}))
    merged = load_prices(override)
    assert merged["ec2_instance_hour"]["m6i.large"] == 0.05
    assert merged["ec2_instance_hour"]["g5.xlarge"] == prices["ec2_instance_hour"]["g5.xlarge"]


def test_budget_from_requirements(tmp_path: Path) -> None:
    f = tmp_path / "omgml.yaml"
    f.write_text(yaml.safe_dump({"requirements": {"name": "x", "budget_usd_month": 1200}, "platform": {"name": "x"}}))
    assert budget_from_project(f) == 1200.0
    f.write_text(yaml.safe_dump({"platform": {"name": "x"}}))
    assert budget_from_project(f) is None


def _project(tmp_path: Path, target: str, budget: float | None = None) -> Path:
    data: dict[str, Any] = {"platform": {"name": "demo", "target": target}}
    if budget is not None:
        data["requirements"] = {"name": "demo", "budget_usd_month": budget}
    (tmp_path / "omgml.yaml").write_text(yaml.safe_dump(data))
    return tmp_path


def test_cost_cli_on_local_shows_footprint_only(tmp_path: Path) -> None:
    result = runner.invoke(app, ["cost", str(_project(tmp_path, "local"))])
    assert result.exit_code == 0, result.output
    assert "apply to target aws" in result.output and "total:" in result.output


def test_cost_cli_on_aws_prints_phases_total_and_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import omgml.synth.render as render_mod

    real = render_mod.render_platform

    class Fake:
        def __init__(self, render: Any) -> None:
            self.phases = render.phases

        def inventory(self) -> dict[str, Any]:
            return INVENTORY

    monkeypatch.setattr(render_mod, "render_platform", lambda spec, phases=None: Fake(real(spec)))
    prices = tmp_path / "prices.yaml"
    prices.write_text(yaml.safe_dump(PRICES))
    project = _project(tmp_path, "aws", budget=300)
    result = runner.invoke(app, ["cost", str(project), "--prices", str(prices)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "test-1 list prices as of 2026-01-01" in result.output
    assert "240.00" in result.output and "304.00" in result.output
    assert "-4.00 left" in result.output
    assert "Per component" in result.output and "omgml:aws:Network/net" in result.output
    bad = runner.invoke(app, ["cost", str(project), "--prices", str(tmp_path / "missing.yaml")])
    assert bad.exit_code == 2 and "--prices" in bad.output


def test_cost_cli_warns_when_prices_are_for_another_region(tmp_path: Path) -> None:
    (tmp_path / "omgml.yaml").write_text(yaml.safe_dump(
        {"platform": {"name": "demo", "target": "aws", "aws": {"region": "eu-west-1"}}}))
    result = runner.invoke(app, ["cost", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "prices are for us-east-1, the platform runs in eu-west-1" in result.output


def test_enterprise_on_aws_per_phase_totals_add_up() -> None:
    from omgml.recommend import recommend
    from omgml.spec.requirements import requirements_from_dict
    from omgml.synth.render import render_platform
    from omgml.templates import load_template

    data = load_template("enterprise").model_dump(mode="json", exclude_unset=True)
    data["target"] = "aws"
    spec = recommend(requirements_from_dict(data, source="enterprise")).to_platform_spec()
    render = render_platform(spec)
    est = estimate_cost(render.inventory(), load_prices(), None, tuple(p.phase for p in render.phases))
    assert list(est.per_phase()) == ["foundation", "training", "serving"]
    assert est.total > 0  # at least the data volumes, priced as gp3
    assert abs(sum(est.per_phase().values()) - est.total) < 0.01
    assert abs(sum(est.per_component().values()) - est.total) < 0.01


def test_cost_markdown_with_baseline_shows_the_change_per_phase() -> None:
    from omgml.cost import cost_markdown

    after = estimate_cost(INVENTORY, PRICES, budget_usd_month=500, phases=("foundation", "training", "serving"))
    smaller = {"resources": [e for e in INVENTORY["resources"] if e["name"] != "kafka"]}
    before = estimate_cost(smaller, PRICES, phases=("foundation", "training", "serving"))
    md = cost_markdown(after, before)
    assert "| foundation | 120.00 | 240.00 | +120.00 |" in md
    assert "| **total** | 184.00 | 304.00 | **+120.00** |" in md
    assert "Budget 500.00/month: 196.00 left." in md
    plain = cost_markdown(after)
    assert "| training | 61.00 |" in plain and "test-1 list prices as of 2026-01-01" in plain


def test_cost_cli_markdown_with_baseline(tmp_path: Path) -> None:
    head = tmp_path / "head"
    base = tmp_path / "base.yaml"
    head.mkdir()
    (head / "omgml.yaml").write_text(yaml.safe_dump({"platform": {"name": "demo", "target": "aws"}}))
    base.write_text(yaml.safe_dump({"platform": {"name": "demo", "target": "aws",
                                                  "phases": {"serving": {"enabled": False}}}}))
    result = runner.invoke(app, ["cost", str(head), "--baseline", str(base), "-o", "markdown"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("**omgml cost**") and "| phase | before | after | change |" in result.output

"""omgml.cost arithmetic on a small hand-written inventory, and `omgml cost` on projects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from omgml.cli.app import app
from omgml.cost import Usage, budget_from_project, estimate_cost, load_prices, usage_from_requirements
from omgml.spec.requirements import requirements_from_dict

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
    "public_ipv4_hour": 0.005,
    "kms": {"key_month": 1.0},
    "cloudwatch_logs": {"ingest_gb": 0.5, "storage_gb_month": 0.03},
    "data_transfer": {"inter_az_gb": 0.01},
    "assumptions": {"node_disk_gib": 20},
}
# Round usage too: 200 GB through NAT, 50 training hours, 10 GB of logs per source.
USAGE = Usage(source="the test", daily_volume_gb=1, streaming=False, training_gpu_hours=50, data_retention_days=30,
              artifact_gb_per_bucket=50, nat_gb_per_month=200, log_gb_per_month=10)


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
        capacityType="SPOT", diskSize=100, scalingConfig={"minSize": 0, "desiredSize": 0, "maxSize": 3},
        labels={"omgml.dev/pool-purpose": "training"}),
    # Created by the training stack, owned by the serving phase.
    res("aws:eks/nodeGroup:NodeGroup", "infer", "training", None, instanceTypes=["g.xlarge"],
        capacityType="ON_DEMAND", scalingConfig={"minSize": 2, "desiredSize": 2, "maxSize": 4},
        labels={"omgml.dev/pool-purpose": "inference"}),
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
    est = estimate_cost(INVENTORY, PRICES, usage=USAGE)
    assert _usd(est, "aws:eks/cluster:Cluster/eks") == [10.0]  # 0.1 × 100 h
    assert _usd(est, "aws:ec2/natGateway:NatGateway/nat-a") == [6.0]  # 0.05 × 100 + 200 GB ÷ 2 × 0.01
    # 2 × 0.2 × 100 on-demand; 2 × 20 GiB root volumes × 0.1
    assert _usd(est, "aws:eks/nodeGroup:NodeGroup/system") == [40.0, 4.0]
    # Training scales to zero: its 3 nodes for the 50 training hours, spot at 0.5; root volumes as long.
    assert _usd(est, "aws:eks/nodeGroup:NodeGroup/gpu") == [75.0, 15.0]
    assert _usd(est, "aws:eks/nodeGroup:NodeGroup/infer") == [200.0, 4.0]
    # Multi-AZ doubles instance and storage: 0.2 × 2 × 100; 50 × 0.1 × 2
    assert _usd(est, "aws:rds/instance:Instance/pg") == [40.0, 10.0]
    assert _usd(est, "aws:elasticache/replicationGroup:ReplicationGroup/redis") == [4.0]  # 2 × 0.02 × 100
    assert _usd(est, "aws:msk/cluster:Cluster/kafka") == [90.0, 30.0]  # 3 × 0.3 × 100; 3 × 100 × 0.1
    assert _usd(est, "aws:s3/bucket:Bucket/models") == [1.0]  # artifact_gb_per_bucket 50 × 0.02
    assert _usd(est, "kubernetes:core/v1:PersistentVolumeClaim/cache") == [3.0]  # 30 GiB gp3 × 0.1
    assert _usd(est, "aws:iam/role:Role/irsa") == []


def test_scale_to_zero_and_spot_are_explained_with_a_range() -> None:
    est = estimate_cost(INVENTORY, PRICES, usage=USAGE)
    [gpu] = [i for i in est.items if i.resource.endswith("/gpu") and "spot" in i.description]
    assert gpu.description == "3 × g.xlarge spot $1.0/h × 50 h"
    assert (gpu.min_usd, gpu.max_usd) == (0.0, 150.0)
    assert "busy 50 h/month at full size (training.gpu_hours_per_month)" in gpu.note
    assert "spot at 0.5" in gpu.note and "first of" in gpu.note


def test_gpu_pools_count_in_the_phase_that_owns_them() -> None:
    est = estimate_cost(INVENTORY, PRICES, usage=USAGE)
    phases = {i.resource: i.phase for i in est.items}
    assert phases["aws:eks/nodeGroup:NodeGroup/infer"] == "serving"
    assert phases["aws:eks/nodeGroup:NodeGroup/gpu"] == "training"


def test_per_phase_and_per_component_totals_add_up() -> None:
    est = estimate_cost(INVENTORY, PRICES, budget_usd_month=500, phases=("foundation", "training", "serving"),
                        usage=USAGE)
    per_phase = est.per_phase()
    assert per_phase == {"foundation": 240.0, "training": 91.0, "serving": 207.0}
    assert est.total == 538.0 == round(sum(per_phase.values()), 2)
    assert round(sum(est.per_component().values()), 2) == est.total
    assert est.per_component()["omgml:aws:Network/net"] == 66.0  # eks 10 + 2 NAT 12 + system 44
    assert est.per_component()["omgml:data:Postgres/pg"] == 50.0
    assert est.budget_left == -38.0
    assert est.drivers(1)[0].resource == "aws:eks/nodeGroup:NodeGroup/infer"


def test_what_a_real_account_also_pays() -> None:
    net = ("omgml:aws:Network", "net")
    inv = {"resources": [
        res("aws:ec2/subnet:Subnet", "a", "foundation", net, availabilityZone="z-a"),
        res("aws:ec2/subnet:Subnet", "b", "foundation", net, availabilityZone="z-b"),
        res("aws:ec2/eip:Eip", "ip", "foundation", net, domain="vpc"),
        res("aws:kms/key:Key", "key", "foundation", None),
        res("aws:cloudwatch/logGroup:LogGroup", "audit", "foundation", None, retentionInDays=365),
        res("aws:rds/instance:Instance", "pg", "foundation", None, instanceClass="db.m", allocatedStorage=20,
            enabledCloudwatchLogsExports=["postgresql"]),
        res("aws:s3/bucket:Bucket", "features", "foundation", None, tags={"omgml.dev/bucket-role": "features"}),
        res("kubernetes:apps/v1:StatefulSet", "kafka", "foundation", None, kind="StatefulSet",
            metadata={"name": "kafka", "labels": {"app.kubernetes.io/name": "kafka"}},
            spec={"replicas": 3, "template": {"spec": {"containers": []}}}),
    ]}
    usage = Usage(source="t", daily_volume_gb=10, streaming=True, data_retention_days=30, log_gb_per_month=10)
    est = estimate_cost(inv, PRICES, usage=usage)
    assert _usd(est, "aws:ec2/eip:Eip/ip") == [0.5]  # 0.005 × 100 h
    assert _usd(est, "aws:kms/key:Key/key") == [1.0]
    # 10 GB ingested × 0.5, and a year of 10 GB a month kept × 0.03.
    assert _usd(est, "aws:cloudwatch/logGroup:LogGroup/audit") == [8.65]
    # RDS's own log group: never expires, priced at a year.
    assert _usd(est, "aws:rds/instance:Instance/pg")[-1] == 8.65
    assert _usd(est, "aws:s3/bucket:Bucket/features") == [6.0]  # 10 GB/day × 30 days × 0.02
    # 300 GB streamed × (2 follower copies + producers and consumers in the other zone half the time, twice).
    [cross] = [i for i in est.items if i.description.startswith("cross-zone traffic")]
    assert cross.monthly_usd == 18.0 and "2 follower copies" in cross.note  # 900 GB × 0.02


def test_nat_traffic_follows_the_data_volume_and_the_s3_endpoint() -> None:
    net = ("omgml:aws:Network", "net")
    nat = res("aws:ec2/natGateway:NatGateway", "nat", "foundation", net)
    bucket = res("aws:s3/bucket:Bucket", "models", "foundation", None)
    usage = Usage(source="t", daily_volume_gb=10)
    via_nat = estimate_cost({"resources": [nat, bucket]}, PRICES, usage=usage)
    # 300 GB in, and the same to S3 and back: 900 GB × 0.01 + 0.05 × 100 h.
    assert _usd(via_nat, "aws:ec2/natGateway:NatGateway/nat") == [14.0]
    endpoint = res("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", "foundation", net, serviceName="com.amazonaws.x.s3",
                   vpcEndpointType="Gateway")
    direct = estimate_cost({"resources": [nat, bucket, endpoint]}, PRICES, usage=usage)
    assert _usd(direct, "aws:ec2/natGateway:NatGateway/nat") == [8.0]  # 300 GB × 0.01 + 5


def test_usage_comes_from_the_requirements() -> None:
    req = requirements_from_dict({"name": "x", "training": {"gpu": True, "gpu_hours_per_month": 40},
                                  "data": {"daily_volume_gb": 7, "streaming": True},
                                  "assumptions": {"nat_gb_per_month": 3, "log_gb_per_month": 2}})
    u = usage_from_requirements(req, "here")
    assert (u.training_gpu_hours, u.daily_volume_gb, u.streaming, u.nat_gb_per_month, u.log_gb_per_month,
            u.source) == (40, 7, True, 3, 2, "here")


def test_unknown_instance_type_is_unpriced_not_guessed() -> None:
    inv = {"resources": [res("aws:eks/nodeGroup:NodeGroup", "x", "foundation", None, instanceTypes=["z9.huge"],
                             scalingConfig={"minSize": 1, "desiredSize": 1, "maxSize": 1})]}
    est = estimate_cost(inv, PRICES, usage=USAGE)
    [unpriced] = est.unpriced()
    assert "z9.huge" in unpriced.note and "--prices" in unpriced.note
    assert est.total == 2.0  # only the root volume


def test_shipped_table_states_region_date_and_list_prices(tmp_path: Path) -> None:
    prices = load_prices()
    assert prices["region"] == "us-east-1" and prices["as_of"] and "list prices" in prices["source"]
    assert prices["eks"]["cluster_hour"] == 0.10 and prices["nat_gateway"]["hour"] == 0.045
    assert prices["public_ipv4_hour"] == 0.005 and prices["kms"]["key_month"] == 1.0
    assert prices["cloudwatch_logs"] == {"ingest_gb": 0.5, "storage_gb_month": 0.03}
    assert prices["data_transfer"]["inter_az_gb"] == 0.01
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
        data["requirements"] = {"name": "demo", "budget_usd_month": budget, "training": {"gpu_hours_per_month": 50},
                                "assumptions": {"nat_gb_per_month": 200, "log_gb_per_month": 10}}
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
    assert "240.00" in result.output and "538.00" in result.output
    assert "-238.00 left" in result.output
    assert "usage assumptions from the requirements in" in result.output
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

    after = estimate_cost(INVENTORY, PRICES, budget_usd_month=500, phases=("foundation", "training", "serving"),
                          usage=USAGE)
    smaller = {"resources": [e for e in INVENTORY["resources"] if e["name"] != "kafka"]}
    before = estimate_cost(smaller, PRICES, phases=("foundation", "training", "serving"), usage=USAGE)
    md = cost_markdown(after, before)
    assert "| foundation | 120.00 | 240.00 | +120.00 |" in md
    assert "| **total** | 418.00 | 538.00 | **+120.00** |" in md
    assert "Budget 500.00/month: -38.00 left." in md
    plain = cost_markdown(after)
    # Each phase against the seed's estimate for it.
    assert "| training | 91.00 | 25,000 | 0% |" in plain and "test-1 list prices as of 2026-01-01" in plain
    assert "| **total** | **538.00** | 60,000 | 1% |" in plain


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


def test_line_items_do_not_follow_the_inventory_order() -> None:
    """Registration order can change between renders; docs/cost.md (and `omgml sync`) must not."""
    from omgml.recommend import recommend
    from omgml.synth.render import render_platform
    from omgml.templates import load_template

    data = load_template("enterprise").model_dump(mode="json", exclude_unset=True)
    data["target"] = "aws"
    render = render_platform(recommend(requirements_from_dict(data, source="enterprise")).to_platform_spec())
    inventory = render.inventory()
    phases = tuple(p.phase for p in render.phases)
    shuffled = {**inventory, "resources": list(reversed(inventory["resources"]))}
    forward = estimate_cost(inventory, load_prices(), None, phases).items
    assert len(forward) > 5
    assert estimate_cost(shuffled, load_prices(), None, phases).items == forward

"""The rough AWS cost model: arithmetic pinned on small specs."""

from __future__ import annotations

import pytest

from omgml.recommend.cost import estimate_aws_monthly
from omgml.spec import spec_from_dict


def test_a_small_cpu_platform() -> None:
    spec = spec_from_dict({"name": "c", "target": "aws", "profile": "small",
                           "phases": {"foundation": {"kafka": {"enabled": False}}}})
    cost = estimate_aws_monthly(spec, daily_volume_gb=1)
    lines = {c.item: c.usd_month for c in cost.lines}
    assert lines["eks-control-plane"] == pytest.approx(73.0)
    assert lines["nat-gateways"] == pytest.approx(2 * 0.045 * 730)
    assert lines["cpu-nodes"] == pytest.approx(3 * 0.096 * 730)
    # postgres 10 + redis 2 + object store max(20, 30 days × 1 GB) = 42 GiB of gp3.
    assert lines["ebs-volumes"] == pytest.approx(42 * 0.08)
    assert cost.total == pytest.approx(sum(lines.values()))


def test_training_pools_count_at_a_quarter_of_the_month_and_spot_discount() -> None:
    spec = spec_from_dict({"name": "c", "target": "aws", "profile": "small", "phases": {"training": {
        "gpu_pools": [{"name": "t", "instance_types": ["g5.xlarge"], "max_size": 4, "spot": True}]}}})
    lines = {c.item: c for c in estimate_aws_monthly(spec, 1).lines}
    assert lines["gpu-pool:t"].usd_month == pytest.approx(1.006 * 730 * 4 * 0.25 * 0.4)
    assert lines["gpu-pool:t"].note == "4 × g5.xlarge busy 25% of the month, spot"


def test_managed_stores_replace_their_volumes() -> None:
    spec = spec_from_dict({"name": "c", "target": "aws", "profile": "production", "phases": {"foundation": {
        "postgres": {"managed": True}, "redis": {"managed": True}, "kafka": {"managed": True},
        "object_store": {"managed": True}}}})
    lines = {c.item: c.usd_month for c in estimate_aws_monthly(spec, 100).lines}
    assert {"managed-postgres", "managed-redis", "managed-kafka", "s3"} <= set(lines)
    assert "ebs-volumes" not in lines
    assert lines["s3"] == pytest.approx(3000 * 0.023)

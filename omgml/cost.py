"""Monthly cost estimate of a render's inventory for target aws (pure arithmetic over a price table).

Prices are list prices from the table shipped in omgml/data (region and date inside it), merged
with an optional user file. Each line item names the resource, the quantities it multiplied and
any assumption it used, so the estimate can be checked by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from omgml.capacity import memory_bytes, workload_requests

GIB = 2**30
DEFAULT_PRICES = "prices-us-east-1.yaml"
Prices = dict[str, Any]
# (description, monthly USD or None when unpriced, note, monthly at minSize, at maxSize)
Cost = tuple[str, float | None, str, float | None, float | None]


def load_prices(override: Path | None = None) -> Prices:
    """The shipped table, with `override` (same layout) merged over it key by key."""
    text = resources.files("omgml.data").joinpath(DEFAULT_PRICES).read_text(encoding="utf-8")
    prices: Prices = yaml.safe_load(text)
    if override is not None:
        extra = yaml.safe_load(override.read_text(encoding="utf-8")) or {}
        if not isinstance(extra, dict):
            raise ValueError(f"{override}: a price file is a YAML mapping like {DEFAULT_PRICES}")
        prices = _merge(prices, extra)
    return prices


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


@dataclass(frozen=True)
class LineItem:
    phase: str
    component: str  # the omgml component that owns the resource ("(stack)" for top-level ones)
    resource: str  # "<type>/<logical name>"
    description: str  # the quantities multiplied, e.g. "2 × m6i.large on-demand × 730 h"
    monthly_usd: float | None  # None: no price in the table (see note)
    note: str = ""
    min_usd: float | None = None  # node groups: the bill at minSize / maxSize
    max_usd: float | None = None


@dataclass(frozen=True)
class CostEstimate:
    items: list[LineItem]
    prices: Prices
    budget_usd_month: float | None = None
    phases: tuple[str, ...] = ()

    @property
    def total(self) -> float:
        return round(sum(i.monthly_usd or 0.0 for i in self.items), 2)

    def per_phase(self) -> dict[str, float]:
        out = {p: 0.0 for p in self.phases}
        for i in self.items:
            out[i.phase] = out.get(i.phase, 0.0) + (i.monthly_usd or 0.0)
        return {k: round(v, 2) for k, v in out.items()}

    def per_component(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for i in self.items:
            out[i.component] = out.get(i.component, 0.0) + (i.monthly_usd or 0.0)
        return {k: round(v, 2) for k, v in sorted(out.items(), key=lambda kv: -kv[1])}

    def drivers(self, n: int = 5) -> list[LineItem]:
        return sorted((i for i in self.items if i.monthly_usd), key=lambda i: -(i.monthly_usd or 0.0))[:n]

    def unpriced(self) -> list[LineItem]:
        return [i for i in self.items if i.monthly_usd is None]

    @property
    def budget_left(self) -> float | None:
        return None if self.budget_usd_month is None else round(self.budget_usd_month - self.total, 2)


@dataclass
class _Walker:
    """Attributes inventory entries to their nearest omgml component."""

    by_key: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def component(self, e: dict[str, Any]) -> str:
        ptype, pname = e.get("parent_type"), e.get("parent")
        seen = 0
        while ptype and pname and seen < 50:
            if not str(ptype).startswith("omgml:core:") and ptype != "pulumi:pulumi:Stack":
                return f"{ptype}/{pname}"
            parent = self.by_key.get((str(ptype), str(pname)))
            if parent is None:
                break
            ptype, pname, seen = parent.get("parent_type"), parent.get("parent"), seen + 1
        return "(stack)"


def _hours(prices: Prices) -> float:
    return float(prices.get("hours_per_month", 730))


def _price(table: dict[str, Any] | None, key: str) -> float | None:
    value = (table or {}).get(key)
    return None if value is None else float(value)


def _missing(table: str, key: str) -> str:
    return f"no price for {key!r} in {table}; add it to a --prices file"


def item_costs(e: dict[str, Any], prices: Prices) -> list[Cost]:
    """(description, monthly USD, note, min, max) for one inventory entry; [] when it costs nothing."""
    t, i, h = str(e.get("type", "")), dict(e.get("inputs") or {}), _hours(prices)
    if t == "aws:eks/cluster:Cluster":
        eks = float(prices["eks"]["cluster_hour"])
        return [(f"EKS control plane ${eks}/h × {h:g} h", eks * h, "", None, None)]
    if t == "aws:eks/nodeGroup:NodeGroup":
        return _node_group(i, prices)
    if t == "aws:ec2/natGateway:NatGateway":
        nat, gb = prices["nat_gateway"], float(prices["assumptions"]["nat_gb_processed_month"])
        cost = float(nat["hour"]) * h + float(nat["gb_processed"]) * gb
        return [(f"NAT gateway ${nat['hour']}/h × {h:g} h + {gb:g} GB × ${nat['gb_processed']}/GB", cost,
                 f"assumes {gb:g} GB processed a month", None, None)]
    if t == "aws:ebs/volume:Volume":
        return [_ebs(float(i.get("size", 0)), str(i.get("type", "gp3")), prices, "EBS volume")]
    if t == "aws:msk/cluster:Cluster":
        return _msk(i, prices)
    if t == "aws:elasticache/replicationGroup:ReplicationGroup":
        node = str(i.get("nodeType", ""))
        if i.get("numNodeGroups"):
            count = int(i["numNodeGroups"]) * (int(i.get("replicasPerNodeGroup", 0)) + 1)
        else:
            count = int(i.get("numCacheClusters", 1))
        rate = _price(prices.get("elasticache_node_hour"), node)
        if rate is None:
            return [(f"{count} × {node}", None, _missing("elasticache_node_hour", node), None, None)]
        return [(f"{count} × {node} ${rate}/h × {h:g} h", count * rate * h, "", None, None)]
    if t == "aws:rds/instance:Instance":
        return _rds(i, prices)
    if t == "aws:s3/bucket:Bucket":
        gb = float(prices["assumptions"]["s3_gb_per_bucket"])
        s3 = float(prices["s3"]["standard_gb_month"])
        return [(f"S3 Standard {gb:g} GB × ${s3}/GB-month", gb * s3,
                 f"assumes {gb:g} GB stored (requests and transfer not included)", None, None)]
    if t.startswith("kubernetes:"):
        return _volume_claims(i, prices)
    return []


def _node_group(i: dict[str, Any], prices: Prices) -> list[Cost]:
    h = _hours(prices)
    scaling = i.get("scalingConfig") or {}
    desired = int(scaling.get("desiredSize", scaling.get("minSize", 0)))
    lo, hi = int(scaling.get("minSize", desired)), int(scaling.get("maxSize", desired))
    types = [str(x) for x in i.get("instanceTypes") or ["t3.medium"]]  # EKS's default type
    itype = types[0]
    spot = str(i.get("capacityType", "ON_DEMAND")) == "SPOT"
    rate = _price(prices.get("ec2_instance_hour"), itype)
    disk_gib = float(i.get("diskSize", prices["assumptions"]["node_disk_gib"]))
    market = "spot" if spot else "on-demand"
    notes = []
    if len(types) > 1:
        notes.append(f"priced as {itype}, the first of {types}")
    if spot:
        notes.append(f"spot at {prices['spot_price_factor']} × on-demand (assumption)")
    if lo == 0:
        notes.append("scales to zero: costs nothing while idle at minSize 0")
    out: list[Cost] = []
    if rate is None:
        out.append((f"{desired} × {itype} {market}", None, _missing("ec2_instance_hour", itype), None, None))
    else:
        node = rate * h * (float(prices["spot_price_factor"]) if spot else 1.0)
        out.append((f"{desired} × {itype} {market} ${rate}/h × {h:g} h", desired * node, "; ".join(notes),
                    lo * node, hi * node))
    gp3 = float(prices["ebs_gb_month"]["gp3"])
    out.append((f"{desired} × {disk_gib:g} GiB node root volumes (gp3)", desired * disk_gib * gp3, "",
                lo * disk_gib * gp3, hi * disk_gib * gp3))
    return out


def _ebs(size_gib: float, volume_type: str, prices: Prices, what: str
         ) -> Cost:
    rate = _price(prices.get("ebs_gb_month"), volume_type)
    if rate is None:
        return (f"{what} {size_gib:g} GiB {volume_type}", None, _missing("ebs_gb_month", volume_type), None, None)
    return (f"{what} {size_gib:g} GiB {volume_type} × ${rate}/GB-month", size_gib * rate, "", None, None)


def _msk(i: dict[str, Any], prices: Prices) -> list[Cost]:
    h = _hours(prices)
    brokers = int(i.get("numberOfBrokerNodes", 0))
    info = i.get("brokerNodeGroupInfo") or {}
    itype = str(info.get("instanceType", ""))
    storage = float(((info.get("storageInfo") or {}).get("ebsStorageInfo") or {}).get("volumeSize", 1000))
    msk = prices["msk"]
    rate = _price(msk.get("broker_hour"), itype)
    out: list[Cost] = []
    if rate is None:
        out.append((f"{brokers} × {itype}", None, _missing("msk.broker_hour", itype), None, None))
    else:
        out.append((f"{brokers} × {itype} broker ${rate}/h × {h:g} h", brokers * rate * h, "", None, None))
    srate = float(msk["storage_gb_month"])
    out.append((f"{brokers} × {storage:g} GiB broker storage × ${srate}/GB-month", brokers * storage * srate,
                "", None, None))
    return out


def _rds(i: dict[str, Any], prices: Prices) -> list[Cost]:
    h, rds = _hours(prices), prices["rds"]
    cls = str(i.get("instanceClass", ""))
    factor = float(rds.get("multi_az_factor", 2)) if i.get("multiAz") else 1.0
    az = "Multi-AZ" if i.get("multiAz") else "Single-AZ"
    rate = _price(rds.get("instance_hour"), cls)
    out: list[Cost] = []
    if rate is None:
        out.append((f"{cls} {az}", None, _missing("rds.instance_hour", cls), None, None))
    else:
        out.append((f"{cls} {az} ${rate}/h × {factor:g} × {h:g} h", rate * factor * h, "", None, None))
    gb = float(i.get("allocatedStorage", 20))
    stype = str(i.get("storageType", "gp3"))
    srate = _price(rds.get("storage_gb_month"), stype)
    if srate is None:
        out.append((f"{gb:g} GiB {stype}", None, _missing("rds.storage_gb_month", stype), None, None))
    else:
        out.append((f"{gb:g} GiB {stype} storage × ${srate}/GB-month × {factor:g}", gb * srate * factor, "",
                    None, None))
    return out


def _volume_claims(m: dict[str, Any], prices: Prices
                   ) -> list[Cost]:
    """PVCs and StatefulSet claim templates become EBS gp3 volumes through the cluster's CSI driver."""
    size_b = 0
    if m.get("kind") == "PersistentVolumeClaim":
        size_b = memory_bytes(m.get("spec", {}).get("resources", {}).get("requests", {}).get("storage", 0))
    elif m.get("kind") == "StatefulSet":
        w = workload_requests(m)
        size_b = w.storage_b if w else 0
    if not size_b:
        return []
    return [_ebs(size_b / GIB, "gp3", prices, f"{m['kind']} volumes")]


def estimate_cost(inventory: dict[str, Any], prices: Prices, budget_usd_month: float | None = None,
                  phases: tuple[str, ...] = ()) -> CostEstimate:
    entries = list(inventory.get("resources", []))
    walker = _Walker({(str(e.get("type")), str(e.get("name"))): e for e in entries if not e.get("custom")})
    items: list[LineItem] = []
    for e in entries:
        if not e.get("custom"):
            continue
        for description, usd, note, lo, hi in item_costs(e, prices):
            items.append(LineItem(
                str(e.get("phase", "")), walker.component(e), f"{e.get('type')}/{e.get('name')}", description,
                None if usd is None else round(usd, 2), note,
                None if lo is None else round(lo, 2), None if hi is None else round(hi, 2)))
    return CostEstimate(items, prices, budget_usd_month, phases)


def budget_from_project(spec_file: Path) -> float | None:
    """`requirements.budget_usd_month` of omgml.yaml, if the project states one."""
    if not spec_file.exists():
        return None
    data = yaml.safe_load(spec_file.read_text(encoding="utf-8")) or {}
    req = data.get("requirements") if isinstance(data, dict) else None
    value = req.get("budget_usd_month") if isinstance(req, dict) else None
    return None if value is None else float(value)


def cost_markdown(est: CostEstimate, baseline: CostEstimate | None = None) -> str:
    """The estimate as GitHub-flavoured Markdown; with a baseline, the change per phase."""
    p = est.prices
    lines = [f"**omgml cost**: {est.total:,.2f} {p.get('currency', 'USD')}/month "
             f"({p.get('region')} list prices as of {p.get('as_of')})", ""]
    if baseline is None:
        lines += ["| phase | USD/month |", "|---|---:|"]
        lines += [f"| {ph} | {usd:,.2f} |" for ph, usd in est.per_phase().items()]
        lines.append(f"| **total** | **{est.total:,.2f}** |")
    else:
        before = baseline.per_phase()
        lines += ["| phase | before | after | change |", "|---|---:|---:|---:|"]
        for ph, usd in est.per_phase().items():
            old = before.get(ph, 0.0)
            lines.append(f"| {ph} | {old:,.2f} | {usd:,.2f} | {usd - old:+,.2f} |")
        lines.append(f"| **total** | {baseline.total:,.2f} | {est.total:,.2f} | **{est.total - baseline.total:+,.2f}** |")
    drivers = est.drivers(3)
    if drivers:
        lines += ["", "Biggest drivers: " + "; ".join(
            f"`{i.resource}` {i.monthly_usd:,.2f} ({i.description})" for i in drivers)]
    for i in est.unpriced():
        lines.append(f"- unpriced `{i.resource}`: {i.note}")
    if est.budget_left is not None:
        lines += ["", f"Budget {est.budget_usd_month:,.2f}/month: {est.budget_left:,.2f} left."]
    return "\n".join(lines) + "\n"

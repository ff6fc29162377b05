"""The one cost model: the monthly list-price estimate of a render's inventory (target aws).

`omgml recommend`, the README and docs/cost.md `omgml init` writes, and `omgml cost` all call
`platform_cost` (render the spec, then `estimate_cost`) with the same price table and the same
usage assumptions, so they print the same total to the cent.

Prices come from the table shipped in omgml/data (region, date and sources inside it), merged with
an optional user file. What the render cannot know (how much data moves, how long training runs,
how many log bytes are written) comes from `Usage`, built from the project's requirements
(`usage_from_requirements`): every line item that uses one names it, so the estimate can be
checked by hand and changed where the team knows better.

Where each line goes: a resource's phase is the stack that creates it, except GPU node groups,
which belong to the phase whose pools they are (an inference pool is created by the training
stack, so its nodes exist before the model server, but it is the serving phase's cost).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from omgml.capacity import memory_bytes, workload_requests

if TYPE_CHECKING:
    from omgml.spec import PlatformSpec
    from omgml.spec.requirements import Requirements
    from omgml.synth.render import PlatformRender

GIB = 2**30
DAYS_PER_MONTH = 30
DEFAULT_PRICES = "prices-us-east-1.yaml"
Prices = dict[str, Any]
# (description, monthly USD or None when unpriced, note, monthly at minSize, at maxSize)
Cost = tuple[str, float | None, str, float | None, float | None]
# The seed's example answer: monthly estimate per phase, USD. docs/cost.md sets each phase of
# the rendered platform against it.
SEED_PHASE_ESTIMATES: dict[str, float] = {"foundation": 15_000, "training": 25_000, "serving": 20_000}
PURPOSE_LABEL = "omgml.dev/pool-purpose"
# GPU pools on aws (components/aws/karpenter.py), priced like the node groups they replaced.
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
BUCKET_ROLE_TAG = "omgml.dev/bucket-role"
FEATURES_BUCKET_ROLE = "features"


@dataclass(frozen=True)
class Usage:
    """Quantities the render cannot know; each comes from a requirements field (named in `source`)."""

    source: str
    daily_volume_gb: float = 1.0
    streaming: bool = False
    training_gpu_hours: float = 160
    data_retention_days: int = 30
    artifact_gb_per_bucket: float = 50
    nat_gb_per_month: float | None = None
    log_gb_per_month: float = 30

    @property
    def data_gb_per_month(self) -> float:
        return self.daily_volume_gb * DAYS_PER_MONTH


def usage_from_requirements(req: Requirements, source: str = "requirements") -> Usage:
    a = req.assumptions
    return Usage(source=source, daily_volume_gb=req.data.daily_volume_gb, streaming=req.data.streaming,
                 training_gpu_hours=req.training.gpu_hours_per_month, data_retention_days=a.data_retention_days,
                 artifact_gb_per_bucket=a.artifact_gb_per_bucket, nat_gb_per_month=a.nat_gb_per_month,
                 log_gb_per_month=a.log_gb_per_month)


def default_usage() -> Usage:
    """The requirements model's defaults, for a spec that comes without requirements."""
    from omgml.spec.requirements import Requirements

    return usage_from_requirements(Requirements(name="defaults"), "the requirements defaults (no requirements stated)")


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
    usage: Usage | None = None

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

    def to_json(self) -> dict[str, Any]:
        p = self.prices
        return {
            "currency": p.get("currency", "USD"), "region": p.get("region"), "prices_as_of": p.get("as_of"),
            "total_usd_month": self.total, "per_phase": self.per_phase(),
            "seed_phase_estimates": dict(SEED_PHASE_ESTIMATES), "budget_usd_month": self.budget_usd_month,
            "budget_left": self.budget_left, "usage_source": self.usage.source if self.usage else None,
            "items": [{"phase": i.phase, "component": i.component, "resource": i.resource,
                       "description": i.description, "usd_month": i.monthly_usd, "note": i.note}
                      for i in self.items],
        }


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


@dataclass(frozen=True)
class _Context:
    """What pricing one entry needs to know about the whole inventory."""

    prices: Prices
    usage: Usage
    zones: int  # availability zones of the private subnets (1 when unknown)
    nat_gateways: int
    s3_buckets: int
    s3_gateway_endpoint: bool
    # Karpenter EC2NodeClass name → its root volume in GiB (what a NodePool's nodes boot with).
    node_class_disks: dict[str, float] = field(default_factory=dict)

    @property
    def hours(self) -> float:
        return float(self.prices.get("hours_per_month", 730))

    def nat_gb_total(self) -> tuple[float, str]:
        u = self.usage
        if u.nat_gb_per_month is not None:
            return u.nat_gb_per_month, "assumptions.nat_gb_per_month"
        s3_passes = 2 if self.s3_buckets and not self.s3_gateway_endpoint else 0
        gb = u.data_gb_per_month * (1 + s3_passes)
        how = f"data.daily_volume_gb {u.daily_volume_gb:g} × {DAYS_PER_MONTH} days in"
        if s3_passes:
            how += " + the same written to S3 and read back (no S3 gateway endpoint)"
        return gb, how

    def cross_zone_rate(self) -> float:
        # Charged on both sides of the zone boundary.
        return 2 * float(self.prices["data_transfer"]["inter_az_gb"])


def _context(entries: list[dict[str, Any]], prices: Prices, usage: Usage) -> _Context:
    zones = {str((e.get("inputs") or {}).get("availabilityZone")) for e in entries
             if e.get("type") == "aws:ec2/subnet:Subnet" and (e.get("inputs") or {}).get("availabilityZone")}
    endpoints = [e.get("inputs") or {} for e in entries if e.get("type") == "aws:ec2/vpcEndpoint:VpcEndpoint"]
    s3_gateway = any(str(i.get("serviceName", "")).endswith(".s3") and i.get("vpcEndpointType", "Gateway") == "Gateway"
                     for i in endpoints)
    count = {t: sum(1 for e in entries if e.get("type") == t)
             for t in ("aws:ec2/natGateway:NatGateway", "aws:s3/bucket:Bucket")}
    disks = {}
    for e in entries:
        if str(e.get("type", "")).endswith(":EC2NodeClass"):
            i = e.get("inputs") or {}
            roots = [b for b in (i.get("spec") or {}).get("blockDeviceMappings") or [] if b.get("rootVolume")]
            size = str(((roots[0].get("ebs") or {}) if roots else {}).get("volumeSize", ""))
            if size.endswith("Gi") and size[:-2].isdigit():
                disks[str((i.get("metadata") or {}).get("name"))] = float(size[:-2])
    return _Context(prices, usage, max(1, len(zones)), count["aws:ec2/natGateway:NatGateway"],
                    count["aws:s3/bucket:Bucket"], s3_gateway, disks)


def _price(table: dict[str, Any] | None, key: str) -> float | None:
    value = (table or {}).get(key)
    return None if value is None else float(value)


def _missing(table: str, key: str) -> str:
    return f"no price for {key!r} in {table}; add it to a --prices file"


def _rated(what: str, rates: dict[str, Any] | None, table: str, key: str,
           priced: Callable[[float], tuple[str, float]]) -> Cost:
    """A line item at the price `rates[key]`: `priced(rate)` gives what follows `what` in its
    description, and its monthly USD. Without that price the item is still listed, with no amount
    and a note naming the missing price, so the estimate shows the gap instead of counting $0."""
    rate = _price(rates, key)
    if rate is None:
        return (what, None, _missing(table, key), None, None)
    how, usd = priced(rate)
    return (f"{what} {how}", usd, "", None, None)


def item_costs(e: dict[str, Any], ctx: _Context) -> list[Cost]:
    """(description, monthly USD, note, min, max) for one inventory entry; [] when it costs nothing."""
    t, i, prices, h = str(e.get("type", "")), dict(e.get("inputs") or {}), ctx.prices, ctx.hours
    if t == "aws:eks/cluster:Cluster":
        eks = float(prices["eks"]["cluster_hour"])
        return [(f"EKS control plane ${eks}/h × {h:g} h", eks * h, "", None, None)]
    if t == "aws:eks/nodeGroup:NodeGroup":
        return _node_group(i, ctx)
    if t == NODE_POOL:
        return _node_group(_node_pool_as_group(i, ctx), ctx)
    if t == "aws:ec2/natGateway:NatGateway":
        return [_nat(ctx)]
    if t == "aws:ec2/eip:Eip":
        ip = float(prices["public_ipv4_hour"])
        return [(f"public IPv4 address ${ip}/h × {h:g} h", ip * h, "every public IPv4 address is billed hourly",
                 None, None)]
    if t == "aws:kms/key:Key":
        key = float(prices["kms"]["key_month"])
        return [(f"customer-managed KMS key ${key}/month", key, "requests beyond the free tier not included",
                 None, None)]
    if t == "aws:cloudwatch/logGroup:LogGroup":
        return [_log_group(int(i.get("retentionInDays") or 0), ctx, "log group")]
    if t == "aws:ebs/volume:Volume":
        return [_ebs(float(i.get("size", 0)), str(i.get("type", "gp3")), prices, "EBS volume")]
    if t == "aws:msk/cluster:Cluster":
        return _msk(i, ctx)
    if t == "aws:elasticache/replicationGroup:ReplicationGroup":
        node = str(i.get("nodeType", ""))
        if i.get("numNodeGroups"):
            count = int(i["numNodeGroups"]) * (int(i.get("replicasPerNodeGroup", 0)) + 1)
        else:
            count = int(i.get("numCacheClusters", 1))
        return [_rated(f"{count} × {node}", prices.get("elasticache_node_hour"), "elasticache_node_hour", node,
                       lambda rate: (f"${rate}/h × {h:g} h", count * rate * h))]
    if t == "aws:rds/instance:Instance":
        return _rds(i, ctx)
    if t == "aws:s3/bucket:Bucket":
        return [_bucket(i, ctx)]
    if t.startswith("kubernetes:"):
        return _volume_claims(i, prices) + _kafka_cross_zone(i, ctx)
    return []


def _nat(ctx: _Context) -> Cost:
    nat, h = ctx.prices["nat_gateway"], ctx.hours
    total, how = ctx.nat_gb_total()
    gb = total / max(1, ctx.nat_gateways)
    cost = float(nat["hour"]) * h + float(nat["gb_processed"]) * gb
    share = f" ÷ {ctx.nat_gateways} gateways" if ctx.nat_gateways > 1 else ""
    return (f"NAT gateway ${nat['hour']}/h × {h:g} h + {gb:,.0f} GB × ${nat['gb_processed']}/GB processed", cost,
            f"{total:,.0f} GB/month through NAT ({how}){share}", None, None)


def _log_group(retention_days: int, ctx: _Context, what: str) -> Cost:
    logs, gb = ctx.prices["cloudwatch_logs"], ctx.usage.log_gb_per_month
    ingest, store = float(logs["ingest_gb"]), float(logs["storage_gb_month"])
    # Steady state: a retention of R days keeps R/30 months of logs (forever: priced at a year).
    months = (retention_days or 365) / DAYS_PER_MONTH
    stored = gb * months
    kept = f"kept {retention_days} days" if retention_days else "never expires (priced at a year)"
    return (f"CloudWatch {what}: {gb:g} GB × ${ingest}/GB ingested + {stored:,.0f} GB × ${store}/GB-month stored",
            gb * ingest + stored * store, f"assumptions.log_gb_per_month {gb:g}; {kept}", None, None)


def _node_pool_as_group(i: dict[str, Any], ctx: _Context) -> dict[str, Any]:
    """A Karpenter NodePool (a GPU pool on aws) in node-group terms: its first instance type,
    Spot when allowed (On-Demand is the fallback), the pool's stated sizes (annotations: nodes
    follow the pods, a NodePool has no minimum) up to its node limit, its node class's root volume."""
    spec, meta = i.get("spec") or {}, i.get("metadata") or {}
    template = spec.get("template") or {}
    reqs = {r.get("key"): list(r.get("values") or []) for r in (template.get("spec") or {}).get("requirements") or []}
    notes = meta.get("annotations") or {}
    low = int(notes.get("omgml.dev/min-nodes", 0))
    group: dict[str, Any] = {
        "scalingConfig": {"minSize": low, "desiredSize": int(notes.get("omgml.dev/desired-nodes", low)),
                          "maxSize": int((spec.get("limits") or {}).get("nodes", low))},
        "instanceTypes": reqs.get("node.kubernetes.io/instance-type") or [],
        "capacityType": "SPOT" if "spot" in reqs.get("karpenter.sh/capacity-type", []) else "ON_DEMAND",
        "labels": (template.get("metadata") or {}).get("labels") or {},
    }
    disk = ctx.node_class_disks.get(str(((template.get("spec") or {}).get("nodeClassRef") or {}).get("name")))
    if disk is not None:
        group["diskSize"] = disk
    return group


def _node_group(i: dict[str, Any], ctx: _Context) -> list[Cost]:
    prices, h = ctx.prices, ctx.hours
    scaling = i.get("scalingConfig") or {}
    desired = int(scaling.get("desiredSize", scaling.get("minSize", 0)))
    lo, hi = int(scaling.get("minSize", desired)), int(scaling.get("maxSize", desired))
    types = [str(x) for x in i.get("instanceTypes") or ["t3.medium"]]  # EKS's default type
    itype = types[0]
    spot = str(i.get("capacityType", "ON_DEMAND")) == "SPOT"
    rate = _price(prices.get("ec2_instance_hour"), itype)
    disk_gib = float(i.get("diskSize", prices["assumptions"]["node_disk_gib"]))
    market = "spot" if spot else "on-demand"
    purpose = str((i.get("labels") or {}).get(PURPOSE_LABEL, ""))
    notes = []
    if len(types) > 1:
        notes.append(f"priced as {itype}, the first of {types}")
    if spot:
        notes.append(f"spot at {prices['spot_price_factor']} × on-demand (assumption)")
    # A training pool that scales to zero runs max_size nodes for the stated hours, nothing else.
    if purpose == "training" and lo == 0:
        nodes, hours = float(hi), ctx.usage.training_gpu_hours
        notes.append(f"scales to zero; busy {hours:g} h/month at full size (training.gpu_hours_per_month)")
    else:
        nodes, hours = float(desired), h
        if lo == 0:
            notes.append("scales to zero: costs nothing while idle at minSize 0")
    out: list[Cost] = []
    if rate is None:
        out.append((f"{nodes:g} × {itype} {market}", None, _missing("ec2_instance_hour", itype), None, None))
    else:
        node_hour = rate * (float(prices["spot_price_factor"]) if spot else 1.0)
        out.append((f"{nodes:g} × {itype} {market} ${rate}/h × {hours:g} h", nodes * node_hour * hours,
                    "; ".join(notes), lo * node_hour * h, hi * node_hour * h))
    gp3 = float(prices["ebs_gb_month"]["gp3"])
    share = hours / h
    out.append((f"{nodes:g} × {disk_gib:g} GiB node root volumes (gp3)" + (f" × {hours:g}/{h:g} h" if share < 1 else ""),
                nodes * disk_gib * gp3 * share, "", lo * disk_gib * gp3, hi * disk_gib * gp3))
    return out


def _ebs(size_gib: float, volume_type: str, prices: Prices, what: str) -> Cost:
    return _rated(f"{what} {size_gib:g} GiB {volume_type}", prices.get("ebs_gb_month"), "ebs_gb_month", volume_type,
                  lambda rate: (f"× ${rate}/GB-month", size_gib * rate))


def _msk(i: dict[str, Any], ctx: _Context) -> list[Cost]:
    h, prices = ctx.hours, ctx.prices
    brokers = int(i.get("numberOfBrokerNodes", 0))
    info = i.get("brokerNodeGroupInfo") or {}
    itype = str(info.get("instanceType", ""))
    storage = float(((info.get("storageInfo") or {}).get("ebsStorageInfo") or {}).get("volumeSize", 1000))
    msk = prices["msk"]
    out = [_rated(f"{brokers} × {itype}", msk.get("broker_hour"), "msk.broker_hour", itype,
                  lambda rate: (f"broker ${rate}/h × {h:g} h", brokers * rate * h))]
    srate = float(msk["storage_gb_month"])
    out.append((f"{brokers} × {storage:g} GiB broker storage × ${srate}/GB-month", brokers * storage * srate,
                "", None, None))
    if ctx.usage.streaming and ctx.zones > 1:
        # MSK does not bill replication between its brokers; clients in other zones cross a boundary.
        gb = ctx.usage.data_gb_per_month * 2 * (ctx.zones - 1) / ctx.zones
        out.append((f"cross-zone client traffic {gb:,.0f} GB × ${ctx.cross_zone_rate():g}/GB",
                    gb * ctx.cross_zone_rate(),
                    f"producers and consumers reach a broker in another of {ctx.zones} zones "
                    f"{ctx.zones - 1}/{ctx.zones} of the time; replication inside MSK is free", None, None))
    return out


def _rds(i: dict[str, Any], ctx: _Context) -> list[Cost]:
    h, rds = ctx.hours, ctx.prices["rds"]
    cls = str(i.get("instanceClass", ""))
    factor = float(rds.get("multi_az_factor", 2)) if i.get("multiAz") else 1.0
    az = "Multi-AZ" if i.get("multiAz") else "Single-AZ"
    gb = float(i.get("allocatedStorage", 20))
    stype = str(i.get("storageType", "gp3"))
    out = [_rated(f"{cls} {az}", rds.get("instance_hour"), "rds.instance_hour", cls,
                  lambda rate: (f"${rate}/h × {factor:g} × {h:g} h", rate * factor * h)),
           _rated(f"{gb:g} GiB {stype}", rds.get("storage_gb_month"), "rds.storage_gb_month", stype,
                  lambda rate: (f"storage × ${rate}/GB-month × {factor:g}", gb * rate * factor))]
    if i.get("enabledCloudwatchLogsExports"):
        # RDS creates the log group itself (never-expiring by default), so it is not in the inventory.
        out.append(_log_group(0, ctx, "log export"))
    return out


def _bucket(i: dict[str, Any], ctx: _Context) -> Cost:
    u, rate = ctx.usage, float(ctx.prices["s3"]["standard_gb_month"])
    role = str((i.get("tags") or {}).get(BUCKET_ROLE_TAG, ""))
    if role == FEATURES_BUCKET_ROLE:
        gb = u.daily_volume_gb * u.data_retention_days
        how = (f"data.daily_volume_gb {u.daily_volume_gb:g} × assumptions.data_retention_days "
               f"{u.data_retention_days}")
    else:
        gb, how = u.artifact_gb_per_bucket, "assumptions.artifact_gb_per_bucket"
    return (f"S3 Standard {gb:,.0f} GB × ${rate}/GB-month", gb * rate, f"{how} (requests not included)", None, None)


def _volume_claims(m: dict[str, Any], prices: Prices) -> list[Cost]:
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


def _kafka_cross_zone(m: dict[str, Any], ctx: _Context) -> list[Cost]:
    """In-cluster Kafka brokers on nodes in different zones replicate every byte across zones."""
    labels = (m.get("metadata") or {}).get("labels") or {}
    if m.get("kind") != "StatefulSet" or labels.get("app.kubernetes.io/name") != "kafka":
        return []
    brokers = int((m.get("spec") or {}).get("replicas") or 1)
    if brokers < 2 or ctx.zones < 2 or not ctx.usage.streaming:
        return []
    copies = min(3, brokers) - 1
    clients = 2 * (ctx.zones - 1) / ctx.zones
    gb = ctx.usage.data_gb_per_month * (copies + clients)
    return [(f"cross-zone traffic {gb:,.0f} GB × ${ctx.cross_zone_rate():g}/GB", gb * ctx.cross_zone_rate(),
             f"{ctx.usage.data_gb_per_month:,.0f} GB/month streamed × ({copies} follower copies in other zones + "
             f"producers and consumers in another of {ctx.zones} zones {ctx.zones - 1}/{ctx.zones} of the time, "
             "twice)", None, None)]


def estimate_cost(inventory: dict[str, Any], prices: Prices, budget_usd_month: float | None = None,
                  phases: tuple[str, ...] = (), usage: Usage | None = None) -> CostEstimate:
    entries = list(inventory.get("resources", []))
    usage = usage or default_usage()
    ctx = _context(entries, prices, usage)
    walker = _Walker({(str(e.get("type")), str(e.get("name"))): e for e in entries if not e.get("custom")})
    items: list[LineItem] = []
    for e in entries:
        if not e.get("custom"):
            continue
        phase = str(e.get("phase", ""))
        if e.get("type") in ("aws:eks/nodeGroup:NodeGroup", NODE_POOL):
            i = e.get("inputs") or {}
            labels = i.get("labels") or (((i.get("spec") or {}).get("template") or {}).get("metadata") or {}).get(
                "labels") or {}
            phase = {"inference": "serving", "training": "training"}.get(str(labels.get(PURPOSE_LABEL)), phase)
        for description, usd, note, lo, hi in item_costs(e, ctx):
            items.append(LineItem(
                phase, walker.component(e), f"{e.get('type')}/{e.get('name')}", description,
                None if usd is None else round(usd, 2), note,
                None if lo is None else round(lo, 2), None if hi is None else round(hi, 2)))
    # The inventory's order follows resource registration, which async outputs can reorder from
    # one render to the next: a stable order keeps docs/cost.md (and `omgml sync`) unchanged when
    # nothing changed.
    rank = {p: n for n, p in enumerate(phases)}
    # Stable: a resource's own items keep the order item_costs gives them.
    items.sort(key=lambda i: (rank.get(i.phase, len(rank)), i.phase, i.component, i.resource))
    return CostEstimate(items, prices, budget_usd_month, phases, usage)


def render_cost(render: PlatformRender, usage: Usage, prices: Prices | None = None,
                budget_usd_month: float | None = None) -> CostEstimate:
    """Price a render's inventory (every phase it holds)."""
    return estimate_cost(render.inventory(), prices if prices is not None else load_prices(None),
                         budget_usd_month, tuple(p.phase for p in render.phases), usage)


def platform_cost(spec: PlatformSpec, usage: Usage, prices: Prices | None = None,
                  budget_usd_month: float | None = None) -> CostEstimate:
    """Render `spec` and price its inventory: what every command that prints a cost calls."""
    from omgml.synth.render import render_platform

    return render_cost(render_platform(spec), usage, prices, budget_usd_month)


def project_requirements(spec_file: Path) -> Requirements | None:
    """The `requirements:` section of a project's omgml.yaml, if it has one."""
    if not spec_file.exists():
        return None
    data = yaml.safe_load(spec_file.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not isinstance(data.get("requirements"), dict):
        return None
    from omgml.spec.requirements import requirements_from_dict

    return requirements_from_dict(data["requirements"], f"{spec_file} (requirements)")


def budget_from_project(spec_file: Path) -> float | None:
    """`requirements.budget_usd_month` of omgml.yaml, if the project states one."""
    req = project_requirements(spec_file)
    return None if req is None else req.budget_usd_month


def cost_markdown(est: CostEstimate, baseline: CostEstimate | None = None) -> str:
    """The estimate as GitHub-flavoured Markdown; with a baseline, the change per phase."""
    p = est.prices
    lines = [f"**omgml cost**: {est.total:,.2f} {p.get('currency', 'USD')}/month "
             f"({p.get('region')} list prices as of {p.get('as_of')})", ""]
    if baseline is None:
        lines += ["| phase | USD/month | seed estimate | share of it |", "|---|---:|---:|---:|"]
        for ph, usd in est.per_phase().items():
            seed = SEED_PHASE_ESTIMATES.get(ph)
            lines.append(f"| {ph} | {usd:,.2f} | " + (f"{seed:,.0f} | {usd / seed:.0%} |" if seed else "| |"))
        seed_total = sum(SEED_PHASE_ESTIMATES.values())
        lines.append(f"| **total** | **{est.total:,.2f}** | {seed_total:,.0f} | {est.total / seed_total:.0%} |")
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
    if est.usage is not None:
        lines += ["", f"Usage assumptions from {est.usage.source}."]
    return "\n".join(lines) + "\n"


def cost_table_markdown(est: CostEstimate) -> list[str]:
    """Every line item as a Markdown table (docs/cost.md)."""
    rows = ["| phase | component | resource | what | USD/month |", "|---|---|---|---|---:|"]
    for i in est.items:
        usd = "?" if i.monthly_usd is None else f"{i.monthly_usd:,.2f}"
        what = i.description + (f" ({i.note})" if i.note else "")
        rows.append(f"| {i.phase} | `{i.component}` | `{i.resource}` | {what} | {usd} |")
    return rows

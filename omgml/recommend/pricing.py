"""The recommendation with its price: the render's cost, each store's cost difference, the budget rule.

`priced_recommendation(req)` is what `omgml recommend` and `omgml init` run. On aws it:
1. renders the engine's PlatformSpec and prices the inventory with omgml.cost (the same call
   `omgml cost` makes, with the same usage assumptions from the requirements), so the three print
   the same total to the cent;
2. renders the foundation once more with every store on the other side (managed ↔ in-cluster) and
   sets each store's two costs side by side in the data_stores decision;
3. over `budget_usd_month`, moves the stores that are managed for convenience only (availability
   99.9 or profile production, never for zones or compliance) into the cluster, says how much that
   saves, and prices the result; still over budget, it warns with the biggest cost drivers.
On target local there is no bill, and nothing is rendered here.
"""

from __future__ import annotations

from dataclasses import replace

from omgml.aws_placement import AWS_SERVICE, IN_CLUSTER, SERVICES, Placement, service_placements
from omgml.cost import CostEstimate, Prices, Usage, estimate_cost, load_prices, render_cost, usage_from_requirements
from omgml.recommend.engine import decide
from omgml.recommend.model import Decision, Recommendation
from omgml.spec import PlatformSpec
from omgml.spec.requirements import Requirements

# The components that make up each store, managed or in the cluster (their type tokens).
STORE_COMPONENTS: dict[str, tuple[str, ...]] = {
    "postgres": ("omgml:aws:RdsPostgres", "omgml:aws:RdsDatabases", "omgml:data:Postgres"),
    "redis": ("omgml:aws:ElastiCache", "omgml:data:Redis"),
    "kafka": ("omgml:aws:Msk", "omgml:data:Kafka"),
    "object_store": ("omgml:aws:S3", "omgml:data:ObjectStore"),
}
# Components whose cost moves with the object store's side (S3 traffic crosses the NAT gateways).
NETWORK_COMPONENTS: tuple[str, ...] = ("omgml:aws:Network",)


def _component_cost(est: CostEstimate, tokens: tuple[str, ...]) -> float:
    return round(sum(i.monthly_usd or 0.0 for i in est.items if i.component.split("/", 1)[0] in tokens), 2)


def store_costs(req: Requirements, spec: PlatformSpec, usage: Usage, prices: Prices, current: CostEstimate
                ) -> dict[str, tuple[float, float]]:
    """{store: (managed USD/month, in-cluster USD/month)} for the stores that could sit on either side.

    The other side comes from the engine itself (every store flipped, sized as the engine sizes it
    there), rendered for the foundation phase only: the stores live there."""
    from omgml.synth.render import render_platform

    f = spec.phases.foundation
    stores = [s for s in SERVICES if getattr(f, s).enabled
              and not (s == "object_store" and f.feast.offline_store == "delta")]
    if not stores:
        return {}
    flipped = {s: Placement(s, getattr(f, s).managed != (s in stores), "", "") for s in SERVICES}
    other_spec = decide(req, flipped).platform
    render = render_platform(other_spec, ["foundation"])
    other = estimate_cost(render.inventory(), prices, None, ("foundation",), usage)
    out: dict[str, tuple[float, float]] = {}
    for s in stores:
        here, there = _component_cost(current, STORE_COMPONENTS[s]), _component_cost(other, STORE_COMPONENTS[s])
        if s == "object_store":
            here += _component_cost(current, NETWORK_COMPONENTS)
            there += _component_cost(other, NETWORK_COMPONENTS)
        out[s] = (here, there) if getattr(f, s).managed else (there, here)
    return out


def _store_lines(spec: PlatformSpec, costs: dict[str, tuple[float, float]]) -> tuple[str, ...]:
    f = spec.phases.foundation
    lines = []
    for s, (managed, in_cluster) in costs.items():
        side = "managed" if getattr(f, s).managed else "in the cluster"
        extra = (" (S3 counts the NAT-gateway processing its traffic adds while the VPC has no S3 gateway "
                 "endpoint)") if s == "object_store" else ""
        lines.append(f"{s}: {AWS_SERVICE[s]} ${managed:,.2f}/month vs {IN_CLUSTER[s]} ${in_cluster:,.2f}/month"
                     f"{extra}: {'+' if managed >= in_cluster else '−'}${abs(managed - in_cluster):,.2f} for "
                     f"managed; runs {side}.")
    return tuple(lines)


def _budget_placements(req: Requirements, rec: Recommendation, est: CostEstimate,
                       costs: dict[str, tuple[float, float]]) -> dict[str, Placement] | None:
    """Placements with convenience-managed stores moved in-cluster, or None when none can move."""
    assert req.budget_usd_month is not None
    delta = rec.choice("feature_store") == "delta-lake"
    base = service_placements(req.target, req.resolved_profile(), req.availability, req.compliance,
                              req.in_cluster, delta)
    f = rec.platform.phases.foundation
    movable = [s for s, p in base.items() if p.managed and p.movable and getattr(f, s).enabled and s in costs]
    if not movable:
        return None
    out = dict(base)
    for s in movable:
        managed, in_cluster = costs[s]
        out[s] = Placement(s, False, IN_CLUSTER[s], (
            f"budget_usd_month ${req.budget_usd_month:,.0f}: the platform was estimated at ${est.total:,.2f}/month, "
            f"and {s} was managed for convenience only ({base[s].rationale}); in the cluster it saves "
            f"${managed - in_cluster:,.2f}/month"))
    return out


def _budget_note(req: Requirements, est: CostEstimate) -> str:
    drivers = "; ".join(f"{i.resource} ${i.monthly_usd:,.2f} ({i.description})" for i in est.drivers(3))
    return (f"budget: the platform is estimated at ${est.total:,.2f}/month on AWS, over budget_usd_month "
            f"${req.budget_usd_month:,.2f}. Biggest cost drivers: {drivers}. Lower training.max_gpus or "
            "training.gpu_hours_per_month, serve on fewer replicas (serving.peak_rps), lower availability, "
            "or raise the budget.")


def priced_recommendation(req: Requirements, prices: Prices | None = None) -> Recommendation:
    """The engine's recommendation with its render's cost (aws); unchanged on target local."""
    from omgml.synth.render import render_platform

    rec = decide(req)
    if req.target != "aws":
        return rec
    prices = prices if prices is not None else load_prices(None)
    usage = usage_from_requirements(req, "the requirements (omgml.yaml)")
    render = render_platform(rec.platform)
    est = render_cost(render, usage, prices, req.budget_usd_month)
    costs = store_costs(req, rec.platform, usage, prices, est)
    notes: list[str] = []
    if req.budget_usd_month is not None and est.total > req.budget_usd_month:
        moved = _budget_placements(req, rec, est, costs)
        if moved is not None:
            rec = decide(req, moved)
            render = render_platform(rec.platform)
            est = render_cost(render, usage, prices, req.budget_usd_month)
        if est.total > req.budget_usd_month:
            notes.append(_budget_note(req, est))
    decisions = tuple(_with_store_costs(d, rec.platform, costs) for d in rec.decisions)
    return replace(rec, decisions=decisions, cost=est, warnings=rec.warnings + tuple(notes),
                   unmet=rec.unmet + tuple(notes), render=render)


def _with_store_costs(d: Decision, spec: PlatformSpec, costs: dict[str, tuple[float, float]]) -> Decision:
    if d.area != "data_stores" or not costs:
        return d
    return replace(d, consequences=d.consequences + _store_lines(spec, costs))


__all__ = ["priced_recommendation", "store_costs"]

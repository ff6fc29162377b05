"""Sizing from the requirements: replicas, CPU or GPU, autoscaling bounds, Kafka, Redis, training pool.

Pure arithmetic over the stated load and the stated (or default) planning figures in
`requirements.assumptions`. Every sized quantity comes back as a `Line` carrying its arithmetic,
so the recommendation can show how each number was reached and the team can check it.

The model server:
- capacity of one replica: CPU replicas answer `rps_per_vcpu` × the replica's vCPU request (2 on
  the production profile, 1 on small, 0.25 on laptop: components/modelserver.py SERVER_SIZES);
  GPU replicas answer `rps_per_gpu` (one GPU each, Triton's dynamic batching);
- replicas for the peak: ceil(peak_rps ÷ (capacity × peak_utilisation)); spread over Z zones, the
  peak must survive losing one zone, so × Z/(Z−1);
- the replicas that carry the peak stay on all the time: nothing adds nodes within minutes on
  either target yet (no node autoscaler is installed), and a scorer that sheds load at its peak
  fails the callers. The autoscaler may go 50 % above the stated peak (max_replicas);
- CPU or GPU: a stated `serving.gpu` wins; otherwise GPU when the CPU replicas for the peak need
  more vCPU than the system node group can grow by (its max − desired nodes), on aws only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from omgml.spec.common import Profile
from omgml.spec.requirements import Requirements

# (GPUs per node, instance type), smallest first: the training pool uses the smallest node that
# holds min(max_gpus, 8) GPUs, so a multi-GPU job fits on one node (NVLink/PCIe, no network hop).
GPU_NODE_SHAPES: tuple[tuple[int, str], ...] = ((1, "g5.xlarge"), (4, "g5.12xlarge"), (8, "g5.48xlarge"))
INFERENCE_INSTANCE = "g5.xlarge"
# One NVIDIA A10G per g5.xlarge: 24 GB of GPU memory.
INFERENCE_GPU_MEMORY_MB = 24_000
# vCPUs of the system node group's instance types (the first type of each profile's group).
INSTANCE_VCPU: dict[str, int] = {"t3.large": 2, "m7i.xlarge": 4, "m7i.2xlarge": 8}
# ElastiCache node memory (GiB) of the node type each profile's replication group uses.
CACHE_NODE_MEMORY_GIB: dict[str, float] = {"cache.t4g.micro": 0.5, "cache.t4g.small": 1.37,
                                           "cache.m7g.large": 6.38}
# Redis keeps more than the raw feature bytes: per-key overhead, hash encoding, fragmentation.
REDIS_OVERHEAD = 1.5
# The laptop profile's whole platform fits 4 CPU / 8 GiB; an online store above a quarter of
# that memory cannot sit next to everything else.
LAPTOP_REDIS_MAX_MIB = 2048
# Burst room of the autoscaler above the replicas that carry the stated peak.
BURST_FACTOR = 1.5
# Without a stated peak: the autoscaler may add replicas up to this many.
DEFAULT_MAX_REPLICAS = 3
MAX_REPLICAS = 100
MAX_BROKERS = 9
# Dynamic batching waits at most this share of the p99 budget for a batch to fill, capped.
BATCH_DELAY_SHARE = 0.1
BATCH_DELAY_CAP_US = 5000


@dataclass(frozen=True)
class Line:
    """One sized quantity: what, how many, and the arithmetic that gave it."""

    item: str
    value: str
    arithmetic: str


@dataclass(frozen=True, kw_only=True)
class Sized:
    """What every sizing result carries besides its figures: the engine shows all `lines` in the
    sizing table and turns all `unmet` into warnings, whichever quantity was sized."""

    # The figures and the arithmetic behind them.
    lines: tuple[Line, ...] = ()
    # Requirements the target cannot meet (each a full warning sentence without its area prefix).
    unmet: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServingSize(Sized):
    gpu: bool
    replicas: int
    max_replicas: int
    # Why CPU or GPU (for the serving decision's rationale).
    hardware_reason: str
    # Triton's dynamic-batching queue delay (µs) for model configs, when a latency target is stated.
    batch_delay_us: int | None = None


@dataclass(frozen=True)
class KafkaSize(Sized):
    brokers: int
    storage_gib: int
    log_partitions: int


@dataclass(frozen=True)
class RedisSize(Sized):
    max_memory_mib: int | None


@dataclass(frozen=True)
class TrainingPoolShape(Sized):
    gpus_per_node: int
    instance: str
    nodes: int


def _n(x: float) -> str:
    """A number as people write it in arithmetic: 10,000 / 7.1 / 0.7."""
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def server_vcpu(profile: Profile) -> float:
    """The model server container's CPU request on `profile` (components/modelserver.py)."""
    from omgml.capacity import cpu_millicores
    from omgml.components.modelserver import SERVER_SIZES

    return cpu_millicores(SERVER_SIZES[profile].cpu_request) / 1000


def server_memory_mb(profile: Profile) -> float:
    from omgml.capacity import memory_bytes
    from omgml.components.modelserver import SERVER_SIZES

    return memory_bytes(SERVER_SIZES[profile].memory_limit) / 1e6


def cpu_growth_room(profile: Profile) -> tuple[float, str]:
    """vCPU the system node group can add beyond its desired size, and how that was counted."""
    from omgml.components.aws.cluster import SYSTEM_NODES

    sizing = SYSTEM_NODES[profile]
    itype = sizing.instance_types[0]
    vcpu = INSTANCE_VCPU[itype]
    spare = sizing.max_size - sizing.desired_size
    return spare * vcpu, f"({sizing.max_size} − {sizing.desired_size}) × {itype} × {vcpu} vCPU"


def zone_headroom(needed: int, zones: int) -> int:
    """Replicas so that losing one of `zones` zones still leaves `needed` (× Z/(Z−1))."""
    return math.ceil(needed * zones / (zones - 1)) if zones > 1 else needed


def serving_size(req: Requirements, tier: str, zones: int, profile: Profile, triton: bool = True) -> ServingSize:
    """Replicas, autoscaling bounds and CPU/GPU of the model server, with the arithmetic.

    `triton`: the server is Triton, whose models take a dynamic-batching delay from the p99 budget."""
    a = req.assumptions
    floor = {"single": 1, "multi-replica": 2, "multi-az": max(2, zones)}[tier]
    floor_why = {"single": "one replica (high_availability single)",
                 "multi-replica": "two replicas (high_availability multi-replica)",
                 "multi-az": f"one replica per zone, {zones} zones (high_availability multi-az)"}[tier]
    peak = req.serving.peak_rps or 0
    lines: list[Line] = []
    unmet: list[str] = []
    vcpu = server_vcpu(profile)
    cpu_rps = vcpu * a.rps_per_vcpu
    util = a.peak_utilisation
    cpu_needed = math.ceil(peak / (cpu_rps * util)) if peak else 0
    gpu_needed = math.ceil(peak / (a.rps_per_gpu * util)) if peak else 0
    zoned = tier == "multi-az"

    def with_zones(n: int) -> int:
        return zone_headroom(n, zones) if zoned else n

    if peak:
        lines.append(Line("CPU replica capacity", f"{_n(cpu_rps)} requests/s",
                          f"{_n(vcpu)} vCPU (profile {profile}) × assumptions.rps_per_vcpu {_n(a.rps_per_vcpu)}"))
        lines.append(Line("CPU replicas for the peak", str(cpu_needed),
                          f"serving.peak_rps {_n(peak)} ÷ ({_n(cpu_rps)} × peak_utilisation {_n(util)}) = "
                          f"{_n(peak / (cpu_rps * util))} → {cpu_needed}"))
    if req.stated("serving.gpu"):
        gpu = req.serving.gpu
        hardware = f"serving.gpu {'true' if gpu else 'false'} is stated."
    elif not peak:
        gpu = False
        hardware = "No serving.peak_rps is stated: CPU replicas (serving.gpu is not stated either)."
    elif req.target != "aws":
        gpu = False
        hardware = ("target local plans no GPU for serving; the laptop holds one CPU replica "
                    "(serving.gpu: true adds a tainted GPU worker).")
    else:
        room, room_how = cpu_growth_room(profile)
        cpu_vcpu = with_zones(cpu_needed) * vcpu
        lines.append(Line("system node group growth room", f"{_n(room)} vCPU", room_how))
        gpu = cpu_vcpu > room
        how = (f"{with_zones(cpu_needed)} CPU replicas × {_n(vcpu)} vCPU = {_n(cpu_vcpu)} vCPU "
               f"{'>' if gpu else '≤'} the system node group's growth room of {_n(room)} vCPU")
        if gpu:
            hardware = (f"CPU serving does not fit: {how}. GPU replicas with dynamic batching carry the peak "
                        f"with {with_zones(gpu_needed)} × {INFERENCE_INSTANCE}.")
        else:
            hardware = f"CPU serving fits: {how}; no GPU is needed."
    if gpu and peak:
        lines.append(Line("GPU replicas for the peak", str(gpu_needed),
                          f"serving.peak_rps {_n(peak)} ÷ (assumptions.rps_per_gpu {_n(a.rps_per_gpu)} × "
                          f"peak_utilisation {_n(util)}) = {_n(peak / (a.rps_per_gpu * util))} → {gpu_needed}"))
    needed = gpu_needed if gpu else cpu_needed
    if zoned and needed:
        lines.append(Line("replicas to survive a zone outage", str(with_zones(needed)),
                          f"{needed} × {zones}/{zones - 1} = {_n(needed * zones / (zones - 1))} → "
                          f"{with_zones(needed)}: losing one of {zones} zones still leaves {needed}"))
    replicas = max(floor, with_zones(needed))
    if peak:
        max_replicas = min(MAX_REPLICAS, max(replicas, math.ceil(replicas * BURST_FACTOR)))
        scale_how = (f"{replicas} always on (the peak's replicas or the HA minimum of {floor_why}, the larger: "
                     "no node autoscaler adds nodes within minutes yet); up to "
                     f"{replicas} × {_n(BURST_FACTOR)} = {max_replicas} for bursts above the stated peak")
    else:
        max_replicas = max(replicas, DEFAULT_MAX_REPLICAS)
        scale_how = f"{floor_why}; the autoscaler may add up to {max_replicas}"
    if req.target == "local":
        replicas, max_replicas = 1, min(max_replicas, DEFAULT_MAX_REPLICAS)
        scale_how = "target local: one replica on the one machine (up to 3 by the autoscaler)"
        if needed > 1:
            per = a.rps_per_gpu if gpu else cpu_rps
            unmet.append(f"serving.peak_rps {_n(peak)} needs {needed} {'GPU' if gpu else 'CPU'} replicas of {_n(per)} "
                         f"requests/s at peak_utilisation {_n(util)}; the laptop profile holds one (4 CPU / 8 GiB for "
                         "the whole platform). Use target aws.")
    elif not gpu and req.stated("serving.gpu") and peak:
        room, room_how = cpu_growth_room(profile)
        if replicas * vcpu > room:
            unmet.append(f"serving.peak_rps {_n(peak)} on CPU needs {replicas} replicas × {_n(vcpu)} vCPU = "
                         f"{_n(replicas * vcpu)} vCPU, more than the system node group can grow by "
                         f"({_n(room)} vCPU, {room_how}). Set serving.gpu: true, or lower the stated peak.")
    if replicas > MAX_REPLICAS:
        unmet.append(f"{replicas} model-server replicas exceed the spec's limit of {MAX_REPLICAS}; raise "
                     "assumptions.rps_per_gpu (measure it) or split the traffic over several platforms.")
        replicas = max_replicas = MAX_REPLICAS
    lines.append(Line("model-server replicas (HPA min … max)", f"{replicas} … {max_replicas}", scale_how))
    delay = None
    latency = req.serving.latency_p99_ms
    if latency is not None and triton:
        delay = min(BATCH_DELAY_CAP_US, int(latency * 1000 * BATCH_DELAY_SHARE))
        lines.append(Line("Triton dynamic batching max_queue_delay_microseconds", str(delay),
                          f"serving.latency_p99_ms {latency} × {_n(BATCH_DELAY_SHARE)} = "
                          f"{_n(latency * 1000 * BATCH_DELAY_SHARE)} µs, at most {BATCH_DELAY_CAP_US} µs"))
    unmet += _model_memory(req, profile, gpu, lines)
    return ServingSize(gpu, replicas, max_replicas, hardware, delay, lines=tuple(lines), unmet=tuple(unmet))


def _model_memory(req: Requirements, profile: Profile, gpu: bool, lines: list[Line]) -> list[str]:
    size = req.models.size_mb
    if size is None:
        return []
    total = req.models.count * size
    limit = server_memory_mb(profile)
    lines.append(Line("memory for every model in one replica", f"{_n(total)} MB",
                      f"models.count {req.models.count} × models.size_mb {_n(size)}; a replica's memory limit is "
                      f"{_n(limit)} MB (profile {profile})"))
    out = []
    if total > limit:
        out.append(f"models.count {req.models.count} × models.size_mb {_n(size)} = {_n(total)} MB does not fit a "
                   f"model-server replica's {_n(limit)} MB memory limit (profile {profile}). Load a subset per "
                   "server (phases.serving.server.model_control_mode: explicit with .models) or use a larger "
                   "profile.")
    if gpu and total > INFERENCE_GPU_MEMORY_MB:
        out.append(f"{_n(total)} MB of models exceed one {INFERENCE_INSTANCE} GPU's {_n(INFERENCE_GPU_MEMORY_MB)} MB; "
                   "load a subset per server (model_control_mode: explicit) or choose a larger GPU instance "
                   "for phases.serving.gpu_pools.")
    return out


def kafka_size(req: Requirements, multi: bool) -> KafkaSize:
    """Brokers, broker volume and inference-log partitions from the data volume and the peak."""
    a = req.assumptions
    lines: list[Line] = []
    unmet: list[str] = []
    avg = req.data.daily_volume_gb * 1000 / 86_400
    peak = avg * a.peak_to_average
    floor = 3 if multi else 1
    rf = 3 if floor >= 3 else 1
    needed = math.ceil(peak * rf / a.kafka_mb_per_broker) if peak else 0
    brokers = max(floor, needed)
    lines.append(Line("peak data rate", f"{_n(round(peak, 2))} MB/s",
                      f"data.daily_volume_gb {_n(req.data.daily_volume_gb)} × 1000 ÷ 86,400 s × "
                      f"assumptions.peak_to_average {_n(a.peak_to_average)}"))
    lines.append(Line("Kafka brokers", str(brokers),
                      f"{_n(round(peak, 2))} MB/s × replication {rf} ÷ assumptions.kafka_mb_per_broker "
                      f"{_n(a.kafka_mb_per_broker)} = {_n(round(peak * rf / a.kafka_mb_per_broker, 2))} → {needed}; "
                      f"at least {floor} ({'replication factor 3, min in-sync 2' if multi else 'one broker'})"))
    if brokers > MAX_BROKERS:
        unmet.append(f"the peak data rate needs {brokers} Kafka brokers, more than the spec's {MAX_BROKERS}; raise "
                     "assumptions.kafka_mb_per_broker (measure it) or split the streams over several clusters.")
        brokers = MAX_BROKERS
    rf = min(rf, brokers)
    storage = max(10, math.ceil(req.data.daily_volume_gb * a.kafka_retention_days * rf / brokers))
    lines.append(Line("Kafka volume per broker", f"{storage} GiB",
                      f"data.daily_volume_gb {_n(req.data.daily_volume_gb)} × kafka_retention_days "
                      f"{a.kafka_retention_days} × replication {rf} ÷ {brokers} brokers (at least 10)"))
    rps = req.serving.peak_rps or 0
    partitions = max(3, math.ceil(rps / a.kafka_msgs_per_partition)) if rps else 3
    lines.append(Line("inference-logs partitions", str(partitions),
                      f"serving.peak_rps {_n(rps)} ÷ assumptions.kafka_msgs_per_partition "
                      f"{_n(a.kafka_msgs_per_partition)} (at least 3)" if rps else
                      "no serving.peak_rps: 3, the broker default"))
    return KafkaSize(brokers, storage, partitions, lines=tuple(lines), unmet=tuple(unmet))


def redis_size(req: Requirements, profile: Profile, managed: bool) -> RedisSize:
    """Redis' maxmemory from the online feature set (in-cluster), or a check of the node type (managed)."""
    gb = req.data.online_features_gb
    if gb is None:
        return RedisSize(None)
    need_mib = math.ceil(gb * 1024 * REDIS_OVERHEAD)
    how = f"data.online_features_gb {_n(gb)} × 1024 × {_n(REDIS_OVERHEAD)} (keys, encoding, fragmentation)"
    if managed:
        from omgml.components.aws.elasticache import CACHE_SIZING

        node = CACHE_SIZING[profile].instance_class
        have = CACHE_NODE_MEMORY_GIB[node]
        lines = (Line("online store memory", f"{need_mib:,} MiB", f"{how}; ElastiCache {node} holds {_n(have)} GiB"),)
        unmet = () if need_mib <= have * 1024 else (
            f"data.online_features_gb {_n(gb)} needs {need_mib:,} MiB of Redis, more than ElastiCache {node} "
            f"({_n(have)} GiB, profile {profile}); shard the online store or keep fewer features online.",)
        return RedisSize(None, lines=lines, unmet=unmet)
    lines = (Line("Redis maxmemory", f"{need_mib:,} MiB", how),)
    if profile == "laptop" and need_mib > LAPTOP_REDIS_MAX_MIB:
        return RedisSize(LAPTOP_REDIS_MAX_MIB, lines=lines, unmet=(
            f"data.online_features_gb {_n(gb)} needs {need_mib:,} MiB of Redis; the laptop profile gives it at most "
            f"{LAPTOP_REDIS_MAX_MIB:,} MiB (8 GiB for the whole platform). Use target aws or a sample of the "
            "features.",))
    return RedisSize(need_mib, lines=lines)


def training_pool_shape(max_gpus: int) -> TrainingPoolShape:
    """The smallest node holding min(max_gpus, 8) GPUs, and as many nodes as max_gpus needs."""
    want = min(max_gpus, GPU_NODE_SHAPES[-1][0])
    per_node, instance = next((n, i) for n, i in GPU_NODE_SHAPES if n >= want)
    nodes = math.ceil(max_gpus / per_node)
    line = Line("training pool", f"{nodes} × {instance} ({per_node} GPU each)",
                f"training.max_gpus {max_gpus}: the smallest node with min({max_gpus}, 8) = {want} GPUs is {instance}; "
                f"{max_gpus} ÷ {per_node} → {nodes} node(s), scaled to zero between runs")
    return TrainingPoolShape(per_node, instance, nodes, lines=(line,))


__all__ = [
    "GPU_NODE_SHAPES", "INFERENCE_INSTANCE", "KafkaSize", "Line", "RedisSize", "ServingSize", "Sized", "TrainingPoolShape",
    "kafka_size", "redis_size", "serving_size", "training_pool_shape", "zone_headroom",
]

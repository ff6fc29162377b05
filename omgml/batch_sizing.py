"""How big the Spark batch scoring job is: executors from the data one run reads (pure).

Used by the component (omgml.components.spark, the CronJob's confs) and by the recommendation
engine (the sizing arithmetic it prints), so it imports neither Pulumi nor the engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from omgml.spec.common import Profile


@dataclass(frozen=True)
class ExecutorShape:
    """Per-profile executor size: cores, JVM heap (GiB) and the pod's memory (heap + overhead)."""

    cores: int
    # What the pod requests (Kubernetes quantity): all its cores, except on a laptop, where one
    # task slot shares the CPU with the rest of the platform.
    request_cpu: str
    heap_gib: float
    # Input a run hands to one executor (GB): the executor count is input_gb / this.
    gb_per_executor: float
    max_executors: int


EXECUTOR_SHAPES: dict[Profile, ExecutorShape] = {
    "laptop": ExecutorShape(cores=1, request_cpu="250m", heap_gib=0.5, gb_per_executor=2, max_executors=1),
    "small": ExecutorShape(cores=2, request_cpu="2", heap_gib=4, gb_per_executor=20, max_executors=10),
    "production": ExecutorShape(cores=4, request_cpu="4", heap_gib=12, gb_per_executor=50, max_executors=50),
}
# Spark adds max(384 MiB, 10 %) of non-heap memory to the executor pod (spark.executor.memoryOverhead).
OVERHEAD_MIB = 384
OVERHEAD_SHARE = 0.10


@dataclass(frozen=True)
class SparkSizing:
    executors: int
    cores: int
    request_cpu: str
    heap_mib: int
    pod_memory_mib: int  # heap + overhead: the executor pod's request and limit
    why: str


def spark_sizing(input_gb: float, profile: Profile, executors: int | None = None) -> SparkSizing:
    """Executors for a run that reads `input_gb` (pure; the arithmetic is in `why`)."""
    shape = EXECUTOR_SHAPES[profile]
    heap = int(shape.heap_gib * 1024)
    pod = heap + max(OVERHEAD_MIB, int(heap * OVERHEAD_SHARE))
    if executors is not None:
        return SparkSizing(executors, shape.cores, shape.request_cpu, heap, pod,
                           f"batch_scoring.executors {executors} (stated)")
    wanted = math.ceil(input_gb / shape.gb_per_executor)
    count = max(1, min(shape.max_executors, wanted))
    why = (f"batch_scoring.input_gb {input_gb:g} ÷ {shape.gb_per_executor:g} GB per executor = {wanted}, "
           f"between 1 and {shape.max_executors} on the {profile} profile → {count}; each {shape.cores} core(s), "
           f"{heap} MiB heap + {pod - heap} MiB overhead")
    return SparkSizing(count, shape.cores, shape.request_cpu, heap, pod, why)

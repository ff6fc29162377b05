"""Synth time and laptop-profile requests per phase (prints its figures; not a test).

Usage: python bench/synth_bench.py [SPEC_OR_PROJECT ...] [--repeat N]
Without arguments it benchmarks the reference spec (stacks/omgml.yaml), each shipped template
and each orchestration / feature-store alternative (ALTERNATIVES) on the laptop profile;
`--alternatives` benchmarks only the alternatives.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from omgml.capacity import total_requests, workload_requests
from omgml.spec import PlatformSpec, load_spec
from omgml.synth.render import PlatformRender, render_platform

ROOT = Path(__file__).resolve().parent.parent
LAPTOP_BUDGET = (4000, 8 * 2**30)


# Bench-only presets: requirements that make the engine pick each orchestration and feature-store
# alternative, and a platform override where the alternative is a spec setting (a managed
# Airflow for a team that keeps its own is `phases.training.airflow.enabled: true`).
ALTERNATIVES: tuple[tuple[str, dict[str, Any], dict[str, Any]], ...] = (
    ("kubeflow", {"flags": ["kubernetes_native"]}, {}),
    ("prefect", {}, {}),
    ("airflow-existing", {"orchestration": {"existing": "airflow"}}, {}),
    ("airflow-managed", {"orchestration": {"existing": "airflow"}}, {"enabled": True, "airflow": {"enabled": True}}),
    ("delta-lake", {"flags": ["batch_only"]}, {}),
    # The training add-ons: Katib beside Kubeflow; Optuna, W&B settings and governance with Prefect.
    ("kubeflow-katib", {"flags": ["kubernetes_native"], "training": {"hpo": True}}, {}),
    ("prefect-optuna-governance", {"training": {"hpo": True}, "tracking": {"wandb": True},
                                   "governance": {"sensitive_features": ["age_band"]}}, {}),
)


def alternative_specs() -> list[tuple[str, PlatformSpec]]:
    from omgml.recommend import recommend
    from omgml.spec import spec_from_dict
    from omgml.spec.requirements import requirements_from_dict

    out = []
    for label, req, training in ALTERNATIVES:
        rec = recommend(requirements_from_dict({"name": f"alt-{label}", **req}))
        data = rec.platform.model_dump(mode="json")
        for key, value in training.items():
            if isinstance(value, dict):
                data["phases"]["training"][key].update(value)
            else:
                data["phases"]["training"][key] = value
        spec = spec_from_dict(data, source=f"alternative {label}")
        choices = f"orchestration={rec.choice('orchestration')}, feature_store={rec.choice('feature_store')}"
        out.append((f"alternative:{label} ({choices})", spec))
    return out


def _specs(paths: list[str]) -> list[tuple[str, PlatformSpec]]:
    if paths:
        out = []
        for p in paths:
            path = Path(p)
            out.append((p, load_spec(path / "omgml.yaml" if path.is_dir() else path)))
        return out
    specs = [("reference", load_spec(ROOT / "stacks" / "omgml.yaml"))]
    try:
        from omgml.templates import template_names, template_platform_spec
    except ImportError:
        return specs
    for name in template_names():
        specs.append((f"template:{name}", template_platform_spec(name)))
    return specs + alternative_specs()


def timed_render(spec: PlatformSpec, repeat: int) -> tuple[PlatformRender, float]:
    """The last of `repeat` renders of `spec` (all phases) and the median seconds one took."""
    times: list[float] = []
    render = None
    for _ in range(repeat):
        t = time.perf_counter()
        render = render_platform(spec)
        times.append(time.perf_counter() - t)
    assert render is not None
    return render, statistics.median(times)


def bench(label: str, spec: PlatformSpec, repeat: int) -> None:
    render, seconds = timed_render(spec, repeat)
    print(f"\n== {label} (target={spec.target}, profile={spec.profile}) ==")
    print(f"full synth: median {seconds:.2f}s over {repeat} run(s)")
    grand_cpu = grand_mem = 0
    for p in render.phases:
        cpu, mem, gpu = total_requests(p.manifests)
        grand_cpu, grand_mem = grand_cpu + cpu, grand_mem + mem
        resources = len(p.result.resources)
        print(f"  {p.phase:<10} synth {p.seconds:5.2f}s  resources {resources:4d}  manifests {len(p.manifests):4d}  "
              f"requests cpu {cpu / 1000:5.2f}  mem {mem / 2**30:5.2f} GiB  gpu {gpu}")
        top = sorted((w for m in p.manifests if (w := workload_requests(m)) and w.kind not in ("Job", "CronJob")),
                     key=lambda w: -w.memory_b)[:5]
        for w in top:
            print(f"      {w.kind}/{w.namespace}/{w.name}: cpu {w.cpu_m}m mem {w.memory_b // 2**20}Mi x{w.replicas}")
    budget_cpu, budget_mem = LAPTOP_BUDGET
    verdict = "fits" if grand_cpu <= budget_cpu and grand_mem <= budget_mem else "DOES NOT FIT"
    print(f"  total      requests cpu {grand_cpu / 1000:.2f} / {budget_cpu / 1000:.0f}  "
          f"mem {grand_mem / 2**30:.2f} / {budget_mem / 2**30:.0f} GiB  -> {verdict} the laptop budget"
          if spec.profile == "laptop" else f"  total requests cpu {grand_cpu / 1000:.2f} mem {grand_mem / 2**30:.2f} GiB")


def bench_aws(repeat: int, templates: tuple[str, ...] = ("enterprise", "fintech")) -> None:
    """AWS resource count and render time of whole platforms (every phase, as `omgml render` does
    it, the AWS side included) for the templates recommended with target aws."""
    from collections import Counter

    from omgml.recommend import recommend
    from omgml.templates import load_template

    for name in templates:
        spec = recommend(load_template(name).model_copy(update={"target": "aws"})).to_platform_spec()
        render, seconds = timed_render(spec, repeat)
        resources = [r for p in render.phases for r in p.result.resources]
        kinds = Counter(r.type.split(":")[1].split("/")[0] for r in resources if r.type.startswith("aws:"))
        managed = [s for s in ("postgres", "redis", "kafka", "object_store")
                   if getattr(spec.phases.foundation, s).managed]
        print(f"\n== template:{name} --target aws (profile={spec.profile}, zones={spec.aws.availability_zones}, "
              f"managed: {', '.join(managed) or 'none'}) ==")
        print(f"render, all phases: median {seconds:.2f}s over {repeat} run(s); "
              f"AWS resources {sum(kinds.values())}; all resources {len(resources)}; "
              f"manifests {len(render.all_manifests())}")
        print("  " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("specs", nargs="*")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--aws", action="store_true", help="benchmark whole enterprise and fintech platforms "
                                                           "rendered for target aws instead")
    parser.add_argument("--alternatives", action="store_true",
                        help="benchmark only the orchestration / feature-store alternatives")
    args = parser.parse_args()
    if args.alternatives:
        for label, spec in alternative_specs():
            bench(label, spec, args.repeat)
        return
    if args.aws:
        bench_aws(args.repeat)
        return
    for label, spec in _specs(args.specs):
        bench(label, spec, args.repeat)


if __name__ == "__main__":
    main()

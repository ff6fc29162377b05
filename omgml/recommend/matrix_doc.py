"""docs/decision-matrix.md: the decision matrix the engine applies, written from its own tables.

`omgml init` writes the same page into every project (the ADRs link to it), and omgml's own
docs/decision-matrix.md is this text (a test keeps them equal).
"""

from __future__ import annotations

from omgml.recommend.engine import FRAMEWORK_MATRIX, SERVES
from omgml.recommend.switches import REAL_TIME_LATENCY_MS, SWITCH_SOURCES

SERVING_MATRIX: tuple[tuple[str, str], ...] = (("multi_model", "triton"), ("pytorch_only", "torchserve"))
ORCHESTRATION_MATRIX: tuple[tuple[str, str], ...] = (("kubernetes_native", "kubeflow"), ("existing_airflow", "airflow"))
FEATURE_MATRIX: tuple[tuple[str, str], ...] = (("real_time", "feast-redis"), ("batch_only", "delta-lake"))


def _rows(area: str, rules: tuple[tuple[str, str], ...], otherwise: str) -> list[str]:
    rows = [f"| {area} | {i}. `{flag}` | **{choice}** |" for i, (flag, choice) in enumerate(rules, start=1)]
    rows.append(f"| {area} | otherwise | {otherwise} |")
    return rows


def decision_matrix_markdown() -> str:
    sources = [f"| `{switch}` | `flags.{switch}`" + (f", {', '.join(also)}" if also else "") + " |"
               for switch, also in SWITCH_SOURCES]
    serves = [f"| {server} | {', '.join(sorted(fw - {'classical'}))} |" for server, fw in SERVES.items()]
    return "\n".join([
        "# The decision matrix",
        "",
        "<!-- Generated from omgml/recommend/engine.py and switches.py by `python -m omgml.docs`; do not edit. -->",
        "",
        "The rules omgml's recommendation engine starts from: nine switches, four areas, the first switch that is "
        "on wins. ADRs cite it as \"(decision matrix, docs/decision-matrix.md)\". The richer requirements fields "
        "turn the same switches on and refine the matrix where it would be wrong for the stated facts; every "
        "rationale names what decided it.",
        "",
        "## The matrix",
        "",
        "| area | switch, in order | choice |",
        "|---|---|---|",
        *_rows("framework", FRAMEWORK_MATRIX,
               "the first deep-learning framework in models.frameworks; `classical` when only xgboost, lightgbm or "
               "sklearn are stated; pytorch with pytorch_only; tensorflow when the server is TF Serving; else pytorch"),
        *_rows("serving", SERVING_MATRIX, "**tf-serving**"),
        *_rows("orchestration", ORCHESTRATION_MATRIX, "**prefect**"),
        *_rows("feature_store", FEATURE_MATRIX, "feast-redis (documented default)"),
        "",
        "## What turns a switch on",
        "",
        "| switch | set by |",
        "|---|---|",
        *sources,
        "",
        f"A latency target counts as real-time at or under {REAL_TIME_LATENCY_MS} ms.",
        "",
        "## Refinements: where stated facts win",
        "",
        "- Whether a model server runs comes first: `serving.mode` when stated; else batch scoring (no server, "
        "pipelines score in bulk) when the data is batch only and nothing is real-time, unless `flags.multi_model` "
        "or `flags.pytorch_only` asks for a server.",
        "- framework: a matrix choice that `models.frameworks` does not list gives way to the first listed "
        "deep-learning framework.",
        "- serving: a single TensorFlow model (`models.count: 1`, `models.frameworks: [tensorflow]`) gets TF "
        "Serving; a server that cannot load a stated framework gives way to Triton; TorchServe under pci-dss, "
        "soc2 or hipaa gives way to Triton (TorchServe gets no security patches upstream).",
        "",
        "What each server loads:",
        "",
        "| server | frameworks |",
        "|---|---|",
        *serves,
        "",
        "## Beyond the matrix",
        "",
        "Sizing (replicas, CPU or GPU, Kafka, Redis, the training pool), availability (zones and the SLO the "
        "design reaches), where each store runs (managed or in the cluster) and the cost come from the stated "
        "load, availability, compliance and budget; `omgml recommend` prints each with its arithmetic.",
        "",
    ])


__all__ = ["decision_matrix_markdown"]

"""recommend(requirements) -> Recommendation: pure, deterministic, every choice explained.

The decision matrix (docs/decision-matrix.md, written from this module's tables by
omgml.recommend.matrix_doc) is law for its own switches (see switches.py for how the richer
fields turn switches on):

- framework: research_heavy → pytorch, else production_scale → tensorflow, else cutting_edge → jax;
- serving: multi_model → triton, else pytorch_only → torchserve, else tf-serving;
- orchestration: kubernetes_native → kubeflow, else existing_airflow → airflow (with MLflow), else prefect;
- feature_store: real_time → feast-redis, else batch_only → delta-lake.

Where the matrix leaves an area undecided, documented defaults decide:
- framework: the first deep-learning framework in models.frameworks; else `classical` when every
  stated framework is a classical one (xgboost, lightgbm, sklearn); else pytorch when pytorch_only
  is on; else tensorflow when the server is TF Serving (the only framework it serves); else pytorch;
- feature_store: feast-redis (online and offline features, and deployable).

Whether a model server runs at all comes first (`serving_mode`): serving.mode when stated; else
batch scoring (no server) when the data is batch only and nothing is real-time, unless the team set
a serving switch of the matrix as a flag (flags.multi_model or flags.pytorch_only), in which case
the matrix's server stands.

Stated facts refine the matrix where it would be wrong for them, naming the driver:
- framework: a matrix choice that models.frameworks does not list gives way to the first listed one;
- serving: a single TensorFlow model (models.count: 1, models.frameworks: [tensorflow]) needs
  neither Triton nor TorchServe → tf-serving; a server that cannot serve a stated framework (TF
  Serving: TensorFlow only; TorchServe: PyTorch only) → triton; TorchServe under pci-dss/soc2/hipaa
  → triton (TorchServe gets no security patches upstream any more).

Sizing (omgml.recommend.sizing), availability (omgml.recommend.availability) and store placement
(omgml.aws_placement) turn the stated load, availability and compliance into replicas, zones and
managed services, each with its arithmetic. The cost of the result is the render's
(omgml.recommend.pricing), which may move convenience-managed stores in-cluster for the budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from omgml.aws_placement import SERVICES, Placement, service_placements
from omgml.batch_sizing import spark_sizing
from omgml.data_quality import GX_VERSION
from omgml.recommend import sizing
from omgml.recommend.availability import Slo, Tier, achievable_slo, downtime_minutes, ha_tier
from omgml.recommend.controls import compliance_controls
from omgml.recommend.mapping import NO_SERVER, Plan, phase_components, platform_spec, s3_blocked_by_delta
from omgml.recommend.model import AREAS, CHOICES, Alternative, Decision, Recommendation
from omgml.recommend.switches import Switches, effective_switches
from omgml.recommend.training_addons import addon_notes, governance_decision, hpo_decision
from omgml.recommend.training_addons import consequences as addon_consequences
from omgml.spec import PlatformSpec
from omgml.spec.requirements import CLASSICAL, Requirements

MATRIX = "decision matrix"
# How rationales cite the matrix: by name, with the page that shows it.
MATRIX_REF = "decision matrix, docs/decision-matrix.md"
DEEP_LEARNING = ("pytorch", "tensorflow", "jax")
FRAMEWORK_MATRIX: tuple[tuple[str, str], ...] = (
    ("research_heavy", "pytorch"),
    ("production_scale", "tensorflow"),
    ("cutting_edge", "jax"),
)
FRAMEWORK_WHY: dict[str, str] = {
    "research_heavy": "research-heavy work goes to PyTorch, the framework most research code and "
                      f"pretrained models are published in ({MATRIX_REF})",
    "production_scale": "production scale goes to TensorFlow, with its SavedModel format and "
                        f"TF Serving path ({MATRIX_REF})",
    "cutting_edge": "cutting-edge work goes to JAX, with composable transformations (jit, grad, vmap) "
                    f"that scale across accelerators ({MATRIX_REF})",
}
# What each server can load. Triton: PyTorch (LibTorch), TensorFlow, ONNX Runtime, tree models
# (FIL backend: XGBoost, LightGBM, scikit-learn forests as Treelite checkpoints) and anything
# else through ONNX or its Python backend.
SERVES: dict[str, frozenset[str]] = {
    "triton": frozenset({"pytorch", "tensorflow", "jax", "onnx", "xgboost", "lightgbm", "sklearn", "classical"}),
    "torchserve": frozenset({"pytorch"}),
    "tf-serving": frozenset({"tensorflow"}),
}
TORCHSERVE_STATUS = (
    "TorchServe is in limited maintenance upstream (pytorch/serve: no planned updates, bug fixes or "
    "security patches)"
)
# How each classical framework's models sit in Triton's model repository (FIL backend docs:
# model_type and the default file name of version 1).
FIL_LAYOUT: dict[str, str] = {
    "xgboost": "`<model>/1/xgboost.json` with config.pbtxt `backend: \"fil\"` and parameter model_type "
               "\"xgboost_json\" (or xgboost.ubj / \"xgboost_ubj\")",
    "lightgbm": "`<model>/1/model.txt` with `backend: \"fil\"` and model_type \"lightgbm\"",
    "sklearn": "forests and gradient boosting: convert the pickle to a Treelite checkpoint "
               "(`<model>/1/checkpoint.tl`, model_type \"treelite_checkpoint\", FIL's convert_sklearn script); "
               "other estimators: export to ONNX (skl2onnx) as `<model>/1/model.onnx` with "
               "`backend: \"onnxruntime\"`",
}

Notes = list[tuple[str, str]]


def _join(items: Sequence[str]) -> str:
    return ", ".join(items)


def requirement_value(req: Requirements, path: str) -> str:
    """A requirement field's value as YAML-ish text (`true`, `[pytorch, onnx]`, `50`)."""
    value: object = req
    for part in path.split("."):
        value = getattr(value, part)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return "none" if value is None else str(value)


def _by(req: Requirements, sw: Switches, flag: str) -> str:
    """How a switch was set, for a rationale: `flags.x`, or the fields (with values) that imply it."""
    return ", ".join(d if d.startswith("flags.") else f"{d} {requirement_value(req, d)}" for d in sw[flag])


def _drivers(*groups: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for group in groups:
        out += [d for d in group if d not in out]
    return tuple(out)


def classical_only(req: Requirements) -> bool:
    fw = req.models.frameworks
    return bool(fw) and all(f in CLASSICAL for f in fw)


# --- serving mode: is there a model server at all? -----------------------------------------------
def serving_mode(req: Requirements, sw: Switches) -> tuple[str, tuple[str, ...], str]:
    """(real-time | batch | none, drivers, why)."""
    if req.serving.mode is not None:
        return req.serving.mode, ("serving.mode",), f"serving.mode {req.serving.mode} is stated"
    server_flags = [f for f in ("multi_model", "pytorch_only") if f in req.flags]
    if "batch_only" in sw and "real_time" not in sw:
        if server_flags:
            return "real-time", tuple(f"flags.{f}" for f in server_flags), (
                f"{_by(req, sw, 'batch_only')} makes scoring batch, but flags.{server_flags[0]} asks the "
                f"{MATRIX} for a model server, which it keeps (serving.mode: batch removes it)")
        return "batch", sw["batch_only"], (
            f"{_by(req, sw, 'batch_only')} and nothing is real-time (no latency target at or under 1000 ms, "
            "no stream, no flags.real_time): scores are computed in bulk, nobody waits for one")
    return "real-time", (), "predictions are served on request (serving.mode real-time by default)"


# --- framework -------------------------------------------------------------------------------
def _framework(req: Requirements, sw: Switches, serving: Decision) -> Decision:
    stated = [f for f in req.models.frameworks if f in DEEP_LEARNING]
    matrix = next(((flag, choice) for flag, choice in FRAMEWORK_MATRIX if flag in sw), None)
    precedence: str
    if matrix and (not stated or matrix[1] in stated):
        flag, choice = matrix
        rationale = f"{_by(req, sw, flag)}: {FRAMEWORK_WHY[flag]}."
        drivers = sw[flag]
        if choice in stated:
            rationale += " models.frameworks lists it too."
            drivers = _drivers(drivers, ("models.frameworks",))
        elif classical_only(req):
            rationale += (f" models.frameworks lists only {_join(req.models.frameworks)}; the flag asks for "
                          "deep learning next to them.")
            drivers = _drivers(drivers, ("models.frameworks",))
        precedence = f"{flag} comes first in the {MATRIX}"
    elif stated:
        choice = stated[0]
        rationale = (f"models.frameworks lists {_join(req.models.frameworks)}; {choice} is the first "
                     "deep-learning framework in it.")
        drivers = ("models.frameworks",)
        if matrix:
            rationale += (f" It overrides {_by(req, sw, matrix[0])} (→ {matrix[1]}): the platform is built "
                          "for the models the team has.")
            drivers = _drivers(drivers, sw[matrix[0]])
        precedence = "models.frameworks states the team's frameworks"
    elif classical_only(req):
        choice = "classical"
        rationale = (f"models.frameworks lists only {_join(req.models.frameworks)}: gradient-boosted trees and "
                     "scikit-learn estimators, no deep learning. No deep-learning framework is installed or "
                     "assumed; pipelines train with those libraries and export each model to a format the "
                     "server loads natively.")
        drivers = ("models.frameworks",)
        precedence = "models.frameworks lists only classical frameworks"
    elif "pytorch_only" in sw:
        choice = "pytorch"
        rationale = (f"{_by(req, sw, 'pytorch_only')}: no framework switch is set and the team works in "
                     "PyTorch only.")
        drivers = sw["pytorch_only"]
        precedence = "the team works in PyTorch only"
    elif serving.choice == "tf-serving":
        choice = "tensorflow"
        rationale = ("No framework switch is set and the model server is TF Serving, which serves only "
                     "TensorFlow SavedModels; TensorFlow keeps the two consistent (documented default).")
        drivers = serving.drivers
        precedence = "the model server is TF Serving"
    else:
        choice = "pytorch"
        server = (f"and {serving.choice} serves it" if serving.choice not in NO_SERVER
                  else "and batch pipelines load it from MLflow")
        rationale = ("No framework switch is set and no framework is stated; PyTorch is the documented "
                     f"default (the widest model ecosystem, {server}).")
        drivers = ()
        precedence = "PyTorch is the default"
    trigger = {"pytorch": "research_heavy", "tensorflow": "production_scale", "jax": "cutting_edge"}
    alternatives = []
    for alt in CHOICES["framework"]:
        if alt == choice:
            continue
        if alt == "classical":
            why = ("for teams whose models.frameworks are only xgboost, lightgbm or sklearn"
                   + (f"; here {precedence}" if choice != "classical" else ""))
        elif trigger[alt] in sw:
            why = f"flags.{trigger[alt]} is set, but {precedence}"
        else:
            why = f"the {MATRIX} picks it for {trigger[alt]}, which is not set"
            if stated:
                why += f", and models.frameworks does not {'start with' if alt in stated else 'list'} it"
            elif classical_only(req):
                why += ", and models.frameworks lists no deep-learning framework"
        alternatives.append(Alternative(alt, why))
    return Decision("framework", choice, rationale, drivers, tuple(alternatives))


# --- serving ---------------------------------------------------------------------------------
def _matrix_server(req: Requirements, sw: Switches) -> tuple[str, tuple[str, ...], str, str]:
    """The server the matrix and the refinements pick: (choice, drivers, rationale, why not Triton)."""
    if "multi_model" in sw:
        choice, drivers = "triton", sw["multi_model"]
        rationale = (f"{_by(req, sw, 'multi_model')}: several models → Triton, which serves many models and "
                     f"frameworks from one model repository ({MATRIX_REF}).")
    elif "pytorch_only" in sw:
        choice, drivers = "torchserve", sw["pytorch_only"]
        rationale = f"{_by(req, sw, 'pytorch_only')}: PyTorch only → TorchServe ({MATRIX_REF})."
    else:
        choice, drivers = "tf-serving", ()
        rationale = f"Neither multi_model nor pytorch_only applies, so the {MATRIX} picks TF Serving."
    frameworks = req.models.frameworks
    why_not_triton = ("serves many models and frameworks from one repository, more to operate than "
                      "needed when multi_model is not set")
    if choice != "tf-serving" and req.stated("models.count") and req.models.count == 1 \
            and frameworks == ["tensorflow"]:
        matrix_flag = "multi_model" if choice == "triton" else "pytorch_only"
        rationale = ("models.count 1 and models.frameworks [tensorflow]: a single TensorFlow model needs "
                     f"nothing more than TF Serving, which serves it with the least to operate "
                     f"({_by(req, sw, matrix_flag)} alone would pick {choice}).")
        drivers = _drivers(("models.count", "models.frameworks"), drivers)
        choice = "tf-serving"
        why_not_triton = "a single TensorFlow model gains nothing from Triton's multi-framework repository"
    unserved = [f for f in frameworks if f not in SERVES[choice]]
    if unserved:
        drivers = _drivers(("models.frameworks",), drivers)
        rationale = (f"models.frameworks includes {_join(unserved)}, which {choice} cannot serve; Triton "
                     "serves them (PyTorch and TensorFlow backends, ONNX Runtime, FIL for tree models). "
                     f"The matrix alone would pick {choice}.")
        choice = "triton"
    regulated = req.regulated()
    if choice == "torchserve" and regulated:
        drivers = _drivers(("compliance",), drivers)
        rationale = (f"compliance {_join(regulated)} requires patched software, and {TORCHSERVE_STATUS}; "
                     f"Triton serves PyTorch through its PyTorch backend ({_by(req, sw, 'pytorch_only')} would "
                     "pick TorchServe).")
        choice = "triton"
    return choice, drivers, rationale, why_not_triton


def _serving(req: Requirements, sw: Switches, mode: tuple[str, tuple[str, ...], str],
             size: sizing.ServingSize | None) -> Decision:
    kind, mode_drivers, mode_why = mode
    server, drivers, rationale, why_not_triton = _matrix_server(req, sw)
    if kind != "real-time":
        if kind == "batch":
            text = (f"{mode_why}. Batch scoring is a Spark job on a schedule (phases.serving.batch_scoring): the "
                    "official apache/spark image runs the driver, which starts executor pods sized from "
                    f"data.daily_volume_gb {req.data.daily_volume_gb:g}; it reads the day's features from the lake on "
                    "the object store, loads the registered model from MLflow by alias and writes the predictions "
                    "back as Parquet. Spark spreads one run over executors, where a pipeline step scores in one "
                    "pod; pipelines start the same job as a step (a KFP component) when scoring follows training. "
                    "No model server is deployed (phases.serving.server.enabled: false).")
        else:
            text = (f"{mode_why}: nothing is scored on this platform. Models are trained, tracked and registered "
                    "in MLflow; no model server and no drift job is deployed.")
        alternatives = [Alternative(server, f"the {MATRIX}'s server for these models, for real-time scoring; "
                                    f"{mode_why}. Set serving.mode: real-time to deploy it")]
        other = "none" if kind == "batch" else "batch"
        alternatives.append(Alternative(other, "scores in bulk with a scheduled Spark job" if other == "batch"
                                        else "for platforms that score nothing"))
        alternatives += [Alternative(a, "a real-time server; " + mode_why) for a in CHOICES["serving"]
                         if a not in (kind, server, other)]
        return Decision("serving", kind, text, _drivers(mode_drivers, drivers), tuple(alternatives))
    if mode_drivers:
        rationale += f" {mode_why[0].upper()}{mode_why[1:]}."
        drivers = _drivers(drivers, mode_drivers)
    if size is not None:
        # Hardware, not the server: serving.peak_rps drives the gpu_pools decision, not this one.
        rationale += f" {size.hardware_reason}"
    frameworks = req.models.frameworks
    alternatives = []
    for alt in CHOICES["serving"]:
        if alt == server:
            continue
        if alt == "triton":
            why = why_not_triton
        elif alt == "torchserve":
            why = f"serves PyTorch only, and {TORCHSERVE_STATUS}"
            if "pytorch_only" in sw and "multi_model" in sw:
                why += f"; pytorch_only is set, but multi_model comes first in the {MATRIX}"
        elif alt == "tf-serving":
            why = "serves TensorFlow SavedModels only"
            others = [f for f in frameworks if f != "tensorflow"]
            if others:
                why += f"; models.frameworks includes {_join(others)}"
        elif alt == "batch":
            why = "scores in bulk through pipelines, for batch-only needs; here predictions are served on request"
        else:
            why = "for platforms that score nothing; here predictions are served on request"
        alternatives.append(Alternative(alt, why))
    return Decision("serving", server, rationale, drivers, tuple(alternatives))


# --- orchestration ---------------------------------------------------------------------------
def _orchestration(req: Requirements, sw: Switches) -> Decision:
    existing = req.orchestration.existing
    if "kubernetes_native" in sw:
        choice, drivers = "kubeflow", sw["kubernetes_native"]
        rationale = (f"{_by(req, sw, 'kubernetes_native')}: Kubernetes-native → Kubeflow Pipelines, which runs "
                     f"every step as a pod on the platform's cluster ({MATRIX_REF}).")
        if existing == "kubeflow":
            rationale += " The team already runs Kubeflow."
    elif "existing_airflow" in sw:
        choice, drivers = "airflow", sw["existing_airflow"]
        rationale = (f"{_by(req, sw, 'existing_airflow')}: keep the team's Airflow and track its runs in MLflow "
                     f"({MATRIX_REF}). omgml deploys no second Airflow; it hands the existing one the "
                     "platform's connections (the airflow-connections bundle).")
    else:
        choice, drivers = "prefect", ()
        rationale = (f"Neither kubernetes_native nor existing_airflow applies, so the {MATRIX} picks "
                     "Prefect (Python-native flows, light to operate).")
        if existing == "prefect":
            drivers = ("orchestration.existing",)
            rationale += " The team already runs Prefect."
    why = {
        "kubeflow": f"the {MATRIX} picks it for kubernetes_native, which is not set",
        "airflow": (f"flags.existing_airflow is set, but kubernetes_native comes first in the {MATRIX}"
                    if "existing_airflow" in sw else
                    f"the {MATRIX} picks it to keep an existing Airflow, and existing_airflow is not set; "
                    "phases.training.airflow.enabled: true deploys a managed one anyway"),
        "prefect": f"the {MATRIX}'s fallback when nothing else applies; here {choice} applies",
    }
    alternatives = tuple(Alternative(a, why[a]) for a in CHOICES["orchestration"] if a != choice)
    return Decision("orchestration", choice, rationale, drivers, alternatives)


# --- feature store ---------------------------------------------------------------------------
def _feature_store(req: Requirements, sw: Switches) -> Decision:
    if "real_time" in sw:
        choice, drivers = "feast-redis", sw["real_time"]
        rationale = (f"{_by(req, sw, 'real_time')}: real-time → Feast with a Redis online store, which serves "
                     f"features in milliseconds while a request waits ({MATRIX_REF}).")
        why_delta = (f"batch_only is set, but real_time comes first in the {MATRIX}: request-time "
                     "features need an online store" if "batch_only" in sw else
                     f"the {MATRIX} picks it for batch_only, which is not set")
    elif "batch_only" in sw:
        choice, drivers = "delta-lake", sw["batch_only"]
        rationale = (f"{_by(req, sw, 'batch_only')}: batch only → Delta Lake tables on the object store; nothing "
                     f"looks features up while a request waits ({MATRIX_REF}).")
        why_delta = ""
    else:
        choice, drivers = "feast-redis", ()
        rationale = ("Neither real_time nor batch_only applies; Feast with Redis is the documented default: "
                     "it serves online features and keeps the offline history on the object store.")
        why_delta = f"the {MATRIX} picks it for batch_only, which is not set"
    if choice == "feast-redis":
        alternatives = (Alternative("delta-lake", why_delta),)
    else:
        alternatives = (Alternative(
            "feast-redis", "its Redis online store answers request-time lookups, and the requirements are "
            "batch only (real_time is not set)"),)
    return Decision("feature_store", choice, rationale, drivers, alternatives)


# --- streaming, tracking, monitoring, drift ----------------------------------------------------
def _streaming(req: Requirements, sw: Switches) -> Decision:
    reasons = [d for d in ("data.streaming", "flags.real_time") if d in sw.get("real_time", ())]
    if reasons:
        rationale = (f"{_join(reasons)}: events arrive as streams; Kafka (KRaft) buffers them durably "
                     "between producers, feature pipelines and inference logging.")
        return Decision("streaming", "kafka", rationale, tuple(reasons), (Alternative(
            "none", "streams need a durable buffer between producers and consumers"),))
    if "batch_only" in sw:
        rationale = f"{_by(req, sw, 'batch_only')}: batch loads read from the object store; no broker is needed."
        drivers = sw["batch_only"]
    else:
        rationale = ("Neither data.streaming nor flags.real_time is set; data arrives in batches on the object "
                     "store (a latency target alone needs online features, not a broker).")
        drivers = ()
    return Decision("streaming", "none", rationale, drivers, (Alternative(
        "kafka", "no stream to buffer: data.streaming and flags.real_time are not set"),))


def _experiment_tracking(sw: Switches) -> Decision:
    drivers: tuple[str, ...] = ()
    rationale = ("MLflow is the platform's tracking server and model registry: runs and metrics in Postgres, "
                 "artifacts on the object store, registered models for the server to load.")
    if "existing_airflow" in sw:
        drivers = sw["existing_airflow"]
        rationale += f" The {MATRIX} pairs the existing Airflow with MLflow."
    return Decision("experiment_tracking", "mlflow", rationale, drivers, (
        Alternative("weights-and-biases", "a hosted service: run data leaves the platform and omgml cannot "
                                          "provision it"),
        Alternative("kubeflow-metadata", "records pipeline lineage only, with no model registry"),
    ))


def _monitoring(profile: str) -> Decision:
    rationale = ("Prometheus scrapes the model server, data stores and drift metrics; Alertmanager routes "
                 "alerts" + ("; Grafana adds dashboards." if profile != "laptop" else
                             " (Grafana is left out on the laptop profile to save memory)."))
    return Decision("monitoring", "prometheus", rationale, (), (
        Alternative("kube-prometheus-stack", "an operator and its CRDs to run for the same scrape-and-alert job"),
        Alternative("amazon-managed-prometheus", "AWS only; the platform keeps one monitoring stack on both "
                                                 "targets"),
    ))


def _drift(serving: str) -> Decision:
    if serving == "none":
        return Decision("drift", "evidently", (
            "Nothing is scored on this platform, so there is no prediction data to watch: Evidently is the "
            "drift tool once scoring starts, and no drift job is deployed now (phases.serving.evidently.enabled: "
            "false)."), ("serving.mode",), (
            Alternative("custom-statistics-job", "every team would rewrite the same tests and reports"),))
    rationale = ("Evidently compares a reference and a current dataset on a schedule and pushes the drift "
                 "score to Prometheus through the Pushgateway, so the drift alert fires from real numbers.")
    return Decision("drift", "evidently", rationale, (), (
        Alternative("custom-statistics-job", "every team would rewrite the same tests and reports"),
        Alternative("hosted-monitoring-service", "a hosted service omgml cannot provision, outside the cluster"),
    ))


# --- GPU pools, availability, data stores ------------------------------------------------------
def _gpu_pools(req: Requirements, size: sizing.ServingSize | None, pool: sizing.TrainingPoolShape | None
               ) -> Decision:
    train, serve = req.training.gpu, bool(size is not None and size.gpu)
    choice = {(False, False): "none", (True, False): "training", (False, True): "inference",
              (True, True): "both"}[(train, serve)]
    drivers = tuple(d for d, on in (("training.gpu", train), ("training.max_gpus", train)) if on)
    if serve:
        drivers += ("serving.gpu",) if req.stated("serving.gpu") else ("serving.peak_rps",)
    parts = []
    if train and pool is not None:
        parts.append(f"training.gpu with training.max_gpus {req.training.max_gpus}: a training pool of "
                     f"{pool.nodes} × {pool.instance} ({pool.gpus_per_node} GPU each) that scales to zero between "
                     f"runs, on spot capacity, busy training.gpu_hours_per_month {req.training.gpu_hours_per_month:g} h")
    if serve and size is not None:
        parts.append(f"an inference pool of {size.replicas} to {size.max_replicas} × {sizing.INFERENCE_INSTANCE} "
                     f"for the model server ({size.hardware_reason[0].lower()}{size.hardware_reason[1:].rstrip('.')})")
    rationale = ("; ".join(parts) + ".") if parts else "Neither training.gpu nor GPU serving is needed: CPU nodes only."
    if parts and req.target == "local":
        rationale += (" Locally a pool is a kind worker labelled and tainted like a GPU node; without a local "
                      "GPU, GPU workloads run on its CPU.")
    needs = {"none": "no GPU", "training": "GPU training only", "inference": "GPU serving only",
             "both": "GPU training and serving"}
    stated = needs[choice]
    alternatives = tuple(Alternative(a, f"for {needs[a]}; the requirements ask for {stated}")
                         for a in CHOICES["gpu_pools"] if a != choice)
    return Decision("gpu_pools", choice, rationale, drivers, alternatives)


def _high_availability(req: Requirements, tier: Tier, slo: Slo) -> Decision:
    choice = tier.choice
    rationale = tier.why
    if tier.choice == "multi-az":
        rationale += (" Two or more replicas of the model server, MLflow and Feast spread over nodes in every "
                      "zone, PodDisruptionBudgets on each, and stores that survive a zone (see data_stores).")
    if slo.achievable is not None:
        rationale += f" Achievable: {slo.arithmetic()}."
    a = req.availability
    if req.target == "local":
        why = {"multi-replica": "target local runs on one machine, where replicas cannot add availability",
               "multi-az": "target local has one machine and no zones"}
    else:
        why = {
            "single": f"availability {a} needs more than one replica" if choice != "single" else "",
            "multi-replica": (f"for availability 99.9; {a} is asked for" if choice == "single" else
                              "replicas in one or two zones do not survive a zone outage, which this platform "
                              "must"),
            "multi-az": f"for availability 99.95 and above, or regulated real-time scoring; {a} is asked for",
        }
    alternatives = tuple(Alternative(x, why[x]) for x in CHOICES["high_availability"] if x != choice)
    return Decision("high_availability", choice, rationale, tier.drivers, alternatives)


def _data_stores(req: Requirements, placements: dict[str, Placement], used: dict[str, bool]) -> Decision:
    rows = [p for s, p in placements.items() if used[s]]
    managed = [p for p in rows if p.managed]
    choice = "managed" if rows and len(managed) == len(rows) else "in-cluster" if not managed else "mixed"
    rationale = "; ".join(f"{p.service}: {p.runs_as}, because {p.rationale}" for p in rows) + "."
    drivers = ["target"]
    if req.target == "aws":
        drivers += ["availability"] + (["profile"] if req.profile is not None else [])
        drivers += (["compliance"] if req.regulated() else []) + (["in_cluster"] if req.in_cluster else [])
    why = {"in-cluster": "every store as a StatefulSet on EBS: one zone per volume, backups by hand",
           "managed": "every store as an AWS managed service: billed by the hour even where an in-cluster twin "
                      "fits the system nodes",
           "mixed": "each store placed by its own reason (see above)"}
    alternatives = tuple(Alternative(x, why[x]) for x in CHOICES["data_stores"] if x != choice)
    return Decision("data_stores", choice, rationale, tuple(drivers), alternatives)


# --- the data layer: quality and lineage ----------------------------------------------------------
def data_quality_on(req: Requirements) -> bool:
    return req.data.quality or bool(req.compliance)


def lineage_on(req: Requirements) -> bool:
    return req.data.lineage or bool(req.compliance)


def _data_layer(req: Requirements, area: str, field: str, choice: str, *, compliance_asks: str, off: str,
                rationale: str, none_why: str) -> Decision:
    """A data-layer area (quality, lineage): `choice` when `data.<field>` is stated or any compliance
    regime is (`compliance_asks` says what the regime asks for), else "none" with `off` saying what
    is left out. The rationale opens with what turned it on."""
    stated = bool(getattr(req.data, field))
    drivers = tuple(d for d, on in ((f"data.{field}", stated), ("compliance", bool(req.compliance))) if on)
    if not drivers:
        return Decision(area, "none", f"Neither data.{field} nor a compliance regime is stated: {off}.", (), (
            Alternative(choice, f"for teams that state data.{field} or a compliance regime"),))
    why = [f"data.{field} is stated"] if stated else []
    if req.compliance:
        why.append(f"compliance {_join(req.compliance)} {compliance_asks}")
    opening = "; ".join(why)
    return Decision(area, choice, f"{opening[:1].upper()}{opening[1:]}. {rationale}", drivers,
                    (Alternative("none", none_why),))


def _data_quality(req: Requirements) -> Decision:
    return _data_layer(
        req, "data_quality", "quality", "great-expectations",
        compliance_asks="expects controls on the data the models decide with",
        off="no data-quality runs are deployed (set data.quality: true to add Great Expectations)",
        rationale=(f"Great Expectations (GX Core "
                   f"{GX_VERSION}) validates the datasets on the object store with suites kept in the project, on a "
                   "schedule and as a pipeline step; each run writes browsable data docs to the object store and "
                   "pushes pass/fail per suite and per expectation to Prometheus, where an alert fires when a suite "
                   "fails. Weighed and not deployed: Soda Core (its checks language is another dialect beside the "
                   "pipelines' Python, while GX keeps suites as JSON in the project and renders data docs) and checks "
                   "written inside each pipeline (every team rewrites row counts and null checks, with no shared "
                   "report, metric or alert)."),
        none_why="the requirements ask for checked data"
                 + (f" (compliance {_join(req.compliance)} asks for controls on the data itself)" if req.compliance else ""))


def _lineage(req: Requirements) -> Decision:
    return _data_layer(
        req, "lineage", "lineage", "feast-lineage",
        compliance_asks="asks for an audit trail of where data came from",
        off="no lineage catalog is deployed (set data.lineage: true to add one)",
        rationale=("The lineage catalog is Feast's OpenLineage "
                   "server (Feast 0.66, `feast serve_lineage`): it takes standard OpenLineage run events at "
                   "/api/v1/lineage, keeps jobs, datasets and runs in its own database on the platform's Postgres, and "
                   "answers lineage queries (dataset → job → dataset, upstream and downstream). It runs in the Feast "
                   "image the platform already pins, so it adds no image and no JVM; the producers are the "
                   "data-quality runs, Airflow's OpenLineage provider and pipeline steps through the OpenLineage client "
                   "(OPENLINEAGE_URL in the data-connections bundle). Not Marquez, the reference catalog with a web "
                   "UI: a JVM service plus its own UI image to run and patch (about 1 GiB with the UI), and not "
                   "verifiable here: Maven Central has no Marquez API jar (no maven-metadata for "
                   "io.github.marquezproject:marquez-api), so omgml's conformance tier cannot run it. Producers speak "
                   "plain OpenLineage to the same /api/v1/lineage path, so moving to Marquez later changes one URL. "
                   "Not DataHub or OpenMetadata: full catalogs that bring Kafka, Elasticsearch or a graph store of "
                   "their own, far over the platform's budget for lineage alone."),
        none_why="the requirements ask for lineage")


def _batch_lines(spec: PlatformSpec) -> list[sizing.Line]:
    """The Spark job's executors with their arithmetic (omgml.components.spark.spark_sizing)."""
    b = spec.phases.serving.batch_scoring
    if not (spec.phases.serving.enabled and b.enabled):
        return []
    z = spark_sizing(b.input_gb, spec.profile, b.executors)
    return [sizing.Line("Spark batch scoring executors", f"{z.executors} × {z.cores} CPU, {z.pod_memory_mib} MiB",
                        z.why)]


# --- A/B tests and canaries ---------------------------------------------------------------------
def _experiments(serving: str) -> Decision:
    if serving in NO_SERVER:
        return Decision("experiments", "none", (
            f"serving.mode is {serving}: there is no model server whose versions could share live traffic. "
            "Compare model versions offline (MLflow runs and their metrics) before moving the registry alias the "
            "batch job loads."), ("serving.mode",), (
            Alternative("haproxy-router", "splits live requests between model servers; none runs here"),
            Alternative("gateway-api", "splits live requests; none run here"),
            Alternative("nginx", "splits live requests; none run here"),
        ))
    return Decision("experiments", "haproxy-router", (
        "A/B tests and canaries go through a small router omgml configures: HAProxy (official image, 2.6 LTS, the "
        "branch Debian ships) in front of one model-server Deployment per variant, each holding one model version. "
        "HAProxy does the three things an experiment needs natively: a weighted split (a random bucket per "
        "request), stickiness by a request header (a hash of its value, so a caller keeps its variant), and "
        "per-variant Prometheus metrics from its built-in exporter (requests, 5xx, average response time per "
        "variant backend), which the dashboard and the ModelVariantErrors/ModelVariantSlower alerts read. It runs "
        "the same on kind and EKS and needs no controller or CRDs. An experiment starts when "
        "phases.serving.experiments names a model and its variants; the weights sum to 100."), (), (
        Alternative("gateway-api", "weighted HTTPRoute backends need a gateway controller, a different one on kind "
                    "and EKS (the AWS one puts VPC Lattice in the path), most of them Envoy-based, which cannot run "
                    "in the conformance tier; header-hash stickiness is not in the standard channel (session "
                    "persistence is experimental) and per-variant metrics depend on the implementation"),
        Alternative("nginx", "split_clients does the weighted, sticky choice, but nginx open source has no "
                    "per-upstream metrics (stub_status counts the whole server): per-variant latency and errors "
                    "would need access-log parsing"),
        Alternative("none", "a new model version would replace the old one for every caller at once"),
    ))


# --- warnings ------------------------------------------------------------------------------------
def _conflicts(req: Requirements) -> list[str]:
    """Flags that contradict stated facts (the facts win where they refine a decision)."""
    out = []
    flags = set(req.flags)
    fw = req.models.frameworks
    if "pytorch_only" in flags and fw and fw != ["pytorch"]:
        out.append(f"flags.pytorch_only contradicts models.frameworks {fw}; the stated frameworks win where "
                   "they refine a decision")
    if "multi_model" in flags and req.stated("models.count") and req.models.count == 1 and len(fw) <= 1:
        out.append("flags.multi_model contradicts models.count 1; the stated count wins where it refines "
                   "a decision")
    if "batch_only" in flags and req.data.streaming:
        out.append("flags.batch_only contradicts data.streaming: true; Kafka is deployed for the stream")
    if "existing_airflow" in flags and req.orchestration.existing in ("kubeflow", "prefect"):
        out.append(f"flags.existing_airflow contradicts orchestration.existing {req.orchestration.existing}")
    return out


def _idle_settings(req: Requirements, mode: str, spec: PlatformSpec) -> Notes:
    """Stated settings that would change nothing, each with the fix."""
    notes: Notes = []
    if mode != "real-time":
        for path in ("serving.latency_p99_ms", "serving.peak_rps", "serving.gpu"):
            if req.stated(path):
                notes.append(("settings", f"{path} does nothing with serving.mode {mode} (no model server); "
                                          "remove it, or set serving.mode: real-time"))
    if req.target == "local" and req.budget_usd_month is not None:
        notes.append(("settings", "budget_usd_month is checked on target aws only (a local cluster has no bill); "
                                  "remove it, or use --target aws to see the estimate against it"))
    if req.target == "local" and req.in_cluster:
        notes.append(("settings", "in_cluster does nothing on target local (every store runs in the cluster "
                                  "there); remove it"))
    if req.stated("training.gpu_hours_per_month") and not req.training.gpu:
        notes.append(("settings", "training.gpu_hours_per_month prices the training GPU pool, and training.gpu is "
                                  "false; remove it or set training.gpu: true"))
    if req.data.online_features_gb is not None and not spec.phases.foundation.redis.enabled:
        notes.append(("settings", "data.online_features_gb sizes the Redis online store, which this platform "
                                  "does not have (batch-only features); remove it"))
    return notes


def _choice_warnings(req: Requirements, d: dict[str, Decision]) -> Notes:
    notes: Notes = []
    serving, framework = d["serving"].choice, d["framework"].choice
    if serving == "torchserve":
        notes.append(("serving", (
            f"serving: {TORCHSERVE_STATUS}; Triton's PyTorch backend is the maintained alternative (state a "
            "second model or framework, or add flags: [multi_model], to get it).")))
    if serving not in NO_SERVER and framework not in SERVES[serving]:
        notes.append(("serving", (
            f"serving: {serving} cannot load {framework} models (the framework decision); export them to a "
            "format it serves, or state models.frameworks so the engine picks a server for them.")))
    if req.target == "aws" and d["high_availability"].choice == "multi-az" and s3_blocked_by_delta(
            {a: x.choice for a, x in d.items()}):
        notes.append(("high_availability", (
            "high_availability: the object store stays in-cluster (SeaweedFS on EBS volumes, each bound to one "
            "zone), not on S3: "
            "the Delta Lake feature tables are read by DuckDB's delta extension, which needs static S3 keys, "
            "and S3 here has none (IRSA). A zone outage can take the object store down; choose Parquet "
            "features (feature_store feast-redis, or drop batch_only) to put it on S3.")))
    if req.target == "local" and req.availability != "99.0":
        notes.append(("high_availability", (
            f"high_availability: availability {req.availability} cannot be met on target local: the whole "
            "platform runs on one machine, so any host failure is an outage. It runs single replicas; "
            "use target aws for replicas across nodes and zones.")))
    return notes


def _slo_gap(req: Requirements, slo: Slo) -> Notes:
    if slo.achievable is None or slo.gap <= 0:
        return []
    allowed = downtime_minutes(slo.asked)
    reached = downtime_minutes(slo.achievable)
    return [("high_availability", (
        f"high_availability: availability {req.availability} is asked, the design reaches {slo.achievable:g} % on "
        f"{slo.path}, bounded by {slo.bound_by}: about {reached:.0f} minutes of downtime a month where "
        f"{allowed:.0f} are allowed. Close the gap at the bound (a managed, multi-zone service or more replicas), "
        "or state the availability the design reaches."))]


def _consequences(decision: Decision, spec: PlatformSpec, notes: Notes, req: Requirements,
                  size: sizing.ServingSize | None) -> tuple[str, ...]:
    f, s = spec.phases.foundation, spec.phases.serving
    area, choice = decision.area, decision.choice
    out: list[str] = []
    if area == "framework":
        if s.server.enabled:
            out.append(f"Training code and pipelines use {choice if choice != 'classical' else _join(req.models.frameworks)}; "
                       f"the model server ({s.server.kind}) loads the exported models.")
        else:
            out.append("Training code and pipelines use "
                       f"{choice if choice != 'classical' else _join(req.models.frameworks)}; models are registered "
                       "in MLflow.")
    elif area == "serving":
        if s.server.enabled:
            where = f", on GPU pool {s.server.gpu_pool}" if s.server.gpu else ", on CPU"
            out.append(f"phases.serving.server: {s.server.kind}, {s.server.replicas} to {s.server.max_replicas} "
                       f"replicas (autoscaled){where}; models come from the model repository on the object store.")
            classical = [fw for fw in req.models.frameworks if fw in FIL_LAYOUT]
            if s.server.kind == "triton" and classical:
                out.append("Tree models are served by Triton's FIL backend (in the tritonserver image): "
                           + "; ".join(f"{fw}: {FIL_LAYOUT[fw]}" for fw in classical) + ".")
            if s.server.kind == "triton" and size is not None and size.batch_delay_us is not None:
                out.append("Each model's config.pbtxt should carry `dynamic_batching { max_queue_delay_microseconds: "
                           f"{size.batch_delay_us} }}` (a tenth of the p99 budget, at most 5 ms): omgml does not "
                           "write model configs, the model repository does.")
        else:
            out.append("phases.serving.server.enabled: false; Prometheus and Alertmanager still run"
                       + (", and Evidently watches the batch scores." if s.evidently.enabled else "."))
    elif area == "orchestration":
        out += _orchestration_consequences(spec)
    elif area == "feature_store":
        online = "a Redis online store" if f.feast.online_store == "redis" else "no online store"
        out.append(f"phases.foundation.feast: Feast with {online}, a {f.feast.offline_store} offline store on "
                   "the object store and its registry on Postgres.")
        if f.feast.offline_store == "delta":
            out += DELTA_CONSEQUENCES
    elif area == "streaming":
        if f.kafka.enabled:
            kind = "Amazon MSK" if f.kafka.managed else "in-cluster Kafka (KRaft)"
            brokers = f.kafka.brokers or "the profile's number of"
            out.append(f"phases.foundation.kafka: {kind} with {brokers} brokers.")
        else:
            out.append("No Kafka is deployed (phases.foundation.kafka.enabled: false).")
    elif area == "experiment_tracking":
        out.append(f"phases.foundation.mlflow: {f.mlflow.replicas} replica(s); backend store on "
                   f"{'RDS' if f.postgres.managed else 'Postgres'}, artifacts on "
                   f"{'S3' if f.object_store.managed else 'the object store'}.")
    elif area == "monitoring":
        parts = [p for p in ("alertmanager", "pushgateway", "grafana") if getattr(s.prometheus, p)]
        out.append(f"phases.serving.prometheus: Prometheus with {_join(parts)}.")
    elif area == "drift":
        if s.evidently.enabled:
            out.append(f"phases.serving.evidently: drift job on schedule '{s.evidently.schedule}', comparing "
                       f"{s.evidently.reference_path} with {s.evidently.current_path}.")
        else:
            out.append("No drift job is deployed (phases.serving.evidently.enabled: false).")
    elif area == "gpu_pools":
        pools = spec.all_gpu_pools()
        out += [f"GPU pool {p.name} ({p.purpose}): {p.instance_types[0]}, {p.gpus_per_node} GPU(s) per node, "
                f"{p.min_size} to {p.max_size} nodes{', spot' if p.spot else ''}." for p in pools]
        if not pools:
            out.append("No GPU pool is created.")
    elif area == "high_availability":
        if spec.target == "aws":
            out.append(f"aws.availability_zones: {spec.aws.availability_zones}.")
    elif area == "data_stores":
        managed = [n for n in SERVICES if getattr(f, n).enabled and getattr(f, n).managed]
        out.append(f"Managed on AWS: {_join(managed)}." if managed else "Every store runs in the cluster.")
        if spec.data.sources:
            out.append("data.sources: " + "; ".join(f"{src.name} ({src.kind}, credentials in Secret {src.secret})"
                                                    for src in spec.data.sources)
                       + ". Each Secret must exist in the namespaces of the data-connections bundle before "
                       "`omgml up`, which checks it.")
        warehouse = spec.snowflake_source()
        if warehouse is not None:
            out.append(f"phases.foundation.feast.offline_store: snowflake, on warehouse {warehouse.name} "
                       f"({warehouse.account}, {warehouse.database}); Feast reads user and password from Secret "
                       f"{warehouse.secret} in {f.namespace}.")
    elif area == "data_quality":
        out += _data_quality_consequences(spec)
    elif area == "lineage":
        if f.lineage.enabled:
            keep = ("every event is kept (retention_days 0: an audit trail)" if f.lineage.retention_days == 0
                    else f"events are kept {f.lineage.retention_days} days")
            out.append(f"phases.foundation.lineage: the lineage server in {f.namespace} ({keep}), its database "
                       "`lineage` on Postgres; producers POST to http://lineage."
                       f"{f.namespace}.svc.cluster.local:6580/api/v1/lineage in OpenLineage namespace "
                       f"{spec.lineage_namespace()}.")
            out.append("Feast's own materialisations emit lineage only where openlineage-python is installed: the "
                       "feature-server image (feast[minimal]) lacks it, so materialisations are recorded through "
                       "the pipeline steps that run them (OpenLineage client, OPENLINEAGE_URL from data-connections).")
        else:
            out.append("No lineage catalog is deployed (phases.foundation.lineage.enabled: false).")
    elif area == "experiments":
        out += _experiment_consequences(spec)
    out += addon_consequences(decision, spec)
    out += [f"Warning: {text}" for a, text in notes if a == area]
    return tuple(out)


def _data_quality_consequences(spec: PlatformSpec) -> list[str]:
    from omgml.data_quality import IMAGE_DIR, runner_image

    dq = spec.phases.foundation.data_quality
    if not dq.enabled:
        return ["No data-quality runs are deployed (phases.foundation.data_quality.enabled: false)."]
    out = [f"phases.foundation.data_quality: checks {_join([c.name for c in dq.checks])} run on schedule "
           f"'{dq.schedule}' (CronJob data-quality); suites in {dq.suites_dir}/ (the starter suite checks the "
           "feature data: rows present, event_timestamp present and never null; edit it for your columns).",
           f"Data docs: s3://<features bucket>/{dq.docs_prefix} (GX's static site; open index.html). Alert "
           "DataQualitySuiteFailed fires when a suite's last run failed (gx_suite_success 0).",
           "Pipeline-step form: ConfigMap data-quality in each pipeline namespace holds the runner, the checks, the "
           "suites and step-pod.yaml (one check per step: `--check NAME`); the step fails when its suite fails.",
           f"GX Core publishes no official image and pods install nothing at run time: build {IMAGE_DIR}/ (a Dockerfile "
           "on the official python image and a lock pinning every package by sha256) as "
           f"{runner_image(spec)}."]
    if spec.target == "aws" and dq.image is None:
        out.append("Warning: on aws, push that image to your registry (ECR) and set "
                   "phases.foundation.data_quality.image to its reference; the omgml.local/ name exists only on a "
                   "kind cluster that loaded it.")
    return out


DELTA_CONSEQUENCES: tuple[str, ...] = (
    "Delta Lake tables live under s3://<features bucket>/delta/<table>/ (phases.foundation.feast.delta_tables; "
    "FEAST_DELTA_URI in Feast's pods). A Job reserves each table's prefix; the table itself exists once your "
    "pipeline's first write commits its _delta_log (deltalake's write_deltalake or Spark).",
    "Feast has no Delta offline store of its own: omgml configures its duckdb offline store, the one Feast "
    "0.66 store that reads FileSource(file_format=DeltaFormat()) (through DuckDB's delta extension, fetched "
    "over HTTPS on first use). Feast's default file store would read Delta directories as plain Parquet, "
    "which is wrong. The batch scoring job (Spark, phases.serving.batch_scoring) reads the Delta tables with "
    "delta-spark.",
    "With an online store (phases.foundation.redis + feast.online_store: redis), a CronJob runs `feast "
    "materialize-incremental` hourly (feast.materialize_schedule); batch-only platforms have none.",
)


def _experiment_consequences(spec: PlatformSpec) -> list[str]:
    s = spec.phases.serving
    if not s.server.enabled:
        b = s.batch_scoring
        if b.enabled:
            return [f"phases.serving.batch_scoring: Spark job on schedule '{b.schedule}' loads models:/{b.model}@"
                    f"{b.alias}; point the alias at a new version to change what the next run scores with."]
        return ["No router is deployed."]
    if not s.experiments:
        return ["No experiment runs yet: add phases.serving.experiments: [{model, variants: [{version, weight}], "
                "sticky_header}] to omgml.yaml; omgml then deploys a model server per variant and the router "
                "(clients call the router's Service, model-router, port 8080)."]
    return [f"Experiment on {e.model}: " + ", ".join(f"version {v.version} {v.weight} %" for v in e.variants)
            + (f", sticky by {e.sticky_header}" if e.sticky_header else "") + "." for e in s.experiments]


def _orchestration_consequences(spec: PlatformSpec) -> list[str]:
    t = spec.phases.training
    ns = t.orchestration.namespace
    out: list[str] = []
    if t.enabled and t.kubeflow.enabled:
        out.append(f"phases.training.kubeflow: Kubeflow Pipelines in namespace {t.kubeflow.namespace}; "
                   f"pipeline steps run in {t.kubeflow.user_namespace} with the MLflow tracking URI.")
    if t.enabled and t.airflow.enabled:
        out.append(f"phases.training.airflow: Airflow 3 in namespace {ns} (api-server, scheduler, dag-processor, "
                   "triggerer) with the KubernetesExecutor: each task is a pod with MLFLOW_TRACKING_URI and the "
                   "object-store keys; metadata in its own Postgres database; admin password in Secret "
                   "airflow-secrets (key admin-password).")
    if t.enabled and t.prefect.enabled:
        out.append(f"phases.training.prefect: the Prefect 3 server and a Kubernetes worker (work pool "
                   f"'{t.prefect.work_pool}') in namespace {ns}; each flow run is a Job with MLFLOW_TRACKING_URI "
                   "and the object-store keys; the server's database is its own on Postgres.")
    if t.airflow.connections_bundle:
        out += existing_airflow_consequences(spec.phases.foundation.namespace)
    if not out:
        out.append("No orchestrator is deployed (phases.training: kubeflow, airflow and prefect are off).")
    return out


def existing_airflow_consequences(data_namespace: str) -> list[str]:
    """What the ADR, the README and architecture.md say about the team's own Airflow."""
    return [
        "No Airflow is deployed: the team keeps its own. Set phases.training.airflow.enabled: true in omgml.yaml "
        "for a platform-managed Airflow 3 instead.",
        "phases.training.airflow.connections_bundle: the foundation writes Secret and ConfigMap "
        f"`airflow-connections` in namespace {data_namespace}: AIRFLOW_CONN_MLFLOW_DEFAULT, AIRFLOW_CONN_FEAST and "
        "MLFLOW_TRACKING_URI (ConfigMap), AIRFLOW_CONN_OBJECT_STORE (aws connection with endpoint_url), "
        "AIRFLOW_CONN_REDIS_DEFAULT and the object-store keys (Secret). An Airflow in this cluster loads both "
        "with envFrom; one elsewhere copies the values into its secrets backend and reaches the services "
        "through a private load balancer or VPN you add.",
    ]


# --- the engine ------------------------------------------------------------------------------------
def decide(req: Requirements, placements: dict[str, Placement] | None = None) -> Recommendation:
    """The engine with the store placements given (None: from omgml.aws_placement's rules).

    omgml.recommend.pricing calls it again with stores moved in-cluster for the budget."""
    sw = effective_switches(req)
    mode = serving_mode(req, sw)
    real_time = mode[0] == "real-time"
    tier = ha_tier(req, real_time)
    profile = req.resolved_profile()
    triton = real_time and _matrix_server(req, sw)[0] == "triton"
    size = sizing.serving_size(req, tier.choice, tier.zones, profile, triton) if real_time else None
    serving = _serving(req, sw, mode, size)
    feature_store = _feature_store(req, sw)
    streaming = _streaming(req, sw)
    pool = sizing.training_pool_shape(req.training.max_gpus) if req.training.gpu else None
    orchestration = _orchestration(req, sw)
    decisions = {
        "framework": _framework(req, sw, serving),
        "serving": serving,
        "orchestration": orchestration,
        "feature_store": feature_store,
        "streaming": streaming,
        "experiment_tracking": _experiment_tracking(sw),
        "monitoring": _monitoring(profile),
        "drift": _drift(serving.choice),
        "gpu_pools": _gpu_pools(req, size, pool),
        "hpo": hpo_decision(req, orchestration),
        # The governance steps need an orchestrator the platform deploys (not the team's own Airflow).
        "model_governance": governance_decision(req, orchestration.choice in ("kubeflow", "prefect")),
        "data_quality": _data_quality(req),
        "lineage": _lineage(req),
    }
    delta = feature_store.choice == "delta-lake"
    if placements is None:
        placements = service_placements(req.target, profile, req.availability, req.compliance, req.in_cluster,
                                        delta)
    online = feature_store.choice == "feast-redis"
    kafka_on = streaming.choice == "kafka"
    kafka = sizing.kafka_size(req, tier.choice != "single") if kafka_on and req.target == "aws" else None
    redis = sizing.redis_size(req, profile, placements["redis"].managed) if online else None
    choices = {area: d.choice for area, d in decisions.items()}
    choices["high_availability"] = tier.choice
    plan = Plan(choices, tier, placements, size, kafka, redis, pool)
    spec = platform_spec(req, plan)
    slo = achievable_slo(req, spec, mode[0])
    decisions["high_availability"] = _high_availability(req, tier, slo)
    used = {"postgres": spec.phases.foundation.postgres.enabled, "redis": online, "kafka": kafka_on,
            "object_store": spec.phases.foundation.object_store.enabled}
    decisions["data_stores"] = _data_stores(req, placements, used)
    decisions["experiments"] = _experiments(serving.choice)

    notes: Notes = [("conflict", text) for text in _conflicts(req)]
    notes += _choice_warnings(req, decisions)
    unmet: list[str] = []
    for area, texts in (("serving", size.unmet if size else ()), ("streaming", kafka.unmet if kafka else ()),
                        ("feature_store", redis.unmet if redis else ())):
        for text in texts:
            unmet.append(f"{area}: {text}")
            notes.append((area, unmet[-1]))
    gap = _slo_gap(req, slo)
    unmet += [text for _, text in gap]
    notes += gap
    unmet += [text for area, text in notes if area == "high_availability" and "cannot be met on target local" in text]
    controls, compliance_notes = compliance_controls(req, spec)
    notes += compliance_notes
    unmet += [text for _, text in compliance_notes]
    notes += [(area, f"{area}: {text}") for area, text in _idle_settings(req, mode[0], spec)]
    notes += addon_notes(req, spec)
    ordered = tuple(replace(decisions[a], consequences=_consequences(decisions[a], spec, notes, req, size))
                    for a in AREAS)
    lines = [*(size.lines if size else ()), *(pool.lines if pool else ()), *(kafka.lines if kafka else ()),
             *(redis.lines if redis else ()), *_batch_lines(spec)]
    return Recommendation(
        requirements=req,
        decisions=ordered,
        warnings=tuple(text for _, text in notes),
        platform=spec,
        controls=tuple(controls),
        cost=None,
        phases=phase_components(spec),
        sizing=tuple(lines),
        unmet=tuple(unmet),
        slo=slo,
    )


def recommend(req: Requirements) -> Recommendation:
    """One Decision per area, the PlatformSpec they add up to, and everything the team should know.

    Pure and fast: no render, so no cost. `omgml.recommend.pricing.priced_recommendation` adds the
    render's cost estimate and the budget rule on top (what the CLI prints)."""
    return decide(req)

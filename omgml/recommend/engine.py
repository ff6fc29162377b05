"""recommend(requirements) -> Recommendation: pure, deterministic, every choice explained.

The original decision matrix is law for its own switches (see switches.py for how the richer
fields turn switches on):

- framework: research_heavy → pytorch, else production_scale → tensorflow, else cutting_edge → jax;
- serving: multi_model → triton, else pytorch_only → torchserve, else tf-serving;
- orchestration: kubernetes_native → kubeflow, else existing_airflow → airflow (with MLflow), else prefect;
- feature_store: real_time → feast-redis, else batch_only → delta-lake.

Where the matrix leaves an area undecided, documented defaults decide:
- framework: the first deep-learning framework in models.frameworks; else pytorch when pytorch_only
  is on; else tensorflow when the server is TF Serving (the only framework it serves); else pytorch;
- feature_store: feast-redis (online and offline features, and deployable).

Stated facts refine the matrix where it would be wrong for them, naming the driver:
- framework: a matrix choice that models.frameworks does not list gives way to the first listed one;
- serving: a single TensorFlow model (models.count: 1, models.frameworks: [tensorflow]) needs
  neither Triton nor TorchServe → tf-serving; a server that cannot serve a stated framework (TF Serving: TensorFlow only;
  TorchServe: PyTorch only) → triton; TorchServe under pci-dss/soc2/hipaa → triton (TorchServe gets
  no security patches upstream any more).

The other areas: streaming (kafka for data.streaming or flags.real_time), experiment tracking
(mlflow), monitoring (prometheus), drift (evidently), gpu_pools (training.gpu / serving.gpu) and
high_availability (availability and target: aws 99.0 → single, 99.9 → multi-replica,
99.95/99.99 → multi-az; local → single, saying so when more was asked).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from omgml.recommend.cost import CostEstimate, estimate_aws_monthly
from omgml.recommend.mapping import phase_components, platform_spec, s3_blocked_by_delta
from omgml.recommend.model import AREAS, CHOICES, Alternative, Decision, Recommendation
from omgml.recommend.switches import Switches, effective_switches
from omgml.spec import PlatformSpec
from omgml.spec.requirements import Requirements

DEEP_LEARNING = ("pytorch", "tensorflow", "jax")
FRAMEWORK_MATRIX: tuple[tuple[str, str], ...] = (
    ("research_heavy", "pytorch"),
    ("production_scale", "tensorflow"),
    ("cutting_edge", "jax"),
)
FRAMEWORK_WHY: dict[str, str] = {
    "research_heavy": "research-heavy work goes to PyTorch, the framework most research code and "
                      "pretrained models are published in (original matrix)",
    "production_scale": "production scale goes to TensorFlow, with its SavedModel format and "
                        "TF Serving path (original matrix)",
    "cutting_edge": "cutting-edge work goes to JAX, with composable transformations (jit, grad, vmap) "
                    "that scale across accelerators (original matrix)",
}
# What each server can load. Triton: PyTorch (LibTorch), TensorFlow, ONNX Runtime, tree models
# (FIL backend) and anything else through its Python backend.
SERVES: dict[str, frozenset[str]] = {
    "triton": frozenset({"pytorch", "tensorflow", "jax", "onnx", "xgboost", "sklearn"}),
    "torchserve": frozenset({"pytorch"}),
    "tf-serving": frozenset({"tensorflow"}),
}
TORCHSERVE_STATUS = (
    "TorchServe is in limited maintenance upstream (pytorch/serve: no planned updates, bug fixes or "
    "security patches)"
)

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
        precedence = f"{flag} comes first in the original matrix"
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
        rationale = ("No framework switch is set and no deep-learning framework is stated; PyTorch is the "
                     f"documented default (the widest model ecosystem, and {serving.choice} serves it).")
        drivers = ()
        precedence = "PyTorch is the default"
    trigger = {"pytorch": "research_heavy", "tensorflow": "production_scale", "jax": "cutting_edge"}
    alternatives = []
    for alt in CHOICES["framework"]:
        if alt == choice:
            continue
        if trigger[alt] in sw:
            why = f"flags.{trigger[alt]} is set, but {precedence}"
        else:
            why = f"the matrix picks it for {trigger[alt]}, which is not set"
            if stated:
                why += f", and models.frameworks does not {'start with' if alt in stated else 'list'} it"
        alternatives.append(Alternative(alt, why))
    return Decision("framework", choice, rationale, drivers, tuple(alternatives))


# --- serving ---------------------------------------------------------------------------------
def _serving(req: Requirements, sw: Switches) -> Decision:
    if "multi_model" in sw:
        choice, drivers = "triton", sw["multi_model"]
        rationale = (f"{_by(req, sw, 'multi_model')}: several models → Triton, which serves many models and "
                     "frameworks from one model repository (original matrix).")
    elif "pytorch_only" in sw:
        choice, drivers = "torchserve", sw["pytorch_only"]
        rationale = f"{_by(req, sw, 'pytorch_only')}: PyTorch only → TorchServe (original matrix)."
    else:
        choice, drivers = "tf-serving", ()
        rationale = "Neither multi_model nor pytorch_only applies, so the original matrix picks TF Serving."
    frameworks = req.models.frameworks
    stated = req.models.model_fields_set
    why_not_triton = ("serves many models and frameworks from one repository, more to operate than "
                      "needed when multi_model is not set")
    if choice != "tf-serving" and "count" in stated and req.models.count == 1 and frameworks == ["tensorflow"]:
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
                     "serves them (PyTorch and TensorFlow backends, ONNX Runtime, FIL for tree models, "
                     f"Python for the rest). The matrix alone would pick {choice}.")
        choice = "triton"
    regulated = req.regulated()
    if choice == "torchserve" and regulated:
        drivers = _drivers(("compliance",), drivers)
        rationale = (f"compliance {_join(regulated)} requires patched software, and {TORCHSERVE_STATUS}; "
                     f"Triton serves PyTorch through its PyTorch backend ({_by(req, sw, 'pytorch_only')} would "
                     "pick TorchServe).")
        choice = "triton"
    alternatives = []
    for alt in CHOICES["serving"]:
        if alt == choice:
            continue
        if alt == "triton":
            why = why_not_triton
        elif alt == "torchserve":
            why = f"serves PyTorch only, and {TORCHSERVE_STATUS}"
            if "pytorch_only" in sw and "multi_model" in sw:
                why += "; pytorch_only is set, but multi_model comes first in the original matrix"
        else:
            why = "serves TensorFlow SavedModels only"
            others = [f for f in frameworks if f != "tensorflow"]
            if others:
                why += f"; models.frameworks includes {_join(others)}"
        alternatives.append(Alternative(alt, why))
    return Decision("serving", choice, rationale, drivers, tuple(alternatives))


# --- orchestration ---------------------------------------------------------------------------
def _orchestration(req: Requirements, sw: Switches) -> Decision:
    existing = req.orchestration.existing
    if "kubernetes_native" in sw:
        choice, drivers = "kubeflow", sw["kubernetes_native"]
        rationale = (f"{_by(req, sw, 'kubernetes_native')}: Kubernetes-native → Kubeflow Pipelines, which runs "
                     "every step as a pod on the platform's cluster (original matrix).")
        if existing == "kubeflow":
            rationale += " The team already runs Kubeflow."
    elif "existing_airflow" in sw:
        choice, drivers = "airflow", sw["existing_airflow"]
        rationale = (f"{_by(req, sw, 'existing_airflow')}: keep the team's Airflow and track its runs in MLflow "
                     "(original matrix). omgml deploys no second Airflow; it hands the existing one the "
                     "platform's connections (the airflow-connections bundle).")
    else:
        choice, drivers = "prefect", ()
        rationale = ("Neither kubernetes_native nor existing_airflow applies, so the original matrix picks "
                     "Prefect (Python-native flows, light to operate).")
        if existing == "prefect":
            drivers = ("orchestration.existing",)
            rationale += " The team already runs Prefect."
    why = {
        "kubeflow": "the matrix picks it for kubernetes_native, which is not set",
        "airflow": ("flags.existing_airflow is set, but kubernetes_native comes first in the original matrix"
                    if "existing_airflow" in sw else
                    "the matrix picks it to keep an existing Airflow, and existing_airflow is not set; "
                    "phases.training.airflow.enabled: true deploys a managed one anyway"),
        "prefect": f"the matrix's fallback when nothing else applies; here {choice} applies",
    }
    alternatives = tuple(Alternative(a, why[a]) for a in CHOICES["orchestration"] if a != choice)
    return Decision("orchestration", choice, rationale, drivers, alternatives)


# --- feature store ---------------------------------------------------------------------------
def _feature_store(req: Requirements, sw: Switches) -> Decision:
    if "real_time" in sw:
        choice, drivers = "feast-redis", sw["real_time"]
        rationale = (f"{_by(req, sw, 'real_time')}: real-time → Feast with a Redis online store, which serves "
                     "features in milliseconds while a request waits (original matrix).")
        why_delta = ("batch_only is set, but real_time comes first in the original matrix: request-time "
                     "features need an online store" if "batch_only" in sw else
                     "the matrix picks it for batch_only, which is not set")
    elif "batch_only" in sw:
        choice, drivers = "delta-lake", sw["batch_only"]
        rationale = (f"{_by(req, sw, 'batch_only')}: batch only → Delta Lake tables on the object store; nothing "
                     "looks features up while a request waits (original matrix).")
        why_delta = ""
    else:
        choice, drivers = "feast-redis", ()
        rationale = ("Neither real_time nor batch_only applies; Feast with Redis is the documented default: "
                     "it serves online features and keeps the offline history on the object store.")
        why_delta = "the matrix picks it for batch_only, which is not set"
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
        rationale += " The original matrix pairs the existing Airflow with MLflow."
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


def _drift() -> Decision:
    rationale = ("Evidently compares a reference and a current dataset on a schedule and pushes the drift "
                 "score to Prometheus through the Pushgateway, so the drift alert fires from real numbers.")
    return Decision("drift", "evidently", rationale, (), (
        Alternative("custom-statistics-job", "every team would rewrite the same tests and reports"),
        Alternative("hosted-monitoring-service", "a hosted service omgml cannot provision, outside the cluster"),
    ))


# --- GPU pools and availability -----------------------------------------------------------------
def _gpu_pools(req: Requirements) -> Decision:
    train, serve = req.training.gpu, req.serving.gpu
    choice = {(False, False): "none", (True, False): "training", (False, True): "inference",
              (True, True): "both"}[(train, serve)]
    drivers = tuple(d for d, on in (("training.gpu", train), ("training.max_gpus", train),
                                    ("serving.gpu", serve)) if on)
    parts = []
    if train:
        parts.append(f"training.gpu with training.max_gpus {req.training.max_gpus}: a training pool that "
                     "scales to zero between runs, on spot capacity")
    if serve:
        parts.append("serving.gpu: an inference pool that keeps nodes for the model server")
    rationale = ("; ".join(parts) + ".") if parts else "Neither training.gpu nor serving.gpu is set: CPU nodes only."
    if parts and req.target == "local":
        rationale += (" Locally a pool is a kind worker labelled and tainted like a GPU node; without a local "
                      "GPU, GPU workloads run on its CPU.")
    needs = {"none": "no GPU", "training": "GPU training only", "inference": "GPU serving only",
             "both": "GPU training and serving"}
    stated = needs[choice]
    alternatives = tuple(Alternative(a, f"for {needs[a]}; the requirements ask for {stated}")
                         for a in CHOICES["gpu_pools"] if a != choice)
    return Decision("gpu_pools", choice, rationale, drivers, alternatives)


def _high_availability(req: Requirements) -> Decision:
    a = req.availability
    if req.target == "local":
        choice = "single"
        rationale = ("target local: one machine runs the whole platform, so replicas cannot add availability; "
                     "single replicas keep it inside the laptop budget.")
        if a != "99.0":
            rationale += f" availability {a} cannot be met locally."
        drivers: tuple[str, ...] = ("target", "availability")
    else:
        choice = {"99.0": "single", "99.9": "multi-replica"}.get(a, "multi-az")
        drivers = ("availability", "target")
        rationale = {
            "single": "availability 99.0 on aws: single replicas; a failed node means a short outage while "
                      "Kubernetes reschedules.",
            "multi-replica": "availability 99.9 on aws: two replicas of the model server, MLflow and Feast and "
                             "three Kafka brokers, so one failed node is not an outage.",
            "multi-az": f"availability {a} on aws must survive a zone outage: three availability zones, two "
                        "replicas of the model server, MLflow and Feast, and Postgres, Redis, Kafka and the "
                        "object store on AWS managed services (RDS Multi-AZ, ElastiCache, MSK, S3) that "
                        "replicate across zones (S3 unless Delta Lake features keep the object store "
                        "in-cluster, see warnings); workloads reach S3 through their own IRSA roles, no keys.",
        }[choice]
    if req.target == "local":
        why = {"multi-replica": "target local runs on one machine, where replicas cannot add availability",
               "multi-az": "target local has one machine and no zones"}
    else:
        why = {
            "single": f"availability {a} needs more than one replica",
            "multi-replica": (f"for availability 99.9; {a} is asked for" if choice == "single" else
                              f"replicas in one zone do not survive a zone outage, which availability {a} must"),
            "multi-az": f"for availability 99.95 and above; {a} is asked for",
        }
    alternatives = tuple(Alternative(x, why[x]) for x in CHOICES["high_availability"] if x != choice)
    return Decision("high_availability", choice, rationale, drivers, alternatives)


# --- warnings, controls, cost ------------------------------------------------------------------
def _conflicts(req: Requirements) -> list[str]:
    """Flags that contradict stated facts (the facts win where they refine a decision)."""
    out = []
    flags = set(req.flags)
    fw = req.models.frameworks
    if "pytorch_only" in flags and fw and fw != ["pytorch"]:
        out.append(f"flags.pytorch_only contradicts models.frameworks {fw}; the stated frameworks win where "
                   "they refine a decision")
    if "multi_model" in flags and "count" in req.models.model_fields_set and req.models.count == 1 \
            and len(fw) <= 1:
        out.append("flags.multi_model contradicts models.count 1; the stated count wins where it refines "
                   "a decision")
    if "batch_only" in flags and req.data.streaming:
        out.append("flags.batch_only contradicts data.streaming: true; Kafka is deployed for the stream")
    if "existing_airflow" in flags and req.orchestration.existing in ("kubeflow", "prefect"):
        out.append(f"flags.existing_airflow contradicts orchestration.existing {req.orchestration.existing}")
    return out


def _choice_warnings(req: Requirements, d: dict[str, Decision]) -> Notes:
    notes: Notes = []
    serving, framework = d["serving"].choice, d["framework"].choice
    if serving == "torchserve":
        notes.append(("serving", (
            f"serving: {TORCHSERVE_STATUS}; Triton's PyTorch backend is the maintained alternative (state a "
            "second model or framework, or add flags: [multi_model], to get it).")))
    if framework not in SERVES[serving]:
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


def compliance_controls(req: Requirements) -> tuple[list[str], Notes]:
    """(controls the platform applies or leaves to the team, warnings) for the stated regimes."""
    controls: list[str] = []
    notes: Notes = []
    regulated = req.regulated()
    if regulated:
        regimes = _join(regulated)
        controls += [
            f"encryption at rest ({regimes}): aws.audit_logging: true asks the AWS target to encrypt every "
            "volume, bucket and managed store with KMS",
            f"audit logging ({regimes}): aws.audit_logging: true turns on the EKS control-plane audit log",
            f"network policies ({regimes}): every platform namespace gets a default-deny NetworkPolicy with "
            "explicit allows; they hold only where the cluster's network plugin enforces NetworkPolicy",
            f"no public endpoints ({regimes}): the platform creates no Ingress and no LoadBalancer Service; "
            "reach it through kubectl port-forward or a private load balancer you add",
            f"closed pipeline steps ({regimes}): phases.training.kubeflow.allow_external_egress: false and "
            "step_pod_security: restricted, so steps run as non-root and cannot reach the internet (bake "
            "their dependencies into the step images)",
        ]
        if "hipaa" in regulated:
            controls.append("hipaa: sign AWS's Business Associate Addendum before protected health information "
                            "reaches the platform")
        if req.target == "local":
            notes.append(("compliance", (
                f"compliance: {regimes} cannot be met on target local: a kind cluster has no encryption at rest "
                "and no audit log. Use it to try the platform, never for regulated data; use target aws.")))
    if "gdpr" in req.compliance:
        controls.append("gdpr: personal data stays in aws.region (us-east-1 unless changed in omgml.yaml); "
                        "choose an EU region if your data-processing agreement requires it")
    return controls, notes


def _budget(req: Requirements, cost: CostEstimate | None) -> Notes:
    if cost is None or req.budget_usd_month is None or cost.total <= req.budget_usd_month:
        return []
    drivers = "; ".join(f"{line.item} ~${line.usd_month:,.0f} ({line.note})" for line in cost.biggest())
    return [("budget", (
        f"budget: the platform is estimated at ~${cost.total:,.0f}/month on AWS, over budget_usd_month "
        f"${req.budget_usd_month:,.0f}. Biggest cost drivers: {drivers}. A rough estimate; lower "
        "training.max_gpus, drop serving.gpu or lower availability, or raise the budget."))]


def _consequences(decision: Decision, spec: PlatformSpec, notes: Notes) -> tuple[str, ...]:
    f, s = spec.phases.foundation, spec.phases.serving
    area, choice = decision.area, decision.choice
    out: list[str] = []
    if area == "framework":
        out.append(f"Training code and pipelines use {choice}; the model server ({s.server.kind}) loads its "
                   "exported models.")
    elif area == "serving":
        where = f", on GPU pool {s.server.gpu_pool}" if s.server.gpu else ", on CPU"
        out.append(f"phases.serving.server: {s.server.kind}, {s.server.replicas} to {s.server.max_replicas} "
                   f"replicas (autoscaled){where}; models come from the model repository on the object store.")
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
        out.append(f"phases.serving.evidently: drift job on schedule '{s.evidently.schedule}', comparing "
                   f"{s.evidently.reference_path} with {s.evidently.current_path}.")
    elif area == "gpu_pools":
        pools = spec.all_gpu_pools()
        out += [f"GPU pool {p.name} ({p.purpose}): {p.instance_types[0]}, {p.gpus_per_node} GPU(s) per node, "
                f"{p.min_size} to {p.max_size} nodes{', spot' if p.spot else ''}." for p in pools]
        if not pools:
            out.append("No GPU pool is created.")
    elif area == "high_availability":
        if spec.target == "aws":
            out.append(f"aws.availability_zones: {spec.aws.availability_zones}.")
        managed = [n for n in ("kafka", "postgres", "object_store", "redis")
                   if getattr(f, n).enabled and getattr(f, n).managed]
        if managed:
            out.append(f"Managed on AWS: {_join(managed)}.")
    out += [f"Warning: {text}" for a, text in notes if a == area]
    return tuple(out)


DELTA_CONSEQUENCES: tuple[str, ...] = (
    "Delta Lake tables live under s3://<features bucket>/delta/<table>/ (phases.foundation.feast.delta_tables; "
    "FEAST_DELTA_URI in Feast's pods). A Job reserves each table's prefix; the table itself exists once your "
    "pipeline's first write commits its _delta_log (deltalake's write_deltalake or Spark).",
    "Feast has no Delta offline store of its own: omgml configures its duckdb offline store, the one Feast "
    "0.66 store that reads FileSource(file_format=DeltaFormat()) (through DuckDB's delta extension, fetched "
    "over HTTPS on first use). Feast's default file store would read Delta directories as plain Parquet, "
    "which is wrong; Spark reads Delta too, but needs a Spark cluster the platform does not run.",
    "With an online store (phases.foundation.redis + feast.online_store: redis), a CronJob runs `feast "
    "materialize-incremental` hourly (feast.materialize_schedule); batch-only platforms have none.",
)


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


def recommend(req: Requirements) -> Recommendation:
    """One Decision per area, the PlatformSpec they add up to, and everything the team should know."""
    sw = effective_switches(req)
    serving = _serving(req, sw)
    decisions = {
        "framework": _framework(req, sw, serving),
        "serving": serving,
        "orchestration": _orchestration(req, sw),
        "feature_store": _feature_store(req, sw),
        "streaming": _streaming(req, sw),
        "experiment_tracking": _experiment_tracking(sw),
        "monitoring": _monitoring(req.resolved_profile()),
        "drift": _drift(),
        "gpu_pools": _gpu_pools(req),
        "high_availability": _high_availability(req),
    }
    spec = platform_spec(req, {area: d.choice for area, d in decisions.items()})
    notes: Notes = [("conflict", text) for text in _conflicts(req)]
    notes += _choice_warnings(req, decisions)
    controls, compliance_notes = compliance_controls(req)
    notes += compliance_notes
    cost = estimate_aws_monthly(spec, req.data.daily_volume_gb) if req.target == "aws" else None
    notes += _budget(req, cost)
    ordered = tuple(replace(decisions[a], consequences=_consequences(decisions[a], spec, notes)) for a in AREAS)
    return Recommendation(
        requirements=req,
        decisions=ordered,
        warnings=tuple(text for _, text in notes),
        platform=spec,
        controls=tuple(controls),
        cost=cost,
        phases=phase_components(spec),
    )

"""The project `omgml init` writes: pure functions that return {relative path: text}, and one
function that puts them on disk atomically.

Each file has its own builder so later features (a kind cluster config, a CI workflow, a cost
report) add an entry to `project_files` without touching the rest.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from omgml import __version__
from omgml.adr import adr_document
from omgml.errors import OmgmlError
from omgml.recommend.model import AREAS, Decision, Recommendation
from omgml.samples import sample_pipeline_files
from omgml.spec import PHASES, PlatformSpec

STACK_PREFIX = "dev"
SPEC_FILE = "omgml.yaml"
# The Status section of the ADRs drawn from the requirements.
RECORDED_BY_INIT = f"Accepted. Recorded by `omgml init` (omgml {__version__}) from the requirements in `{SPEC_FILE}`."
KIND_CONFIG = "kind-config.yaml"  # read by `omgml local up` (cli/local.py)
WORKFLOW = ".github/workflows/omgml.yml"
# omgml.yaml's section about the project itself (not the platform): the omgml that wrote it and
# how the project installs omgml (README, CI workflow). `omgml sync` reads it.
PROJECT_SECTION = "omgml"
# omgml from a package index, the version that wrote the project. Until omgml is published on
# the index you use, point the project at a git URL or a wheel instead (`--omgml-pip-spec`).
DEFAULT_PIP_SPEC = f"omgml[validate]=={__version__}"
PIP_SPEC_EXAMPLES = (
    f"omgml[validate] @ git+https://<git host>/<org>/omgml.git@v{__version__}",
    f"omgml[validate] @ file:///<absolute path>/omgml-{__version__}-py3-none-any.whl",
)

AREA_TITLES: dict[str, str] = {
    "framework": "ML framework",
    "serving": "Model serving",
    "orchestration": "Pipeline orchestration",
    "feature_store": "Feature store",
    "streaming": "Streaming",
    "experiment_tracking": "Experiment tracking",
    "monitoring": "Monitoring",
    "drift": "Drift detection",
    "gpu_pools": "GPU pools",
    "high_availability": "High availability",
    "data_stores": "Data stores",
    "hpo": "Hyperparameter optimisation",
    "model_governance": "Model governance",
    "data_quality": "Data quality",
    "lineage": "Data catalog and lineage",
    "experiments": "A/B tests and canaries",
    "compliance": "Compliance controls",
}
AREA_CONTEXT: dict[str, str] = {
    "framework": "Which deep-learning framework training code and pipelines are written in.",
    "serving": "Which server loads trained models and answers prediction requests.",
    "orchestration": "What runs training and scoring pipelines.",
    "feature_store": "Where features are computed, stored and looked up, offline and online.",
    "streaming": "Whether events arrive as streams that need a durable buffer.",
    "experiment_tracking": "Where runs, metrics and model versions are recorded.",
    "monitoring": "How the platform's health and the models' behaviour are measured and alerted on.",
    "drift": "How changes in the data the models see are detected.",
    "gpu_pools": "Which workloads get GPU nodes.",
    "high_availability": "How much failure the platform survives without an outage.",
    "data_stores": "Where Postgres, Redis, Kafka and the object store run: as AWS managed services or in the cluster.",
    "hpo": "Whether hyperparameter searches run as a platform service, and which one.",
    "model_governance": "How a model is documented, explained and checked for fairness before it is promoted.",
    "data_quality": "How the data the models train and score on is checked before it does harm.",
    "lineage": "Where the platform records which job read and wrote which dataset, for audits and debugging.",
    "experiments": "How two or more versions of a model are served side by side, with a weighted share of the "
                   "traffic each, to compare them on real requests before one replaces the other.",
    "compliance": "Which regulatory regimes the platform has to satisfy.",
}


class ProjectError(OmgmlError):
    """The target directory cannot take the project (not empty, a file in the way, …)."""


def check_pip_spec(pip_spec: str, where: str = "--omgml-pip-spec") -> str:
    """A pip requirement for omgml that can be quoted in a shell line and a workflow expression."""
    text = pip_spec.strip()
    if not text:
        raise ProjectError(f"{where}: empty; give a pip requirement such as {DEFAULT_PIP_SPEC!r}")
    bad = [c for c in ("'", '"', "`", "$", "\n", "\r") if c in text]
    if bad:
        raise ProjectError(
            f"{where} {pip_spec!r}: {', '.join(repr(c) for c in bad)} cannot go into the generated shell lines "
            f"and workflow; write a plain requirement, e.g. {PIP_SPEC_EXAMPLES[0]!r}"
        )
    if "omgml" not in text.lower():
        raise ProjectError(
            f"{where} {pip_spec!r}: must install omgml (the project's program imports it), e.g. "
            f"{DEFAULT_PIP_SPEC!r} or {PIP_SPEC_EXAMPLES[1]!r}"
        )
    return text


# --- individual files -------------------------------------------------------------------------
def _yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100, allow_unicode=True)


def omgml_yaml(rec: Recommendation, pip_spec: str = DEFAULT_PIP_SPEC, source: str | None = None) -> str:
    req = rec.requirements.model_dump(mode="json", exclude_unset=True)
    platform = rec.platform.model_dump(mode="json")
    header = (
        f"# {rec.platform.name}: written by `omgml init` (omgml {__version__}).\n"
        "#\n"
        "# requirements: what the team needs (the input of the recommendation engine). Only the\n"
        "#   fields stated here count as stated; `omgml recommend --requirements omgml.yaml` re-runs it.\n"
        "# platform: the PlatformSpec the engine recommended, i.e. what the Pulumi program deploys\n"
        "#   (stacks/__main__.py reads this section). Edit it to change the platform; docs/adr/ records\n"
        "#   why each part was chosen. When the two disagree (say on target), platform wins: it is what\n"
        "#   gets deployed; `omgml check` warns about the difference.\n"
        "# omgml: how this project installs omgml (pip_spec: the README's and the CI workflow's pip\n"
        "#   requirement; a version from a package index, a git URL or a wheel path).\n"
        "# After editing this file, `omgml sync .` rewrites the files derived from it (stack configs,\n"
        "#   kind config, README, docs, CI workflow) and keeps your own files and the Pulumi state.\n"
    )
    project: dict[str, str] = {"version": __version__, "pip_spec": pip_spec}
    if source is not None:
        project["source"] = source  # what `omgml init` started from, for the README `omgml sync` writes
    return header + _yaml({"requirements": req, "platform": platform, PROJECT_SECTION: project})


def read_pip_spec(spec_file: Path) -> str:
    """omgml.yaml's `omgml.pip_spec` (projects written before it existed get the default)."""
    from omgml.spec.base import read_yaml

    data = read_yaml(spec_file)
    section = data.get(PROJECT_SECTION) if isinstance(data, dict) else None
    value = section.get("pip_spec") if isinstance(section, dict) else None
    if value is None:
        return DEFAULT_PIP_SPEC
    if not isinstance(value, str):
        raise ProjectError(f"{spec_file}: {PROJECT_SECTION}.pip_spec must be a string, got {value!r}")
    return check_pip_spec(value, f"{spec_file}: {PROJECT_SECTION}.pip_spec")


def pulumi_yaml(spec: PlatformSpec) -> str:
    return (
        "# One Pulumi project, one stack per phase (dev-foundation, dev-training, dev-serving).\n"
        "# The program is omgml's: stacks/__main__.py reads the stack's phase and omgml.yaml.\n"
        + _yaml({
            "name": spec.name,
            "description": f"{spec.name}: ML platform generated by omgml (one stack per phase)",
            "runtime": {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}},
            "main": "stacks/",
            "stackConfigDir": "stacks",
        })
    )


def main_py() -> str:
    return (
        '"""Pulumi program entry (Pulumi.yaml: `main: stacks/`). All logic lives in omgml.program."""\n'
        "\n"
        "from omgml.program import main\n"
        "\n"
        "main()\n"
    )


def kube_context(spec: PlatformSpec) -> str:
    return f"kind-{spec.name}"


def stack_names(rec: Recommendation) -> list[str]:
    """Stacks to deploy, in order: foundation always, the others when they deploy something.

    Every phase still gets its stack config (a fixed set of files, so `init --force` never
    leaves a stale one behind); a phase with nothing in it simply need not be deployed.
    """
    return [f"{STACK_PREFIX}-{p}" for p in PHASES if p == "foundation" or rec.phases.get(p)]


# Stack config keys omgml writes. Anything else in a stack config file (Pulumi's encryptionsalt,
# secretsprovider and encrypted secrets, the team's own config) belongs to the stack and is kept
# whenever omgml rewrites the file: losing encryptionsalt would make the state's secrets unreadable.
OWNED_CONFIG_KEYS = ("omgml:phase", "omgml:specFile", "omgml:stackPrefix", "kubernetes:context", "aws:region")


def local_contexts(spec: PlatformSpec) -> tuple[str, ...]:
    """The kube contexts a local project's stacks may point at: kind's, or kwok's (`omgml local up`
    without Docker switches the stacks to it)."""
    return (kube_context(spec), f"kwok-{spec.name}")


def stack_config_values(spec: PlatformSpec, phase: str) -> dict[str, Any]:
    config: dict[str, Any] = {
        "omgml:phase": phase,
        "omgml:specFile": SPEC_FILE,
        "omgml:stackPrefix": STACK_PREFIX,
    }
    if spec.target == "local":
        config["kubernetes:context"] = kube_context(spec)
    else:
        config["aws:region"] = spec.aws.region
    return config


def stack_config(spec: PlatformSpec, phase: str, existing: str | None = None) -> str:
    """stacks/Pulumi.<prefix>-<phase>.yaml; with `existing` (the file's current text), everything
    but omgml's own keys is kept."""
    data: dict[str, Any] = {}
    if existing:
        try:
            loaded = yaml.safe_load(existing)
        except yaml.YAMLError as exc:
            raise ProjectError(f"stack config of phase {phase} is not valid YAML ({exc}); fix or remove it") from None
        data = dict(loaded) if isinstance(loaded, dict) else {}
    found = data.get("config")
    old: dict[str, Any] = dict(found) if isinstance(found, dict) else {}
    values = stack_config_values(spec, phase)
    if spec.target == "local" and old.get("kubernetes:context") in local_contexts(spec):
        values["kubernetes:context"] = old["kubernetes:context"]
    config = {**values, **{k: v for k, v in old.items() if k not in OWNED_CONFIG_KEYS}}
    body = {**{k: v for k, v in data.items() if k != "config"}, "config": config}
    return f"# Stack {STACK_PREFIX}-{phase}: the {phase} phase of {spec.name}.\n" + _yaml(body)


def adr_filename(number: int, area: str) -> str:
    return f"docs/adr/{number:04d}-{area.replace('_', '-')}.md"


def adr_markdown(number: int, decision: Decision, rec: Recommendation) -> str:
    from omgml.recommend.engine import requirement_value

    req = rec.requirements
    if decision.drivers:
        context = [f"- `{d}`: {'set' if d.startswith('flags.') else requirement_value(req, d)}"
                   for d in decision.drivers]
    else:
        context = ["- No requirement decides this area; the documented default applies."]
    alternatives = [f"- **{a.choice}**: {a.why_not}." for a in decision.alternatives] or ["- None."]
    consequences = [f"- {c}" for c in decision.consequences] or ["- None beyond the decision itself."]
    return adr_document(
        f"{number}. {AREA_TITLES[decision.area]}: {decision.choice}", status=RECORDED_BY_INIT,
        context=[AREA_CONTEXT[decision.area], "", "Requirements that bear on it:", "", *context],
        decision=[f"Use **{decision.choice}**."], rationale=[decision.rationale],
        alternatives=alternatives, consequences=consequences)


def compliance_adr(number: int, rec: Recommendation) -> str:
    req = rec.requirements
    regimes = ", ".join(req.compliance) if req.compliance else "none"
    if rec.controls:
        decision = ["Apply these controls:", "", *[f"- {c}." for c in rec.controls]]
        rationale = ("The stated regimes require data encrypted at rest, an audit trail of who changed the "
                     "platform, network segmentation and no exposure to the internet; each control maps to a "
                     "setting in omgml.yaml or to the platform's defaults.")
        alternatives = ["- **Relying on the platform defaults alone**: they leave the audit logs off and pipeline "
                        "steps open to the internet, which the stated regimes do not allow."]
    else:
        decision = ["Keep the platform's defaults: default-deny NetworkPolicies in every namespace, no public "
                    "endpoints, credentials only in Kubernetes Secrets."]
        rationale = "No compliance regime is stated (`compliance: []`)."
        alternatives = ["- **Turning on aws.audit_logging anyway**: extra cost without a stated need; set it "
                        "in omgml.yaml if you want it."]
    notes = [w for w in rec.warnings if w.startswith("compliance:")]
    consequences = [f"- `aws.audit_logging: {str(rec.platform.aws.audit_logging).lower()}`."]
    if rec.platform.credentials == "existing":
        consequences.append(
            f"- `credentials: existing` ({regimes}): no password is generated into Pulumi state; the team "
            "provides every Secret (from its vault, or synced by External Secrets); `omgml secrets template` "
            "lists them. On target local `omgml preview|up` check each Secret and key before creating "
            "anything; on aws the foundation phase creates the cluster, so its pods wait (up to Pulumi's "
            "timeout) until the Secrets are synced. Rotation is the team's job. The ElastiCache AUTH token "
            "is still generated (AWS takes it at creation).")
    consequences += [f"- Warning: {w}" for w in notes]
    return adr_document(
        f"{number}. {AREA_TITLES['compliance']}", status=RECORDED_BY_INIT,
        context=[AREA_CONTEXT["compliance"], "", f"- `compliance`: {regimes}", f"- `target`: {req.target}"],
        decision=decision, rationale=[rationale], alternatives=alternatives, consequences=consequences)


def adr_files(rec: Recommendation) -> dict[str, str]:
    """One ADR per area in engine order, then compliance (always written, so the set is stable)."""
    out = {adr_filename(i, d.area): adr_markdown(i, d, rec) for i, d in enumerate(rec.decisions, start=1)}
    n = len(rec.decisions) + 1
    out[adr_filename(n, "compliance")] = compliance_adr(n, rec)
    out.update(backup_adr_file(n + 1, rec.platform))
    return out


def backup_adr_file(number: int, spec: PlatformSpec) -> dict[str, str]:
    """The backup ADR (omgml.backup.backup_adr): written for every project, after compliance."""
    from omgml.backup import backup_adr

    return {adr_filename(number, "backup"): backup_adr(number, spec)}


# --- architecture diagram ---------------------------------------------------------------------
def _store_label(spec: PlatformSpec, attr: str, local: str, managed: str) -> str:
    return managed if getattr(spec.phases.foundation, attr).managed else local


def architecture_mermaid(rec: Recommendation) -> str:
    """A Mermaid flowchart of the layers (data, training, serving, monitoring) and their links."""
    spec = rec.platform
    f, t, s = spec.phases.foundation, spec.phases.training, spec.phases.serving
    layers: dict[str, list[str]] = {"data": [], "training": [], "serving": [], "monitoring": []}
    present: set[str] = set()

    def node(layer: str, key: str, text: str, shape: str = "box") -> None:
        open_, close = {"box": ("[", "]"), "db": ("[(", ")]"), "round": ("(", ")")}[shape]
        layers[layer].append(f'    {key}{open_}"{text}"{close}')
        present.add(key)

    if f.kafka.enabled:
        node("data", "kafka", _store_label(spec, "kafka", "Kafka (KRaft)", "Kafka (Amazon MSK)"), "db")
    if f.postgres.enabled:
        node("data", "postgres", _store_label(spec, "postgres", "Postgres", "Postgres (Amazon RDS)"), "db")
    if f.object_store.enabled:
        node("data", "objectstore",
             _store_label(spec, "object_store", "Object store (SeaweedFS, S3 API)", "Object store (Amazon S3)"), "db")
    if f.redis.enabled:
        node("data", "redis", _store_label(spec, "redis", "Redis", "Redis (ElastiCache)"), "db")
    if f.feast.enabled:
        node("data", "feast", "Feast feature server")
    if f.mlflow.enabled:
        node("training", "mlflow", "MLflow tracking + model registry")
    if t.enabled and t.kubeflow.enabled:
        node("training", "kfp", "Kubeflow Pipelines")
    if t.enabled and t.airflow.enabled:
        node("training", "airflow", "Airflow 3 (KubernetesExecutor)")
    if t.enabled and t.prefect.enabled:
        node("training", "prefect", "Prefect server + Kubernetes worker")
    if t.enabled and t.hpo.enabled:
        engine = t.hpo.resolved_engine(t.kubeflow.enabled)
        node("training", "hpo", "Katib (HPO service)" if engine == "katib" else "Optuna + optuna-dashboard (HPO)")
    if t.enabled and t.governance.enabled:
        node("training", "governance", "Governance steps (model card, SHAP, fairness)")
    if t.airflow.connections_bundle:
        node("training", "orchestrator", "Your existing Airflow (airflow-connections; not deployed by omgml)",
             "round")
    for pool in t.gpu_pools if t.enabled else []:
        node("training", "gputrain", f"GPU pool {pool.name}", "round")
    if s.enabled and s.server.enabled:
        node("serving", "server", f"Model server: {s.server.kind}")
        if s.experiments:
            node("serving", "router", "Model router (HAProxy): A/B variants")
    if s.enabled and s.batch_scoring.enabled:
        node("serving", "spark", "Spark batch scoring (CronJob)")
    for pool in s.gpu_pools if s.enabled else []:
        node("serving", "gpuserve", f"GPU pool {pool.name}", "round")
    if s.enabled and s.prometheus.enabled:
        node("monitoring", "prometheus", "Prometheus")
        for part, text in (("alertmanager", "Alertmanager"), ("pushgateway", "Pushgateway"), ("grafana", "Grafana")):
            if getattr(s.prometheus, part):
                node("monitoring", part, text)
    if s.enabled and s.evidently.enabled:
        node("monitoring", "evidently", "Evidently drift job")

    edges = [
        ("mlflow", "-->", "runs, registry", "postgres"),
        ("mlflow", "-->", "artifacts", "objectstore"),
        ("feast", "-->", "registry", "postgres"),
        ("feast", "-->", f"offline store ({f.feast.offline_store})", "objectstore"),
        ("feast", "-->", "online store", "redis"),
        ("kfp", "-->", "artifacts", "objectstore"),
        ("kfp", "-->", "tracking", "mlflow"),
        ("kfp", "-.->", "GPU steps", "gputrain"),
        ("airflow", "-->", "metadata", "postgres"),
        ("airflow", "-->", "task logs", "objectstore"),
        ("airflow", "-->", "tracking", "mlflow"),
        ("prefect", "-->", "database", "postgres"),
        ("prefect", "-->", "tracking", "mlflow"),
        ("orchestrator", "-.->", "tracking", "mlflow"),
        ("hpo", "-->", "trials", "postgres"),
        ("hpo", "-.->", "trial runs", "mlflow"),
        ("governance", "-->", "card, metrics, tags", "mlflow"),
        ("orchestrator", "-.->", "data", "objectstore"),
        ("server", "-->", "model repository", "objectstore"),
        ("server", "-->", "online features", "feast"),
        ("server", "-->", "inference log", "kafka"),
        ("server", "-.->", "runs on", "gpuserve"),
        ("router", "-->", "model requests", "server"),
        ("spark", "-->", "features in, predictions out", "objectstore"),
        ("spark", "-->", "model by alias", "mlflow"),
        ("kfp", "-.->", "scoring step", "spark"),
        ("prometheus", "-->", "scrapes", "router"),
        ("prometheus", "-->", "scrapes", "server"),
        ("prometheus", "-->", "scrapes", "pushgateway"),
        ("prometheus", "-->", "alerts", "alertmanager"),
        ("grafana", "-->", "queries", "prometheus"),
        ("evidently", "-->", "datasets", "objectstore"),
        ("evidently", "-->", "drift scores", "pushgateway"),
    ]
    lines = ["flowchart LR"]
    for layer, title in (("data", "Data"), ("training", "Training"), ("serving", "Serving"),
                         ("monitoring", "Monitoring")):
        if layers[layer]:
            lines += [f'  subgraph {layer}["{title}"]', *layers[layer], "  end"]
    if not spec.logs_inferences():
        edges = [e for e in edges if e[2] != "inference log"]
    lines += [f'  {a} {arrow}|"{label}"| {b}' for a, arrow, label, b in edges if a in present and b in present]
    return "\n".join(lines) + "\n"


def architecture_md(rec: Recommendation) -> str:
    spec = rec.platform
    undeployed = _existing_tools(spec)
    phase_rows = [f"| {p} | {', '.join(rec.phases.get(p, [])) or '(nothing)'} |" for p in PHASES]
    return "\n".join([
        f"# {spec.name}: architecture",
        "",
        f"Target **{spec.target}**, sizing profile **{spec.profile}**. The diagram shows the platform's layers "
        "(data, training, serving, monitoring) with the components the spec deploys and how they connect. "
        "Layers are not phases: MLflow, for instance, is deployed with the foundation phase but belongs to "
        "the training layer. Dashed links are scheduling (GPU pools) or tools omgml does not deploy.",
        "",
        "```mermaid",
        architecture_mermaid(rec).rstrip("\n"),
        "```",
        "",
        "## Components per phase",
        "",
        "| phase | components |",
        "|---|---|",
        *phase_rows,
        "",
        *(["## Used but not deployed", "", *[f"- {w}" for w in undeployed], ""] if undeployed else []),
        *_sizing_section(rec),
        "Why each component was chosen: see [docs/adr](adr/).",
        "",
    ])


def _sizing_section(rec: Recommendation) -> list[str]:
    """Sizing and availability with their arithmetic (the same lines `omgml recommend` prints)."""
    out: list[str] = []
    if rec.sizing:
        out += ["## Sizing", "", "| quantity | value | arithmetic |", "|---|---|---|",
                *[f"| {s.item} | {s.value} | {s.arithmetic} |" for s in rec.sizing], ""]
    if rec.slo is not None and rec.slo.achievable is not None:
        out += ["## Availability", "", f"Asked: {rec.slo.asked:g} %. Reached: {rec.slo.arithmetic()}.", ""]
    return out


def _existing_tools(spec: PlatformSpec) -> list[str]:
    """What the platform connects to but does not deploy (the team's own Airflow)."""
    from omgml.recommend.engine import existing_airflow_consequences

    if not spec.phases.training.airflow.connections_bundle:
        return []
    return existing_airflow_consequences(spec.phases.foundation.namespace)


def existing_airflow_section(spec: PlatformSpec) -> list[str]:
    """README section for a team that keeps its Airflow: how it picks up the connection bundle."""
    if not spec.phases.training.airflow.connections_bundle:
        return []
    ns = spec.phases.foundation.namespace
    return [
        "## Your existing Airflow",
        "",
        "omgml does not deploy a second Airflow. The foundation phase writes the connections your Airflow "
        f"needs into namespace `{ns}`: ConfigMap `airflow-connections` (MLFLOW_TRACKING_URI, "
        "AIRFLOW_CONN_MLFLOW_DEFAULT, AIRFLOW_CONN_FEAST, AWS_ENDPOINT_URL, the bucket names) and Secret "
        "`airflow-connections` (AIRFLOW_CONN_OBJECT_STORE, AIRFLOW_CONN_REDIS_DEFAULT, AWS_ACCESS_KEY_ID, "
        "AWS_SECRET_ACCESS_KEY).",
        "",
        "- Airflow in this cluster: copy both into its namespace and add them to its scheduler, workers and "
        "task pods with `envFrom` (`configMapRef` and `secretRef` named `airflow-connections`); Airflow reads "
        "every `AIRFLOW_CONN_<ID>` variable as connection `<id>` (`object_store`, `mlflow_default`, `feast`, "
        f"`redis_default`). Add its namespace to the allowed peers of `{ns}` (NetworkPolicy "
        "`allow-from-platform`) so its pods reach MLflow, Feast and the object store.",
        "- Airflow elsewhere: copy the values into its secrets backend (`kubectl get secret airflow-connections "
        f"-n {ns} -o json`), and reach the services through a private load balancer or VPN you add.",
        "- For a platform-managed Airflow 3 instead, set `phases.training.airflow.enabled: true` in "
        f"`{SPEC_FILE}`.",
        "",
    ]


# --- README, requirements.txt, .gitignore ---------------------------------------------------------
def readme_md(rec: Recommendation, source: str, pip_spec: str = DEFAULT_PIP_SPEC) -> str:
    spec = rec.platform
    stacks = stack_names(rec)
    phase_rows = [f"| {p} | `{STACK_PREFIX}-{p}` | {', '.join(rec.phases.get(p, [])) or '(nothing; skip this stack)'} |"
                  for p in PHASES]
    decisions = [f"| {d.area} | {d.choice} | [ADR {i:04d}]({adr_filename(i, d.area)}) |"
                 for i, d in enumerate(rec.decisions, start=1)]
    if spec.target == "local":
        cluster = [
            f"3. Create the local cluster; the stacks deploy to the kube context `{kube_context(spec)}`. "
            f"`{KIND_CONFIG}` adds a worker per GPU pool, labelled and tainted like the pool:",
            "",
            "   ```sh",
            f"   kind create cluster --config {KIND_CONFIG}",
            "   ```",
            "",
            "   Or let omgml do steps 3 and 4 (it falls back to kwok, with simulated pods, where Docker is "
            "missing, and refuses a platform that doesn't fit): `omgml local up .`, `omgml local status .`, "
            "`omgml local down .`.",
        ]
    else:
        cluster = [
            f"3. Configure AWS credentials for region `{spec.aws.region}` (see `aws:region` in the stack "
            "configs); the stacks create the cluster and everything in it.",
        ]
    ups = [f"   pulumi stack init {s}   # once\n   pulumi up -s {s}" for s in stacks]
    cost: list[str] = []
    if rec.cost is not None:
        cost = ["## Monthly cost on AWS", "",
                "The estimate of this platform's render at list prices ([docs/cost.md](docs/cost.md) has every line "
                "item); `omgml cost .` prints the same total from a fresh render.", "",
                "| phase | USD/month |", "|---|---:|"]
        cost += [f"| {phase} | {usd:,.2f} |" for phase, usd in rec.cost.per_phase().items()]
        cost += [f"| **total** | **{rec.cost.total:,.2f}** |", ""]
    warnings = ["## Warnings", "", *[f"- {w}" for w in rec.warnings], ""] if rec.warnings else []
    controls = ["## Compliance controls", "", *[f"- {c}" for c in rec.controls], ""] if rec.controls else []
    return "\n".join([
        f"# {spec.name}",
        "",
        f"An ML platform generated by `omgml init` from {source}: target **{spec.target}**, sizing profile "
        f"**{spec.profile}**. `{SPEC_FILE}` holds the requirements and the platform spec; "
        "[docs/architecture.md](docs/architecture.md) draws it and shows the sizing arithmetic; "
        "[docs/adr/](docs/adr/) explains every choice against [the decision matrix](docs/decision-matrix.md); "
        "[docs/interfaces.md](docs/interfaces.md) lists what talks to what; [docs/operations.md](docs/operations.md) "
        "the failure modes; [docs/roadmap.md](docs/roadmap.md) the phased plan.",
        "",
        "## Phases",
        "",
        "The platform is deployed in three phases, one Pulumi stack each, in this order. Later phases read "
        "the earlier ones' outputs through stack references.",
        "",
        "| phase | stack | components |",
        "|---|---|---|",
        *phase_rows,
        "",
        "- **foundation**: namespaces, data stores, experiment tracking and the feature store.",
        "- **training**: pipelines and GPU node pools.",
        "- **serving**: the model server, monitoring, alerting and drift detection.",
        "",
        "## Decisions",
        "",
        "| area | choice | record |",
        "|---|---|---|",
        *decisions,
        "",
        *warnings,
        *existing_airflow_section(spec),
        *controls,
        *cost,
        "## Next steps",
        "",
        "1. Look at the platform without a cluster: render it offline to plain manifests and an inventory.",
        "",
        "   ```sh",
        "   omgml render .              # writes rendered/NN-<phase>.yaml and rendered/inventory.json",
        "   omgml render . --validate   # and checks every manifest against the Kubernetes schemas",
        "   ```",
        "",
        "2. Prepare the Pulumi program's virtualenv (`.venv`, from `requirements.txt`) and install omgml "
        "into it, the same omgml that wrote this project:",
        "",
        "   ```sh",
        "   pulumi install",
        f"   .venv/bin/pip install \"{pip_spec}\"",
        "   ```",
        "",
        f"   That pip requirement is `{PROJECT_SECTION}.pip_spec` in `{SPEC_FILE}`; the CI workflow installs the "
        "same one. Where omgml is not on your package index, point it at a git URL or a wheel instead, "
        f"e.g. `{PIP_SPEC_EXAMPLES[0]}` or `{PIP_SPEC_EXAMPLES[1]}`, then run `omgml sync .` "
        "(or pass `--omgml-pip-spec` to `omgml init`).",
        "",
        *cluster,
        "",
        "4. Deploy phase by phase (a local file backend needs no account; the passphrase protects the "
        "generated secrets in the state):",
        "",
        "   ```sh",
        "   pulumi login \"file://$PWD/.pulumi-state\"   # the same backend `omgml up` uses",
        "   read -rs PULUMI_CONFIG_PASSPHRASE && export PULUMI_CONFIG_PASSPHRASE   # keep it safe",
        *ups,
        "   ```",
        "",
        "   Destroy in the reverse order (`pulumi destroy -s <stack>`, serving first). "
        "`omgml up .`, `omgml preview . --diff` and `omgml destroy .` do the same for every phase in "
        "order, refusing a phase whose upstream stack is missing.",
        "",
        "   Before deploying, `omgml check .` runs the schema, policy and capacity checks and "
        "`omgml cost .` estimates the monthly bill ([docs/cost.md](docs/cost.md) holds the estimate "
        "made at `init`). `.github/workflows/omgml.yml` runs the same checks on every pull request "
        "and posts the diff, cost change and capacity as one comment.",
        "",
        f"5. Edited `{SPEC_FILE}`? `omgml sync .` rewrites the files derived from it (stack configs, "
        f"`{KIND_CONFIG}`, this README, docs/, the CI workflow) and keeps your own files and the Pulumi state; "
        "`omgml check .` flags files that disagree with it. The `platform` section is what gets deployed: "
        "when `requirements` says something else (a target, say), platform wins and `omgml check` warns. "
        f"Changed requirements? Re-run the engine and compare: `omgml recommend --requirements {SPEC_FILE}`.",
        "",
    ])


def requirements_txt(pip_spec: str = DEFAULT_PIP_SPEC) -> str:
    """omgml's runtime dependencies (as omgml pins them), for the Pulumi program's virtualenv."""
    from importlib import metadata

    try:
        requires = metadata.requires("omgml") or []
    except metadata.PackageNotFoundError:
        requires = []
    pins = sorted(r.replace(" ", "") for r in requires if "extra ==" not in r and "extra==" not in r)
    return "\n".join([
        "# Python packages the Pulumi program (stacks/__main__.py) needs; `pulumi install` puts them in .venv.",
        f"# Pinned as omgml {__version__} pins them. omgml itself must be installed into .venv as well, with",
        f"# the pip requirement in {SPEC_FILE} ({PROJECT_SECTION}.pip_spec; the CI workflow uses the same):",
        f"#   .venv/bin/pip install \"{pip_spec}\"",
        *pins,
        "",
    ])


def gitignore() -> str:
    from omgml.deploy.plan import STATE_DIR

    return "\n".join([
        "# Pulumi's virtualenv and Python caches",
        ".venv/",
        "__pycache__/",
        "*.pyc",
        "# `omgml render` output: regenerate it instead of committing it",
        "rendered/",
        "# the Pulumi file backend `omgml up` uses (PULUMI_BACKEND_URL unset): encrypted state, never commit it",
        f"{STATE_DIR}/",
        "",
    ])


def project_files(rec: Recommendation, source: str, cost_md: str | None = None,
                  manifests: list[dict[str, Any]] | None = None, pip_spec: str = DEFAULT_PIP_SPEC) -> dict[str, str]:
    """Every file of a new project, by path relative to the project directory.

    `manifests` is the platform's render (for the interfaces and failure-mode pages); None renders
    it here."""
    from omgml.data_quality import suite_files

    files = {SPEC_FILE: omgml_yaml(rec, pip_spec, source)}
    # The starter suites: the team edits them, so only a new project gets them (sync adds missing ones).
    files.update(suite_files(rec.platform))
    files.update(derived_files(rec, source, cost_md, manifests, pip_spec))
    files.update(training_addon_files(rec.platform))
    return files


def derived_files(rec: Recommendation, source: str, cost_md: str | None = None,
                  manifests: list[dict[str, Any]] | None = None, pip_spec: str = DEFAULT_PIP_SPEC) -> dict[str, str]:
    """The files that follow from omgml.yaml (all but omgml.yaml itself): `omgml sync` rewrites these."""
    from omgml.architect import failure_modes_markdown, roadmap_markdown
    from omgml.interfaces import interfaces_markdown
    from omgml.recommend.matrix_doc import decision_matrix_markdown

    spec = rec.platform
    if manifests is None:
        manifests = platform_render(rec).all_manifests()
    files = {
        "Pulumi.yaml": pulumi_yaml(spec),
        "stacks/__main__.py": main_py(),
    }
    for phase in PHASES:
        files[f"stacks/Pulumi.{STACK_PREFIX}-{phase}.yaml"] = stack_config(spec, phase)
    files.update(adr_files(rec))
    files["docs/architecture.md"] = architecture_md(rec)
    files["docs/decision-matrix.md"] = decision_matrix_markdown()
    files["docs/interfaces.md"] = interfaces_markdown(spec.name, manifests)
    files["docs/operations.md"] = failure_modes_markdown(rec, manifests)
    files["docs/roadmap.md"] = roadmap_markdown(rec)
    if spec.phases.foundation.data_quality.enabled:
        from omgml.data_quality import image_files

        # The runner image's recipe follows omgml's pins (the suites are the team's: project_files).
        files.update(image_files())
    files["README.md"] = readme_md(rec, source, pip_spec)
    files["requirements.txt"] = requirements_txt(pip_spec)
    files[".gitignore"] = gitignore()
    files[WORKFLOW] = ci_workflow_yaml(spec, pip_spec)
    if spec.target == "local":
        files[KIND_CONFIG] = kind_config_yaml(spec)
    if cost_md is not None:
        files["docs/cost.md"] = cost_md
    files.update(sample_pipeline_files(spec))
    assert len(rec.decisions) == len(AREAS)
    return files


def training_addon_files(spec: PlatformSpec) -> dict[str, str]:
    """hpo/ (sample Katib experiment or Optuna study) and governance/ (steps, image, card template).
    Not derived files: they are the team's to edit, so `omgml sync` only adds missing ones."""
    from omgml.governance.samples import governance_files
    from omgml.hpo.samples import hpo_files

    return {**hpo_files(spec), **governance_files(spec)}


def ci_workflow_yaml(spec: PlatformSpec, pip_spec: str = DEFAULT_PIP_SPEC) -> str:
    """The pull-request workflow: check, diff and cost as one comment; previews on aws."""
    from omgml.ci import ci_workflow

    return ci_workflow(spec, pip_spec)


def kind_config_yaml(spec: PlatformSpec) -> str:
    """The kind cluster `omgml local up` creates: a CPU worker and one tainted worker per GPU pool."""
    from omgml.kind import kind_config

    header = ("# kind cluster for this platform (`omgml local up` creates it; or\n"
              "# `kind create cluster --config kind-config.yaml`). GPU pools are workers with the\n"
              "# pool's labels and the nvidia.com/gpu taint, so GPU scheduling rules are exercised.\n")
    return header + _yaml(kind_config(spec))


def platform_render(rec: Recommendation) -> Any:
    """The render the recommendation was priced from (aws), or a fresh one."""
    if rec.render is not None:
        return rec.render
    from omgml.synth.render import render_platform

    return render_platform(rec.platform)


def cost_markdown_for(rec: Recommendation, render: Any = None) -> str:
    """docs/cost.md: the recommendation's estimate on aws (the same total `omgml recommend` and `omgml
    cost` print), the cluster footprint on local (from `render`, or a fresh one)."""
    from omgml.capacity import capacity_report

    spec = rec.platform
    if spec.target == "aws":
        from omgml.cost import cost_markdown, cost_table_markdown

        if rec.cost is None:
            raise ValueError("cost_markdown_for: an aws recommendation needs its cost (priced_recommendation)")
        return "\n".join([
            "# Cost estimate", "",
            "List prices of this platform's render; `omgml cost .` prints the same from a fresh render. The seed "
            "column is the example answer's monthly estimate per phase.", "",
            cost_markdown(rec.cost).rstrip("\n"), "", "## Every line item", "", *cost_table_markdown(rec.cost), "",
        ])
    report = capacity_report(render if render is not None else platform_render(rec), None)
    lines = ["# Footprint", "",
             "This platform targets a local cluster, so it has no cloud bill; this is what it asks of the",
             "machine (requests of the long-running workloads; regenerate with `omgml check .`).", "",
             "| phase | CPU | memory | GPU | storage |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join((phase, *tot.formatted())) + " |" for phase, tot in report.phase_totals("**total**")]
    return "\n".join(lines) + "\n"


# --- writing ------------------------------------------------------------------------------------
def _check_paths(directory: Path, files: Mapping[str, str]) -> None:
    """Nothing on disk may stand where a file or one of its folders goes (checked before any write)."""
    for rel in files:
        target = directory / rel
        if target.is_dir() and not target.is_symlink():
            raise ProjectError(f"{target} is a directory, but omgml writes a file there; move it away")
        for parent in target.relative_to(directory).parents:
            path = directory / parent
            if parent != Path(".") and path.exists() and not path.is_dir():
                raise ProjectError(f"{path} is a file, but omgml needs a folder there; move it away")


def _write_tree(root: Path, files: Mapping[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _merge(staging: Path, directory: Path, files: Mapping[str, str]) -> None:
    """Move staged files over an existing project, restoring every replaced file on failure."""
    backup = staging / ".replaced"
    done: list[tuple[Path, Path | None]] = []
    try:
        for rel in files:
            target = directory / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            saved: Path | None = None
            if target.exists() or target.is_symlink():
                saved = backup / rel
                saved.parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, saved)
            done.append((target, saved))
            os.replace(staging / rel, target)
    except BaseException:
        for target, saved in reversed(done):
            if saved is not None:
                os.replace(saved, target)
            else:
                target.unlink(missing_ok=True)
        raise


def write_project(directory: Path, files: Mapping[str, str], force: bool = False) -> list[str]:
    """Write `files` under `directory` atomically; returns the relative paths written.

    A new or empty directory gets the project by one rename of a staging folder built next to
    it, so an error leaves nothing behind. A non-empty directory needs `force`: the files omgml
    writes are replaced (other files are kept), and a failure part-way restores the old ones.
    """
    # The real folder, so the final rename replaces it and not a symlink pointing at it.
    directory = directory.resolve()
    if directory.exists() and not directory.is_dir():
        raise ProjectError(f"{directory} exists and is not a directory; choose another path")
    occupied = directory.is_dir() and any(directory.iterdir())
    if occupied and not force:
        raise ProjectError(
            f"{directory} is not empty; choose an empty or new directory, or pass --force to replace the "
            "files omgml writes there (other files are kept)"
        )
    if occupied:
        _check_paths(directory, files)
    directory.parent.mkdir(parents=True, exist_ok=True)
    # A sibling of the target (same filesystem, so the final rename is atomic); mkdir honours the
    # umask, unlike tempfile.mkdtemp's 0700.
    staging = directory.parent / f".{directory.name}.omgml-init-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        _write_tree(staging, files)
        if occupied:
            _merge(staging, directory, files)
        else:
            # rename(2) replaces an empty directory, or creates the new one.
            os.replace(staging, directory)
    except OSError as exc:
        kept = "its previous files were restored" if occupied else "nothing was written"
        raise ProjectError(f"could not write the project to {directory} ({exc}); {kept}") from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return list(files)

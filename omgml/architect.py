"""The architect's other outputs for `omgml init`: failure modes per component and a phased roadmap.

Both are written for the components the spec deploys (`phase_components`) and nothing else:
- docs/operations.md, failure modes: per component, what breaks when it fails, which alert fires
  (read from the render's Prometheus rules: component-specific rules by their exporter's prefix,
  generic rules where their `namespace=~` filter covers the component's namespace; a component no
  rule covers says so) and how to recover;
- docs/roadmap.md: an MVP and the three phases, with effort from per-component planning figures
  (EFFORT_WEEKS), a team by role sized from the profile (TEAMS), calendar weeks = effort ÷ the
  people working on the phase, and risks with mitigations drawn from the recommendation's own
  warnings and choices.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

import yaml

from omgml.recommend.model import Recommendation
from omgml.spec import PHASES, PlatformSpec

Manifest = dict[str, Any]

# Component id → (what breaks when it fails, how to recover).
FAILURES: dict[str, tuple[str, str]] = {
    "kafka": ("producers (inference logging, feature pipelines) cannot write; with 3 brokers one broker down is "
              "absorbed (replication 3, 2 in-sync), two down stop writes",
              "the StatefulSet restarts the broker on its volume and it catches up from the others; a lost volume: "
              "delete the pod's PVC and pod, the broker re-replicates its partitions"),
    "msk": ("producers cannot write while brokers are unreachable",
            "AWS replaces failed brokers; check broker health in the MSK console and the clients' IAM roles"),
    "postgres": ("MLflow tracking and registry, Feast's registry and the orchestrators' metadata stop; running model "
                 "servers keep serving the models they loaded",
                 "the StatefulSet restarts Postgres on its volume; the in-cluster database has no point-in-time "
                 "restore: keep pg_dump backups of the mlflow and feast databases, or use RDS"),
    "rds": ("writes pause for the Multi-AZ failover to the standby (about a minute); clients reconnect",
            "automated backups with point-in-time restore (7 to 14 days by profile); restore to a new instance and "
            "point the postgres ExternalName Service at it"),
    "object-store": ("artifacts, the model repository, features and drift datasets are unreachable: new model loads "
                     "and pipeline runs fail; running servers keep their loaded models",
                     "the StatefulSet restarts SeaweedFS on its volume; a lost volume loses the data, so copy the "
                     "buckets elsewhere on a schedule"),
    "s3": ("model loads, pipelines and drift jobs fail while S3 or the IRSA role is unavailable",
           "nothing runs in the cluster to restart; every bucket keeps versions, so deleted or overwritten objects "
           "are restored from an earlier version"),
    "redis": ("online feature lookups fail: real-time scoring gets no features",
              "the StatefulSet restarts Redis on its volume; rebuild lost keys with `feast materialize-incremental`"),
    "elasticache": ("lookups fail for the failover to the replica (about a minute); clients reconnect over TLS",
                    "automatic failover; snapshots (kept 3 to 7 days outside the laptop profile) restore a lost "
                    "group, and `feast materialize-incremental` refills it"),
    "mlflow": ("training runs cannot log and new models cannot be registered; serving is not affected",
               "the Deployment replaces the pod; its state is in Postgres and the object store"),
    "feast": ("online feature requests fail; real-time scoring without features",
              "the Deployment replaces the pod; the registry is on Postgres, features on Redis and the object store"),
    "delta-lake": ("Feast's offline reads of the Delta tables fail (training data, materialization)",
                   "the tables are on the object store; re-run the Job that reserves each table's prefix"),
    "airflow-connections": ("your Airflow cannot reach MLflow, Feast or the object store",
                            "re-apply the foundation stack; copy the Secret again if your Airflow runs elsewhere"),
    "kubeflow-pipelines": ("new pipeline runs cannot start and the UI is down; running steps continue",
                           "the Deployments restart; run history is in MySQL (a StatefulSet) on its volume"),
    "airflow": ("DAG runs stop being scheduled", "the Deployments restart; metadata is in Postgres"),
    "prefect": ("flow runs stop being scheduled", "the server and worker restart; state is in Postgres"),
    "triton": ("predictions fail or slow down", "the Deployment replaces pods (the PodDisruptionBudget keeps serving "
               "through drains); a bad model: restore the previous version directory in the model repository"),
    "torchserve": ("predictions fail or slow down", "the Deployment replaces pods; a bad model: restore the "
                   "previous .mar in the model store and restart"),
    "tf-serving": ("predictions fail or slow down", "the Deployment replaces pods; a bad model: remove the newest "
                   "version directory, TF Serving falls back to the previous one"),
    "model-router": ("requests through the router fail (the model server itself still answers on its own Service)",
                     "the Deployment replaces the pod; it keeps no state. A bad variant: set its weight to 0 in "
                     "phases.serving.experiments (only the router's weights change)"),
    "spark-batch-scoring": ("the day's predictions are not written (the previous days' stay)",
                            "re-run the day: create a Job from the CronJob (or run the pipeline's scoring step); a "
                            "run replaces its own run_date partition only"),
    "prometheus": ("no metrics and no alerts", "the Deployment restarts Prometheus on its volume; the history it "
                   "had written is kept"),
    "alertmanager": ("alerts are evaluated but not delivered", "the Deployment restarts; silences are lost"),
    "pushgateway": ("drift metrics stop reaching Prometheus", "the Deployment restarts; the next drift run pushes "
                    "again"),
    "grafana": ("dashboards are unavailable", "the Deployment restarts; dashboards are provisioned from ConfigMaps"),
    "evidently": ("drift checks stop; the drift alert stays silent", "the CronJob runs again on schedule; the UI "
                  "Deployment restarts on its volume"),
    "gpu-pool:training": ("spot reclaim or a node failure interrupts training jobs", "jobs checkpoint to the object "
                          "store and retry; the node group replaces the node when spot capacity returns"),
    "gpu-pool:inference": ("a node loss removes its model-server replicas", "the node group replaces the node; the "
                           "other replicas carry the load (sized with zone headroom on multi-az)"),
}
# Alerts that belong to one component, by the alert name's prefix.
ALERT_PREFIX: dict[str, tuple[str, ...]] = {
    "triton": ("Triton", "ScrapeTargetDown"), "torchserve": ("TorchServe", "ScrapeTargetDown"),
    "tf-serving": ("TfServing", "ScrapeTargetDown"), "evidently": ("DataDrift",), "model-router": ("ModelVariant",),
}
# Planning figures: person-weeks to stand up, wire and prove each component (a team's own
# estimate replaces them; the roadmap says they are planning figures).
EFFORT_WEEKS: dict[str, float] = {
    "kafka": 2, "msk": 1.5, "postgres": 1, "rds": 0.5, "object-store": 1, "s3": 0.5, "redis": 0.5,
    "elasticache": 0.5, "mlflow": 1, "feast": 2, "delta-lake": 2, "airflow-connections": 0.5,
    "kubeflow-pipelines": 3, "airflow": 2, "prefect": 1.5, "gpu-pool": 1, "triton": 2, "torchserve": 1.5,
    "tf-serving": 1.5, "prometheus": 1, "alertmanager": 0.5, "pushgateway": 0.25, "grafana": 0.5, "evidently": 1.5,
    "model-router": 1, "spark-batch-scoring": 2,
}
# People by role per profile (FTE), and which roles work on which phase.
TEAMS: dict[str, dict[str, float]] = {
    "laptop": {"platform engineer": 1, "ML engineer": 1},
    "small": {"platform engineer": 2, "ML engineer": 1, "data engineer": 0.5},
    "production": {"platform engineer": 2, "ML engineer": 2, "data engineer": 1, "SRE": 1},
}
PHASE_ROLES: dict[str, tuple[str, ...]] = {
    "foundation": ("platform engineer", "data engineer", "security engineer"),
    "training": ("platform engineer", "ML engineer"),
    "serving": ("platform engineer", "ML engineer", "SRE"),
}


def _component_key(cid: str, spec: PlatformSpec) -> str:
    if cid.startswith("gpu-pool:"):
        pool = next((p for p in spec.all_gpu_pools() if f"gpu-pool:{p.name}" == cid), None)
        return f"gpu-pool:{pool.purpose}" if pool else "gpu-pool:training"
    return cid


def _namespace(cid: str, spec: PlatformSpec, phase: str) -> str:
    t = spec.phases.training
    if cid == "kubeflow-pipelines":
        return t.kubeflow.namespace
    if cid in ("airflow", "prefect"):
        return t.orchestration.namespace
    if cid.startswith("gpu-pool:"):
        return "(nodes)"
    return {"foundation": spec.phases.foundation.namespace, "training": t.kubeflow.namespace,
            "serving": spec.phases.serving.namespace}[phase]


def alert_rules(manifests: Iterable[Manifest]) -> list[tuple[str, list[str]]]:
    """(alert name, namespace regexes in its expression) of every rendered Prometheus rule."""
    out: list[tuple[str, list[str]]] = []
    for m in manifests:
        if m.get("kind") != "ConfigMap":
            continue
        for text in (m.get("data") or {}).values():
            if not isinstance(text, str) or "groups:" not in text:
                continue
            try:
                doc = yaml.safe_load(text)
            except yaml.YAMLError:
                continue
            for group in (doc or {}).get("groups") or []:
                for rule in group.get("rules") or []:
                    if "alert" in rule:
                        out.append((str(rule["alert"]), re.findall(r'namespace=~"([^"]*)"', str(rule.get("expr")))))
    return out


def _alerts_for(cid: str, namespace: str, rules: list[tuple[str, list[str]]]) -> list[str]:
    prefixes = ALERT_PREFIX.get(cid, ())
    names = [n for n, _ in rules if prefixes and n.startswith(prefixes)]
    names += [n for n, regexes in rules if regexes and not n.startswith(tuple(p for v in ALERT_PREFIX.values() for p in v))
              and any(re.fullmatch(rx, namespace) for rx in regexes)]
    return sorted(set(names))


def failure_modes_markdown(rec: Recommendation, manifests: Iterable[Manifest]) -> str:
    spec = rec.platform
    rules = alert_rules(manifests)
    rows = []
    for phase in PHASES:
        for cid in rec.phases.get(phase, []):
            key = _component_key(cid, spec)
            breaks, recover = FAILURES.get(key, ("(no entry)", "(no entry)"))
            ns = _namespace(cid, spec, phase)
            alerts = _alerts_for(cid, ns, rules) if ns != "(nodes)" else []
            managed = cid in ("rds", "elasticache", "msk", "s3")
            alert_text = (", ".join(f"`{a}`" for a in alerts) if alerts else
                          "none in Prometheus (AWS reports it: CloudWatch metrics and events)" if managed else
                          "none: no rule covers it (add a Prometheus rule or an exporter)")
            rows.append(f"| {phase} | {cid} | {breaks} | {alert_text} | {recover} |")
    return "\n".join([
        f"# {spec.name}: failure modes",
        "",
        "One row per deployed component: what breaks when it fails, which alert fires (read from the "
        "Prometheus rules of the render) and how to recover. A component without an alert is a gap the team "
        "closes before production.",
        "",
        "| phase | component | what breaks | alert | recovery |",
        "|---|---|---|---|---|",
        *rows,
        "",
    ])


# --- roadmap ------------------------------------------------------------------------------------
def _effort(cid: str) -> float:
    return EFFORT_WEEKS.get("gpu-pool" if cid.startswith("gpu-pool:") else cid, 1.0)


def _team(rec: Recommendation) -> dict[str, float]:
    team = dict(TEAMS[rec.platform.profile])
    if rec.requirements.regulated():
        team["security engineer"] = 0.5
    return team


def _phase_effort(rec: Recommendation, phase: str) -> tuple[float, list[str]]:
    spec = rec.platform
    ids = rec.phases.get(phase, [])
    effort = sum(_effort(c) for c in ids)
    extra: list[str] = []
    if phase == "foundation" and spec.target == "aws":
        effort += 2
        extra.append("VPC, EKS, IAM and IRSA: 2 person-weeks")
    if phase == "foundation" and rec.requirements.regulated():
        effort += 2
        extra.append(f"compliance evidence ({', '.join(rec.requirements.regulated())}): 2 person-weeks")
    if phase == "serving" and rec.choice("high_availability") == "multi-az":
        effort += 1
        extra.append("zone-failure drills: 1 person-week")
    return effort, extra


def _risks(rec: Recommendation) -> list[tuple[str, str]]:
    spec = rec.platform
    risks: list[tuple[str, str]] = []
    for w in rec.unmet:
        risks.append((w.split(". ", 1)[0], "resolve before go-live: change the requirement or the design as the "
                                           "warning says; `omgml recommend --strict` gates it in CI"))
    if any(p.spot for p in spec.all_gpu_pools()):
        risks.append(("spot GPU capacity is reclaimed or unavailable",
                      "checkpoint training to the object store every few minutes; allow on-demand for deadlines"))
    if spec.target == "aws" and spec.all_gpu_pools():
        risks.append(("no node autoscaler is installed yet, so GPU pools do not grow on demand",
                      "size pools for the peak (the inference pool is); add Karpenter or the Cluster Autoscaler"))
    if rec.choice("serving") == "torchserve":
        risks.append(("TorchServe gets no upstream fixes", "plan the move to Triton's PyTorch backend"))
    if spec.phases.foundation.feast.offline_store == "delta":
        risks.append(("Delta tables read through DuckDB's delta extension, fetched over HTTPS on first use",
                      "mirror the extension in an internal repository before the cluster loses internet access"))
    if rec.choice("high_availability") == "multi-az":
        risks.append(("a zone outage was never rehearsed", "drain one zone's nodes in staging and watch the SLO"))
    if spec.target == "local":
        risks.append(("the laptop platform is mistaken for production",
                      "no regulated data locally; move to target aws before real traffic"))
    risks.append(("model quality drifts silently" if spec.phases.serving.evidently.enabled else
                  "no scoring to watch yet", "wire the drift datasets (reference/current) in the first pipeline"
                  if spec.phases.serving.evidently.enabled else "add drift jobs once scoring starts"))
    return risks


def roadmap_markdown(rec: Recommendation) -> str:
    spec = rec.platform
    team = _team(rec)
    rows = []
    start = 0
    for phase in PHASES:
        ids = rec.phases.get(phase, [])
        if not ids:
            continue
        effort, extra = _phase_effort(rec, phase)
        people = sum(v for r, v in team.items() if r in PHASE_ROLES[phase])
        weeks = max(1, math.ceil(effort / people))
        roles = ", ".join(f"{r} {v:g}" for r, v in team.items() if r in PHASE_ROLES[phase])
        how = f"{effort:g} person-weeks ÷ {people:g} {'person' if people == 1 else 'people'}" + (
            f" (incl. {'; '.join(extra)})" if extra else "")
        when = f"week {start + 1}" if weeks == 1 else f"weeks {start + 1}–{start + weeks}"
        rows.append(f"| {phase} | {when} | {', '.join(ids)} | {how} | {roles} |")
        start += weeks
    serving = spec.phases.serving
    if serving.server.enabled:
        first = f"one model served by {serving.server.kind} with features from Feast" if spec.phases.foundation.feast.enabled \
            else f"one model served by {serving.server.kind}"
    elif serving.evidently.enabled:
        first = "one batch-scoring pipeline reading the model from MLflow's registry"
    else:
        first = "one training pipeline tracked in MLflow, its model registered"
    mvp_ids = [c for c in rec.phases.get("foundation", []) if c in ("postgres", "rds", "object-store", "s3", "mlflow")]
    mvp_effort = sum(_effort(c) for c in mvp_ids) + (_effort(serving.server.kind) if serving.server.enabled else 1)
    mvp_effort += 2 if spec.target == "aws" else 0
    builders = sum(v for r, v in team.items() if r in ("platform engineer", "ML engineer"))
    mvp_weeks = max(1, math.ceil(mvp_effort / builders))
    risks = _risks(rec)
    return "\n".join([
        f"# {spec.name}: roadmap",
        "",
        f"Planning figures, not promises: effort per component (omgml.architect.EFFORT_WEEKS) and a "
        f"{spec.profile}-profile team; replace them with your own and the calendar follows.",
        "",
        "## MVP",
        "",
        f"The smallest slice that proves the platform end to end: {', '.join(mvp_ids)} from the foundation, then "
        f"{first}, on target {spec.target}: {mvp_effort:g} person-weeks ÷ {builders:g} platform and ML engineers ≈ "
        f"{mvp_weeks} week{'s' if mvp_weeks > 1 else ''}. Everything else in the phases below builds on it.",
        "",
        "## Phases",
        "",
        "| phase | when | components | effort | team (FTE by role) |",
        "|---|---|---|---|---|",
        *rows,
        "",
        "## Team",
        "",
        *[f"- {role}: {fte:g} FTE" for role, fte in team.items()],
        "",
        "## Risks and mitigations",
        "",
        "| risk | mitigation |",
        "|---|---|",
        *[f"| {r} | {m} |" for r, m in risks],
        "",
    ])


__all__ = ["alert_rules", "failure_modes_markdown", "roadmap_markdown"]

"""The engine's rules for the training layer's add-ons: the HPO service, model governance, W&B.

- hpo: `training.hpo: true` asks for it. Katib (the Kubeflow HPO service) when the orchestration
  is Kubeflow Pipelines: it runs trials as Kubernetes Jobs in the steps namespace and is what
  Kubeflow users expect. Optuna (RDB storage on the platform Postgres + optuna-dashboard) when
  it is Prefect: a Python library the flows call, with nothing to operate but the dashboard. An
  existing Airflow deploys nothing the studies could run in, so the engine says what to change.
- model_governance: stated by `governance.*`, and on by default under pci-dss, soc2, hipaa and
  gdpr (regulated decisions need a documented, explainable model; GDPR Art. 22 gives people a
  right to an explanation of automated decisions). The fairness step needs
  `governance.sensitive_features`: without them there are no groups to compare.
- W&B (`tracking.wandb`) is an add-on of the experiment_tracking decision, not an area: MLflow
  stays the tracking server and registry; the ADR's consequences name the Secret to create.
"""

from __future__ import annotations

from omgml.recommend.model import Alternative, Decision
from omgml.spec import PlatformSpec
from omgml.spec.requirements import Requirements

# Regimes under which a model's decisions must be documented and explainable.
GOVERNED: frozenset[str] = frozenset({"pci-dss", "soc2", "hipaa", "gdpr"})

Notes = list[tuple[str, str]]


def hpo_choice(req: Requirements, orchestration: str) -> str:
    if not req.training.hpo:
        return "none"
    return {"kubeflow": "katib", "prefect": "optuna"}.get(orchestration, "none")


def hpo_decision(req: Requirements, orchestration_decision: Decision) -> Decision:
    orchestration = orchestration_decision.choice
    choice = hpo_choice(req, orchestration)
    # What picked the orchestrator picks the engine too.
    hpo_drivers = ("training.hpo", *(d for d in orchestration_decision.drivers if d != "training.hpo"))
    why_katib = "the Kubeflow HPO service, for platforms whose orchestration is Kubeflow Pipelines"
    why_optuna = "a library the flows call with a dashboard beside it, for Airflow and Prefect platforms"
    if choice == "katib":
        rationale = ("training.hpo true and orchestration kubeflow: Katib runs each search as an Experiment whose "
                     "trials are Jobs in the pipeline steps' namespace, suggests parameters with its algorithms "
                     "(random, TPE, Bayesian optimisation, CMA-ES, grid, Hyperband), keeps trial metrics on the "
                     "platform's Postgres (its db-manager) and shows them in its UI. Trials log to MLflow like "
                     "any step.")
        alternatives = (Alternative("optuna", why_optuna + "; here Kubeflow runs the pipelines, and Katib "
                                    "schedules trials as pods the way its steps run"),
                        Alternative("none", "training.hpo is true"))
        drivers: tuple[str, ...] = hpo_drivers
    elif choice == "optuna":
        rationale = ("training.hpo true and orchestration prefect: Optuna studies run inside the flows, keep their "
                     "trials in Optuna's RDB storage on the platform's Postgres (a database of their own, so "
                     "several flow runs search one study in parallel), and optuna-dashboard shows them. Each "
                     "trial logs a nested MLflow run.")
        alternatives = (Alternative("katib", why_katib + "; here Prefect runs the pipelines"),
                        Alternative("none", "training.hpo is true"))
        drivers = hpo_drivers
    else:
        if req.training.hpo:
            rationale = ("training.hpo is true, but the pipelines run on the team's existing Airflow, which "
                         "omgml does not deploy: there is no platform task for an HPO service to run trials "
                         "in. Run Optuna in your Airflow's tasks, or set phases.training.airflow.enabled: true "
                         "and phases.training.hpo.enabled: true in omgml.yaml.")
            drivers = hpo_drivers
        else:
            rationale = ("training.hpo is not set: hyperparameters are tuned inside the training code, no "
                         "HPO service is deployed.")
            drivers = ()
        alternatives = (Alternative("katib", why_katib + ("" if req.training.hpo else "; training.hpo is not set")),
                        Alternative("optuna", why_optuna + ("" if req.training.hpo else "; training.hpo is not set")))
    return Decision("hpo", choice, rationale, drivers, alternatives)


def governance_asked(req: Requirements) -> tuple[bool, bool, tuple[str, ...]]:
    """(model cards, explainability, drivers) the requirements ask for."""
    g = req.governance
    governed = sorted(set(req.compliance) & GOVERNED)
    default = bool(governed) or bool(g.sensitive_features)
    cards = g.model_cards if g.model_cards is not None else default
    explain = g.explainability if g.explainability is not None else default
    drivers: list[str] = []
    for path in ("governance.model_cards", "governance.explainability", "governance.sensitive_features"):
        if req.stated(path):
            drivers.append(path)
    if governed and (g.model_cards is None or g.explainability is None):
        drivers.append("compliance")
    return cards, explain, tuple(drivers)


def governance_choice(req: Requirements, deployable: bool) -> str:
    cards, explain, _ = governance_asked(req)
    fairness = bool(req.governance.sensitive_features)
    if not deployable or not (cards or explain or fairness):
        return "none"
    return "card-shap-fairness" if fairness else "card-shap"


def governance_decision(req: Requirements, deployable: bool) -> Decision:
    cards, explain, drivers = governance_asked(req)
    choice = governance_choice(req, deployable)
    g = req.governance
    governed = sorted(set(req.compliance) & GOVERNED)
    if choice == "none":
        if (cards or explain or g.sensitive_features) and not deployable:
            rationale = ("Governance steps are asked for, but the pipelines run on the team's existing Airflow, "
                         "which omgml does not deploy: `omgml init` still writes the governance steps "
                         "(governance/), for your Airflow to run.")
        else:
            rationale = ("Neither governance.* nor a regime that needs it (pci-dss, soc2, hipaa, gdpr) is stated: "
                         "models are promoted on their metrics alone.")
        alternatives = (
            Alternative("card-shap", "documents and explains each model version; nothing asks for it"),
            Alternative("card-shap-fairness", "adds a fairness check across groups, which needs "
                                              "governance.sensitive_features"),
        )
        return Decision("model_governance", choice, rationale, drivers, alternatives)
    parts = []
    if cards:
        parts.append("a model card (markdown) written from the MLflow run and registry metadata and attached to the "
                     "model version")
    if explain:
        parts.append("SHAP explanations (mean |SHAP| per feature) logged to the version's run")
    if g.sensitive_features:
        parts.append(f"a fairness step (fairlearn) across {', '.join(g.sensitive_features)} that fails a version "
                     f"whose demographic parity or equalized odds difference exceeds {g.fairness_threshold:g}")
    why = (f"compliance {', '.join(governed)} asks for documented, explainable model decisions"
           if governed and "compliance" in drivers else "governance.* asks for it")
    rationale = (f"{why[0].upper()}{why[1:]}: " + "; ".join(parts) + ". Each step tags the model version "
                 "(omgml.governance.*), so `omgml registry promote --require-tag` can refuse a version that "
                 "lacks them or failed.")
    if choice == "card-shap-fairness":
        alternatives = (Alternative("card-shap", "leaves out the fairness check the stated sensitive features call "
                                                 "for"),
                        Alternative("none", "promotes models without a card, explanation or fairness check"))
    else:
        alternatives = (Alternative("card-shap-fairness", "needs governance.sensitive_features (the groups to "
                                                          "compare), which are not stated"),
                        Alternative("none", "promotes models without a card or explanation"))
    return Decision("model_governance", choice, rationale, drivers, alternatives)


def consequences(decision: Decision, spec: PlatformSpec) -> list[str]:
    """What the add-on decisions mean for the platform (the ADR's consequences)."""
    t = spec.phases.training
    out: list[str] = []
    if decision.area == "hpo":
        if decision.choice == "katib":
            out.append(f"phases.training.hpo: Katib 0.19 (controller, db-manager, UI) in namespace "
                       f"{t.kubeflow.namespace}; experiments and their trials run in {t.kubeflow.user_namespace}, "
                       "trial metrics on Postgres (database katib). `omgml init` writes hpo/experiment.yaml, a "
                       "sample Experiment whose trials log to MLflow.")
        elif decision.choice == "optuna":
            out.append(f"phases.training.hpo: Optuna studies on Postgres (database optuna; OPTUNA_STORAGE in every "
                       f"task and flow-run pod) and optuna-dashboard in namespace {t.orchestration.namespace}. "
                       "`omgml init` writes hpo/study.py, a sample study whose trials log to MLflow.")
        else:
            out.append("No HPO service is deployed (phases.training.hpo.enabled: false).")
    elif decision.area == "model_governance":
        g = t.governance
        if g.enabled:
            steps = [n for n, on in (("model card", g.model_cards), ("SHAP", g.explainability),
                                     ("fairness", bool(g.fairness.sensitive_features))) if on]
            out.append(f"phases.training.governance: steps {', '.join(steps)}; settings in ConfigMap "
                       "omgml-governance of every pipeline namespace; code, Dockerfile and card template in "
                       "governance/ (written by `omgml init`).")
            if g.fairness.sensitive_features:
                limits = ", ".join(f"{k} ≤ {v:g}" for k, v in g.fairness.thresholds.items())
                out.append(f"Fairness thresholds: {limits} across {', '.join(g.fairness.sensitive_features)}.")
            out.append("Promote only governed versions: `omgml registry promote PROJECT MODEL VERSION "
                       "--require-tag omgml.governance.passed=true` (docs/governance.md).")
        else:
            out.append("No governance steps are configured (phases.training.governance.enabled: false).")
    elif decision.area == "experiment_tracking" and t.wandb.enabled:
        w = t.wandb
        where = w.host or "W&B's hosted service"
        out.append(f"Weights & Biases as an add-on ({where}): training pods read the API key from Secret "
                   f"{w.api_key_secret} (key {w.api_key_key}), which the team creates in "
                   f"{', '.join(_wandb_namespaces(spec))}; `omgml preview|up` refuse to start while it is missing.")
    return out


def _wandb_namespaces(spec: PlatformSpec) -> list[str]:
    from omgml.spec.training_addons import training_namespaces

    return training_namespaces(spec)


def addon_notes(req: Requirements, spec: PlatformSpec) -> Notes:
    """Warnings: asked-for add-ons the chosen orchestration cannot host."""
    notes: Notes = []
    t = spec.phases.training
    if req.tracking.wandb and not t.wandb.enabled:
        notes.append(("experiment_tracking", (
            "experiment_tracking: tracking.wandb is true, but no orchestrator is deployed (the team's existing "
            "Airflow) whose steps omgml could give the W&B settings; set the W&B variables in your Airflow.")))
    if req.tracking.wandb_host and not req.tracking.wandb:
        notes.append(("experiment_tracking", "experiment_tracking: tracking.wandb_host does nothing without "
                                             "tracking.wandb: true; remove it or turn W&B on"))
    g = req.governance
    if req.stated("governance.fairness_threshold") and not g.sensitive_features:
        notes.append(("model_governance", "model_governance: governance.fairness_threshold does nothing without "
                                          "governance.sensitive_features (the groups to compare); state them or "
                                          "remove the threshold"))
    return notes

"""Training phase: Kubeflow Pipelines and the platform's GPU compute.

- Kubeflow Pipelines 2.17 (components/kubeflow/) with its control plane in
  `phases.training.kubeflow.namespace` and pipeline steps in `.user_namespace`. Both
  namespaces, their Pod Security levels and their egress to the data namespace belong to the
  foundation (it copies the object-store Secret into them), so this phase only deploys into
  them. Artifacts go to the foundation's object store, runs log to its MLflow: the steps
  namespace gets a ConfigMap with MLFLOW_TRACKING_URI, MLFLOW_S3_ENDPOINT_URL and AWS_REGION.
- GPU compute for every pool of the spec (training and serving pools: the serving phase
  schedules onto them but creates no nodes): an EKS managed node group per pool on `aws`; on
  `local` each pool is a worker of the kind cluster (omgml.kind), nothing to create here.
- The NVIDIA device plugin, where GPUs exist (spec.gpu_available()) and pools exist.
- Airflow 3 (components/airflow.py) and/or Prefect 3 (components/prefect.py) when the spec
  enables them, in `phases.training.orchestration.namespace` (created by the foundation, with
  their Postgres consumer Secrets and the object-store Secret already in it). Their tasks and
  flow runs get MLflow and the object store like Kubeflow's steps do.
- On aws with S3 (`object_store.managed`), every workload that touches a bucket runs as a
  ServiceAccount annotated with its own IRSA role, created by the foundation (blueprints/s3.py)
  and read back from its `s3_irsa_roles` output; no static keys exist.

Everything the serving phase needs comes out as blueprints/contracts.TrainingOutputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from omgml import k8s as kube
from omgml.backup import KFP_MYSQL, backup_s3_consumers, backup_settings, dumped_stores
from omgml.blueprints.contracts import FoundationOutputs, TrainingOutputs
from omgml.blueprints.gpu import EksNodeTarget, gpu_compute
from omgml.blueprints.phase import Phase
from omgml.blueprints.s3 import role_arn, role_arns, uses_managed_s3
from omgml.components import airflow as airflow_component
from omgml.components import kubeflow as kubeflow_component
from omgml.components import prefect as prefect_component
from omgml.components.airflow import Airflow, AirflowArgs, GitDags, PvcDags
from omgml.components.contracts import StoreRef, as_stack_outputs
from omgml.components.gpupool import gpu_pool_labels, gpu_taint
from omgml.components.kubeflow import KubeflowPipelines, KubeflowPipelinesArgs
from omgml.components.prefect import Prefect, PrefectArgs
from omgml.spec import PlatformSpec

TYPE_TOKEN = "omgml:blueprints:Training"


@dataclass(frozen=True)
class TrainingArgs:
    spec: PlatformSpec
    foundation: FoundationOutputs
    # The EKS cluster the GPU node groups join; None: read it from the foundation's outputs.
    eks: EksNodeTarget | None = None


def eks_target(args: TrainingArgs) -> EksNodeTarget:
    """Where node groups join: TrainingArgs.eks, else the foundation's EKS outputs."""
    return args.eks if args.eks is not None else EksNodeTarget.from_foundation(args.foundation)


def gpu_exports(spec: PlatformSpec) -> dict[str, Any]:
    """What the serving phase needs to schedule onto the pools (pure)."""
    pools = spec.all_gpu_pools()
    taint = gpu_taint()
    return {
        "gpu_pools": [p.name for p in pools],
        "gpu_pool_labels": {p.name: gpu_pool_labels(p) for p in pools},
        "gpu_taint": {"key": taint.key, "value": taint.value, "effect": taint.effect},
        "gpu_available": spec.gpu_available(),
    }


class Training(Phase[TrainingArgs], type_token=TYPE_TOKEN):
    outputs: TrainingOutputs

    def build(self, name: str, args: TrainingArgs, child: pulumi.ResourceOptions) -> dict[str, Any]:
        spec = args.spec
        t = spec.phases.training
        fnd = args.foundation
        pools = spec.all_gpu_pools()

        eks = eks_target(args) if spec.target == "aws" and pools else None
        device_plugin_ns, node_groups = gpu_compute(name, spec, pools, eks, self)

        kfp_on = t.enabled and t.kubeflow.enabled
        values: dict[str, Any] = {
            "training_enabled": t.enabled,
            "kfp_namespace": t.kubeflow.namespace if kfp_on else "",
            "training_namespace": t.kubeflow.user_namespace if kfp_on else "",
            "kfp_endpoint": "",
            "kfp_ui_service": "",
            "device_plugin_namespace": device_plugin_ns,
            "gpu_node_groups": node_groups,
            **gpu_exports(spec),
            "airflow_api_endpoint": "",
            "prefect_api_url": "",
            "hpo_ui_url": "",
        }
        if kfp_on:
            kf = t.kubeflow
            kfp = KubeflowPipelines(f"{name}-kfp", KubeflowPipelinesArgs(
                namespace=kf.namespace,
                user_namespace=kf.user_namespace,
                profile=spec.profile,
                store=StoreRef(
                    endpoint_url=fnd.object_store_endpoint,
                    region=fnd.object_store_region,
                    secret_name=fnd.object_store_secret,
                ),
                pipelines_bucket=fnd.pipelines_bucket,
                mlflow_tracking_uri=fnd.mlflow_tracking_uri,
                mysql_storage_gib=kf.mysql_storage_gib,
                restricted_steps=kf.step_pod_security == "restricted",
                instance=spec.name,
                # AWS S3: the API server, UI and pipeline steps use their own IRSA roles, no keys.
                irsa_role_arns=role_arns(fnd, kubeflow_component.s3_consumers(
                    kf.namespace, kf.user_namespace, "pipelines")) if uses_managed_s3(spec) else None,
                backup=backup_settings(
                    spec, endpoint_url=fnd.object_store_endpoint, region=fnd.object_store_region,
                    key_secret=None if uses_managed_s3(spec) else fnd.object_store_secret,
                    irsa_role_arn=role_arn(fnd, [c for c in backup_s3_consumers(spec) if c.name == "kfp-mysql-backup"])
                    if uses_managed_s3(spec) else None,
                    scratch_gib=kf.mysql_storage_gib) if KFP_MYSQL in dumped_stores(spec) else None,
                credentials=spec.credentials,
            ), child)
            values["kfp_endpoint"] = kfp.api_endpoint
            values["kfp_ui_service"] = kfp.ui_service
        addons = training_addons(name, spec, fnd, child)
        values["hpo_ui_url"] = addons.hpo_ui_url
        values.update(self._orchestrators(name, spec, fnd, child, addons.step_env))
        self.outputs = TrainingOutputs(**values)
        return as_stack_outputs(self.outputs)

    def _orchestrators(self, name: str, spec: PlatformSpec, fnd: FoundationOutputs,
                       child: pulumi.ResourceOptions, step_env: list[kube.JsonDict]) -> dict[str, Any]:
        """Airflow and Prefect; returns their TrainingOutputs fields."""
        out: dict[str, Any] = {}
        t = spec.phases.training
        if not t.orchestration_namespace_needed():
            return out
        ns = t.orchestration.namespace
        store = StoreRef(endpoint_url=fnd.object_store_endpoint, region=fnd.object_store_region,
                         secret_name=fnd.object_store_secret)
        if t.airflow.enabled:
            a = t.airflow
            dags: GitDags | PvcDags = (
                GitDags(a.dags_git.git_url, a.dags_git.ref, a.dags_git.path, a.dags_git.period_seconds)
                if a.dags_git is not None else PvcDags(a.dags_storage_gib, a.dags_access_mode))
            airflow = Airflow(f"{name}-airflow", AirflowArgs(
                namespace=ns, profile=spec.profile, database_secret=fnd.airflow_db_secret, store=store,
                mlflow_tracking_uri=fnd.mlflow_tracking_uri, logs_bucket=fnd.pipelines_bucket,
                dags=dags, step_env=tuple(step_env),
                lineage_url=fnd.lineage_url if spec.phases.foundation.lineage.enabled else None,
                lineage_namespace=spec.lineage_namespace(),
                irsa_role_arns=role_arns(fnd, airflow_component.s3_consumers(
                    ns, airflow_component.DEFAULT_INSTANCE, "pipelines")) if uses_managed_s3(spec) else None,
                credentials=spec.credentials,
            ), child)
            out["airflow_api_endpoint"] = airflow.api_endpoint
        if t.prefect.enabled:
            prefect = Prefect(f"{name}-prefect", PrefectArgs(
                namespace=ns, profile=spec.profile, database_secret=fnd.prefect_db_secret, store=store,
                mlflow_tracking_uri=fnd.mlflow_tracking_uri, work_pool=t.prefect.work_pool, step_env=tuple(step_env),
                irsa_role_arns=role_arns(fnd, prefect_component.s3_consumers(
                    ns, prefect_component.DEFAULT_INSTANCE, "pipelines")) if uses_managed_s3(spec) else None,
            ), child)
            out["prefect_api_url"] = prefect.api_url
        return out


@dataclass(frozen=True)
class AddonsOut:
    hpo_ui_url: pulumi.Input[str]
    # Env of every Airflow task / Prefect flow-run pod: the study storage, W&B, governance.
    step_env: list[kube.JsonDict]


def training_addons(name: str, spec: PlatformSpec, fnd: FoundationOutputs,
                    child: pulumi.ResourceOptions) -> AddonsOut:
    """The HPO service, W&B settings and governance settings of the training layer
    (omgml/spec/training_addons.py); returns what the orchestrators' pods need."""
    from omgml.components.governance import GovernanceArgs, GovernanceConfig, governance_env
    from omgml.components.katib import Katib, KatibArgs
    from omgml.components.optuna import Optuna, OptunaArgs, storage_env
    from omgml.components.wandb import WandbArgs, WandbSettings, wandb_env
    from omgml.governance.settings import GovernanceSettings
    from omgml.spec.training_addons import training_namespaces

    t = spec.phases.training
    step_env: list[kube.JsonDict] = []
    ui: pulumi.Input[str] = ""
    if not t.enabled:
        return AddonsOut(ui, step_env)
    if t.hpo.enabled and t.hpo.resolved_engine(t.kubeflow.enabled) == "katib":
        katib = Katib(f"{name}-katib", KatibArgs(
            namespace=t.kubeflow.namespace, steps_namespace=t.kubeflow.user_namespace, profile=spec.profile,
            database_secret=fnd.katib_db_secret, ui=t.hpo.dashboard,
            database_ssl_mode="require" if spec.target == "aws" and spec.phases.foundation.postgres.managed
            else "disable",
        ), child)
        ui = katib.ui_url
    elif t.hpo.enabled:
        optuna = Optuna(f"{name}-optuna", OptunaArgs(
            namespace=t.orchestration.namespace, profile=spec.profile, database_secret=fnd.optuna_db_secret,
            dashboard=t.hpo.dashboard,
        ), child)
        ui = optuna.dashboard_url
        step_env += storage_env(fnd.optuna_db_secret)
    namespaces = tuple(training_namespaces(spec))
    if t.wandb.enabled:
        w = t.wandb
        wandb = WandbArgs(namespaces=namespaces, api_key_secret=w.api_key_secret, api_key_key=w.api_key_key,
                          host=w.host, project=w.project, entity=w.entity)
        WandbSettings(f"{name}-wandb", wandb, child)
        step_env += wandb_env(wandb)
    if t.governance.enabled:
        g = t.governance
        settings = GovernanceSettings(
            model_cards=g.model_cards, explainability=g.explainability,
            sensitive_features=tuple(g.fairness.sensitive_features), thresholds={str(k): v for k, v in g.fairness.thresholds.items()},
            explain_sample_rows=g.explain_sample_rows)
        GovernanceConfig(f"{name}-governance", GovernanceArgs(namespaces=namespaces, settings=settings), child)
        step_env += governance_env()
    return AddonsOut(ui, step_env)

"""RBAC of the KFP install: namespaced Roles only, no ClusterRole, no cluster-admin.

The rules are upstream's (KFP 2.17.0 base/pipeline/*-role.yaml, Argo v4.0.5
namespace-install/workflow-controller-rbac) for the workloads omgml installs. The control
plane runs in the KFP namespace and manages the steps namespace, where workflows, step pods
and scheduled runs live: so most Roles are in the steps namespace, bound to ServiceAccounts of
the KFP namespace. The only ClusterRole upstream ships (cache-deployer's, for webhook
certificates) belongs to the cache server, which is left out.

Secrets the UI reads are the exception: the 2.17.0 UI server reads object-store keys only in
its own namespace (see ui_store_secret_rules), so that Role lives in the KFP namespace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi

from omgml import k8s as kube
from omgml.components.kubeflow.release import LAUNCHER_CONFIGMAP, PIPELINE_RUNNER_SA, PUBLIC_CONFIGMAP

ALL_VERBS = ["create", "get", "list", "watch", "update", "patch", "delete"]
# The UI's Role on the object-store key Secret, in the KFP namespace (static keys only).
UI_STORE_SECRET_ROLE = "ml-pipeline-ui-store-secret"


def rule(groups: list[str], resources: list[str], verbs: list[str],
         names: Sequence[pulumi.Input[str]] | None = None) -> kube.JsonDict:
    r: kube.JsonDict = {"apiGroups": groups, "resources": resources, "verbs": verbs}
    if names:
        r["resourceNames"] = list(names)
    return r


def api_server_rules() -> list[kube.JsonDict]:
    return [
        rule([""], ["pods", "pods/log"], ["get", "list", "delete"]),
        rule(["argoproj.io"], ["workflows"], ALL_VERBS),
        rule(["kubeflow.org"], ["scheduledworkflows"], ["create", "get", "list", "update", "patch", "delete"]),
        rule(["kubeflow.org"], ["scheduledworkflows/finalizers"], ["update"]),
        rule(["pipelines.kubeflow.org"], ["pipelines"], ["get", "list", "watch"]),
        rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
        rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
        # New in 2.17: the MLflow run plugin (OpenDataHub MLflow experiments).
        rule(["mlflow.kubeflow.org"], ["experiments"], ["get", "list", "create", "update"]),
        rule([""], ["configmaps"], ["get"], [LAUNCHER_CONFIGMAP]),
        rule([""], ["secrets"], ["get"], ["kfp-mlflow-credentials"]),
    ]


def persistence_agent_rules() -> list[kube.JsonDict]:
    return [
        rule(["argoproj.io"], ["workflows"], ["get", "list", "watch"]),
        rule(["kubeflow.org"], ["scheduledworkflows"], ["get", "list", "watch"]),
        # Virtual verbs the API server checks with SubjectAccessReviews (multi-user mode).
        rule(["pipelines.kubeflow.org"], ["scheduledworkflows", "workflows"], ["report"]),
        rule(["pipelines.kubeflow.org"], ["runs"], ["reportMetrics", "readArtifact"]),
    ]


def scheduled_workflow_rules() -> list[kube.JsonDict]:
    return [
        rule(["argoproj.io"], ["workflows"], ALL_VERBS),
        rule(["kubeflow.org"], ["scheduledworkflows", "scheduledworkflows/finalizers"], ALL_VERBS),
        rule(["pipelines.kubeflow.org"], ["runs"], ["create"]),
        rule([""], ["events"], ["create", "patch"]),
    ]


def ui_rules() -> list[kube.JsonDict]:
    """In the steps namespace: pod logs, events and workflows of the runs the UI shows.

    No Secret here, with static keys or IRSA: the 2.17.0 UI server never reads one outside its
    own namespace (handlers/artifacts.ts drops an artifact's provider info when the request's
    namespace is not the server's; workflow-helper.ts then uses its own MINIO_* keys).
    """
    # Upstream also grants kubeflow.org/viewers for the TensorBoard viewer controller, which is
    # not installed (v1 only), so that rule is dropped.
    return [
        rule([""], ["pods", "pods/log"], ["get"]),
        rule([""], ["events"], ["list"]),
        rule([""], ["configmaps"], ["get", "list"]),
        rule(["argoproj.io"], ["workflows"], ["get", "list"]),
    ]


def ui_store_secret_rules(secret_name: pulumi.Input[str]) -> list[kube.JsonDict]:
    """In the KFP namespace: `get` on the object-store key Secret, nothing else.

    An s3:// artifact's session info (the launcher's `providers`, fromEnv false) names this
    Secret; for a request without a namespace (single-user KFP sends none) the UI server reads
    it in FRONTEND_SERVER_NAMESPACE, its own (frontend/server handlers/artifacts.ts,
    minio-helper.ts parseS3ProviderInfo → k8s-helper.ts getK8sSecret, a readNamespacedSecret).
    Archived logs of a run whose namespace is not given read Argo's repository Secret there too
    (workflow-helper.ts). Without this rule every artifact preview fails with a 500.
    """
    return [rule([""], ["secrets"], ["get"], [secret_name])]


def workflow_controller_config_rules() -> list[kube.JsonDict]:
    """In the controller's own namespace: its ConfigMap, its leader-election Lease, events."""
    return [
        rule(["coordination.k8s.io"], ["leases"], ["create", "get", "update"]),
        rule([""], ["configmaps"], ["get", "watch", "list"]),
        rule([""], ["events"], ["create", "patch"]),
    ]


def workflow_controller_rules() -> list[kube.JsonDict]:
    """In the managed (steps) namespace: upstream's namespace-install Role."""
    return [
        rule(["coordination.k8s.io"], ["leases"], ["create", "get", "update"]),
        rule([""], ["pods", "pods/exec"], ALL_VERBS),
        rule([""], ["configmaps"], ["get", "watch", "list"]),
        rule([""], ["persistentvolumeclaims", "persistentvolumeclaims/finalizers"],
             ["create", "update", "delete", "get"]),
        rule(["argoproj.io"], ["workflows", "workflows/finalizers", "workflowtasksets", "workflowtasksets/finalizers",
                               "workflowartifactgctasks"], ALL_VERBS),
        rule(["argoproj.io"], ["workflowtemplates", "workflowtemplates/finalizers"], ["get", "list", "watch"]),
        rule(["argoproj.io"], ["workflowtaskresults"], ["list", "watch", "deletecollection"]),
        rule([""], ["serviceaccounts"], ["get", "list"]),
        rule([""], ["secrets"], ["get"]),
        rule(["argoproj.io"], ["cronworkflows", "cronworkflows/finalizers"],
             ["get", "list", "watch", "update", "patch", "delete"]),
        rule([""], ["events"], ["create", "patch"]),
        rule(["policy"], ["poddisruptionbudgets"], ["create", "get", "delete"]),
    ]


def pipeline_runner_rules() -> list[kube.JsonDict]:
    """What pipeline step pods (driver, launcher, argoexec, user code) may do in the namespace.

    Upstream's Role minus machinelearning.seldon.io (Seldon is not part of this platform).
    """
    return [
        rule([""], ["secrets"], ["get"]),
        rule([""], ["configmaps"], ["get", "watch", "list"]),
        rule([""], ["persistentvolumes", "persistentvolumeclaims"], ["*"]),
        rule(["snapshot.storage.k8s.io"], ["volumesnapshots"], ["create", "delete", "get"]),
        rule(["argoproj.io"], ["workflows"], ["get", "list", "watch", "update", "patch"]),
        rule([""], ["pods", "pods/exec", "pods/log", "services"], ["*"]),
        rule(["", "apps", "extensions"], ["deployments", "replicasets"], ["*"]),
        rule(["kubeflow.org"], ["*"], ["*"]),
        rule(["batch"], ["jobs"], ["*"]),
        rule(["argoproj.io"], ["workflowtaskresults"], ["create", "patch"]),
        rule(["mlflow.kubeflow.org"], ["experiments"], ["get", "list", "create", "update"]),
    ]


def public_configmap_rules() -> list[kube.JsonDict]:
    return [rule([""], ["configmaps"], ["get", "list", "watch"], [PUBLIC_CONFIGMAP])]


Where = Literal["kfp", "steps"]


@dataclass(frozen=True)
class RoleSpec:
    role: str  # Role name (upstream's)
    where: Where  # namespace of the Role and its RoleBinding
    rules: list[kube.JsonDict]
    service_account: str | None = None  # subject; None: the group below
    account_where: Where = "kfp"  # namespace of that ServiceAccount
    group: str | None = None


def role_specs(store_secret: pulumi.Input[str] | None) -> list[RoleSpec]:
    """`store_secret`: the object-store key Secret the UI reads; None on IRSA, where the
    launcher's session info says fromEnv and Argo's repository names no Secret, so the UI
    reads none and gets no access to any."""
    specs = [
        RoleSpec("ml-pipeline", "steps", api_server_rules(), "ml-pipeline"),
        RoleSpec("ml-pipeline-persistenceagent-role", "steps", persistence_agent_rules(),
                 "ml-pipeline-persistenceagent"),
        RoleSpec("ml-pipeline-scheduledworkflow-role", "steps", scheduled_workflow_rules(),
                 "ml-pipeline-scheduledworkflow"),
        RoleSpec("ml-pipeline-ui", "steps", ui_rules(), "ml-pipeline-ui"),
        RoleSpec("argo-role", "steps", workflow_controller_rules(), "argo"),
        RoleSpec("argo-config", "kfp", workflow_controller_config_rules(), "argo"),
        RoleSpec(PIPELINE_RUNNER_SA, "steps", pipeline_runner_rules(), PIPELINE_RUNNER_SA, account_where="steps"),
        # The KFP version ConfigMap is readable by every authenticated user (SDK version checks).
        RoleSpec(PUBLIC_CONFIGMAP, "kfp", public_configmap_rules(), group="system:authenticated"),
    ]
    if store_secret is not None:
        specs.append(RoleSpec(UI_STORE_SECRET_ROLE, "kfp", ui_store_secret_rules(store_secret), "ml-pipeline-ui"))
    return specs


def role_binding_subjects(spec: RoleSpec, namespaces: dict[Where, str]) -> list[kube.JsonDict]:
    if spec.service_account is not None:
        return [{"kind": "ServiceAccount", "name": spec.service_account,
                 "namespace": namespaces[spec.account_where]}]
    return [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": spec.group}]

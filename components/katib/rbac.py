"""RBAC of the Katib install: cluster-wide reads where the binaries force them, writes only where
experiments run.

Upstream (v0.19.0 components/controller/rbac.yaml, components/ui/rbac.yaml) binds both the
controller and the UI to ClusterRoles that also create, delete and patch across every
namespace (the UI even has "*" on every ConfigMap and Namespace). Here:

- The controller's manager caches every type it watches or reads cluster-wide (controller-runtime
  without a namespace restriction, cmd/katib-controller main.go has none), so it keeps cluster-wide
  get/list/watch on those types: a ClusterRole with read verbs only. Everything it writes —
  suggestion Deployments and Services, trial Jobs, the early-stopping ServiceAccount/Role, status
  and finalizers of experiments, trials and suggestions — happens in the namespace where
  experiments run (the steps namespace): a Role there. Its webhook certificate Secret lives in
  its own namespace (the cert generator's cache is scoped to it): a Role there.
- The webhook configurations it patches (the CA bundle) are named: `resourceNames`.
- Trials are Jobs only (release.TRIAL_RESOURCES), so no rights on training-operator kinds.
- The UI lists namespaces (its namespace picker) and works on experiments, trial templates,
  pods and logs of the steps namespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from omgml import k8s as kube
from omgml.components.katib.release import WEBHOOK_CONFIGURATION

READ = ["get", "list", "watch"]
KATIB_KINDS = ["experiments", "experiments/status", "experiments/finalizers", "trials", "trials/status",
               "trials/finalizers", "suggestions", "suggestions/status", "suggestions/finalizers"]


def rule(groups: list[str], resources: list[str], verbs: list[str], names: list[str] | None = None) -> kube.JsonDict:
    r: kube.JsonDict = {"apiGroups": groups, "resources": resources, "verbs": verbs}
    if names:
        r["resourceNames"] = names
    return r


def controller_cluster_rules() -> list[kube.JsonDict]:
    """Read-only, cluster-wide: what the manager's informers list and watch."""
    return [
        rule(["kubeflow.org"], ["experiments", "trials", "suggestions"], READ),
        rule(["batch"], ["jobs"], READ),
        rule(["apps"], ["deployments"], READ),
        rule([""], ["services", "serviceaccounts", "persistentvolumeclaims", "configmaps", "namespaces"], READ),
        rule([""], ["persistentvolumes"], READ),
        rule([""], ["pods", "pods/status"], ["get"]),
        rule(["rbac.authorization.k8s.io"], ["roles", "rolebindings"], READ),
        rule(["admissionregistration.k8s.io"], ["validatingwebhookconfigurations", "mutatingwebhookconfigurations"],
             READ),
        # The cert generator writes the CA bundle into Katib's own two configurations only.
        rule(["admissionregistration.k8s.io"], ["validatingwebhookconfigurations", "mutatingwebhookconfigurations"],
             ["patch", "update"], [WEBHOOK_CONFIGURATION]),
    ]


def controller_steps_rules() -> list[kube.JsonDict]:
    """In the namespace where experiments run: what the controller creates and updates."""
    return [
        rule(["kubeflow.org"], KATIB_KINDS, ["*"]),
        rule(["batch"], ["jobs"], ["create", "delete"]),
        rule(["apps"], ["deployments"], ["create", "delete"]),
        rule([""], ["services"], ["create", "delete"]),
        # Early stopping: a ServiceAccount + Role per suggestion (trials get/patch, nothing more).
        rule([""], ["serviceaccounts"], ["create"]),
        rule(["rbac.authorization.k8s.io"], ["roles", "rolebindings"], ["create"]),
        rule([""], ["persistentvolumeclaims"], ["create"]),
        rule([""], ["events"], ["create", "patch", "update"]),
    ]


def controller_own_rules() -> list[kube.JsonDict]:
    """In Katib's namespace: the webhook certificate Secret and events."""
    return [
        rule([""], ["secrets"], ["get", "list", "watch", "update"]),
        rule([""], ["events"], ["create", "patch", "update"]),
    ]


def ui_cluster_rules() -> list[kube.JsonDict]:
    return [rule([""], ["namespaces"], ["get", "list"])]


def ui_steps_rules() -> list[kube.JsonDict]:
    """The UI creates and deletes experiments, edits trial templates (ConfigMaps) and reads trial logs."""
    return [
        rule(["kubeflow.org"], ["experiments", "trials", "suggestions"], ["get", "list", "watch", "create", "delete"]),
        rule([""], ["configmaps"], ["get", "list", "create", "update", "delete"]),
        rule([""], ["pods"], ["list"]),
        rule([""], ["pods/log"], ["get"]),
    ]


def ui_own_rules() -> list[kube.JsonDict]:
    """Trial templates in Katib's own namespace (the UI's default template source)."""
    return [rule([""], ["configmaps"], ["get", "list"])]


Where = Literal["cluster", "katib", "steps"]


@dataclass(frozen=True)
class Grant:
    name: str  # Role / ClusterRole name
    where: Where
    rules: list[kube.JsonDict]
    account: str  # ServiceAccount in Katib's namespace


def grants(controller: str, ui: str | None) -> list[Grant]:
    out = [
        Grant(controller, "cluster", controller_cluster_rules(), controller),
        Grant(controller, "steps", controller_steps_rules(), controller),
        Grant(controller, "katib", controller_own_rules(), controller),
    ]
    if ui is not None:
        out += [Grant(ui, "cluster", ui_cluster_rules(), ui), Grant(ui, "steps", ui_steps_rules(), ui),
                Grant(ui, "katib", ui_own_rules(), ui)]
    return out


__all__ = ["Grant", "grants"]

"""What every controller omgml runs in kube-system on the EKS system nodes shares (Karpenter,
the AWS Load Balancer Controller): the pod placement and security, the replica count, the
RBAC bound to the controller's ServiceAccount, and the Deployment with its metrics Service
and PodDisruptionBudget. Each controller keeps its own container, rules and webhooks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml.components.gpupool import POOL_LABEL
from omgml.components.options import Children
from omgml.labels import selector_labels, standard_labels
from omgml.spec.common import Profile

NAMESPACE = "kube-system"
RBAC_API_GROUP = "rbac.authorization.k8s.io"


@dataclass(frozen=True)
class SystemController:
    """One controller: `app` names its Deployment, metrics Service and PDB (and its
    app.kubernetes.io/name and instance labels), `uid` is its image's non-root user (also
    the pod's fsGroup)."""

    app: str
    service_account: str
    uid: int
    version: str

    @property
    def labels(self) -> dict[str, str]:
        return standard_labels(self.app, self.app, "controller", self.version)

    @property
    def selector(self) -> dict[str, str]:
        return selector_labels(self.app, self.app, "controller")

    def pod_spec(self, container: kube.JsonDict, *, termination_grace_seconds: int | None = None,
                 volumes: list[kube.JsonDict] | None = None) -> kube.JsonDict:
        """The controller's pod: it talks to the API server (token mounted), is system-critical,
        runs only on the system node group (never on a node it manages: a GPU node being
        consolidated would take it down) and spreads its replicas over the zones."""
        spec: kube.JsonDict = {
            "serviceAccountName": self.service_account,
            "automountServiceAccountToken": True,
            "enableServiceLinks": False,
            "priorityClassName": "system-cluster-critical",
        }
        if termination_grace_seconds is not None:
            spec["terminationGracePeriodSeconds"] = termination_grace_seconds
        spec.update({
            "securityContext": {"fsGroup": self.uid, "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": ["system"]}]}]}}},
            "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                           "whenUnsatisfiable": "ScheduleAnyway",
                                           "labelSelector": {"matchLabels": self.selector}}],
            "containers": [container],
        })
        if volumes is not None:
            spec["volumes"] = volumes
        return spec

    def subjects(self) -> list[kube.JsonDict]:
        return [{"kind": "ServiceAccount", "name": self.service_account, "namespace": NAMESPACE}]


def replicas(profile: Profile) -> int:
    """Leader election keeps one replica active; outside the laptop a second takes over within
    seconds."""
    return 1 if profile == "laptop" else 2


def crds(name: str, facts: Sequence[kube.CrdFacts], labels: dict[str, str],
         children: Children) -> list[k8s.apiextensions.v1.CustomResourceDefinition]:
    """The controller's CustomResourceDefinitions, logical names `<name>-crd-<plural>`."""
    return [k8s.apiextensions.v1.CustomResourceDefinition(
        f"{name}-crd-{c.plural}", metadata={"name": c.name, "labels": labels}, spec=kube.crd_spec(c), opts=children())
        for c in facts]


def service_account(name: str, controller: SystemController, role_arn: pulumi.Input[str],
                    children: Children) -> k8s.core.v1.ServiceAccount:
    """The controller's ServiceAccount, annotated with its IRSA role."""
    return k8s.core.v1.ServiceAccount(
        f"{name}-sa", metadata=kube.service_account_metadata(controller.service_account, NAMESPACE, controller.labels,
                                                             role_arn),
        opts=children())


def bound_cluster_role(role_logical: str, binding_logical: str, role_name: str, rules: list[kube.JsonDict],
                       controller: SystemController, children: Children) -> k8s.rbac.v1.ClusterRoleBinding:
    """A ClusterRole and its binding to the controller's ServiceAccount (the binding after the role)."""
    labels = controller.labels
    role = k8s.rbac.v1.ClusterRole(role_logical, metadata={"name": role_name, "labels": labels}, rules=rules,
                                   opts=children())
    return k8s.rbac.v1.ClusterRoleBinding(
        binding_logical, metadata={"name": role_name, "labels": labels},
        role_ref={"apiGroup": RBAC_API_GROUP, "kind": "ClusterRole", "name": role_name},
        subjects=controller.subjects(), opts=children(role))


def bound_role(role_logical: str, binding_logical: str, role_name: str, namespace: str, rules: list[kube.JsonDict],
               controller: SystemController, children: Children) -> k8s.rbac.v1.RoleBinding:
    """A Role in `namespace` and its binding to the controller's ServiceAccount."""
    labels = controller.labels
    role = k8s.rbac.v1.Role(role_logical, metadata=kube.metadata(role_name, namespace, labels), rules=rules,
                            opts=children())
    return k8s.rbac.v1.RoleBinding(
        binding_logical, metadata=kube.metadata(role_name, namespace, labels),
        role_ref={"apiGroup": RBAC_API_GROUP, "kind": "Role", "name": role_name},
        subjects=controller.subjects(), opts=children(role))


def deploy(name: str, controller: SystemController, pod: kube.JsonDict, profile: Profile, children: Children,
           after: Sequence[pulumi.Resource], metrics: tuple[str, str, int]) -> k8s.apps.v1.Deployment:
    """The Deployment (after `after`: its ServiceAccount, RBAC, CRDs, …), the metrics Service
    (`metrics` = logical-name suffix, port name, port) and the PodDisruptionBudget."""
    labels, sel = controller.labels, controller.selector
    deployment = k8s.apps.v1.Deployment(
        f"{name}-deployment", metadata=kube.metadata(controller.app, NAMESPACE, labels),
        spec=kube.deployment_spec(sel, kube.pod_template(labels, pod), replicas=replicas(profile)),
        opts=children(*after))
    suffix, port_name, port = metrics
    k8s.core.v1.Service(f"{name}-{suffix}", metadata=kube.metadata(controller.app, NAMESPACE, labels),
                        spec=kube.service_spec(sel, [(port_name, port)]), opts=children())
    k8s.policy.v1.PodDisruptionBudget(f"{name}-pdb", metadata=kube.metadata(controller.app, NAMESPACE, labels),
                                      spec=kube.pdb_spec(sel), opts=children())
    return deployment

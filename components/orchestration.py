"""What the two orchestrators (Airflow, Prefect) share: what they take from the platform, and
how their resolved settings name their objects and ServiceAccounts.

Both run on the foundation's Postgres (their own consumer database), log to its MLflow and
keep logs or results in its object store; on AWS S3 each ServiceAccount that opens the store
wears its own IRSA role (contracts.irsa_roles_by_account).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import pulumi
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml.components.base import ComponentArgs
from omgml.components.contracts import StoreRef
from omgml.components.options import Children
from omgml.labels import selector_labels, standard_labels
from omgml.naming import k8s_name


@dataclass(frozen=True, kw_only=True)
class OrchestratorArgs(ComponentArgs):
    # The Postgres consumer Secret in `namespace` (keys host, port, database, username, password).
    database_secret: pulumi.Input[str]
    store: StoreRef
    mlflow_tracking_uri: pulumi.Input[str]
    # AWS S3 through IRSA (store.endpoint_url ""): S3 consumer name (the tool's `s3_consumers`) →
    # IAM role ARN, each annotating its ServiceAccount; those pods then carry no key variables.
    irsa_role_arns: Mapping[str, pulumi.Input[str]] | None = None
    # Further env of every task / flow-run pod (not the server's): the training add-ons' settings
    # (Optuna's study storage, W&B, governance), secrets only by secretKeyRef. Values may be Outputs.
    step_env: Sequence[kube.JsonDict] = ()


_Args = TypeVar("_Args", bound=OrchestratorArgs)
_Sizing = TypeVar("_Sizing")


@dataclass(frozen=True, kw_only=True)
class ResolvedOrchestrator(Generic[_Args, _Sizing]):
    APP: ClassVar[str]  # app.kubernetes.io/name
    VERSION: ClassVar[str]

    args: _Args
    sizing: _Sizing
    # Account → IAM role ARN on IRSA (every account that opens the store); empty with static keys.
    irsa_roles: Mapping[Any, pulumi.Input[str]] = field(default_factory=dict)

    def name(self, *parts: str) -> str:
        return k8s_name(self.args.instance, *parts)

    def service_account(self, who: str) -> str:
        """The ServiceAccount an account (a part, the task or flow-run pods, …) runs as."""
        return k8s_name(self.args.instance, who)

    @property
    def irsa(self) -> bool:
        return bool(self.irsa_roles)

    def labels(self, component: str) -> dict[str, str]:
        return standard_labels(self.APP, self.args.instance, component, self.VERSION)

    def selector(self, component: str) -> dict[str, str]:
        return selector_labels(self.APP, self.args.instance, component)


def orchestrator_accounts(name: str, r: ResolvedOrchestrator[Any, Any], accounts: Sequence[str], api_user: str,
                          api_rules: list[kube.JsonDict], children: Children,
                          ) -> tuple[dict[str, k8s.core.v1.ServiceAccount], k8s.rbac.v1.RoleBinding]:
    """One ServiceAccount per account, each annotated with its own IAM role on AWS S3 (the
    pod-identity webhook gives that account's pods the role's credentials). Only `api_user`, the
    part that starts task or flow-run pods through the Kubernetes API (Airflow's scheduler,
    Prefect's worker), gets an API token and a Role with `api_rules`; the RoleBinding is returned
    for the parts that must wait for it."""
    ns = r.args.namespace
    service_accounts = {
        who: k8s.core.v1.ServiceAccount(
            f"{name}-sa-{who}",
            metadata=kube.service_account_metadata(r.service_account(who), ns, r.labels(who), r.irsa_roles.get(who)),
            automount_service_account_token=who == api_user, opts=children())
        for who in accounts
    }
    meta = kube.metadata(r.name(api_user), ns, r.labels(api_user))
    role = k8s.rbac.v1.Role(f"{name}-{api_user}-role", metadata=meta, rules=api_rules, opts=children())
    binding = k8s.rbac.v1.RoleBinding(
        f"{name}-{api_user}-binding", metadata=meta,
        role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": r.name(api_user)},
        subjects=[{"kind": "ServiceAccount", "name": r.service_account(api_user), "namespace": ns}],
        opts=children(role))
    return service_accounts, binding


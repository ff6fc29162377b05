"""What the two orchestrators (Airflow, Prefect) share: what they take from the platform, and
how their resolved settings name their objects and ServiceAccounts.

Both run on the foundation's Postgres (their own consumer database), log to its MLflow and
keep logs or results in its object store; on AWS S3 each ServiceAccount that opens the store
wears its own IRSA role (contracts.irsa_roles_by_account).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Self, TypeVar, overload

import pulumi
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml.components.base import ComponentArgs
from omgml.components.contracts import S3Consumer, StoreRef, account_s3_consumers, irsa_roles_by_account
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
    """`class ResolvedTool(ResolvedOrchestrator[ToolArgs, ToolSizing], app=APP, version=VERSION,
    s3_access=S3_ACCESS)`: the class line names the tool's app label, version and the accounts
    that open the object store (account → read_only)."""

    APP: ClassVar[str]  # app.kubernetes.io/name
    VERSION: ClassVar[str]
    S3_ACCESS: ClassVar[Mapping[Any, bool]]

    args: _Args
    sizing: _Sizing
    # Account → IAM role ARN on IRSA (every account that opens the store); empty with static keys.
    irsa_roles: Mapping[Any, pulumi.Input[str]] = field(default_factory=dict)

    def __init_subclass__(cls, app: str = "", version: str = "", s3_access: Mapping[Any, bool] | None = None,
                          **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if app:
            cls.APP = app
        if version:
            cls.VERSION = version
        if s3_access is not None:
            cls.S3_ACCESS = s3_access

    @classmethod
    def of(cls, args: _Args, sizing: _Sizing) -> Self:
        """The settings of `args`, with the IAM role of each account that opens the store on AWS S3
        (IRSA), checked against `args.irsa_role_arns`."""
        return cls(args=args, sizing=sizing, irsa_roles=irsa_roles_by_account(
            type(args).__name__, cls.APP, args.namespace, args.instance, cls.S3_ACCESS, args.irsa_role_arns,
            args.store.endpoint_url))

    @classmethod
    def s3_consumers(cls, namespace: str, instance: str, bucket_role: str) -> tuple[S3Consumer, ...]:
        """The ServiceAccounts whose pods read or write the object store (`S3_ACCESS`); blueprints
        ask before the component exists, to create their IAM roles."""
        return account_s3_consumers(cls.APP, namespace, instance, bucket_role, cls.S3_ACCESS)

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


class PartName:
    """An object the orchestrator names after its instance, `<instance>-<parts…>`, declared as a
    class attribute of its resolved settings (`secret = PartName("secrets")`): one line a name
    instead of a property each."""

    def __init__(self, *parts: str) -> None:
        self.parts = parts

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> PartName: ...

    @overload
    def __get__(self, obj: ResolvedOrchestrator[Any, Any], owner: type[Any]) -> str: ...

    def __get__(self, obj: ResolvedOrchestrator[Any, Any] | None, owner: type[Any]) -> PartName | str:
        return self if obj is None else obj.name(*self.parts)


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


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

from omgml import k8s as kube
from omgml.components.base import ComponentArgs
from omgml.components.contracts import StoreRef
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

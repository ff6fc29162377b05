"""The objects every single-StatefulSet server (Postgres, Redis, Kafka) creates the same way.

Each runs one StatefulSet under its own token-less ServiceAccount, governed by a headless Service
(stable per-pod DNS names), with a second, ordinary Service for its clients. Only the specs and
the client Service's name differ, so the wiring and the rule that keeps data safe are written
once here, with their common args and checks.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml.components.base import ComponentArgs, check_component_args
from omgml.components.options import Children
from omgml.naming import ServerNames


@dataclass(frozen=True, kw_only=True)
class StatefulServerArgs(ComponentArgs):
    """A single-StatefulSet server's common args: each pod's data volume, in GiB."""

    storage_gib: int


def check_stateful_server_args(owner: str, args: StatefulServerArgs, profiles: Collection[str]) -> None:
    """check_component_args, and a volume of at least 1 GiB; errors name `<owner>.<field>`."""
    check_component_args(owner, args, profiles)
    if args.storage_gib < 1:
        raise ValueError(f"{owner}.storage_gib={args.storage_gib} must be at least 1")


def stateful_server(name: str, names: ServerNames, meta: Callable[[str], kube.JsonDict], children: Children, *,
                    service: Callable[[bool], kube.JsonDict], client: tuple[str, str], statefulset: kube.JsonDict,
                    after: tuple[pulumi.Resource, ...] = ()) -> tuple[k8s.core.v1.Service, k8s.apps.v1.StatefulSet]:
    """The ServiceAccount, the headless and the client Service (`service(headless)` gives each
    spec; `client` is the client Service's logical-name suffix and object name) and the
    StatefulSet, created after those and `after` (its ConfigMaps and Secrets). Returns the client
    Service and the StatefulSet, which a server's setup Job waits for.

    The StatefulSet holds data (Children.data), and a new volume size must not replace it
    (volumeClaimTemplates is immutable): the existing PVCs are grown instead (kubectl patch pvc)."""
    sa = k8s.core.v1.ServiceAccount(
        f"{name}-sa", metadata=meta(names.service_account), automount_service_account_token=False, opts=children())
    headless = k8s.core.v1.Service(
        f"{name}-headless", metadata=meta(names.headless), spec=service(True), opts=children())
    suffix, client_name = client
    client_service = k8s.core.v1.Service(
        f"{name}-{suffix}", metadata=meta(client_name), spec=service(False), opts=children())
    sts = k8s.apps.v1.StatefulSet(
        f"{name}-statefulset", metadata=meta(names.statefulset), spec=statefulset,
        opts=children.data(sa, headless, *after, ignore_changes=["spec.volumeClaimTemplates"]))
    return client_service, sts

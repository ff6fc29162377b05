"""Before `omgml up|preview`: every `data.sources` Secret exists, with its keys, where it is used.

omgml never creates or copies a source's credentials: the team's Secret must be in each
namespace whose pods read it (Feast's for the Snowflake offline store, every namespace of the
data-connections bundle). A pod whose Secret is missing would hang in CreateContainerConfigError
until the engine's readiness wait gives up; this check refuses first and names the Secret, the
namespace, the missing keys and the command that fixes it. Namespaces the foundation has not
created yet cannot hold the Secret: they are reported as such (create the Secret right after the
foundation's first `up` makes them, then run `up` again).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from omgml.deploy.plan import DeployError

if TYPE_CHECKING:
    from omgml.spec import PlatformSpec
    from omgml.spec.data import DataSourceSpec

# (namespace, secret name) → the Secret's keys; None when the Secret does not exist; raises
# NamespaceMissing when the namespace does not.
SecretLookup = Callable[[str, str], "set[str] | None"]


class NamespaceMissing(Exception):
    pass


def source_namespaces(spec: PlatformSpec, source: DataSourceSpec) -> list[str]:
    """Where the source's Secret is read: the data-connections namespaces, and Feast's for the warehouse."""
    from omgml.blueprints.foundation import pipeline_namespaces

    return [spec.phases.foundation.namespace, *pipeline_namespaces(spec)]


def source_secret_problems(spec: PlatformSpec, lookup: SecretLookup) -> list[str]:
    """One message per missing Secret or key (empty when every source is ready)."""
    out: list[str] = []
    for i, source in enumerate(spec.data.sources):
        keys = source.secret_keys()
        for ns in source_namespaces(spec, source):
            where = f"data.sources[{i}] ({source.name}, {source.kind})"
            try:
                found = lookup(ns, source.secret)
            except NamespaceMissing:
                out.append(f"{where}: namespace {ns} does not exist yet, so Secret {source.secret} cannot be there; "
                           "`omgml up --phase foundation` creates the namespaces, then create the Secret in it and "
                           "run `omgml up` again")
                continue
            literals = " ".join(f"--from-literal={k}=..." for k in keys)
            if found is None:
                out.append(f"{where}: Secret {source.secret} does not exist in namespace {ns}; create it with its "
                           f"keys {', '.join(keys)}: kubectl create secret generic {source.secret} -n {ns} {literals}")
                continue
            missing = [k for k in keys if k not in found]
            if missing:
                out.append(f"{where}: Secret {source.secret} in namespace {ns} lacks the keys {', '.join(missing)} "
                           f"(it has {', '.join(sorted(found)) or 'none'}); add them")
    return out


def check_source_secrets(spec: PlatformSpec, lookup: SecretLookup) -> None:
    problems = source_secret_problems(spec, lookup)
    if problems:
        raise DeployError("the data sources' Secrets are not ready:\n" + "\n".join(f"- {p}" for p in problems))


def kubernetes_lookup(context: str | None, timeout: float = 10.0) -> SecretLookup:
    """A SecretLookup against the cluster of `context`: the platform's one Secret reader
    (omgml.deploy.preflight.cluster_secret_reader), plus whether the namespace exists when the
    Secret does not. Only key names leave this function."""
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    from omgml.deploy.preflight import cluster_secret_reader

    read = cluster_secret_reader(context, timeout=timeout)
    api = client.CoreV1Api(config.new_client_from_config(context=context))

    def lookup(namespace: str, name: str) -> set[str] | None:
        found = read(namespace, name)
        if found is not None:
            return set(found)
        try:
            api.read_namespace(namespace, _request_timeout=timeout)
        except ApiException as exc:
            if exc.status == 404:
                raise NamespaceMissing(namespace) from None
            raise DeployError(f"cannot read namespace {namespace} in context {context or '(current)'}: "
                              f"HTTP {exc.status} {exc.reason}") from None
        return None

    return lookup

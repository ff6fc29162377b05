"""Connection bundles for pipelines: the team's external sources and the lineage API.

One ConfigMap `data-connections` in every namespace where pipelines run (the data namespace,
Kubeflow's step namespace, the Airflow/Prefect namespace): for each `data.sources` entry its
settings as `SOURCE_<NAME>_*` variables (kind, account, warehouse, bucket, host, …, and the
name of the Secret holding its credentials as `SOURCE_<NAME>_SECRET_NAME`), and OPENLINEAGE_URL /
OPENLINEAGE_ENDPOINT / OPENLINEAGE_NAMESPACE when lineage is on (what the OpenLineage client
reads). A step loads it with `envFrom: [{configMapRef: {name: data-connections}}]`.

Credentials never enter the bundle: each source names an existing Secret (omgml creates none and
copies none), and `source_secret_env` gives the env entries a step adds to read it by
secretKeyRef (`SOURCE_<NAME>_<KEY>`). The same list sits in the bundle as `secret-env.yaml` for
copying into a pod template. `omgml up` refuses a source whose Secret is missing or lacks a key in
one of these namespaces (omgml.deploy.sources), before anything is applied.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import yaml

from omgml import k8s as kube
from omgml.components.options import Children
from omgml.labels import standard_labels
from omgml.naming import require_dns_label
from omgml.spec.data import DataSourceSpec

TYPE_TOKEN = "omgml:data:DataConnections"
NAME = "data-connections"
SECRET_ENV_FILE = "secret-env.yaml"
# spec field → variable suffix
_SETTINGS = (("account", "ACCOUNT"), ("warehouse", "WAREHOUSE"), ("database", "DATABASE"),
             ("schema_name", "SCHEMA"), ("role", "ROLE"), ("bucket", "BUCKET"), ("prefix", "PREFIX"),
             ("region", "REGION"), ("endpoint_url", "ENDPOINT_URL"), ("uri", "URI"), ("host", "HOST"),
             ("port", "PORT"), ("sslmode", "SSLMODE"))
_DEFAULTS = {"postgres": {"port": "5432", "sslmode": "require"}, "snowflake": {"schema_name": "PUBLIC"}}


def env_prefix(source: DataSourceSpec) -> str:
    return "SOURCE_" + source.name.upper().replace("-", "_")


def source_settings(source: DataSourceSpec) -> dict[str, str]:
    """The source's non-secret settings as variables (defaults filled in)."""
    prefix = env_prefix(source)
    out = {f"{prefix}_KIND": source.kind, f"{prefix}_SECRET_NAME": source.secret}
    defaults = _DEFAULTS.get(source.kind, {})
    for field, suffix in _SETTINGS:
        value = getattr(source, field)
        if value in (None, ""):
            value = defaults.get(field)
        if value not in (None, ""):
            out[f"{prefix}_{suffix}"] = str(value)
    return out


def source_secret_env(source: DataSourceSpec) -> list[kube.JsonDict]:
    """The env entries that read the source's credentials from its Secret."""
    prefix = env_prefix(source)
    return [kube.secret_env(f"{prefix}_{key.upper()}", source.secret, key) for key in source.secret_keys()]


@dataclass(frozen=True, kw_only=True)
class DataConnectionsArgs:
    namespaces: tuple[str, ...]
    sources: tuple[DataSourceSpec, ...]
    lineage_url: str | None = None
    lineage_namespace: str = "omgml"


def bundle_data(args: DataConnectionsArgs) -> dict[str, str]:
    data: dict[str, str] = {}
    for source in args.sources:
        data.update(source_settings(source))
    if args.lineage_url:
        data.update({"OPENLINEAGE_URL": args.lineage_url, "OPENLINEAGE_ENDPOINT": "api/v1/lineage",
                     "OPENLINEAGE_NAMESPACE": args.lineage_namespace})
    env = [e for s in args.sources for e in source_secret_env(s)]
    if env:
        data[SECRET_ENV_FILE] = yaml.safe_dump(env, sort_keys=False)
    return data


class DataConnections(pulumi.ComponentResource):
    """The `data-connections` ConfigMap in each namespace where pipelines run."""

    config_name: str

    def __init__(self, name: str, args: DataConnectionsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        for i, ns in enumerate(args.namespaces):
            require_dns_label(f"DataConnectionsArgs.namespaces[{i}]", ns)
        children = Children(self)
        data = bundle_data(args)
        for ns in args.namespaces:
            k8s.core.v1.ConfigMap(f"{name}-{ns}", metadata={
                "name": NAME, "namespace": ns, "labels": standard_labels("data-connections", ns, "connections")},
                data=data, opts=children())
        self.config_name = NAME
        self.register_outputs({"config_name": NAME})

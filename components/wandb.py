"""Weights & Biases as a tracking add-on next to MLflow: settings and the API key's reference.

omgml never sees the API key. The team creates a Secret (`api_key_secret`, key `api_key_key`) in
every namespace that runs training code; pods read it by secretKeyRef (WANDB_API_KEY), and
`omgml preview|up` refuse to start while it is missing (omgml.deploy.external_secrets). The
non-secret settings (a self-hosted server's URL, project, entity) go into ConfigMap omgml-wandb
of those namespaces, for KFP steps and Katib trials to load with envFrom; Airflow task pods and
Prefect flow runs get the same variables directly (`wandb_env`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from omgml import k8s as kube
from omgml.components.options import Children
from omgml.components.settings import SettingsArgs, settings_config_maps
from omgml.naming import require_dns_label

TYPE_TOKEN = "omgml:tracking:WandbSettings"
APP = "wandb"
CONFIG_MAP = "omgml-wandb"


@dataclass(frozen=True, kw_only=True)
class WandbArgs(SettingsArgs):
    api_key_secret: str
    api_key_key: str = "api-key"
    host: str | None = None  # a self-hosted server; None: W&B's hosted service
    project: str | None = None
    entity: str | None = None


def settings_data(args: WandbArgs) -> dict[str, str]:
    """The non-secret W&B variables (ConfigMap data)."""
    settings = {"WANDB_BASE_URL": args.host, "WANDB_PROJECT": args.project, "WANDB_ENTITY": args.entity}
    return {name: value for name, value in settings.items() if value}


def wandb_env(args: WandbArgs) -> list[kube.JsonDict]:
    """WANDB_API_KEY by secretKeyRef, then the settings as plain values."""
    return [kube.secret_env("WANDB_API_KEY", args.api_key_secret, args.api_key_key),
            *(kube.plain_env(k, v) for k, v in settings_data(args).items())]


def resolve(args: WandbArgs) -> WandbArgs:
    args.require_namespaces("where training code runs")
    require_dns_label("WandbArgs.api_key_secret", args.api_key_secret)
    return args


class WandbSettings(pulumi.ComponentResource):
    """ConfigMap omgml-wandb in every training namespace; the Secret is the team's."""

    def __init__(self, name: str, args: WandbArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        resolve(args)
        settings_config_maps(name, Children(self), APP, CONFIG_MAP, args.namespaces, settings_data(args))
        self.register_outputs({"config_map": CONFIG_MAP, "api_key_secret": args.api_key_secret})

"""The governance steps' settings in every pipeline namespace (ConfigMap omgml-governance).

The steps themselves are the team's pipeline code (`omgml init` writes them into governance/,
from omgml.governance); the platform hands them their settings — which steps run, the sensitive
features, the fairness thresholds — from the spec, so changing a threshold is an `omgml.yaml`
edit and an `up`, not a code change. Airflow tasks and Prefect flow runs read it as env
OMGML_GOVERNANCE (`governance_env`), KFP steps load the same key with use_config_map_as_env.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from omgml import k8s as kube
from omgml.components.options import Children
from omgml.components.settings import SettingsArgs, settings_config_maps
from omgml.governance.settings import CONFIG_KEY, CONFIG_MAP, ENV, GovernanceSettings, SettingsError, parse_settings

TYPE_TOKEN = "omgml:governance:Settings"
APP = "omgml-governance"


@dataclass(frozen=True, kw_only=True)
class GovernanceArgs(SettingsArgs):
    settings: GovernanceSettings


def resolve(args: GovernanceArgs) -> str:
    """The settings JSON, checked the way the steps check it (a threshold outside [0, 1] fails here)."""
    args.require_namespaces("where pipeline steps run")
    text = args.settings.to_json()
    try:
        parse_settings(text, "GovernanceArgs.settings")
    except SettingsError as exc:
        raise ValueError(str(exc)) from None
    return text


def governance_env() -> list[kube.JsonDict]:
    return [{"name": ENV, "valueFrom": {"configMapKeyRef": {"name": CONFIG_MAP, "key": CONFIG_KEY}}}]


class GovernanceConfig(pulumi.ComponentResource):
    def __init__(self, name: str, args: GovernanceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        text = resolve(args)
        settings_config_maps(name, Children(self), APP, CONFIG_MAP, args.namespaces, {CONFIG_KEY: text})
        self.register_outputs({"config_map": CONFIG_MAP})

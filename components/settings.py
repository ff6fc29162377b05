"""Settings handed to the team's own code as one ConfigMap, copied into every namespace where
that code runs (pipeline steps, training jobs): the governance thresholds, the W&B settings.

The ConfigMap has the same name everywhere, so a step loads it without knowing its namespace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml.components.options import Children
from omgml.labels import standard_labels
from omgml.naming import require_dns_label


@dataclass(frozen=True, kw_only=True)
class SettingsArgs:
    """What every settings component takes: the namespaces that get the ConfigMap."""

    namespaces: tuple[str, ...]

    def require_namespaces(self, where: str) -> None:
        """Raise, naming the field, unless `namespaces` is a non-empty list of DNS labels; `where`
        says which namespaces to give ("where pipeline steps run")."""
        field = f"{type(self).__name__}.namespaces"
        if not self.namespaces:
            raise ValueError(f"{field}: empty; give the namespaces {where}")
        for i, ns in enumerate(self.namespaces):
            require_dns_label(f"{field}[{i}]", ns)


def settings_config_maps(name: str, children: Children, app: str, config_map: str, namespaces: Sequence[str],
                         data: Mapping[str, pulumi.Input[str]]) -> None:
    """ConfigMap `config_map` holding `data` in each of `namespaces` (logical names `<name>-<ns>`)."""
    labels = standard_labels(app, "omgml", "settings")
    for ns in namespaces:
        k8s.core.v1.ConfigMap(f"{name}-{ns}", metadata=kube.metadata(config_map, ns, labels), data=dict(data),
                              opts=children())

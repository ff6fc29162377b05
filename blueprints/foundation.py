"""Foundation phase: namespaces, data stores, tracking and features."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from omgml.components.namespace import NamespaceArgs, PlatformNamespace
from omgml.spec import PlatformSpec

TYPE_TOKEN = "omgml:blueprints:Foundation"


@dataclass(frozen=True)
class FoundationArgs:
    spec: PlatformSpec


class Foundation(pulumi.ComponentResource):
    def __init__(self, name: str, args: FoundationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        spec = args.spec
        f = spec.phases.foundation
        peers = tuple(
            ns
            for enabled, ns in (
                (spec.phases.training.enabled, spec.phases.training.kubeflow.namespace),
                (spec.phases.training.enabled, spec.phases.training.kubeflow.user_namespace),
                (spec.phases.serving.enabled, spec.phases.serving.namespace),
            )
            if enabled
        )
        self.namespace = PlatformNamespace(
            f"{name}-data",
            NamespaceArgs(name=f.namespace, allow_ingress_from=peers),
            pulumi.ResourceOptions(parent=self),
        )
        self.exports: dict[str, Any] = {"data_namespace": self.namespace.name}
        self.register_outputs(self.exports)

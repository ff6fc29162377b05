"""Training phase: Kubeflow Pipelines and GPU node pools."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from omgml.blueprints.contracts import PhaseOutputs
from omgml.spec import PlatformSpec

TYPE_TOKEN = "omgml:blueprints:Training"


@dataclass(frozen=True)
class TrainingArgs:
    spec: PlatformSpec
    foundation: PhaseOutputs


class Training(pulumi.ComponentResource):
    def __init__(self, name: str, args: TrainingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.exports: dict[str, Any] = {"training_enabled": args.spec.phases.training.enabled}
        self.register_outputs(self.exports)

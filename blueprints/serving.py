"""Serving and observability phase: model server, Prometheus, Evidently."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from omgml.blueprints.contracts import PhaseOutputs
from omgml.spec import PlatformSpec

TYPE_TOKEN = "omgml:blueprints:Serving"


@dataclass(frozen=True)
class ServingArgs:
    spec: PlatformSpec
    foundation: PhaseOutputs
    training: PhaseOutputs | None


class Serving(pulumi.ComponentResource):
    def __init__(self, name: str, args: ServingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.exports: dict[str, Any] = {}
        self.register_outputs(self.exports)

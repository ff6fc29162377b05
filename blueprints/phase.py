"""The one shape of a phase blueprint (Foundation, Training, Serving), written once.

A phase is `class Training(Phase[TrainingArgs], type_token=...)` with a `build()` that creates
the phase's components as its children and returns the stack outputs. `Phase.__init__` registers
under the (frozen) type token, builds, and registers what `build` returned, which `omgml.program`
exports as the stack's outputs (and `omgml render` writes into inventory.json).
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

import pulumi

ArgsT = TypeVar("ArgsT")


class Phase(pulumi.ComponentResource, Generic[ArgsT]):
    type_token: ClassVar[str]
    # The stack outputs, as registered.
    exports: dict[str, Any]

    def __init_subclass__(cls, *, type_token: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.type_token = type_token

    def __init__(self, name: str, args: ArgsT, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(self.type_token, name, None, opts)
        self.exports = self.build(name, args, pulumi.ResourceOptions(parent=self))
        self.register_outputs(self.exports)

    def build(self, name: str, args: ArgsT, child: pulumi.ResourceOptions) -> dict[str, Any]:
        """Create the phase's children (`child`: the options that parent them here); return its outputs."""
        raise NotImplementedError(f"{type(self).__name__}.build")

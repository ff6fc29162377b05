"""What one phase hands to the next: stack outputs, read back through a StackReference.

Keys are plain strings shared by the exporting blueprint and the reading one, so a rename
breaks a test here rather than a deployment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

# Exported by the foundation phase.
FOUNDATION_KEYS: tuple[str, ...] = ("data_namespace",)
# Exported by the training phase.
TRAINING_KEYS: tuple[str, ...] = ("training_enabled",)


class PhaseOutputs:
    """Outputs of an earlier phase, from a StackReference (real engine or the synth's mock)."""

    def __init__(self, values: Mapping[str, pulumi.Output[Any]]) -> None:
        self._values = dict(values)

    @classmethod
    def from_reference(cls, ref: pulumi.StackReference, keys: tuple[str, ...]) -> PhaseOutputs:
        return cls({k: ref.get_output(k) for k in keys})

    def get(self, key: str) -> pulumi.Output[Any]:
        if key not in self._values:
            raise KeyError(f"the earlier phase exports no {key!r}; known: {sorted(self._values)}")
        return self._values[key]

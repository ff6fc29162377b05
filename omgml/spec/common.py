"""Enumerations shared by every phase of the spec."""

from __future__ import annotations

from typing import Literal, TypeVar

Target = Literal["local", "aws"]
Profile = Literal["laptop", "small", "production"]
PhaseName = Literal["foundation", "training", "serving"]
PHASES: tuple[PhaseName, ...] = ("foundation", "training", "serving")

_T = TypeVar("_T")


def per_profile(*, laptop: _T, small: _T, production: _T) -> dict[Profile, _T]:
    """A value for each sizing profile (container sizes, heaps, retention, …). Every profile is
    a required keyword, so a table that leaves one out (or misspells it) fails when it is
    written, not at the first render with that profile."""
    return {"laptop": laptop, "small": small, "production": production}
# Where the platform's passwords and keys come from: `generated` by omgml at deploy time (kept,
# encrypted, in Pulumi state), or `existing` Secrets the team creates beforehand (or an External
# Secrets store syncs) that omgml only references: no credential value then enters the program or state.
CredentialSource = Literal["generated", "existing"]

# A DNS-1123 label: what Kubernetes accepts for namespaces and most object names.
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"

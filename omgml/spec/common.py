"""Enumerations shared by every phase of the spec."""

from __future__ import annotations

from typing import Literal

Target = Literal["local", "aws"]
Profile = Literal["laptop", "small", "production"]
PhaseName = Literal["foundation", "training", "serving"]
PHASES: tuple[PhaseName, ...] = ("foundation", "training", "serving")
# Where the platform's passwords and keys come from: `generated` by omgml at deploy time (kept,
# encrypted, in Pulumi state), or `existing` Secrets the team creates beforehand (or an External
# Secrets store syncs) that omgml only references: no credential value then enters the program or state.
CredentialSource = Literal["generated", "existing"]

# A DNS-1123 label: what Kubernetes accepts for namespaces and most object names.
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"

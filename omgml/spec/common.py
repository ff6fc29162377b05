"""Enumerations shared by every phase of the spec."""

from __future__ import annotations

from typing import Literal

Target = Literal["local", "aws"]
Profile = Literal["laptop", "small", "production"]
PhaseName = Literal["foundation", "training", "serving"]
PHASES: tuple[PhaseName, ...] = ("foundation", "training", "serving")

# A DNS-1123 label: what Kubernetes accepts for namespaces and most object names.
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"

"""The one label helper: the standard app.kubernetes.io/* labels."""

from __future__ import annotations

import re

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

PART_OF = "omgml"
MANAGED_BY = "omgml"


def _check(key: str, value: str) -> str:
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise ValueError(
            f"label {key}={value!r} is not a valid label value (≤ 63 chars, alphanumeric at both ends)"
        )
    return value


def selector_labels(name: str, instance: str, component: str | None = None) -> dict[str, str]:
    """The labels a selector matches. Never includes the version: selectors are immutable."""
    labels = {
        "app.kubernetes.io/name": _check("app.kubernetes.io/name", name),
        "app.kubernetes.io/instance": _check("app.kubernetes.io/instance", instance),
    }
    if component:
        labels["app.kubernetes.io/component"] = _check("app.kubernetes.io/component", component)
    return labels


def standard_labels(
    name: str, instance: str, component: str | None = None, version: str | None = None
) -> dict[str, str]:
    """Selector labels plus version, part-of and managed-by, for metadata.labels."""
    labels = selector_labels(name, instance, component)
    if version:
        labels["app.kubernetes.io/version"] = _check("app.kubernetes.io/version", version)
    labels["app.kubernetes.io/part-of"] = PART_OF
    labels["app.kubernetes.io/managed-by"] = MANAGED_BY
    return labels


MODEL_LABEL = "omgml.dev/model"
MODEL_VERSION_LABEL = "omgml.dev/model-version"


def model_version_labels(model: str, version: int) -> dict[str, str]:
    """Which model version a pod holds (an A/B variant): part of its selector, so two variants of
    the same server kind never select each other's pods. Model names may hold characters a label
    value does not allow (they are validated against MODEL_NAME, a subset), so the name is checked."""
    return {MODEL_LABEL: _check(MODEL_LABEL, model), MODEL_VERSION_LABEL: str(version)}

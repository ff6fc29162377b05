"""Validation of the custom resources omgml writes against their projects' own CRD schemas.

The schemas under crd_schemas/ are the openAPIV3Schema of the upstream CRDs (source and version
in each file's "$comment"). The validation is strict like `kubectl apply --validate=strict`: an
object schema that lists properties admits no others (unless it preserves unknown fields).
CEL rules (x-kubernetes-validations) are not evaluated here.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMAS = Path(__file__).parent / "crd_schemas"
_K8S_KEYS = ("x-kubernetes-preserve-unknown-fields", "additionalProperties")


def _strict(schema: Any) -> Any:
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items() if k != "$comment"}
        if "properties" in out and not any(k in out for k in _K8S_KEYS):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@cache
def crd_schema(name: str) -> dict[str, Any]:
    """A schema file of crd_schemas/ (e.g. "karpenter.sh_v1_NodePool"), made strict."""
    raw = json.loads((SCHEMAS / f"{name}.json").read_text())
    if "$comment" not in raw or "copied from" not in raw["$comment"]:
        raise AssertionError(f"{name}: the schema file must say where it was copied from")
    return dict(_strict(raw))


def crd_problems(manifest: dict[str, Any], schema: str) -> list[str]:
    validator = jsonschema.Draft7Validator(crd_schema(schema))
    return [f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
            for e in sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path))]


def with_defaults(instance: Any, schema: Any) -> Any:
    """`instance` with the schema's defaults applied the way the API server does (structural
    defaulting: a missing property with a default gets it, recursively)."""
    out = copy.deepcopy(instance)
    if isinstance(out, dict) and isinstance(schema, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key not in out and "default" in sub:
                out[key] = copy.deepcopy(sub["default"])
            if key in out:
                out[key] = with_defaults(out[key], sub)
    elif isinstance(out, list) and isinstance(schema, dict) and isinstance(schema.get("items"), dict):
        out = [with_defaults(v, schema["items"]) for v in out]
    return out


def defaults_missing(manifest: dict[str, Any], schema: str) -> dict[str, Any]:
    """The fields the upstream CRD would default that `manifest` leaves out ({} when none):
    omgml installs open CRD schemas, so nothing may depend on upstream defaulting."""
    full = crd_schema(schema)
    applied = with_defaults(manifest, full)
    return _diff(manifest, applied)


def _diff(before: Any, after: Any, path: str = "") -> dict[str, Any]:
    if isinstance(before, dict) and isinstance(after, dict):
        out: dict[str, Any] = {}
        for k, v in after.items():
            where = f"{path}.{k}" if path else k
            if k not in before:
                out[where] = v
            else:
                out.update(_diff(before[k], v, where))
        return out
    if isinstance(before, list) and isinstance(after, list):
        out = {}
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            out.update(_diff(b, a, f"{path}[{i}]"))
        return out
    return {}

"""Arguments checked against the pinned pulumi_aws SDK (pyproject: pulumi-aws>=7.51.1,<7.52).

The SDK's resource constructors reject unknown keyword arguments, but nested arguments written
as plain dicts (a launch template's block device mappings, a cluster's vpcConfig) reach the
engine unchecked: a misspelt key would only fail against AWS. `sdk_problems` walks a recorded
resource's inputs through the SDK's own input types (`<Resource>Args` and the nested `…Args`
classes, whose properties carry the engine's camelCase names) and names every key the SDK does
not know.
"""

from __future__ import annotations

import sys
import typing
from functools import cache
from typing import Any, ForwardRef

import pulumi_aws


def _refs(tp: Any) -> list[str]:
    """The names of the input types an annotation mentions (forward references ending in Args)."""
    if isinstance(tp, ForwardRef):
        return [tp.__forward_arg__] if tp.__forward_arg__.endswith("Args") else []
    if isinstance(tp, str):
        return [tp] if tp.endswith("Args") else []
    return [r for a in typing.get_args(tp) for r in _refs(a)]


@cache
def input_fields(cls: type) -> dict[str, type | None]:
    """An SDK input type's properties by their engine (camelCase) name, each with its nested input
    type when the property is an object (or a list of objects), else None."""
    namespace = vars(sys.modules[cls.__module__])
    out: dict[str, type | None] = {}
    for prop in vars(cls).values():
        name = getattr(getattr(prop, "fget", None), "_pulumi_name", None)
        if name is None:
            continue
        refs = _refs(prop.fget.__annotations__.get("return"))
        out[name] = namespace[refs[0]] if refs else None
    return out


def args_class(token: str) -> type:
    """The input type of a resource token: `aws:ec2/launchTemplate:LaunchTemplate` →
    pulumi_aws.ec2.LaunchTemplateArgs."""
    module, kind = token.split(":")[1].split("/")[0], token.rsplit(":", 1)[1]
    resource = getattr(getattr(pulumi_aws, module), kind)
    # The SDK names it <Kind>InitArgs where a nested input type already has the name <Kind>Args
    # (pulumi_aws.s3.BucketVersioningArgs is the legacy Bucket's `versioning` block).
    namespace = vars(sys.modules[resource.__module__])
    return typing.cast(type, namespace.get(f"{kind}InitArgs") or namespace[f"{kind}Args"])


def sdk_problems(token: str, inputs: dict[str, Any]) -> list[str]:
    out: list[str] = []

    def walk(value: Any, cls: type, path: str) -> None:
        if isinstance(value, list):
            for n, item in enumerate(value):
                walk(item, cls, f"{path.rstrip('.')}[{n}].")
            return
        if not isinstance(value, dict):
            return
        fields = input_fields(cls)
        for key, sub in value.items():
            if key not in fields:
                out.append(f"{token} {path}{key}: not an argument of {cls.__name__} in pulumi_aws "
                           f"{pulumi_aws._utilities.get_version()}")
            elif fields[key] is not None:
                walk(sub, typing.cast(type, fields[key]), f"{path}{key}.")

    walk(inputs, args_class(token), "")
    return out

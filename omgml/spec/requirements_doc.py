"""docs/requirements.md, written from the Requirements model: every field with its type, unit,
default and description, then each shipped template as an example.

The descriptions and units live on the model's fields (omgml.spec.requirements), so the page,
`omgml schema requirements` and the validation errors cannot disagree.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from omgml.spec.requirements import Requirements


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (list, tuple):
        return f"list of {_type_name(args[0])}"
    if args and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        return f"{' or '.join(_type_name(a) for a in inner)} or null"
    if isinstance(annotation, type):
        return {"int": "integer", "float": "number", "str": "text", "bool": "true/false"}.get(
            annotation.__name__, annotation.__name__)
    # Aliases such as Target = Literal[...]
    return _type_name(getattr(annotation, "__value__", annotation)) if hasattr(annotation, "__value__") else str(annotation)


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "(required)"
    value = info.default_factory() if info.default_factory is not None else info.default  # type: ignore[call-arg]
    if isinstance(value, BaseModel):
        return "(section)"
    return "null" if value is None else json.dumps(value)


def _nested(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def requirement_fields(model: type[BaseModel] = Requirements, prefix: str = "") -> Iterator[tuple[str, FieldInfo]]:
    """(dotted path, field) for every field, depth first, sections included."""
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        yield path, info
        nested = _nested(info.annotation)
        if nested is not None:
            yield from requirement_fields(nested, path + ".")


def requirements_markdown() -> str:
    from omgml.templates import template_names, template_text

    rows = []
    for path, info in requirement_fields():
        nested = _nested(info.annotation)
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        unit = str(extra.get("unit", "")) if extra else ""
        if nested is not None:
            rows.append(f"| **`{path}`** | section | | | {nested.__doc__ or ''} |")
            continue
        meaning = (info.description or "").replace("|", "\\|")
        rows.append(f"| `{path}` | {_type_name(info.annotation)} | {unit} | `{_default(info)}` | {meaning} |")
    examples: list[str] = []
    for name in template_names():
        examples += [f"### {name}", "", f"`omgml recommend --template {name}`; the file ships as "
                     f"`omgml/templates/{name}.yaml`:", "", "```yaml", template_text(name).rstrip("\n"), "```", ""]
    return "\n".join([
        "# The requirements file",
        "",
        "<!-- Generated from omgml/spec/requirements.py by `python -m omgml.docs`; do not edit by hand. -->",
        "",
        "What a team needs from its ML platform: the input of `omgml recommend` and `omgml init` "
        "(`--requirements FILE`, or a project's `omgml.yaml`, whose `requirements:` section it is). Only `name` "
        "is required; every default is neutral, so a file states what it knows and the engine decides the rest "
        "([the decision matrix](decision-matrix.md) shows how).",
        "",
        "`omgml schema requirements` prints the same model as a JSON Schema for editors (for example the YAML "
        "language server: `# yaml-language-server: $schema=requirements.schema.json` at the top of the file, "
        "after `omgml schema requirements > requirements.schema.json`).",
        "",
        "A misspelt key is an error that names the closest valid one (`serving.peak_rsp: unknown field; did you "
        "mean 'peak_rps'?`); a setting that would do nothing is a warning that says the fix.",
        "",
        "## Fields",
        "",
        "| field | type | unit | default | meaning |",
        "|---|---|---|---|---|",
        *rows,
        "",
        "## Examples: the shipped templates",
        "",
        *examples,
    ])


def requirements_schema() -> dict[str, Any]:
    """The JSON Schema of the requirements file (what `omgml schema requirements` prints)."""
    schema = Requirements.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "omgml requirements"
    return schema


__all__ = ["requirement_fields", "requirements_markdown", "requirements_schema"]

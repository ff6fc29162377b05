"""Shared pydantic base and YAML loading with readable, path-qualified errors."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from omgml.errors import SpecError

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Every spec model forbids unknown fields: a typo must be an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def _loc(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif parts:
            parts.append(f".{item}")
        else:
            parts.append(str(item))
    return "".join(parts) or "(top level)"


def _describe(err: dict[str, Any], model: type[BaseModel]) -> str:
    """Turn one pydantic error into `path: must be …, got …`."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    got = err.get("input")
    # A model_validator error has no field of its own; its message already names the fields.
    loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x.startswith("function-")))
    path = _loc(loc)
    if kind == "greater_than_equal":
        return f"{path}: must be ≥ {ctx['ge']}, got {got!r}"
    if kind == "less_than_equal":
        return f"{path}: must be ≤ {ctx['le']}, got {got!r}"
    if kind == "greater_than":
        return f"{path}: must be > {ctx['gt']}, got {got!r}"
    if kind == "extra_forbidden":
        allowed = _allowed_fields(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6) if loc else []
        hint = f"allowed here: {', '.join(allowed)}" if allowed else "check the spelling"
        if close:
            hint = f"did you mean {close[0]!r}? ({hint})"
        return f"{path}: unknown field; {hint}"
    if kind == "missing":
        return f"{path}: required field is missing"
    if kind in ("literal_error", "enum"):
        options = re.findall(r"'([^']*)'", str(ctx.get("expected")))
        close = difflib.get_close_matches(str(got), options, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close and close[0] != got else ""
        return f"{path}: must be one of {ctx.get('expected')}, got {got!r}{hint}"
    if kind == "string_pattern_mismatch":
        return f"{path}: {got!r} does not match the pattern {ctx.get('pattern')}"
    if kind == "value_error":
        msg = str(ctx.get("error", err["msg"]))
        return f"{path}: {msg}" if loc else msg
    return f"{path}: {err['msg'].lower()}, got {got!r}"


def _allowed_fields(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The field names of the (nested) model at `loc`, for 'unknown field' hints."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(part)
        if field is None:
            return []
        current = _inner_model(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(current.model_fields)
    return []


def _inner_model(annotation: Any) -> Any:
    """Unwrap Optional[...] / list[...] / dict[str, ...] to reach a nested model class."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        inner = _inner_model(arg)
        if inner is not None:
            return inner
    return None


def validation_problems(exc: ValidationError, model: type[BaseModel]) -> list[str]:
    problems: list[str] = []
    for err in exc.errors():
        # A cross-field validator reports several problems at once, one per line.
        problems.extend(line for line in _describe(dict(err), model).split("\n") if line)
    return problems


def parse_model(model: type[M], data: Any, source: str) -> M:
    """Validate `data` into `model`, raising SpecError with one line per problem."""
    if not isinstance(data, dict):
        raise SpecError(source, [f"(top level): must be a mapping, got {type(data).__name__}"])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SpecError(source, validation_problems(exc, model)) from None


def read_yaml(path: Path) -> Any:
    """Read a YAML file, turning I/O and syntax errors into SpecError (never a traceback)."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(source, ["file not found: check the path"]) from None
    except OSError as exc:
        raise SpecError(source, [f"cannot read the file: {exc.strerror}"]) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(source, [f"not valid YAML{where}: {problem}"]) from None


def load_model(model: type[M], path: Path) -> M:
    return parse_model(model, read_yaml(path), str(path))

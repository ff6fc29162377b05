"""Shared pydantic base and YAML loading with readable, path-qualified errors."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from omgml.cron import valid_schedule
from omgml.errors import SpecError

M = TypeVar("M", bound=BaseModel)
K = TypeVar("K", str, int)


class StrictModel(BaseModel):
    """Every spec model forbids unknown fields: a typo must be an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def repeated(values: Sequence[K]) -> list[K]:
    """The values that appear more than once, sorted: what a uniqueness rule names in its message."""
    return sorted({v for v in values if values.count(v) > 1})


def no_repeats(values: list[str], each: str = "value") -> list[str]:
    """`values` when none repeats (a field validator's rule for lists of names)."""
    twice = repeated(values)
    if twice:
        raise ValueError(f"{twice} listed more than once; list each {each} once")
    return values


def raise_problems(problems: Sequence[str], sep: str = "\n", prefix: str = "") -> None:
    """Raise one ValueError naming every problem a validator found, so a user fixes them all in
    one pass (validation_problems splits a "\n"-joined message back into one line a problem)."""
    if problems:
        raise ValueError(prefix + sep.join(problems))


# A list field whose items must each appear once: `Annotated[list[X], NO_REPEATS]` (the same rule
# as a field validator returning no_repeats(v), without a validator method per model).
NO_REPEATS = AfterValidator(no_repeats)

# A schedule written into a Kubernetes CronJob: checked as the CronJob controller parses it
# (omgml.cron), whitespace collapsed.
CronSchedule = Annotated[str, AfterValidator(valid_schedule)]


def all_match(values: list[str], pattern: str | re.Pattern[str], problem: str) -> list[str]:
    """`values` when each matches `pattern`; else the ones that do not, followed by `problem`
    (what they are not, and how to write them)."""
    bad = [v for v in values if not re.match(pattern, v)]
    if bad:
        raise ValueError(f"{bad} {problem}")
    return values


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


Loc = tuple[int | str, ...]


def _field_loc(err: Any) -> Loc:
    return tuple(x for x in err["loc"] if not (isinstance(x, str) and x.startswith("function-")))


def _parent(data: Any, loc: Loc) -> Any:
    for part in loc[:-1]:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _prune(data: Any, loc: Loc) -> bool:
    """Remove the value at `loc` from the nested dicts/lists of `data`; False if it isn't there."""
    parent = _parent(data, loc) if loc else None
    last = loc[-1] if loc else None
    if isinstance(parent, dict) and last in parent:
        del parent[last]
        return True
    if isinstance(parent, list) and isinstance(last, int) and 0 <= last < len(parent):
        del parent[last]
        return True
    return False


# Stand-ins for a required field whose value was invalid, tried in order until one validates.
_PLACEHOLDERS: tuple[Any, ...] = ("x", 1, True, [], {})


def _fill_required(model: type[BaseModel], data: Any, loc: Loc) -> bool:
    parent = _parent(data, loc)
    if not isinstance(parent, dict):
        return False
    for value in _PLACEHOLDERS:
        parent[loc[-1]] = value
        try:
            model.model_validate(data)
            return True
        except ValidationError as exc:
            if all(_field_loc(e) != loc for e in exc.errors()):
                return True
    del parent[loc[-1]]
    return False


def _mentions(problem: str, loc: Loc) -> bool:
    """Whether a cross-field message names the field at `loc` (or a field inside it)."""
    path = _loc(loc)
    at = problem.find(path)
    while at != -1:
        end = at + len(path)
        before_ok = at == 0 or not (problem[at - 1].isalnum() or problem[at - 1] in "._")
        after_ok = end == len(problem) or not (problem[end].isalnum() or problem[end] == "_")
        if before_ok and after_ok:
            return True
        at = problem.find(path, end)
    return False


def cross_field_problems(model: type[BaseModel], data: dict[str, Any], field_errors: list[Any]) -> list[str]:
    """The cross-field problems pydantic did not reach because fields were invalid.

    A model validator runs only once its fields are valid, so a file with both kinds of mistakes
    would need two runs to see them all. Here the invalid values are removed (their defaults
    stand in) and the model is validated again; what fails now is reported too, except messages
    about the fields already reported (their real values are unknown).
    """
    import copy

    trial = copy.deepcopy(data)
    pruned: list[Loc] = []
    pending = [_field_loc(e) for e in field_errors]
    missing: list[Loc] = []
    found: list[str] = []
    for _ in range(5):  # a round only uncovers errors inside what it pruned; bounded anyway
        progressed = False
        # Later list items first, so removing one does not shift the indexes still to prune.
        for loc in sorted(set(pending), key=lambda loc: [(str(type(p)), p) for p in loc], reverse=True):
            while loc and not _prune(trial, loc):
                loc = loc[:-1]
            if loc:
                pruned.append(loc)
                progressed = True
        for loc in missing:
            if _fill_required(model, trial, loc):
                pruned.append(loc)
                progressed = True
        if not progressed:
            break
        try:
            model.model_validate(trial)
            break
        except ValidationError as exc:
            pending, missing = [], []
            for err in exc.errors():
                loc = _field_loc(err)
                if loc and any(loc[: len(p)] == p for p in pruned):
                    # A consequence of pruning: a required field now missing gets a stand-in,
                    # anything else is pruned too.
                    (missing if err["type"] == "missing" else pending).append(loc)
                    continue
                for line in _describe(dict(err), model).split("\n"):
                    if line and line not in found and not any(_mentions(line, p) for p in pruned):
                        found.append(line)
            if not (pending or missing):
                break
    return found


def parse_model(model: type[M], data: Any, source: str) -> M:
    """Validate `data` into `model`, raising SpecError with one line per problem: field errors and
    cross-field errors together, so one run shows everything to fix."""
    if data is None:
        raise SpecError(source, ["the file is empty; it needs at least `name: <platform name>` "
                                 "(`omgml init DIR --template starter` writes a complete one)"])
    if not isinstance(data, dict):
        raise SpecError(source, [f"(top level): must be a mapping, got {type(data).__name__}"])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, model)
        field_errors = [e for e in exc.errors() if _field_loc(e)]
        if field_errors:
            problems += [p for p in cross_field_problems(model, data, field_errors) if p not in problems]
        raise SpecError(source, problems) from None


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

"""Every container's requests and limits per profile, read from one table (`omgml/data/sizes.toml`).

Sizing is a platform decision, not a component's alone: with everything on, the laptop column
has to fit 4 CPU / 8 GiB of requests (`omgml check` adds it up), so the numbers are tuned
together and reviewed in one place, each with the reason for it. Components take their rows by
key: `sizes.container("optuna")` for a one-container table, `sizes.parts("kubeflow")` for one
Size per workload, `sizes.rows("postgres", PostgresSizing)` for a typed row whose Size fields
sit beside the knobs that go with them (heap, workers, buffers).

In the file a Size is `[cpu request, memory request, cpu limit, memory limit]` (Kubernetes
quantities), and every table has a `laptop`, a `small` and a `production` row.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any, TypeVar

from omgml.k8s import Size
from omgml.spec.common import Profile

PROFILES: tuple[Profile, ...] = ("laptop", "small", "production")
TABLE = "sizes.toml"

_T = TypeVar("_T")


@cache
def _table() -> dict[str, Any]:
    text = resources.files("omgml.data").joinpath(TABLE).read_text(encoding="utf-8")
    return tomllib.loads(text)


def _is_size(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 4 and all(isinstance(v, str) for v in value)


def _value(value: Any) -> Any:
    """Size arrays become Sizes, also inside tables; other values stay as written."""
    if _is_size(value):
        return Size(*value)
    if isinstance(value, dict):
        return {k: _value(v) for k, v in value.items()}
    return value


def _profiles(key: str) -> dict[Profile, Any]:
    table = _table()
    if key not in table:
        raise KeyError(f"{TABLE} has no [{key}] table; add one with laptop, small and production rows")
    rows = table[key]
    missing = [p for p in PROFILES if p not in rows]
    extra = sorted(set(rows) - set(PROFILES))
    if missing or extra:
        raise ValueError(f"{TABLE} [{key}]: needs exactly the rows {list(PROFILES)}; missing {missing}, unknown {extra}")
    return {p: _value(rows[p]) for p in PROFILES}


def container(key: str) -> dict[Profile, Size]:
    """One container's Size per profile (`laptop = [...]` rows)."""
    rows = _profiles(key)
    for profile, row in rows.items():
        if not isinstance(row, Size):
            raise ValueError(f"{TABLE} [{key}].{profile}: write [cpu request, memory request, cpu limit, memory limit]")
    return rows


def parts(key: str) -> dict[Profile, dict[str, Size]]:
    """A Size per workload of a multi-workload component (`[key.laptop]` with one array per workload)."""
    rows = _profiles(key)
    for profile, row in rows.items():
        if not (isinstance(row, dict) and all(isinstance(v, Size) for v in row.values())):
            raise ValueError(f"{TABLE} [{key}.{profile}]: write one [cpu request, memory request, cpu limit, "
                             "memory limit] array per workload")
    return rows


def rows(key: str, row: Callable[..., _T]) -> dict[Profile, _T]:
    """A typed row per profile: `row(**fields)` of the `[key.<profile>]` table."""
    out: dict[Profile, _T] = {}
    for profile, fields in _profiles(key).items():
        if not isinstance(fields, dict):
            raise ValueError(f"{TABLE} [{key}.{profile}]: write a table of the row's fields")
        try:
            out[profile] = row(**fields)
        except TypeError as exc:
            raise ValueError(f"{TABLE} [{key}.{profile}]: {exc}") from None
    return out

"""omgml/data/sizes.toml, the one table of container sizes: every row is well formed, used by a
component, and asks for no more than it may use; the loader names the table and the fix."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from omgml import sizes
from omgml.capacity import cpu_millicores, memory_bytes
from omgml.k8s import Size

ROOT = Path(__file__).resolve().parents[1]
RAW = tomllib.loads(resources.files("omgml.data").joinpath(sizes.TABLE).read_text(encoding="utf-8"))
CALL = re.compile(r'sizes\.(container|parts|rows)\("([^"]+)"')


def _calls() -> dict[str, list[str]]:
    """Table key → the files whose code reads it."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "components").rglob("*.py")):
        for _, key in CALL.findall(path.read_text(encoding="utf-8")):
            found.setdefault(key, []).append(str(path.relative_to(ROOT)))
    return found


def _sizes(value: Any) -> list[Size]:
    if isinstance(value, Size):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _sizes(v)]
    if hasattr(value, "__dataclass_fields__"):
        return _sizes(vars(value))
    return []


def test_every_table_is_read_by_exactly_one_component() -> None:
    calls = _calls()
    assert set(calls) == set(RAW), (f"tables nobody reads: {sorted(set(RAW) - set(calls))}; "
                                    f"keys with no table: {sorted(set(calls) - set(RAW))}")
    assert {k: v for k, v in calls.items() if len(v) > 1} == {}


@pytest.mark.parametrize("key", sorted(RAW))
def test_every_size_asks_for_no_more_than_its_limit(key: str) -> None:
    loaded = sizes._profiles(key)
    found = [s for row in loaded.values() for s in _sizes(row)]
    if not found:  # Redis writes its numbers as fields (maxmemory is derived from them)
        found = [Size(r["cpu_request"], f'{r["memory_request_mib"]}Mi', r["cpu_limit"], f'{r["memory_limit_mib"]}Mi')
                 for r in loaded.values()]
    for s in found:
        assert cpu_millicores(s.cpu_request) <= cpu_millicores(s.cpu_limit), (key, s)
        assert memory_bytes(s.memory_request) <= memory_bytes(s.memory_limit), (key, s)


@dataclass(frozen=True)
class Row:
    size: Size
    workers: int


FAKE = {
    "one": {"laptop": ["1m", "1Mi", "2m", "2Mi"], "small": ["1m", "1Mi", "2m", "2Mi"],
            "production": ["1m", "1Mi", "2m", "2Mi"]},
    "typed": {p: {"size": ["1m", "1Mi", "2m", "2Mi"], "workers": 2} for p in sizes.PROFILES},
    "short": {"laptop": ["1m", "1Mi", "2m", "2Mi"], "small": ["1m", "1Mi", "2m", "2Mi"]},
    "flat": {p: ["1m", "1Mi", "2m"] for p in sizes.PROFILES},
}


@pytest.fixture
def fake_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sizes, "_table", lambda: FAKE)


@pytest.mark.usefixtures("fake_table")
def test_rows_load_as_sizes_and_typed_rows() -> None:
    assert sizes.container("one")["small"] == Size("1m", "1Mi", "2m", "2Mi")
    assert sizes.rows("typed", Row)["production"] == Row(Size("1m", "1Mi", "2m", "2Mi"), 2)


@pytest.mark.usefixtures("fake_table")
@pytest.mark.parametrize(("load", "says"), [
    (lambda: sizes.container("nope"), "sizes.toml has no [nope] table"),
    (lambda: sizes.container("short"), "[short]: needs exactly the rows ['laptop', 'small', 'production']; "
                                       "missing ['production']"),
    (lambda: sizes.container("flat"), "[flat].laptop: write [cpu request, memory request, cpu limit, memory limit]"),
    (lambda: sizes.parts("one"), "[one.laptop]: write one [cpu request"),
    (lambda: sizes.rows("one", Row), "[one.laptop]: write a table of the row's fields"),
    (lambda: sizes.rows("typed", Size), "[typed.laptop]: "),
])
def test_a_bad_table_names_itself_and_the_fix(load: Any, says: str) -> None:
    with pytest.raises((KeyError, ValueError)) as err:
        load()
    assert says in str(err.value)

"""Every render case (5 templates × local/aws + 12 variants, scripts/render_cases.py) renders to
exactly the bytes recorded in tests/data/render_digests.json: manifests, the inventory and each
resource's options (parent, dependencies, protect, retain, provider).

It keeps refactors honest (issue 23: "renders unchanged"). A change that is meant to change what
omgml writes updates the record in the same commit, which then shows which cases changed:

    python scripts/render_cases.py digests tests/data/render_digests.json

and `bash scripts/render-compare.sh REV` shows the diff itself against any revision.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RECORD = ROOT / "tests" / "data" / "render_digests.json"


def _cases() -> Any:
    spec = importlib.util.spec_from_file_location("render_cases", ROOT / "scripts" / "render_cases.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def changed_files(recorded: dict[str, dict[str, str]], now: dict[str, dict[str, str]]) -> list[str]:
    """`case/file` for every file whose bytes differ, that is new, or that is gone."""
    out = []
    for case in sorted(set(recorded) | set(now)):
        before, after = recorded.get(case, {}), now.get(case, {})
        out += [f"{case}/{f}" for f in sorted(set(before) | set(after)) if before.get(f) != after.get(f)]
    return out


def test_changed_files_names_each_difference() -> None:
    recorded = {"a": {"x.yaml": "1", "y.yaml": "2"}, "b": {"z.yaml": "3"}}
    assert changed_files(recorded, recorded) == []
    assert changed_files(recorded, {"a": {"x.yaml": "1", "y.yaml": "9", "new.yaml": "4"}}) == [
        "a/new.yaml", "a/y.yaml", "b/z.yaml"]


def test_every_render_case_is_byte_identical_to_the_record(tmp_path: Path) -> None:
    recorded = json.loads(RECORD.read_text())
    now = _cases().digests(tmp_path)
    assert len(now) == 22, sorted(now)
    changed = changed_files(recorded, now)
    assert not changed, (
        f"{len(changed)} rendered files differ from tests/data/render_digests.json: {changed[:20]}. "
        "If the change is intended, name it in the commit and record it with "
        "`python scripts/render_cases.py digests tests/data/render_digests.json`; "
        "`bash scripts/render-compare.sh REV` shows the diff.")

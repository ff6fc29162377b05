"""Data-quality suites and the runner image: what the project keeps and what the program reads.

Suites are Great Expectations' own ExpectationSuite JSON, one file per suite in the project's
`phases.foundation.data_quality.suites_dir` (data-quality/suites/<suite>.json). `omgml init`
writes a starter suite for the feature data; the program edge (omgml.program, `omgml render` of
a project) reads the files with `load_suites`, which refuses a file that does not parse or does
not hold a suite, naming the file, the place and the fix. Components receive the parsed suites.

The runner image: GX Core has no official image (its repository's docker/ folder keeps only a
test image, and the old greatexpectations/great_expectations images stopped at 0.x), and a pod
must not pip-install at run time (no internet egress from regulated namespaces, no unpinned
code). So `omgml init` writes images/data-quality/ (Dockerfile + a lock file with every
dependency pinned by version and sha256); the team builds it once per omgml release. Its
reference is `runner_image(spec)`: the spec's `image`, or a tag derived from the lock's content
under `omgml.local/` for a kind cluster (`kind load docker-image`). On aws, push it to your
registry and set `phases.foundation.data_quality.image`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omgml.errors import SpecError

if TYPE_CHECKING:
    from omgml.spec import PlatformSpec

GX_VERSION = "1.24.1"
OPENLINEAGE_VERSION = "1.54.0"
DOCKERFILE = "data-quality.Dockerfile"
LOCK_FILE = "data-quality-requirements.txt"
IMAGE_DIR = "images/data-quality"
LOCAL_REGISTRY = "omgml.local"
_EXPECTATION = re.compile(r"^expect_[a-z0-9_]+$")


@dataclass(frozen=True)
class Suite:
    """One suite: its name (the file's stem) and its document (GX ExpectationSuite JSON)."""

    name: str
    document: dict[str, Any]

    def text(self) -> str:
        return json.dumps(self.document, indent=2, sort_keys=True) + "\n"


def _data_text(name: str) -> str:
    return resources.files("omgml.data").joinpath(name).read_text(encoding="utf-8")


def dockerfile_text() -> str:
    return _data_text(DOCKERFILE)


def lock_text() -> str:
    return _data_text(LOCK_FILE)


def image_files() -> dict[str, str]:
    """What `omgml init` writes under images/data-quality/."""
    return {f"{IMAGE_DIR}/Dockerfile": dockerfile_text(), f"{IMAGE_DIR}/requirements.txt": lock_text()}


def default_image() -> str:
    """The tag of the image built from images/data-quality/: it changes with its content."""
    digest = hashlib.sha256((dockerfile_text() + "\0" + lock_text()).encode()).hexdigest()[:10]
    return f"{LOCAL_REGISTRY}/data-quality:gx{GX_VERSION}-{digest}"


def runner_image(spec: PlatformSpec) -> str:
    return spec.phases.foundation.data_quality.image or default_image()


def starter_suite(name: str) -> Suite:
    """A first suite for feature data: the table is not empty and every row has the event
    timestamp Feast's point-in-time joins need. Edit it for your own columns."""
    return Suite(name, {
        "name": name,
        "meta": {"notes": "Written by `omgml init`: a starting point for the feature data. Add expectations "
                          "for your own columns (GX Core expectation types: expect_column_values_to_be_between, "
                          "expect_column_values_to_be_in_set, ...)."},
        "expectations": [
            {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
            {"type": "expect_column_to_exist", "kwargs": {"column": "event_timestamp"}},
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "event_timestamp"}},
        ],
    })


def suite_names(spec: PlatformSpec) -> list[str]:
    """The suites the spec's checks use, in order, each once."""
    names: list[str] = []
    for check in spec.phases.foundation.data_quality.checks:
        if check.suite not in names:
            names.append(check.suite)
    return names


def default_suites(spec: PlatformSpec) -> dict[str, Suite]:
    """The starter suite for every suite the checks name (what `omgml init` writes)."""
    if not spec.phases.foundation.data_quality.enabled:
        return {}
    return {name: starter_suite(name) for name in suite_names(spec)}


def suite_files(spec: PlatformSpec) -> dict[str, str]:
    """{project-relative path: text} of the starter suites."""
    folder = spec.phases.foundation.data_quality.suites_dir
    return {f"{folder}/{s.name}.json": s.text() for s in default_suites(spec).values()}


def parse_suite(text: str, name: str, source: str) -> Suite:
    """A suite file's text as a Suite; SpecError naming the file, the place and the fix."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(source, [f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}; "
                                 "a suite is GX's ExpectationSuite JSON ({\"name\": ..., \"expectations\": [...]})"]
                        ) from None
    problems: list[str] = []
    if not isinstance(doc, dict):
        raise SpecError(source, [f"(top level): must be a JSON object (an ExpectationSuite), got {type(doc).__name__}"])
    if doc.get("name") != name:
        problems.append(f"name: must be {name!r} (the file's name without .json), got {doc.get('name')!r}; "
                        "rename the file or the suite")
    expectations = doc.get("expectations")
    if not isinstance(expectations, list) or not expectations:
        problems.append("expectations: must be a non-empty list of {\"type\": \"expect_...\", \"kwargs\": {...}}")
        expectations = []
    for i, item in enumerate(expectations):
        where = f"expectations[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be an object with type and kwargs, got {type(item).__name__}")
            continue
        kind = item.get("type")
        if not isinstance(kind, str) or not _EXPECTATION.match(kind):
            problems.append(f"{where}.type: {kind!r} is not a GX expectation type (expect_<snake_case>, e.g. "
                            "expect_column_values_to_not_be_null)")
        if not isinstance(item.get("kwargs", {}), dict):
            problems.append(f"{where}.kwargs: must be an object of the expectation's arguments")
        unknown = sorted(set(item) - {"type", "kwargs", "meta", "id", "notes", "description", "rendered_content"})
        if unknown:
            problems.append(f"{where}: unknown keys {unknown}; an expectation has type, kwargs and meta")
    if problems:
        raise SpecError(source, problems)
    return Suite(name, doc)


def load_suites(project_dir: Path, spec: PlatformSpec) -> dict[str, Suite]:
    """Every suite the spec's checks name, read from the project's suites folder."""
    dq = spec.phases.foundation.data_quality
    if not dq.enabled:
        return {}
    folder = project_dir / dq.suites_dir
    out: dict[str, Suite] = {}
    for i, check in enumerate(dq.checks):
        if check.suite in out:
            continue
        path = folder / f"{check.suite}.json"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SpecError(str(project_dir / "omgml.yaml"), [
                f"phases.foundation.data_quality.checks[{i}].suite: {check.suite!r} has no file {path}; write the "
                f"suite there (`omgml init --force` writes a starter) or name an existing suite"]) from None
        except OSError as exc:
            raise SpecError(str(path), [f"cannot read the suite: {exc.strerror}"]) from None
        out[check.suite] = parse_suite(text, check.suite, str(path))
    return out

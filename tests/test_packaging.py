"""pyproject's package settings ship every package and data file (the fast half of
scripts/packaging.sh, which builds and installs the real wheel)."""

from __future__ import annotations

import fnmatch
import os
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _setuptools_config() -> dict[str, Any]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    config: dict[str, Any] = data["tool"]["setuptools"]
    return config


def discovered_packages() -> set[str]:
    """What setuptools finds with pyproject's `packages.find` settings (as the build does)."""
    from setuptools.discovery import PackageFinder, PEP420PackageFinder

    find = _setuptools_config()["packages"]["find"]
    finder = PEP420PackageFinder if find.get("namespaces", True) else PackageFinder
    return set(finder.find(str(ROOT), include=find.get("include", ("*",)), exclude=find.get("exclude", ())))


def tree_packages() -> dict[str, Path]:
    """Every folder under omgml/ that holds Python code, following the symlinked packages."""
    out: dict[str, Path] = {}
    for folder, dirs, files in os.walk(ROOT / "omgml", followlinks=True):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        if any(f.endswith(".py") for f in files):
            rel = Path(folder).relative_to(ROOT)
            out[".".join(rel.parts)] = Path(folder)
    return out


def test_every_code_folder_is_a_package_the_build_discovers() -> None:
    found = discovered_packages()
    for name, folder in tree_packages().items():
        assert (folder / "__init__.py").exists(), f"{folder} holds modules but no __init__.py: it would not ship"
        assert name in found, f"{name} is not in the packages setuptools discovers: it would be left out of the wheel"
    # The symlinked top-level folders ship only under omgml.*, never as colliding top-level names.
    assert {"omgml.components", "omgml.blueprints", "omgml.cli", "omgml.deploy"} <= found
    assert not {p for p in found if not p.startswith("omgml")}


def test_every_data_file_is_declared_package_data() -> None:
    patterns: dict[str, list[str]] = _setuptools_config()["package-data"]
    undeclared = []
    for name, folder in tree_packages().items():
        for entry in folder.iterdir():
            if entry.is_file() and entry.suffix not in (".py", ".pyc"):
                globs = patterns.get(name, []) + patterns.get("*", [])
                if not any(fnmatch.fnmatch(entry.name, g) for g in globs):
                    undeclared.append(str(entry.relative_to(ROOT)))
    assert not undeclared, f"read at run time but not in [tool.setuptools.package-data]: {undeclared}"


def test_license_is_an_spdx_expression() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    # The table form ({text = ...}) makes setuptools print deprecation warnings at every install.
    assert isinstance(project["license"], str)

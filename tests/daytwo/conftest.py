from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from omgml.cli.app import app


def init_project(root: Path, template: str = "starter", edit: dict[str, object] | None = None) -> Path:
    """`omgml init` a project, then set omgml.yaml keys (dotted paths under platform.phases)."""
    import yaml

    result = CliRunner().invoke(app, ["init", str(root), "--template", template])
    assert result.exit_code == 0, result.output
    if edit:
        data = yaml.safe_load((root / "omgml.yaml").read_text())
        for dotted, value in edit.items():
            node = data["platform"]
            *path, last = dotted.split(".")
            for key in path:
                node = node.setdefault(key, {})
            node[last] = value
        (root / "omgml.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return root


@pytest.fixture(scope="session")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_project(tmp_path_factory.mktemp("starter") / "team")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr

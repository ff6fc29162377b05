"""Tables never cut a value; `--json` carries what the tables show."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console
from typer.testing import CliRunner

from omgml.cli.app import app
from omgml.cli.output import UNLIMITED_WIDTH, Table, console, full_width, print_table
from tests.policy.fixtures import deployment, network_policy

LONG = "omgml-serving/Deployment/" + "a-really-long-workload-name-that-does-not-fit-in-eighty-columns"


def _table() -> Table:
    t = Table("Top consumers", ("CPU", "component"), numeric=frozenset({"CPU"}))
    t.add("0.5 CPU", LONG)
    return t


def test_a_narrow_terminal_folds_long_values_instead_of_cutting_them() -> None:
    out = io.StringIO()
    print_table(Console(file=out, width=80, force_terminal=True, color_system=None), _table())
    text = out.getvalue()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    # The value continues on the next lines of its column: remove the frame and it is whole again.
    assert LONG in re.sub(r"[\s│┃┏┓┗┛┡┩└┘╇━─┃]", "", text)


def test_output_that_is_not_a_terminal_gets_whole_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    assert full_width(stream=io.StringIO())
    assert full_width(wide=True, stream=io.StringIO())
    monkeypatch.setattr("sys.stdout", io.StringIO())  # piped
    assert console().width == UNLIMITED_WIDTH


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_folds_unless_wide() -> None:
    assert not full_width(stream=_Tty())
    assert full_width(wide=True, stream=_Tty())


def _project(tmp_path: Path, platform: dict[str, Any]) -> Path:
    (tmp_path / "omgml.yaml").write_text(yaml.safe_dump({"platform": platform}))
    return tmp_path


def test_check_prints_full_names_when_piped_in_80_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import omgml.synth.render as render_mod

    real = render_mod.render_platform
    name = LONG.rsplit("/", 1)[1]

    def planted(spec: Any, phases: Any = None, project_dir: Any = None) -> Any:
        out = real(spec, ["foundation"])
        out.phases[0].manifests = [deployment(name, "omgml-serving"), network_policy("omgml-serving")]
        return out

    monkeypatch.setattr(render_mod, "render_platform", planted)
    result = CliRunner().invoke(app, ["check", str(_project(tmp_path, {"name": "demo"}))], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert any(LONG in line for line in result.output.splitlines())
    assert "…" not in result.output


def _rows_printed(text: str, table: dict[str, Any]) -> None:
    lines = text.splitlines()
    for row in table["rows"]:
        cells = [str(v) for v in row.values()]
        assert any(all(c in line for c in cells) for line in lines), f"{cells} not printed"


def test_render_json_has_the_printed_tables(tmp_path: Path) -> None:
    project = _project(tmp_path, {"name": "demo"})
    text = CliRunner().invoke(app, ["render", str(project), "--phase", "foundation"])
    data = CliRunner().invoke(app, ["render", str(project), "--phase", "foundation", "--json"])
    assert text.exit_code == 0 and data.exit_code == 0, data.output
    parsed = json.loads(data.output)
    titles = [t["title"] for t in parsed["tables"]]
    assert titles == ["Kubernetes objects per kind", "Resources per component"]
    assert parsed["tables"][0]["rows"] and parsed["tables"][1]["rows"]
    for table in parsed["tables"]:
        assert table["title"] in text.output
        _rows_printed(text.output, table)
    assert parsed["written"][-1].endswith("inventory.json") and parsed["validation"] is None


def test_render_json_reports_validation(tmp_path: Path) -> None:
    data = CliRunner().invoke(app, ["render", str(_project(tmp_path, {"name": "demo", "target": "aws"})),
                                    "--phase", "foundation", "--validate", "--json"])
    assert data.exit_code == 0, data.output
    assert json.loads(data.output)["validation"] == {"kubernetes_version": "1.35.0", "problems": []}  # aws default: 1.35


@pytest.mark.parametrize("command", [["check", "no-such-project"], ["cost", "no-such-project"], ["diff", "old", "new"]])
def test_an_unknown_output_format_is_refused_before_anything_runs(command: list[str]) -> None:
    # None of the paths exists: the format is refused first, so its error is the one shown.
    result = CliRunner().invoke(app, [*command, "-o", "yaml"])
    assert result.exit_code == 2
    assert "--output must be text, json or markdown, got 'yaml'" in result.output

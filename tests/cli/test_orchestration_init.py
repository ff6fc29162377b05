"""`omgml init` for requirements that make the engine choose airflow, prefect and delta-lake:
each project renders, validates strictly and passes `omgml check`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from omgml.cli.app import app

runner = CliRunner()

CASES: dict[str, tuple[dict[str, Any], str, str]] = {
    # name: (requirements, area, the engine's choice)
    "airflow": ({"name": "p-airflow", "orchestration": {"existing": "airflow"}}, "orchestration", "airflow"),
    "prefect": ({"name": "p-prefect"}, "orchestration", "prefect"),
    "delta": ({"name": "p-delta", "flags": ["batch_only"]}, "feature_store", "delta-lake"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_init_render_validate_and_check(tmp_path: Path, case: str) -> None:
    requirements, area, choice = CASES[case]
    req = tmp_path / "requirements.yaml"
    req.write_text(yaml.safe_dump(requirements))
    project = tmp_path / case
    init = runner.invoke(app, ["init", str(project), "--requirements", str(req)])
    assert init.exit_code == 0, init.output
    adrs = {p.name: p.read_text() for p in (project / "docs" / "adr").iterdir()}
    adr = next(text for name, text in adrs.items() if area.replace("_", "-") in name)
    assert f"Use **{choice}**." in adr and "cannot deploy" not in adr
    render = runner.invoke(app, ["render", str(project), "--validate"])
    assert render.exit_code == 0, render.output
    assert "(strict)" in render.output
    check = runner.invoke(app, ["check", str(project)])
    assert check.exit_code == 0, check.output
    assert "check passed" in check.output
    rendered = "\n".join(p.read_text() for p in sorted((project / "rendered").glob("*.yaml")))
    evidence = {"airflow": "name: airflow-connections", "prefect": "name: prefect-worker",
                "delta": "name: feast-delta-tables-"}[case]
    assert evidence in rendered

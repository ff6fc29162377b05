"""One cost model: `omgml recommend`, the README `omgml init` writes and `omgml cost` print the same
total to the cent for every template on aws; docs/cost.md quotes the same numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omgml.cli.app import app
from omgml.templates import template_names

runner = CliRunner()
DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict[str, object], Path]]:
    """Per template on aws: the `recommend --json` output and the project `init` wrote."""
    out = {}
    root = tmp_path_factory.mktemp("one-cost")
    for name in template_names():
        rec = runner.invoke(app, ["recommend", "--template", name, "--target", "aws", "--json"])
        assert rec.exit_code == 0, rec.output
        target = root / name
        init = runner.invoke(app, ["init", str(target), "--template", name, "--target", "aws"])
        assert init.exit_code == 0, init.output
        out[name] = (json.loads(rec.output), target)
    return out


@pytest.mark.parametrize("name", template_names())
def test_recommend_readme_docs_and_cost_agree_to_the_cent(
        projects: dict[str, tuple[dict[str, object], Path]], name: str) -> None:
    data, project = projects[name]
    cost = data["cost"]
    assert isinstance(cost, dict)
    total = cost["total_usd_month"]
    readme = (project / "README.md").read_text()
    assert f"| **total** | **{total:,.2f}** |" in readme
    for phase, usd in cost["per_phase"].items():
        assert f"| {phase} | {usd:,.2f} |" in readme
    assert f"**omgml cost**: {total:,.2f} USD/month" in (project / "docs" / "cost.md").read_text()
    result = runner.invoke(app, ["cost", str(project), "-o", "json"])
    assert result.exit_code == 0, result.output
    fresh = json.loads(result.output)
    assert fresh["total_usd_month"] == total and fresh["per_phase"] == cost["per_phase"]
    assert fresh["usage_source"].startswith("the requirements in ")


def test_omgml_docs_cost_page_quotes_the_same_totals(projects: dict[str, tuple[dict[str, object], Path]]) -> None:
    page = (DOCS / "cost.md").read_text()
    for name, (data, _) in projects.items():
        cost = data["cost"]
        assert isinstance(cost, dict)
        row = re.search(rf"^\| {name} \| .*\| \*\*([0-9,.]+)\*\* \|$", page, re.M)
        assert row is not None, name
        assert row.group(1) == f"{cost['total_usd_month']:,.2f}", f"docs/cost.md is stale for {name}: python -m omgml.docs"

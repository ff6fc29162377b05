"""The requirements file is documented from the model and cannot drift: the page lists every field,
omgml's docs/ hold the generated text, `omgml schema requirements` is the model's JSON Schema, and the
decision-matrix page states the switches the engine really uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from omgml.cli.app import app
from omgml.recommend.matrix_doc import decision_matrix_markdown
from omgml.recommend.switches import SWITCH_SOURCES, effective_switches
from omgml.spec.requirements import FLAGS, requirements_from_dict
from omgml.spec.requirements_doc import requirement_fields, requirements_markdown

runner = CliRunner()
DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_page_lists_every_field_with_its_unit_and_default() -> None:
    page = requirements_markdown()
    paths = [path for path, _ in requirement_fields()]
    assert len(paths) > 30 and "assumptions.rps_per_gpu" in paths and "serving.mode" in paths
    for path, info in requirement_fields():
        assert f"`{path}`" in page, path
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if "unit" in extra:
            row = next(line for line in page.splitlines() if line.startswith(f"| `{path}` |"))
            assert f"| {extra['unit']} |" in row, path


def test_every_leaf_field_says_what_it_means() -> None:
    for path, info in requirement_fields():
        nested = info.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):  # a section
            assert nested.__doc__, path
        else:
            assert info.description, f"{path} has no description"


def test_the_page_shows_every_template() -> None:
    page = requirements_markdown()
    for name in ("starter", "enterprise", "fintech", "research", "batch"):
        assert f"### {name}" in page and f"name: {name}\n" in page


@pytest.mark.parametrize(("page", "build"), [("requirements.md", requirements_markdown),
                                              ("decision-matrix.md", decision_matrix_markdown)])
def test_omgmls_docs_hold_the_generated_pages(page: str, build: object) -> None:
    assert callable(build)
    assert (DOCS / page).read_text() == build(), f"docs/{page} is stale: run `python -m omgml.docs`"


def test_schema_command_prints_the_models_json_schema() -> None:
    result = runner.invoke(app, ["schema", "requirements"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    assert schema["title"] == "omgml requirements" and schema["required"] == ["name"]
    assert schema["additionalProperties"] is False
    serving = schema["$defs"]["ServingRequirements"]["properties"]
    assert serving["peak_rps"]["unit"] == "requests/s" and "Sizes the model-server replicas" in serving["peak_rps"]["description"]
    platform = json.loads(runner.invoke(app, ["schema", "platform"]).output)
    assert platform["title"] == "omgml platform spec" and "phases" in platform["properties"]
    bad = runner.invoke(app, ["schema", "requirement"])
    assert bad.exit_code == 2 and "use one of requirements, platform" in bad.output


def test_the_matrix_page_lists_every_switch_and_its_sources_are_real() -> None:
    assert [s for s, _ in SWITCH_SOURCES] == list(FLAGS)
    page = decision_matrix_markdown()
    for switch in FLAGS:
        assert f"`flags.{switch}`" in page
    # Each documented source really turns its switch on.
    examples = {
        "models.count > 1": {"models": {"count": 2}},
        "more than one entry in models.frameworks": {"models": {"frameworks": ["pytorch", "jax"]}},
        "models.frameworks == [pytorch]": {"models": {"frameworks": ["pytorch"]}},
        "orchestration.existing == kubeflow": {"orchestration": {"existing": "kubeflow"}},
        "orchestration.existing == airflow": {"orchestration": {"existing": "airflow"}},
        "serving.latency_p99_ms ≤ 1000": {"serving": {"latency_p99_ms": 1000}},
        "data.streaming": {"data": {"streaming": True}},
        "data.batch_only": {"data": {"batch_only": True}},
    }
    for switch, sources in SWITCH_SOURCES:
        for source in sources:
            req = requirements_from_dict({"name": "m", **examples[source]})
            assert switch in effective_switches(req), (switch, source)

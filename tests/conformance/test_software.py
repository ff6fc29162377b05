"""Unit tests of the conformance tier's software installer: no network, no registry.

Commands that would reach a registry are replaced by a fake runner; everything else (stamps,
status files, version checks, refusal extraction, the lock) is the real code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from omgml.components import feast, kafka, mlflow, objectstore, postgres, redis
from tests.conformance.harness import software as sw

PYPI_PIECE = """
[defaults]
pip = "26.3"
maven_dependency_plugin = "3.8.1"

[host]
sh = "dash"

[pieces.tool]
image = "example/tool:1.2.3"
source = "pypi"
required = {required}
version = "{version}"
requirements = ["tool=={version}"]
bins = {{ tool = "venv/bin/tool" }}
verify = [{{ bin = "tool", args = ["--version"], expect = "{version}" }}]
"""


def pins_text(version: str = "1.2.3", required: bool = True) -> str:
    return PYPI_PIECE.format(version=version, required=str(required).lower())


class FakeRegistry:
    """Stands in for pip: `venv` makes the folder, `pip install tool==X` writes a `tool`
    that reports `printed` (X by default), or fails with pip's own words when `refuse` is
    set. Every other command (the version checks) runs for real through run_logged."""

    def __init__(self, refuse: str | None = None, printed: str | None = None) -> None:
        self.refuse = refuse
        self.printed = printed
        self.calls: list[list[str]] = []

    def __call__(self, cmd: Sequence[str], *, env: Mapping[str, str], cwd: Path, log: Path,
                 timeout: float = sw.STEP_TIMEOUT) -> str:
        cmd = list(cmd)
        if cmd[0] == "nice" or cmd[0].endswith("/nice"):
            cmd = cmd[3:]
        self.calls.append(cmd)
        if cmd[1:3] == ["-m", "venv"]:
            (Path(cmd[3]) / "bin").mkdir(parents=True)
            return ""
        if cmd[1:4] == ["-m", "pip", "install"] and any(a.startswith("tool==") for a in cmd):
            if self.refuse:
                # The failing command is real, so run_logged's handling of it is exercised too.
                script = f"echo 'Collecting tool'; echo 'ERROR: {self.refuse}' >&2; exit 1"
                return sw.run_logged(["sh", "-c", script], env=env, cwd=cwd, log=log)
            version = next(a for a in cmd if a.startswith("tool==")).split("==")[1]
            tool = Path(cwd) / "venv" / "bin" / "tool"
            tool.write_text(f"#!/bin/sh\necho 'tool, version {self.printed or version}'\n")
            tool.chmod(0o755)
            return ""
        if cmd[1:3] == ["-m", "pip"]:
            return ""
        return sw.run_logged(cmd, env=env, cwd=cwd, log=log, timeout=timeout)


def context(tmp_path: Path, pins: sw.Pins, runner: FakeRegistry) -> sw.Context:
    return sw.Context(cache=tmp_path / "cache", pins=pins, run=runner, say=lambda _line: None)


# ---------------------------------------------------------------------------- pins


def test_pins_file_names_the_images_omgml_renders() -> None:
    pins = sw.load_pins()
    rendered = {
        "postgres": postgres.IMAGE, "redis": redis.IMAGE, "kafka": kafka.IMAGE,
        "seaweedfs": objectstore.IMAGE, "mlflow": mlflow.IMAGE, "feast": feast.IMAGE,
    }
    for name, image in rendered.items():
        assert pins.pieces[name].image == image, f"software.toml pieces.{name}.image is stale"
        assert pins.pieces[name].required, f"{name} runs in the foundation: mark it required"
    from omgml.components import evidently, modelserver
    from omgml.components.prometheus import alertmanager, pushgateway, server

    serving = {"prometheus": server.PROMETHEUS_IMAGE, "alertmanager": alertmanager.ALERTMANAGER_IMAGE,
               "pushgateway": pushgateway.PUSHGATEWAY_IMAGE, "evidently": evidently.component.IMAGE,
               "awscli": modelserver.SYNC_IMAGE}
    for name, image in serving.items():
        assert pins.pieces[name].image == image, f"software.toml pieces.{name}.image is stale"
    from omgml.data_quality import default_image

    assert pins.pieces["data-quality"].image == default_image(), "software.toml pieces.data-quality.image is stale"
    optional = {name for name, piece in pins.pieces.items() if not piece.required}
    assert "torchserve" in optional
    from omgml.components import optuna

    assert pins.pieces["optuna-dashboard"].image == optuna.DASHBOARD_IMAGE, "pieces.optuna-dashboard.image is stale"
    # The governance piece is the step image's environment: the MLflow client and the pinned libraries
    # governance/requirements.txt names.
    from omgml.governance.samples import REQUIREMENTS

    assert set(REQUIREMENTS) <= set(pins.pieces["governance"].table["requirements"])
    assert f"optuna=={optuna.OPTUNA_VERSION}" in pins.pieces["governance"].table["requirements"]


def test_pins_every_python_requirement_exactly() -> None:
    for piece in sw.load_pins().pieces.values():
        for requirement in piece.table.get("requirements", []):
            assert "==" in requirement, f"{piece.name}: {requirement}"
        if piece.version not in piece.image:
            assert piece.differs, f"{piece.name} runs {piece.version} for {piece.image}: say why in `differs`"


@pytest.mark.parametrize(("broken", "field", "fix"), [
    ('requirements = ["tool>=1.2.3"]', "pieces.tool.requirements", "name==version"),
    ('source = "npm"', "pieces.tool.source", "pypi"),
    ('host = ["psql"]', "pieces.tool.host", "[host]"),
    ('verify = []', "pieces.tool.verify", "version check"),
])
def test_bad_pins_name_the_field_and_the_fix(broken: str, field: str, fix: str) -> None:
    key = broken.split(" = ")[0]
    lines = [line for line in pins_text().splitlines() if not line.startswith(f"{key} = ")]
    text = "\n".join(lines).replace('[pieces.tool]\n', f'[pieces.tool]\n{broken}\n')
    with pytest.raises(sw.PinsError) as err:
        sw.parse_pins(text)
    assert field in str(err.value)
    assert fix in str(err.value)


def test_version_check_matches_the_pinned_release_only() -> None:
    assert sw.version_reported("postgres (PostgreSQL) 18.6", "18.6")
    assert sw.version_reported("psql (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", "15")
    assert not sw.version_reported("postgres (PostgreSQL) 18.60", "18.6")
    assert not sw.version_reported("postgres (PostgreSQL) 118.6", "18.6")
    assert not sw.version_reported("Redis server v=8.2.31", "8.2.3")


# ---------------------------------------------------------------------------- install, stamps


def test_stamp_makes_a_second_install_a_no_op_until_a_pin_changes(tmp_path: Path) -> None:
    registry = FakeRegistry()
    pins = sw.parse_pins(pins_text("1.2.3"))
    ctx = context(tmp_path, pins, registry)
    assert sw.install(list(pins.pieces.values()), ctx) == 0
    assert sw.install_piece(pins.pieces["tool"], ctx).outcome == "current"
    first_calls = len(registry.calls)
    assert sw.install_piece(pins.pieces["tool"], ctx).outcome == "current"
    assert len(registry.calls) == first_calls, "a current piece ran commands"
    found = sw.locate("tool", ctx.cache, pins)
    assert isinstance(found, sw.Installed)
    assert found.bins["tool"] == ctx.cache / "tool" / "venv" / "bin" / "tool"
    assert found.python == ctx.cache / "tool" / "venv" / "bin" / "python"

    bumped = sw.parse_pins(pins_text("1.2.4"))
    assert isinstance(sw.locate("tool", ctx.cache, bumped), sw.Unavailable)
    result = sw.install_piece(bumped.pieces["tool"], context(tmp_path, bumped, registry))
    assert result.outcome == "installed"
    assert any("tool==1.2.4" in cmd for cmd in registry.calls[first_calls:])
    assert isinstance(sw.locate("tool", ctx.cache, bumped), sw.Installed)


def test_unavailable_piece_records_the_registry_refusal(tmp_path: Path) -> None:
    refusal = "No matching distribution found for tool==1.2.3"
    pins = sw.parse_pins(pins_text(required=False))
    ctx = context(tmp_path, pins, FakeRegistry(refuse=refusal))
    assert sw.install(list(pins.pieces.values()), ctx) == 0, "an optional piece must not fail the install"
    found = sw.locate("tool", ctx.cache, pins)
    assert isinstance(found, sw.Unavailable)
    assert found.reason == refusal
    assert not (ctx.cache / "tool" / sw.STAMP).exists()
    status = sw._read_json(sw.status_path(ctx.cache, "tool"))
    assert status is not None and status["state"] == "failed" and "ERROR: " + refusal in status["tail"]

    required = sw.parse_pins(pins_text(required=True))
    assert sw.install(list(required.pieces.values()), context(tmp_path, required, FakeRegistry(refuse=refusal))) == 1


def test_a_binary_reporting_another_version_is_not_installed(tmp_path: Path) -> None:
    pins = sw.parse_pins(pins_text("1.2.3"))
    ctx = context(tmp_path, pins, FakeRegistry(printed="1.2.2"))
    result = sw.install_piece(pins.pieces["tool"], ctx)
    assert result.outcome == "failed"
    assert "not version 1.2.3" in result.reason
    found = sw.locate("tool", ctx.cache, pins)
    assert isinstance(found, sw.Unavailable) and "1.2.2" in found.reason


def test_missing_host_command_names_the_apt_package(tmp_path: Path) -> None:
    text = pins_text().replace('sh = "dash"', 'omgml-no-such-command = "omgml-pkg"').replace(
        'bins = {', 'host = ["omgml-no-such-command"]\nbins = {')
    pins = sw.parse_pins(text)
    registry = FakeRegistry()
    result = sw.install_piece(pins.pieces["tool"], context(tmp_path, pins, registry))
    assert result.outcome == "failed"
    assert "apt-get install omgml-pkg" in result.reason
    assert registry.calls == [], "nothing is downloaded before the host is complete"


# ---------------------------------------------------------------------------- refusals, lock


@pytest.mark.parametrize(("output", "refusal"), [
    ("Collecting x\nERROR: Could not find a version that satisfies the requirement x==9 (from versions: 1)\n"
     "ERROR: No matching distribution found for x==9\n", "No matching distribution found for x==9"),
    ("go: downloading github.com/a/b v1.0.0\ngo: github.com/a/b@v9.9.9: reading "
     "https://example.invalid/github.com/a/b/@v/v9.9.9.info: 404 Not Found\n",
     "go: github.com/a/b@v9.9.9: reading https://example.invalid/github.com/a/b/@v/v9.9.9.info: 404 Not Found"),
    ('{\n\t"Path": "github.com/a/b",\n\t"Version": "v9.9.9",\n\t"Error": "unknown revision v9.9.9"\n}\n',
     "unknown revision v9.9.9"),
    ("[INFO] Scanning\n[ERROR] Failed to execute goal x:y:1:copy (default-cli): Unable to resolve artifact.\n"
     "[ERROR] more\n", "Failed to execute goal x:y:1:copy (default-cli): Unable to resolve artifact."),
])
def test_refusal_is_the_registry_s_own_line(output: str, refusal: str) -> None:
    assert sw.refusal_from_output(output) == refusal


def test_second_installer_waits_for_the_lock_then_gives_up_clearly(tmp_path: Path) -> None:
    said: list[str] = []
    with sw.cache_lock(tmp_path, exclusive=True, timeout=1), pytest.raises(TimeoutError) as err, \
            sw.cache_lock(tmp_path, exclusive=True, timeout=0.3, say=said.append):
        pass
    assert "still held" in str(err.value)
    assert said and "waiting for the cache lock" in said[0] and f"pid {os.getpid()}" in said[0]
    with sw.cache_lock(tmp_path, exclusive=True, timeout=0.3, say=said.append):
        pass  # released: the next run gets it at once


def test_module_runs_as_a_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OMGML_CONFORMANCE_CACHE", str(tmp_path))
    assert sw.main(["list"]) == 0
    listed = capsys.readouterr().out
    assert "postgres" in listed and "not installed for the current pins" in listed
    assert sw.main(["install", "no-such-piece"]) == 2
    assert "unknown piece no-such-piece" in capsys.readouterr().err


def test_a_venv_built_by_another_python_is_rebuilt(monkeypatch: pytest.MonkeyPatch) -> None:
    pins = sw.parse_pins(pins_text())
    before = sw.pins_digest(pins.pieces["tool"], pins)
    monkeypatch.setattr(sw, "_python_id", lambda: "cpython-3.13@/opt/other")
    assert sw.pins_digest(pins.pieces["tool"], pins) != before


def test_a_step_that_overruns_fails_with_its_output(tmp_path: Path) -> None:
    log = tmp_path / "install.log"
    with pytest.raises(sw.StepFailed) as err:
        sw.run_logged(["sh", "-c", "echo resolving; sleep 5"], env=os.environ, cwd=tmp_path, log=log, timeout=0.5)
    assert err.value.refusal.startswith("timed out after")
    assert "resolving" in err.value.tail
    assert "[timed out after" in log.read_text()


def test_a_piece_marked_not_default_is_installed_only_when_named() -> None:
    pins = sw.load_pins()
    plain = {p.name for p in sw.select(pins, [])}
    assert "torchserve" not in plain and "postgres" in plain
    assert [p.name for p in sw.select(pins, ["torchserve"])] == ["torchserve"]


def test_go_builds_get_their_own_lane_beside_the_downloads() -> None:
    pieces = list(sw.load_pins().pieces.values())
    go_lane, rest_lane = sw.lanes(pieces)
    assert go_lane and all(p.source == "go" for p in go_lane)
    assert rest_lane and all(p.source != "go" for p in rest_lane)
    assert len(go_lane) + len(rest_lane) == len(pieces)

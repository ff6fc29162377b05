"""`--help` of every command: plain, readable metavars, and light (no heavy imports)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from omgml.cli.app import COMMANDS, app

# Imported by `--help` these would cost most of the 0.15 s budget (pydantic alone ~0.1 s).
HEAVY = ("pulumi", "pulumi_kubernetes", "pulumi_aws", "pulumi_random", "pydantic", "pydantic_core", "rich", "yaml",
         "kubernetes", "kubernetes_validate", "omgml.spec", "omgml.project", "omgml.recommend", "omgml.synth")


def all_commands() -> list[list[str]]:
    """Every command path: each entry of COMMANDS, and the commands of each group."""
    root = typer.main.get_command(app)
    ctx = typer.Context(root)
    paths: list[list[str]] = []
    for name in COMMANDS:
        paths.append([name])
        command = root.get_command(ctx, name)  # type: ignore[attr-defined]
        if hasattr(command, "list_commands"):
            paths += [[name, sub] for sub in command.list_commands(ctx)]
    return paths


def test_the_command_list_is_complete() -> None:
    paths = [" ".join(p) for p in all_commands()]
    for expected in ("render", "check", "up", "local up", "local status", "sync"):
        assert expected in paths


@pytest.mark.parametrize("path", [[], *all_commands()], ids=lambda p: " ".join(p) or "omgml")
def test_help_shows_names_not_types(path: list[str]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: omgml")
    # typer's defaults print `<bool>`/`<str>`/`<path>` after every option and `{project}` in usage.
    assert not re.search(r"<\w+>", result.output), result.output
    assert not re.search(r"\{\w+\}", result.output), result.output


def test_usage_names_the_arguments() -> None:
    result = CliRunner().invoke(app, ["render", "--help"])
    assert "Usage: omgml render [OPTIONS] PROJECT\n" in result.output
    assert "--phase PHASE" in result.output and "--out DIR" in result.output


def test_help_of_every_command_imports_nothing_heavy() -> None:
    """Run each `--help` in one fresh interpreter and list the heavy modules it imported."""
    paths = [[], *all_commands()]
    code = (
        "import json, sys\n"
        "from omgml.cli.app import main\n"
        f"paths = {json.dumps(paths)}\n"
        f"heavy = {HEAVY!r}\n"
        "seen = {}\n"
        "for path in paths:\n"
        "    sys.argv = ['omgml', *path, '--help']\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code in (0, None), (path, exc.code)\n"
        "    loaded = sorted(m for m in sys.modules if m in heavy or m.startswith(tuple(h + '.' for h in heavy)))\n"
        "    if loaded:\n"
        "        seen[' '.join(path)] = loaded[:5]\n"
        "        break\n"
        "print(json.dumps(seen))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(out.stdout.splitlines()[-1]) == {}


@pytest.mark.parametrize(("argv", "collector_on"), [(["render", "--help"], False), (["--help"], False),
                                                     (["up", "--help"], True), (["local", "up", "--help"], True)])
def test_only_long_running_commands_keep_the_cyclic_collector(argv: list[str], collector_on: bool) -> None:
    code = (
        "import gc, sys\n"
        f"sys.argv = ['omgml', *{argv!r}]\n"
        "from omgml.cli.app import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(gc.isenabled())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == str(collector_on)

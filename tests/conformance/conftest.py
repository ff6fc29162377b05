"""Fixtures of the conformance tier (`scripts/conformance.sh`, marker `conformance`).

One platform per session: a fresh `omgml init` + render of the project under test (the
`enterprise` template on the laptop profile unless OMGML_CONFORMANCE_TEMPLATE says otherwise),
brought up phase by phase as real processes, and torn down at the end whatever happens.
The summary table (workload → ran exact / adapted / skipped, version, status) and each step's
wall time are printed at the end of the session and written to the run folder.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conformance.harness.report import summary_markdown, summary_text

RUN_ROOT = Path(os.environ.get("OMGML_CONFORMANCE_RUN_DIR", "/tmp/omgml-conformance"))
_platform = None
_steps: list[tuple[str, float]] = []


def _skip_reason() -> str | None:
    if sys.platform != "linux":
        return "the conformance tier needs Linux namespaces"
    if os.geteuid() != 0:
        return "the conformance tier needs root (network namespaces, mounts); run scripts/conformance.sh as root"
    missing = [c for c in ("bwrap", "nft", "ip", "setpriv", "nsenter", "unshare") if shutil.which(c) is None]
    if missing:
        return f"missing commands {missing}; scripts/conformance.sh installs them"
    return None


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh project from the template, as a user would create it."""
    reason = _skip_reason()
    if reason:
        pytest.fail(reason)
    template = os.environ.get("OMGML_CONFORMANCE_TEMPLATE", "enterprise")
    root = tmp_path_factory.mktemp("project") / "platform"
    start = time.monotonic()
    omgml = Path(sys.executable).parent / "omgml"
    out = subprocess.run([str(omgml), "init", str(root), "--template", template],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr + out.stdout
    _steps.append((f"omgml init --template {template}", time.monotonic() - start))
    with_feature_repo(root)
    return root


def with_feature_repo(root: Path) -> None:
    """The team keeps its Feast definitions in a git repository (the tier's git host serves it):
    the platform then renders its `feast apply` Job, which the tier runs like the rest."""
    import yaml

    from tests.conformance.harness.fixtures import git_url

    spec_file = root / "omgml.yaml"
    data = yaml.safe_load(spec_file.read_text())
    feast = data["platform"]["phases"]["foundation"].setdefault("feast", {})
    feast["feature_repo"] = {"git_url": git_url(), "ref": "main", "path": "."}
    spec_file.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture(scope="session")
def platform(project: Path) -> Iterator[object]:
    """The foundation phase up and ready (later phases join as their tiers need them)."""
    global _platform
    from tests.conformance.harness.adapters import runtime_for
    from tests.conformance.harness.render import conformance_render
    from tests.conformance.harness.runner import Platform
    from tests.conformance.harness.software import cache_root

    from tests.conformance.harness.fixtures import GIT_NAMESPACE, GIT_SERVICE, ca_bundle, git_server_manifests, make_tls

    start = time.monotonic()
    render = conformance_render(project)
    _steps.append(("render (in-process, real credentials)", time.monotonic() - start))
    prefix = "omgc" + secrets.token_hex(2)
    run_dir = RUN_ROOT / prefix
    tls = make_tls(run_dir / "tls", [f"{GIT_SERVICE}.{GIT_NAMESPACE}.svc.cluster.local", f"{GIT_SERVICE}.{GIT_NAMESPACE}"])
    repo = Path(__file__).parent / "pod_scripts" / "feature_repo"
    render.add_fixtures(git_server_manifests({f.name: f.read_text() for f in repo.glob("*.py")}, tls))
    timeout = float(os.environ.get("OMGML_CONFORMANCE_TIMEOUT", "300"))
    plat = Platform(render, run_dir, runtime_for, prefix, cache_root(), timeout=timeout, ca_bundle=ca_bundle(tls))
    _platform = plat
    try:
        plat.start()
        plat.up(["fixtures", "foundation"])
        yield plat
    finally:
        plat.down()
        keep = os.environ.get("OMGML_CONFORMANCE_KEEP_RUN_DIR") == "1"
        (RUN_ROOT / prefix / "summary.md").parent.mkdir(parents=True, exist_ok=True)
        (RUN_ROOT / prefix / "summary.md").write_text(summary_markdown(plat, _steps))
        if not keep:
            for sub in ("pods", "claims", "tls"):
                shutil.rmtree(RUN_ROOT / prefix / sub, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _platform is None:
        return
    terminalreporter.write_sep("=", "conformance summary")
    terminalreporter.write_line(summary_text(_platform, _steps))


def pytest_sessionstart(session: pytest.Session) -> None:
    # Leftovers of an interrupted earlier run (a SIGKILL leaves no chance to clean up): namespaces
    # of the tier that no process uses any more. A run in progress keeps its own.
    if "conformance" in str(session.config.option.markexpr) and os.geteuid() == 0 and shutil.which("ip"):
        from tests.conformance.harness.network import remove_stale_namespaces

        remove_stale_namespaces("omgc")

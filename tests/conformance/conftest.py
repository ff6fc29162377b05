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
import signal
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
    conformance_project(root)
    return root


def conformance_project(root: Path) -> None:
    """The template as a team would finish it: its Feast definitions in a git repository (the
    tier's git host serves it), so the platform renders its `feast apply` Job; where its
    alerts go — a webhook (the tier's receiver), Slack and PagerDuty (whose routing key is an
    existing Secret, which the tier creates); and a scheduled batch scoring job."""
    import yaml

    from tests.conformance.harness.fixtures import git_url, webhook_url

    spec_file = root / "omgml.yaml"
    data = yaml.safe_load(spec_file.read_text())
    phases = data["platform"]["phases"]
    feast = phases["foundation"].setdefault("feast", {})
    feast["feature_repo"] = {"git_url": git_url(), "ref": "main", "path": "."}
    prometheus = phases.get("serving", {}).setdefault("prometheus", {})
    prometheus["grafana"] = True  # Grafana itself cannot run here; its dashboards' queries are checked
    prometheus["receivers"] = [
        {"name": "oncall-webhook", "kind": "webhook", "url": webhook_url()},
        {"name": "team-slack", "kind": "slack", "url": "https://hooks.slack.example.invalid/services/T0/B0/X"},
        {"name": "pager", "kind": "pagerduty", "secret_name": PAGERDUTY_SECRET, "secret_key": "routing-key"},
    ]
    # Batch predictions with Spark (test_batch_scoring.py runs its program on this platform).
    phases.setdefault("serving", {})["batch_scoring"] = {
        "enabled": True, "model": "conformance-batch", "keep_columns": ["customer_id"],
        "python_packages": ["scikit-learn==1.9.1"]}
    spec_file.write_text(yaml.safe_dump(data, sort_keys=False))


PAGERDUTY_SECRET = "pagerduty-routing"


def team_secrets(serving_namespace: str) -> list[dict[str, object]]:
    """Secrets the team creates before deploying (the spec refers to them by name)."""
    import base64

    key = base64.b64encode(secrets.token_hex(16).encode()).decode()
    return [{"apiVersion": "v1", "kind": "Secret",
             "metadata": {"name": PAGERDUTY_SECRET, "namespace": serving_namespace}, "data": {"routing-key": key}}]


@pytest.fixture(scope="session")
def platform(project: Path) -> Iterator[object]:
    """Every phase up, in order, as far as its software runs here (the rest is listed as skipped)."""
    global _platform
    from tests.conformance.harness.adapters import runtime_for
    from tests.conformance.harness.fixtures import ca_bundle, outside_manifests, outside_tls
    from tests.conformance.harness.render import conformance_render
    from tests.conformance.harness.runner import Platform
    from tests.conformance.harness.software import cache_root

    start = time.monotonic()
    render = conformance_render(project)
    _steps.append(("render (in-process, real credentials)", time.monotonic() - start))
    prefix = "omgc" + secrets.token_hex(2)
    run_dir = RUN_ROOT / prefix
    tls = outside_tls(run_dir / "tls")
    repo = Path(__file__).parent / "pod_scripts" / "feature_repo"
    render.add_fixtures(outside_manifests({f.name: f.read_text() for f in repo.glob("*.py")}, tls))
    serving_ns = next((o.namespace for o in render.objects if o.phase == "serving" and o.namespace), "omgml-serving")
    render.add_fixtures(team_secrets(serving_ns))
    timeout = float(os.environ.get("OMGML_CONFORMANCE_TIMEOUT", "300"))
    plat = Platform(render, run_dir, runtime_for, prefix, cache_root(), timeout=timeout, ca_bundle=ca_bundle(tls), ca_pem=tls.ca_pem)
    _platform = plat
    try:
        plat.start()
        plat.up(["fixtures", *render.phases])
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


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_sessionstart(session: pytest.Session) -> None:
    # SIGTERM (CI cancelling, `timeout`) tears the platform down like Ctrl-C does: pytest turns
    # KeyboardInterrupt into running the fixtures' finalizers.
    if "conformance" in str(session.config.option.markexpr):
        signal.signal(signal.SIGTERM, _interrupt)
    # Leftovers of an interrupted earlier run (a SIGKILL leaves no chance to clean up): namespaces
    # of the tier that no process uses any more. A run in progress keeps its own.
    if "conformance" in str(session.config.option.markexpr) and os.geteuid() == 0 and shutil.which("ip"):
        from tests.conformance.harness.network import remove_stale_namespaces

        remove_stale_namespaces("omgc")

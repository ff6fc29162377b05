"""Fixtures of the conformance tier (`scripts/conformance.sh`, marker `conformance`).

One platform per session: a fresh `omgml init` + render of the project under test (the
`enterprise` template on the laptop profile unless OMGML_CONFORMANCE_TEMPLATE says otherwise),
brought up phase by phase as real processes, and torn down at the end whatever happens. Test
modules that need a project variant bring up their own with `harness.session.platform_session`.
The summary table (workload → ran exact / adapted / skipped, version, status) and each step's
wall time are printed at the end of the session and written to each run's folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.harness.report import summary_text
from tests.conformance.harness.runner import Platform
from tests.conformance.harness.session import PAGERDUTY_SECRET, PLATFORMS, edit_spec, init_project, platform_session

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


def conformance_project(data: dict[str, Any]) -> None:
    """The template as a team would finish it: its Feast definitions in a git repository (the
    tier's git host serves it), so the platform renders its `feast apply` Job; where its alerts
    go — a webhook (the tier's receiver), Slack and PagerDuty (whose routing key is an existing
    Secret, which the tier creates); Grafana on (it cannot run here, its dashboards' queries are
    checked against Prometheus); the training add-ons (HPO, governance); a scheduled batch scoring
    job (test_batch_scoring.py)."""
    from tests.conformance.harness.fixtures import git_url, webhook_url

    phases = data["platform"]["phases"]
    feast = phases["foundation"].setdefault("feast", {})
    feast["feature_repo"] = {"git_url": git_url(), "ref": "main", "path": "."}
    prometheus = phases.get("serving", {}).setdefault("prometheus", {})
    prometheus["grafana"] = True
    prometheus["receivers"] = [
        {"name": "oncall-webhook", "kind": "webhook", "url": webhook_url()},
        {"name": "team-slack", "kind": "slack", "url": "https://hooks.slack.example.invalid/services/T0/B0/X"},
        {"name": "pager", "kind": "pagerduty", "secret_name": PAGERDUTY_SECRET, "secret_key": "routing-key"},
    ]
    # The training add-ons a regulated team turns on: Katib beside Kubeflow and the governance
    # steps with a fairness check (their settings ConfigMap is what the governance test reads).
    training = phases.setdefault("training", {})
    training["hpo"] = {"enabled": True}
    training["governance"] = {"enabled": True, "fairness": {"sensitive_features": ["age_band"]}}
    # Batch predictions with Spark (test_batch_scoring.py runs its program on this platform).
    phases.setdefault("serving", {})["batch_scoring"] = {
        "enabled": True, "model": "conformance-batch", "keep_columns": ["customer_id"],
        "python_packages": ["scikit-learn==1.9.1", "skops==0.16.0"]}


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh project from the template, as a user would create and finish it."""
    reason = _skip_reason()
    if reason:
        pytest.fail(reason)
    template = os.environ.get("OMGML_CONFORMANCE_TEMPLATE", "enterprise")
    root = init_project(tmp_path_factory.mktemp("project") / "platform", template, _steps)
    edit_spec(root, conformance_project)
    return root


@pytest.fixture(scope="session")
def platform(project: Path) -> Iterator[Platform]:
    """Every phase up, in order, as far as its software runs here (the rest is listed as skipped)."""
    with platform_session(project, "platform", _steps) as plat:
        plat.up(["fixtures", *plat.render.phases])
        yield plat


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for label, plat, steps in PLATFORMS:
        terminalreporter.write_sep("=", f"conformance summary: {label}")
        terminalreporter.write_line(summary_text(plat, steps))


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_sessionstart(session: pytest.Session) -> None:
    if "conformance" not in str(session.config.option.markexpr):
        return
    # SIGTERM (CI cancelling, `timeout`) tears the platforms down like Ctrl-C does: pytest turns
    # KeyboardInterrupt into running the fixtures' finalizers.
    signal.signal(signal.SIGTERM, _interrupt)
    # Leftovers of an interrupted earlier run (a SIGKILL leaves no chance to clean up): namespaces
    # of the tier that no process uses any more. A run in progress keeps its own.
    if os.geteuid() == 0 and shutil.which("ip"):
        from tests.conformance.harness.network import remove_stale_namespaces

        remove_stale_namespaces("omgc")

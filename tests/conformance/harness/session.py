"""One platform of the tier from a project folder: render, the outside systems, the Platform, and
its teardown with the summary written. The session's platform (conftest.py) and any test module
that brings up a project variant of its own use this, so every run is set up the same way."""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conformance.harness.report import summary_markdown
from tests.conformance.harness.runner import Platform

RUN_ROOT = Path(os.environ.get("OMGML_CONFORMANCE_RUN_DIR", "/tmp/omgml-conformance"))
REPO_DIR = Path(__file__).resolve().parent.parent / "pod_scripts" / "feature_repo"
# Every platform of this pytest session, for the terminal summary.
PLATFORMS: list[tuple[str, Platform, list[tuple[str, float]]]] = []


def team_secrets_for(render: Any) -> list[dict[str, Any]]:
    """Secrets a team creates before deploying (the conformance project's spec names them)."""
    import base64

    serving_ns = next((o.namespace for o in render.objects if o.phase == "serving" and o.namespace), "omgml-serving")
    key = base64.b64encode(secrets.token_hex(16).encode()).decode()
    return [{"apiVersion": "v1", "kind": "Secret",
             "metadata": {"name": PAGERDUTY_SECRET, "namespace": serving_ns}, "data": {"routing-key": key}}]


PAGERDUTY_SECRET = "pagerduty-routing"


@contextmanager
def platform_session(project: Path, label: str, steps: list[tuple[str, float]] | None = None,
                     extra_fixtures: Callable[[Any], list[dict[str, Any]]] | None = None) -> Iterator[Platform]:
    """A started (network up, nothing running yet) platform for `project`; the caller brings its
    phases up (`platform.up([...])`). Torn down on exit, whatever happened."""
    from tests.conformance.harness.adapters import runtime_for
    from tests.conformance.harness.fixtures import ca_bundle, outside_manifests, outside_tls
    from tests.conformance.harness.render import conformance_render
    from tests.conformance.harness.software import cache_root

    steps = steps if steps is not None else []
    start = time.monotonic()
    render = conformance_render(project)
    steps.append((f"{label}: render (in-process, real credentials)", time.monotonic() - start))
    prefix = "omgc" + secrets.token_hex(2)
    run_dir = RUN_ROOT / prefix
    tls = outside_tls(run_dir / "tls")
    render.add_fixtures(outside_manifests({f.name: f.read_text() for f in REPO_DIR.glob("*.py")}, tls))
    render.add_fixtures(team_secrets_for(render))
    if extra_fixtures is not None:
        render.add_fixtures(extra_fixtures(render))
    timeout = float(os.environ.get("OMGML_CONFORMANCE_TIMEOUT", "300"))
    plat = Platform(render, run_dir, runtime_for, prefix, cache_root(), timeout=timeout,
                    ca_bundle=ca_bundle(tls), ca_pem=tls.ca_pem)
    PLATFORMS.append((label, plat, steps))
    try:
        plat.start()
        yield plat
    finally:
        plat.down()
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "summary.md").write_text(summary_markdown(plat, steps))
        if os.environ.get("OMGML_CONFORMANCE_KEEP_RUN_DIR") != "1":
            for sub in ("pods", "claims", "tls"):
                shutil.rmtree(run_dir / sub, ignore_errors=True)


def init_project(root: Path, template: str, steps: list[tuple[str, float]]) -> Path:
    """`omgml init` of a template into `root`, as a user runs it (the venv's console script)."""
    import subprocess
    import sys

    start = time.monotonic()
    omgml = Path(sys.executable).parent / "omgml"
    out = subprocess.run([str(omgml), "init", str(root), "--template", template],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"omgml init --template {template} failed:\n{out.stderr}{out.stdout}")
    steps.append((f"omgml init --template {template}", time.monotonic() - start))
    return root


def edit_spec(root: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Change the project's omgml.yaml the way a team edits it."""
    import yaml

    spec_file = root / "omgml.yaml"
    data = yaml.safe_load(spec_file.read_text())
    change(data)
    spec_file.write_text(yaml.safe_dump(data, sort_keys=False))

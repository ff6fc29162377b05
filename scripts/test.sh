#!/usr/bin/env bash
# The default (offline) test tier: lint, types, tests. Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check omgml components blueprints cli stacks tests bench
.venv/bin/mypy
# The scripts the conformance tier runs inside its pods (their software is not installed here).
.venv/bin/mypy tests/conformance/pod_scripts
.venv/bin/python -m pytest -m "not e2e and not conformance" "$@"

#!/usr/bin/env bash
# The default (offline) test tier: lint, types, tests. Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check omgml components blueprints cli stacks tests bench
.venv/bin/mypy
# The scripts the conformance tier runs inside its pods (their software is not installed here).
# In a pod each runs by its path, so a sibling module is a top-level import (`from https_server
# import ...`): mypy reads the folder the same way.
MYPYPATH=tests/conformance/pod_scripts .venv/bin/mypy --explicit-package-bases tests/conformance/pod_scripts
.venv/bin/python -m pytest -m "not e2e and not conformance" "$@"

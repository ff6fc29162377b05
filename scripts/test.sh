#!/usr/bin/env bash
# The default (offline) test tier: lint, types, tests. Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check omgml components blueprints cli stacks tests bench
.venv/bin/mypy
.venv/bin/python -m pytest -m "not e2e" "$@"

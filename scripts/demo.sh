#!/usr/bin/env bash
# The main job on a fresh machine, no cluster or cloud account needed:
# set up, create a project from the enterprise template, render and validate it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
DEMO_DIR="${1:-${TMPDIR:-/tmp}/omgml-demo}"
.venv/bin/omgml init "$DEMO_DIR" --template "${TEMPLATE:-enterprise}" --force
.venv/bin/omgml render "$DEMO_DIR" --validate
echo
echo "Project: $DEMO_DIR   manifests: $DEMO_DIR/rendered/"

#!/usr/bin/env bash
# The real-engine tier: the real Pulumi CLI and Kubernetes provider against kwok API servers on
# loopback, with pyproject's pinned Python SDKs (the project's own .venv).
#
# scripts/toolchain.sh builds (or reuses) the binaries; which versions and why is stated at its
# top. A toolchain that cannot be built fails this tier with the registry's message (no skip).
# Extra arguments go to pytest (e.g. -k enterprise).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMGML_TOOLCHAIN_DIR="${OMGML_TOOLCHAIN_DIR:-$HOME/.cache/omgml/toolchain}"

start=$SECONDS
bash scripts/toolchain.sh --runtime kwok
export PATH="$OMGML_TOOLCHAIN_DIR/bin:$PATH"
[ -x .venv/bin/python ] || bash scripts/setup.sh
echo "toolchain ready after $((SECONDS - start))s; running pytest -m e2e"
# kwokctl keeps its clusters under ~/.kwok and writes contexts into ~/.kube/config.
.venv/bin/python -m pytest -m e2e -p no:cacheprovider -s tests/e2e "$@"
echo "e2e tier: $((SECONDS - start))s in all"

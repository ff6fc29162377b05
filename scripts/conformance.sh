#!/usr/bin/env bash
# The conformance tier: a fresh render of a project (enterprise template, laptop profile unless
# OMGML_CONFORMANCE_TEMPLATE says otherwise) runs as real processes of the real software — each
# pod in its own network namespace (link-local addresses only) and mount sandbox — and the
# platform's golden paths are walked through it. No container engine, no cluster, no internet.
#
# Needs root (network namespaces, mounts, cgroups) and Linux. Installs what it needs:
#   - Debian packages: bubblewrap nftables iproute2 curl postgresql-client redis-tools haproxy (apt-get);
#   - the software the pods run, pinned in tests/conformance/software.toml, into
#     ${OMGML_CONFORMANCE_CACHE:-$HOME/.cache/omgml/conformance} (cached; see docs/conformance.md).
# Extra arguments go to pytest (e.g. -k mlflow).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "conformance.sh: run as root (it creates network namespaces, mounts and cgroups)" >&2
  exit 2
fi

step() { printf '[conformance.sh %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
started=$(date +%s)

packages=(bubblewrap nftables iproute2 curl postgresql-client redis-tools util-linux haproxy)
commands=(bwrap nft ip curl psql redis-cli setpriv haproxy)
missing=()
for i in "${!commands[@]}"; do
  command -v "${commands[$i]}" >/dev/null 2>&1 || missing+=("${packages[$i]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

step "setting up .venv"
bash scripts/setup.sh

step "installing the pods' software (cached)"
t0=$(date +%s)
.venv/bin/python -m tests.conformance.harness.software install
step "software ready in $(( $(date +%s) - t0 ))s"

step "running the tier"
set +e
.venv/bin/python -m pytest -m conformance tests/conformance -p no:cacheprovider -ra --durations=0 "$@"
rc=$?
set -e
step "done in $(( $(date +%s) - started ))s (pytest exit $rc)"
exit $rc

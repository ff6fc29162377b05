#!/usr/bin/env bash
# Every test tier, in order, as CI runs them (.ci/run):
#   1. default      scripts/test.sh         ruff, mypy, the offline pytest suite
#   2. packaging    scripts/packaging.sh    the built wheel and sdist in a clean venv
#   3. conformance  scripts/conformance.sh  the rendered platform on the real software (root)
#   4. real engine  scripts/e2e.sh          the real Pulumi engine against a kwok cluster
# Each tier runs even when an earlier one failed (so one run shows every failure); the exit code
# is non-zero when any failed. Prints each tier's wall time at the end.
set -uo pipefail
cd "$(dirname "$0")/.."

tiers=(default packaging conformance e2e)
declare -A script=([default]=scripts/test.sh [packaging]=scripts/packaging.sh
                   [conformance]=scripts/conformance.sh [e2e]=scripts/e2e.sh)
declare -A took rc
failed=0
for tier in "${tiers[@]}"; do
  printf '\n==== %s tier (%s) ====\n' "$tier" "${script[$tier]}"
  start=$(date +%s)
  bash "${script[$tier]}"
  rc[$tier]=$?
  took[$tier]=$(( $(date +%s) - start ))
  [ "${rc[$tier]}" = 0 ] || failed=1
done

printf '\n==== summary ====\n'
for tier in "${tiers[@]}"; do
  status=passed; [ "${rc[$tier]}" = 0 ] || status="FAILED (exit ${rc[$tier]})"
  printf '  %-12s %-22s %5ds\n' "$tier" "$status" "${took[$tier]}"
done
exit $failed

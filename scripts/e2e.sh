#!/usr/bin/env bash
# The real-engine tier: real Pulumi CLI + Kubernetes provider against a kwok API server on loopback.
#
# Pulumi's CLI and Kubernetes provider are built from the Go module proxy by scripts/toolchain.sh.
# That proxy serves the CLI's module only up to v3.260.0 and the provider only at the 4.25.0
# release commit, so this tier pairs them with the matching Python SDKs in its own venv
# (.venv-e2e); the default tier keeps pyproject's pins. With internet access, set
# OMGML_E2E_PULUMI / OMGML_E2E_PULUMI_K8S to the pyproject versions and install the CLI and
# plugins the usual way instead (see docs/toolchain.md).
set -euo pipefail
cd "$(dirname "$0")/.."
PULUMI_V="${OMGML_E2E_PULUMI:-3.260.0}"
PULUMI_K8S_V="${OMGML_E2E_PULUMI_K8S:-4.25.0}"
export OMGML_TOOLCHAIN_DIR="${OMGML_TOOLCHAIN_DIR:-$HOME/.cache/omgml/toolchain}"

OMGML_PULUMI_VERSION="$PULUMI_V" OMGML_PULUMI_K8S_VERSION="$PULUMI_K8S_V" \
  bash scripts/toolchain.sh pulumi pulumi-resource-kubernetes etcd kwok kwokctl \
  kube-apiserver kube-controller-manager kube-scheduler kubectl
export PATH="$OMGML_TOOLCHAIN_DIR/bin:$PATH"

PY="${PYTHON:-python3}"
[ -x .venv-e2e/bin/python ] || "$PY" -m venv .venv-e2e
.venv-e2e/bin/python -m pip install --quiet \
  "pulumi==$PULUMI_V" "pulumi-kubernetes==$PULUMI_K8S_V" "pulumi-aws>=7.51.1,<7.52" "pulumi-random>=4.21.4,<4.22" \
  "pydantic>=2.14.3,<2.15" "typer>=0.29.1,<0.30" "rich>=15.0.0,<15.1" "kubernetes>=37.0.2,<37.1" \
  "PyYAML>=6.0.3,<6.1" "pytest>=9.2.0,<9.3" "kubernetes-validate>=1.37.0,<1.38"
.venv-e2e/bin/python -m pip install --quiet --no-deps -e .
.venv-e2e/bin/python -m pytest -m e2e -s tests/e2e "$@"

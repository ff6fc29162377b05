#!/usr/bin/env bash
# The packaging tier: build the sdist and the wheel (the wheel from the sdist, as pip would),
# install the wheel into a fresh venv and run omgml from OUTSIDE the checkout, so neither an
# editable install nor the source tree can hide a missing package or data file.
#
#   scripts/packaging.sh            work folder: a temporary one, removed afterwards
#   OMGML_PKG_WORK=DIR scripts/packaging.sh    keep the venvs, dist/ and the smoke project in DIR
#
# Prints the time of each step; exits non-zero on the first failure.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-python3}"
if [[ -n "${OMGML_PKG_WORK:-}" ]]; then
  WORK="$OMGML_PKG_WORK"; rm -rf "$WORK"; mkdir -p "$WORK"
else
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/omgml-packaging.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
fi
WORK="$(cd "$WORK" && pwd)"

step_start=0
step() { step_start=$(date +%s%N); printf '%-64s' "$1"; }
done_() { local ms=$(( ($(date +%s%N) - step_start) / 1000000 )); printf ' %4d.%02ds\n' $((ms / 1000)) $((ms % 1000 / 10)); }
die() { echo; echo "packaging: $*" >&2; exit 1; }

step "build venv (the PyPA build frontend)"
"$PY" -m venv "$WORK/build-venv"
"$WORK/build-venv/bin/python" -m pip install --quiet "build>=1.2,<2"
done_

step "sdist + wheel from it; a wheel straight from the tree"
# A copy of the checkout without caches, venvs or stale build metadata (the symlinks
# omgml/components etc. stay symlinks), so the build sees what a fresh clone holds.
mkdir -p "$WORK/src"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - ) | tar -xf - -C "$WORK/src"
cp -r "$WORK/src" "$WORK/src-direct"
# `python -m build`: sdist, then the wheel built from the unpacked sdist (what an index serves);
# `--wheel` alone: the wheel straight from the tree (what `pip install .` builds).
"$WORK/build-venv/bin/python" -m build --outdir "$WORK/dist" "$WORK/src" >"$WORK/build.log" 2>&1 \
  && "$WORK/build-venv/bin/python" -m build --wheel --outdir "$WORK/dist-direct" "$WORK/src-direct" >>"$WORK/build.log" 2>&1 \
  || { tail -30 "$WORK/build.log"; die "the build failed (log: $WORK/build.log)"; }
done_
if grep -n "Deprecat" "$WORK/build.log"; then
  die "the build prints deprecation warnings (above); fix pyproject.toml"
fi
WHEEL="$(ls "$WORK"/dist-direct/omgml-*.whl)"
SDIST="$(ls "$WORK"/dist/omgml-*.tar.gz)"

step "wheel and sdist contents"
"$WORK/build-venv/bin/python" - "$ROOT" "$SDIST" "$WHEEL" "$(ls "$WORK"/dist/omgml-*.whl)" <<'PY'
import os, sys, tarfile, zipfile
from pathlib import Path

root, sdist, wheels = Path(sys.argv[1]), Path(sys.argv[2]), [Path(w) for w in sys.argv[3:]]
# Every module and data file of the tree (following the symlinked packages) must be in the wheel.
want = set()
for folder, dirs, files in os.walk(root / "omgml", followlinks=True):
    dirs[:] = [d for d in dirs if d != "__pycache__"]
    want.update((Path(folder) / f).relative_to(root).as_posix() for f in files)
for wheel in wheels:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(want - names)
    if missing:
        sys.exit(f"files missing from {wheel}:\n  " + "\n  ".join(missing))
    stray = sorted(n for n in names if n.split("/")[0] in ("components", "blueprints", "cli", "tests", "stacks"))
    if stray:
        sys.exit("top-level packages that would collide with other software are in the wheel:\n  "
                 + "\n  ".join(stray))
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    if "License-Expression: Apache-2.0" not in zipfile.ZipFile(wheel).read(meta).decode():
        sys.exit(f"{wheel}: METADATA has no `License-Expression: Apache-2.0`")
with tarfile.open(sdist) as tar:
    members = {m.name.split("/", 1)[1] for m in tar.getmembers() if "/" in m.name}
for needed in ("pyproject.toml", "README.md", "omgml/__init__.py", "omgml/deploy/runner.py"):
    if needed not in members:
        sys.exit(f"{needed} is missing from the sdist")
print(f"{len(want)} files in each wheel", end="")
PY
done_

step "fresh venv + pip install of the wheel (with [validate])"
"$PY" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet "$WHEEL[validate]" >"$WORK/install.log" 2>&1 \
  || { tail -30 "$WORK/install.log"; die "pip install of the wheel failed (log: $WORK/install.log)"; }
done_
if grep -n "Deprecat" "$WORK/install.log"; then
  die "installing the wheel prints deprecation warnings (above)"
fi

# From here on: outside the checkout, with the venv's omgml only.
cd "$WORK"
OMGML="$WORK/venv/bin/omgml"
step "the installed omgml is the wheel's, not the checkout's"
where="$("$WORK/venv/bin/python" -c 'import omgml, omgml.deploy.runner, omgml.cli.app; print(omgml.__file__)')"
[[ "$where" == "$WORK/venv/"* ]] || die "omgml imports from $where, not from the fresh venv"
done_

step "--help of every command and sub-command"
"$OMGML" --help >/dev/null
for cmd in recommend init sync render check diff cost preview up destroy local "local up" "local down" "local status"; do
  # shellcheck disable=SC2086
  "$OMGML" $cmd --help >"$WORK/help.txt" 2>&1 || { cat "$WORK/help.txt"; die "omgml $cmd --help failed"; }
  grep -q "Usage:" "$WORK/help.txt" || die "omgml $cmd --help printed no usage"
done
done_

step "omgml init --template enterprise --omgml-pip-spec <the wheel>"
"$OMGML" init "$WORK/smoke" --template enterprise --omgml-pip-spec "omgml[validate] @ file://$WHEEL" \
  >"$WORK/init.log" 2>&1 || { cat "$WORK/init.log"; die "init failed"; }
done_

step "omgml render --validate"
"$OMGML" render "$WORK/smoke" --validate >"$WORK/render.log" 2>&1 || { cat "$WORK/render.log"; die "render failed"; }
[[ -s "$WORK/smoke/rendered/01-foundation.yaml" && -s "$WORK/smoke/rendered/inventory.json" ]] \
  || die "render wrote no manifests"
done_

step "omgml check"
"$OMGML" check "$WORK/smoke" >"$WORK/check.log" 2>&1 || { cat "$WORK/check.log"; die "check failed"; }
done_

step "omgml up --help (the Automation API path imports)"
"$OMGML" up --help >/dev/null
"$WORK/venv/bin/python" -c 'import omgml.deploy.runner, omgml.deploy.local, omgml.deploy.kwok, omgml.program'
done_

step "the project's CI install step, by its recorded pip spec"
# The generated workflow's own install script, with OMGML_PIP_SPEC as the workflow sets it when
# no repository variable overrides it: omgml.yaml's omgml.pip_spec (here, the wheel).
"$WORK/venv/bin/python" - "$WORK/smoke" >"$WORK/ci-install.sh" <<'PY'
import sys
from pathlib import Path

import yaml

project = Path(sys.argv[1])
workflow = yaml.safe_load((project / ".github/workflows/omgml.yml").read_text())
steps = workflow["jobs"]["guardrails"]["steps"]
install = next(s for s in steps if str(s.get("name", "")).startswith("Install omgml"))
pip_spec = yaml.safe_load((project / "omgml.yaml").read_text())["omgml"]["pip_spec"]
expected = "${{ vars.OMGML_PIP_SPEC || '" + pip_spec + "' }}"
assert workflow["jobs"]["guardrails"]["env"]["OMGML_PIP_SPEC"] == expected, workflow["jobs"]["guardrails"]["env"]
print("set -euo pipefail")
print(f"export OMGML_PIP_SPEC='{pip_spec}'")
print(install["run"])
PY
mkdir -p "$WORK/bin" && ln -sf "$(command -v "$PY")" "$WORK/bin/python"  # what setup-python provides
(cd "$WORK/smoke" && PATH="$WORK/bin:$PATH" bash "$WORK/ci-install.sh" >"$WORK/ci-install.log" 2>&1) \
  || { tail -30 "$WORK/ci-install.log"; die "the generated project's install step failed"; }
(cd "$WORK/smoke" && .venv/bin/omgml check . --no-schema >"$WORK/ci-check.log" 2>&1) \
  || { cat "$WORK/ci-check.log"; die "omgml check from the project's own .venv failed"; }
done_

echo "packaging: OK ($(basename "$WHEEL"), $(basename "$SDIST"))"

#!/usr/bin/env bash
# Render every case of scripts/render_cases.py at BASE_REV and at the working tree, and diff
# the rendered/ folders (manifests + inventory.json). Exit 0 when byte-identical, 1 with the
# diff otherwise. For refactors that must not change what omgml writes.
#
#   bash scripts/render-compare.sh BASE_REV [KEEP_DIR]
#
# BASE_REV is checked out as a temporary `git worktree` and imported through PYTHONPATH with
# this tree's venv (its editable install then only serves the working tree). KEEP_DIR, if
# given, keeps specs/, base/ and head/ there for a closer look.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 BASE_REV [KEEP_DIR]" >&2
  exit 2
fi
base_rev=$(git rev-parse --verify "$1^{commit}")
bash scripts/setup.sh
py="$PWD/.venv/bin/python"
head_tree="$PWD"
work=$(mktemp -d)
keep="${2:-}"
base_tree="$work/base-tree"
cleanup() {
  git worktree remove --force "$base_tree" >/dev/null 2>&1 || true
  if [ -n "$keep" ]; then
    mkdir -p "$keep" && cp -r "$work/specs" "$work/base" "$work/head" "$keep"/ 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
git worktree add --detach --quiet "$base_tree" "$base_rev"
cp scripts/render_cases.py "$work/render_cases.py"

# The specs come from this tree's engine, once: both revisions render the same input.
(cd "$work" && PYTHONPATH="$head_tree" "$py" render_cases.py specs "$work/specs")
(cd "$work" && PYTHONPATH="$base_tree" nice -n 10 "$py" render_cases.py render "$work/specs" "$work/base")
(cd "$work" && PYTHONPATH="$head_tree" nice -n 10 "$py" render_cases.py render "$work/specs" "$work/head")

if diff -ru "$work/base" "$work/head" > "$work/render.diff"; then
  echo "renders identical: $(find "$work/head" -type f | wc -l) files, base $(git rev-parse --short "$base_rev")"
  exit 0
fi
cat "$work/render.diff"
echo "renders differ from base $(git rev-parse --short "$base_rev"): $(grep -c '^diff ' "$work/render.diff") files" >&2
exit 1

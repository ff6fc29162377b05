#!/usr/bin/env bash
# Build (once) the real binaries the end-to-end test tier needs: the Pulumi CLI,
# its Python language host, the Kubernetes provider plugin, and a local
# control plane for kwok (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kwok, kwokctl).
#
# Everything is built from Go modules served by the Go module proxy (no other
# downloads), into a cache folder OUTSIDE the repo:
#   ${OMGML_TOOLCHAIN_DIR:-$HOME/.cache/omgml/toolchain}/bin
# Go's own caches (GOPATH, GOCACHE, GOMODCACHE) live in that folder too.
#
# Usage:
#   scripts/toolchain.sh             build whatever is missing (idempotent)
#   scripts/toolchain.sh NAME...     only these binaries (e.g. etcd kwokctl)
#   scripts/toolchain.sh --check     report present/missing, build nothing
#                                    (exit 1 when something is missing)
#   scripts/toolchain.sh --list      print the binary names and exit
#
# A binary counts as present when $DIR/bin/NAME exists and $DIR/stamps/NAME
# records the pinned module@version, or when a binary of that name on PATH
# reports the pinned version (it is then linked into $DIR/bin).
# See docs/toolchain.md for measured build times and how to start kwok.
set -euo pipefail

# ---------------------------------------------------------------------------
# Pins. Each may be overridden from the environment (OMGML_<NAME>).
# ---------------------------------------------------------------------------
# MUST match pyproject.toml's pulumi pin ("pulumi>=3.272.0,<3.273"): CLI and Python SDK must match.
PULUMI_VERSION="${OMGML_PULUMI_VERSION:-3.272.0}"
# MUST match pyproject.toml's pulumi-kubernetes pin ("pulumi-kubernetes>=4.34.2,<4.35"):
# provider plugin and Python SDK must match.
PULUMI_K8S_VERSION="${OMGML_PULUMI_K8S_VERSION:-4.34.2}"
# github.com/pulumi/pulumi-kubernetes/provider/v4 has no tags of its own, only
# pseudo-versions of the release commits. Leave empty to use the table in
# k8s_provider_modver() below (or to ask the proxy for v$PULUMI_K8S_VERSION).
PULUMI_K8S_PROVIDER_MODVER="${OMGML_PULUMI_K8S_PROVIDER_MODVER:-}"
# The Python language host module has no tags either; empty = derive the
# pseudo-version from the commit of the pkg/v3 release tag (Origin.Hash).
PULUMI_LANGUAGE_PYTHON_MODVER="${OMGML_PULUMI_LANGUAGE_PYTHON_MODVER:-}"
# NOTE (2026-11-26): the Go proxy reachable here refuses pkg/v3@v3.272.0 and every
# provider/v4 pseudo-version except the v4.25.0 one, so with the pins above the
# three Pulumi binaries fail (see docs/toolchain.md). A pair that does build:
#   OMGML_PULUMI_VERSION=3.260.0 OMGML_PULUMI_K8S_VERSION=4.25.0
# (pulumi-language-python is not served for any known commit).
# Kubernetes control plane + kubectl; staging modules are taken at v0.<minor>.<patch>.
KUBERNETES_VERSION="${OMGML_KUBERNETES_VERSION:-1.36.3}"
# etcd 3.6.x (Debian's 3.4 is too old for Kubernetes 1.36).
ETCD_VERSION="${OMGML_ETCD_VERSION:-3.6.16}"
# kwok / kwokctl.
KWOK_VERSION="${OMGML_KWOK_VERSION:-0.8.0}"

ALL_BINARIES=(pulumi pulumi-language-python pulumi-resource-kubernetes etcd kwok kwokctl
  kube-apiserver kube-controller-manager kube-scheduler kubectl)

DIR="${OMGML_TOOLCHAIN_DIR:-$HOME/.cache/omgml/toolchain}"
BIN="$DIR/bin"
STAMPS="$DIR/stamps"
SRC="$DIR/src"
LOGS="$DIR/logs"

# ---------------------------------------------------------------------------
MODE=build
SELECTED=()
for arg in "$@"; do
  case "$arg" in
    --check) MODE=check ;;
    --list) printf '%s\n' "${ALL_BINARIES[@]}"; exit 0 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    -*) echo "toolchain.sh: unknown option $arg" >&2; exit 2 ;;
    *)
      if [[ " ${ALL_BINARIES[*]} " != *" $arg "* ]]; then
        echo "toolchain.sh: unknown binary '$arg' (known: ${ALL_BINARIES[*]})" >&2; exit 2
      fi
      SELECTED+=("$arg") ;;
  esac
done
[[ ${#SELECTED[@]} -gt 0 ]] || SELECTED=("${ALL_BINARIES[@]}")

mkdir -p "$BIN" "$STAMPS" "$SRC" "$LOGS"

GO="${GO:-$(command -v go || true)}"
[[ -n "$GO" ]] || GO=/usr/local/go/bin/go

export GOPATH="$DIR/gopath" GOCACHE="$DIR/gocache" GOMODCACHE="$DIR/gomodcache"
export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false -trimpath" GOWORK=off
NICE=(nice -n 15)

K8S_MINOR="${KUBERNETES_VERSION#*.}"; K8S_MINOR="${K8S_MINOR%%.*}"
K8S_STAGING_VERSION="v0.${KUBERNETES_VERSION#*.}"

# ---------------------------------------------------------------------------
# Per-binary facts
# ---------------------------------------------------------------------------
# The module@version a binary is built from (also what its stamp records).
stamp_of() {
  case "$1" in
    pulumi) echo "github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION" ;;
    pulumi-language-python) echo "github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3 for pulumi v$PULUMI_VERSION" ;;
    pulumi-resource-kubernetes) echo "github.com/pulumi/pulumi-kubernetes/provider/v4 for pulumi-kubernetes v$PULUMI_K8S_VERSION" ;;
    etcd) echo "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" ;;
    kwok|kwokctl) echo "sigs.k8s.io/kwok@v$KWOK_VERSION" ;;
    kube-*|kubectl) echo "k8s.io/kubernetes@v$KUBERNETES_VERSION" ;;
  esac
}

# Prints the version line of a binary (empty when it has no version flag).
version_of() {
  local name="$1" path="$2"
  local -x PULUMI_SKIP_UPDATE_CHECK=true
  case "$name" in
    pulumi) timeout 20 "$path" version 2>/dev/null ;;
    pulumi-language-python) timeout 20 "$path" -version 2>/dev/null ;;
    pulumi-resource-kubernetes) : ;;  # no version flag: cache stamp only
    kubectl) timeout 20 "$path" version --client 2>/dev/null | head -1 ;;
    *) timeout 20 "$path" --version 2>/dev/null | head -1 ;;
  esac
}

pin_of() {
  case "$1" in
    pulumi|pulumi-language-python) echo "$PULUMI_VERSION" ;;
    pulumi-resource-kubernetes) echo "$PULUMI_K8S_VERSION" ;;
    etcd) echo "$ETCD_VERSION" ;;
    kwok|kwokctl) echo "$KWOK_VERSION" ;;
    *) echo "$KUBERNETES_VERSION" ;;
  esac
}

# True when the version text names exactly the pinned version.
matches_pin() {
  local text="$1" pin="$2"
  grep -qE "(^|[^0-9.])v?${pin//./\\.}([^0-9.+-]|$)" <<<"$text"
}

cached() {
  local name="$1"
  [[ -x "$BIN/$name" && -f "$STAMPS/$name" ]] && [[ "$(cat "$STAMPS/$name")" == "$(stamp_of "$name")" ]] || return 1
  # A link to a binary found on PATH: make sure it still reports the pin.
  if [[ -L "$BIN/$name" ]]; then matches_pin "$(version_of "$name" "$BIN/$name" || true)" "$(pin_of "$name")"; fi
}

# A binary of that name on PATH (outside our bin dir) reporting the pin.
on_path() {
  local name="$1" p dir ver
  [[ "$name" == pulumi-resource-kubernetes ]] && return 1
  local IFS=:
  for dir in $PATH; do
    [[ -z "$dir" || "$(cd "$dir" 2>/dev/null && pwd -P)" == "$(cd "$BIN" && pwd -P)" ]] && continue
    p="$dir/$name"
    [[ -x "$p" && ! -d "$p" ]] || continue
    ver="$(version_of "$name" "$p" || true)"
    if matches_pin "$ver" "$(pin_of "$name")"; then echo "$p"; return 0; fi
  done
  return 1
}

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
FAILURES=()
LAST_ERROR=""
CURRENT_LOG=/dev/null

gocmd() { "${NICE[@]}" "$GO" "$@" >>"$CURRENT_LOG" 2>&1; }

fail() {  # fail NAME MODULE@VERSION MESSAGE
  local err
  err="$(grep -vE '^(go: (downloading|finding|extracting|added|upgraded|found) |#)' "$CURRENT_LOG" 2>/dev/null | tail -n 15 || true)"
  FAILURES+=("$1 ($2): $3")
  LAST_ERROR="ERROR: cannot build $1 from $2: $3"
  [[ -n "$err" ]] && LAST_ERROR+=$'\n'"$(sed 's/^/    go| /' <<<"$err")"
  LAST_ERROR+=$'\n'"    full log: $CURRENT_LOG"
  return 0
}

# The Dir of a module in the module cache (downloads it).
module_dir() { GOFLAGS=-buildvcs=false "$GO" mod download -json "$1" 2>>"$CURRENT_LOG" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'; }

# JSON field of `go list -m -json MODULE@VERSION` (Hash, Time, Version, Error).
module_field() {
  (cd "$DIR" && GOFLAGS=-buildvcs=false "$GO" list -m -json "$1" 2>>"$CURRENT_LOG") | sed -n "s/^[[:space:]]*\"$2\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p" | head -1
}

# Replace directives of a go.mod whose target is a module (not a local path).
nonpath_replaces() {
  awk '
    /^replace[[:space:]]*\($/ {inblock=1; next}
    inblock && /^\)/ {inblock=0; next}
    inblock {print; next}
    /^replace[[:space:]]/ {sub(/^replace[[:space:]]+/, ""); print}
  ' "$1" | awk '$0 ~ /=>/ { split($0, a, "=>"); t=a[2]; gsub(/^[[:space:]]+/, "", t);
      if (t !~ /^\.\.?\// && t !~ /^\//) print $0 }'
}

# Replace directives of a go.mod that point at local paths, as "OLD" module paths.
path_replaced_modules() {
  awk '
    /^replace[[:space:]]*\($/ {inblock=1; next}
    inblock && /^\)/ {inblock=0; next}
    inblock {print; next}
    /^replace[[:space:]]/ {sub(/^replace[[:space:]]+/, ""); print}
  ' "$1" | awk '$0 ~ /=>/ { split($0, a, "=>"); t=a[2]; gsub(/^[[:space:]]+/, "", t);
      if (t ~ /^\.\.?\//) { split(a[1], o, " "); print o[1] } }'
}

new_wrapper() {  # new_wrapper DIRNAME -> prints path of a fresh wrapper module
  local w="$SRC/$1"
  rm -rf "$w"; mkdir -p "$w"
  printf 'module omgml.local/toolchain/%s\n\ngo 1.26\n' "$1" >"$w/go.mod"
  echo "$w"
}

install_bin() {  # install_bin NAME BUILT_FILE
  chmod +x "$2"
  if [[ "$2" != "$BIN/$1" ]]; then mv -f "$2" "$BIN/$1"; fi
  stamp_of "$1" >"$STAMPS/$1"
}

# ---------------------------------------------------------------------------
# Builders: each returns non-zero after calling fail().
# ---------------------------------------------------------------------------
build_pulumi() {
  local ver="v$PULUMI_VERSION" w
  local mod="github.com/pulumi/pulumi/pkg/v3@$ver"
  w="$(new_wrapper pulumi)"
  # The modules' own non-path replaces (except the Windows-only clipboard fork).
  local m r gomod
  for m in "github.com/pulumi/pulumi/pkg/v3" "github.com/pulumi/pulumi/sdk/v3"; do
    gomod="$(module_field "$m@$ver" GoMod)"
    [[ -n "$gomod" && -f "$gomod" ]] || continue   # the go get below reports the error
    while IFS= read -r r; do
      [[ -z "$r" || "$r" == *atotto/clipboard* ]] && continue
      (cd "$w" && "$GO" mod edit -replace "$(sed -E 's/^[[:space:]]+//; s/[[:space:]]*=>[[:space:]]*/=/; s/[[:space:]]+$//; s/[[:space:]]+/@/g' <<<"$r")")
    done < <(nonpath_replaces "$gomod")
  done
  if ! (cd "$w" && gocmd get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$ver" "github.com/pulumi/pulumi/sdk/v3@$ver"); then
    fail pulumi "$mod" "go get failed (module or version not served?)"; return 1
  fi
  if ! (cd "$w" && gocmd build -o "$w/pulumi" \
        -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$ver" \
        github.com/pulumi/pulumi/pkg/v3/cmd/pulumi); then
    fail pulumi "$mod" "go build failed"; return 1
  fi
  install_bin pulumi "$w/pulumi"
}

build_pulumi_language_python() {
  local ver="v$PULUMI_VERSION" w modver="$PULUMI_LANGUAGE_PYTHON_MODVER"
  local lmod="github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3"
  if [[ -z "$modver" ]]; then
    local hash time
    hash="$(module_field "github.com/pulumi/pulumi/pkg/v3@$ver" Hash)"
    time="$(module_field "github.com/pulumi/pulumi/pkg/v3@$ver" Time)"
    if [[ -z "$hash" || -z "$time" ]]; then
      echo "\$ go list -m -json github.com/pulumi/pulumi/pkg/v3@$ver" >>"$CURRENT_LOG"
      "$GO" list -m -json "github.com/pulumi/pulumi/pkg/v3@$ver" >>"$CURRENT_LOG" 2>&1 || true
      fail pulumi-language-python "$lmod for pulumi $ver" \
        "no release commit known for github.com/pulumi/pulumi/pkg/v3@$ver (no Origin.Hash from the proxy); set OMGML_PULUMI_LANGUAGE_PYTHON_MODVER"
      return 1
    fi
    modver="v3.0.0-$(date -u -d "$time" +%Y%m%d%H%M%S)-${hash:0:12}"
  fi
  w="$(new_wrapper pulumi-language-python)"
  if ! (cd "$w" && gocmd get "$lmod@$modver" "github.com/pulumi/pulumi/sdk/v3@$ver" "github.com/pulumi/pulumi/pkg/v3@$ver"); then
    fail pulumi-language-python "$lmod@$modver" "go get failed (module or version not served?)"; return 1
  fi
  if ! (cd "$w" && gocmd build -o "$w/pulumi-language-python" \
        -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$ver" "$lmod"); then
    fail pulumi-language-python "$lmod@$modver" "go build failed"; return 1
  fi
  local sdkdir
  sdkdir="$(cd "$w" && module_dir "github.com/pulumi/pulumi/sdk/v3@$ver")"
  if [[ ! -f "$sdkdir/python/cmd/pulumi-language-python-exec" ]]; then
    fail pulumi-language-python "github.com/pulumi/pulumi/sdk/v3@$ver" "python/cmd/pulumi-language-python-exec not in the module"; return 1
  fi
  install -m 0755 "$sdkdir/python/cmd/pulumi-language-python-exec" "$BIN/pulumi-language-python-exec"
  install_bin pulumi-language-python "$w/pulumi-language-python"
}

# Known pseudo-versions of release commits of pulumi-kubernetes/provider/v4.
k8s_provider_modver() {
  if [[ -n "$PULUMI_K8S_PROVIDER_MODVER" ]]; then echo "$PULUMI_K8S_PROVIDER_MODVER"; return; fi
  case "$1" in
    4.25.0) echo "v4.0.0-20260115033456-f47bc2d6f199" ;;
    *) echo "v$1" ;;  # not a tag of this module; the proxy answers with its error
  esac
}

build_pulumi_resource_kubernetes() {
  local ver="$PULUMI_K8S_VERSION" w modver dir
  local pmod="github.com/pulumi/pulumi-kubernetes/provider/v4"
  modver="$(k8s_provider_modver "$ver")"
  w="$(new_wrapper pulumi-resource-kubernetes)"
  if ! (cd "$w" && gocmd get "$pmod/pkg/provider@$modver" "$pmod/pkg/version@$modver"); then
    fail pulumi-resource-kubernetes "$pmod@$modver" "go get failed (no served pseudo-version of the v$ver release commit?)"; return 1
  fi
  # The main package embeds files generated from the committed schema: build it
  # from a writable copy inside the wrapper.
  dir="$(cd "$w" && module_dir "$pmod@$modver")/cmd/pulumi-resource-kubernetes"
  cp "$dir"/main.go "$dir"/generate.go "$dir"/schema.json "$dir"/terraform-mapping.json "$w/"
  chmod u+w "$w"/*
  # (no `go get` of pkg/v3 here: that would upgrade it past what the provider compiles with)
  if ! (cd "$w" && VERSION="$ver" gocmd run generate.go); then
    fail pulumi-resource-kubernetes "$pmod@$modver" "generating schema-embed.json failed"; return 1
  fi
  if ! (cd "$w" && CGO_ENABLED=0 gocmd build -o "$w/pulumi-resource-kubernetes" \
        -ldflags "-s -w -X $pmod/pkg/version.Version=$ver" .); then
    fail pulumi-resource-kubernetes "$pmod@$modver" "go build failed"; return 1
  fi
  install_bin pulumi-resource-kubernetes "$w/pulumi-resource-kubernetes"
}

build_etcd() {
  local ver="v$ETCD_VERSION" w
  local mod="go.etcd.io/etcd/server/v3@$ver"
  w="$(new_wrapper etcd)"
  if ! (cd "$w" && gocmd get "$mod"); then
    fail etcd "$mod" "go get failed"; return 1
  fi
  if ! (cd "$w" && CGO_ENABLED=0 gocmd build -o "$w/etcd" -ldflags "-s -w" go.etcd.io/etcd/server/v3); then
    fail etcd "$mod" "go build failed"; return 1
  fi
  install_bin etcd "$w/etcd"
}

build_kwok_any() {  # kwok and kwokctl share one wrapper
  local name="$1" ver="v$KWOK_VERSION" w="$SRC/kwok"
  local mod="sigs.k8s.io/kwok@$ver"
  if [[ ! -f "$w/.ready-$ver" ]]; then
    w="$(new_wrapper kwok)"
    if ! (cd "$w" && gocmd get "sigs.k8s.io/kwok/cmd/kwok@$ver" "sigs.k8s.io/kwok/cmd/kwokctl@$ver"); then
      fail "$name" "$mod" "go get failed"; return 1
    fi
    touch "$w/.ready-$ver"
  fi
  if ! (cd "$w" && CGO_ENABLED=0 gocmd build -o "$w/$name" \
        -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$ver" "sigs.k8s.io/kwok/cmd/$name"); then
    fail "$name" "$mod" "go build failed"; return 1
  fi
  install_bin "$name" "$w/$name"
}

# Wrapper module for k8s.io/kubernetes: its go.mod replaces the staging modules
# with local paths, which are replaced here by the published k8s.io/X versions.
prepare_kubernetes() {
  local ver="v$KUBERNETES_VERSION" w="$SRC/kubernetes" gomod m
  [[ -f "$w/.ready-$ver" ]] && return 0
  w="$(new_wrapper kubernetes)"
  gomod="$(module_field "k8s.io/kubernetes@$ver" GoMod)"
  if [[ -z "$gomod" || ! -f "$gomod" ]]; then
    "$GO" list -m -json "k8s.io/kubernetes@$ver" >>"$CURRENT_LOG" 2>&1 || true
    return 1
  fi
  while IFS= read -r m; do
    [[ -n "$m" ]] && (cd "$w" && "$GO" mod edit -replace "$m=$m@$K8S_STAGING_VERSION")
  done < <(path_replaced_modules "$gomod")
  (cd "$w" && gocmd get "k8s.io/kubernetes@$ver" \
      "k8s.io/kubernetes/cmd/kube-apiserver@$ver" "k8s.io/kubernetes/cmd/kube-controller-manager@$ver" \
      "k8s.io/kubernetes/cmd/kube-scheduler@$ver" "k8s.io/kubernetes/cmd/kubectl@$ver") || return 1
  touch "$w/.ready-$ver"
}

build_kube_any() {
  local name="$1" ver="v$KUBERNETES_VERSION" w="$SRC/kubernetes" ld=() p
  local mod="k8s.io/kubernetes@$ver (staging modules at $K8S_STAGING_VERSION)"
  if ! prepare_kubernetes; then
    fail "$name" "$mod" "preparing the wrapper module failed"; return 1
  fi
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=("-X $p.gitVersion=$ver" "-X $p.gitMajor=1" "-X $p.gitMinor=$K8S_MINOR"
         "-X $p.gitTreeState=clean" "-X $p.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)")
  done
  if ! (cd "$w" && CGO_ENABLED=0 gocmd build -o "$w/$name" -ldflags "-s -w ${ld[*]}" "k8s.io/kubernetes/cmd/$name"); then
    fail "$name" "$mod" "go build failed"; return 1
  fi
  install_bin "$name" "$w/$name"
}

build_one() {
  case "$1" in
    pulumi) build_pulumi ;;
    pulumi-language-python) build_pulumi_language_python ;;
    pulumi-resource-kubernetes) build_pulumi_resource_kubernetes ;;
    etcd) build_etcd ;;
    kwok|kwokctl) build_kwok_any "$1" ;;
    kube-*|kubectl) build_kube_any "$1" ;;
  esac
}

# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------
fmt_secs() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

if [[ "$MODE" == check ]]; then
  missing=0
  for name in "${SELECTED[@]}"; do
    if cached "$name"; then
      printf '%-28s present  %s  [%s]\n' "$name" "$BIN/$name" "$(cat "$STAMPS/$name")"
    elif p="$(on_path "$name")"; then
      printf '%-28s present  %s (on PATH, %s)\n' "$name" "$p" "$(version_of "$name" "$p")"
    else
      printf '%-28s MISSING  want %s\n' "$name" "$(stamp_of "$name")"
      missing=1
    fi
  done
  exit "$missing"
fi

if ! "$GO" version >/dev/null 2>&1; then
  echo "toolchain.sh: no Go toolchain (looked for 'go' on PATH and $GO)" >&2; exit 1
fi

echo "toolchain dir: $DIR ($("$GO" version))"
total_start=$SECONDS
for name in "${SELECTED[@]}"; do
  if cached "$name"; then
    printf '%-28s cached\n' "$name"; continue
  fi
  if p="$(on_path "$name")"; then
    ln -sfn "$p" "$BIN/$name"; stamp_of "$name" >"$STAMPS/$name"
    printf '%-28s cached (on PATH: %s)\n' "$name" "$p"; continue
  fi
  CURRENT_LOG="$LOGS/$name.log"
  : >"$CURRENT_LOG"
  printf '%-28s building %s ... ' "$name" "$(stamp_of "$name")"
  start=$SECONDS
  if build_one "$name"; then
    printf 'built in %s\n' "$(fmt_secs $((SECONDS - start)))"
  else
    printf 'FAILED after %s\n' "$(fmt_secs $((SECONDS - start)))"
    echo "$LAST_ERROR" >&2
  fi
done
echo "total: $(fmt_secs $((SECONDS - total_start)))"

if [[ ${#FAILURES[@]} -gt 0 ]]; then
  echo >&2
  echo "toolchain.sh: ${#FAILURES[@]} binary(ies) could not be built:" >&2
  printf '  - %s\n' "${FAILURES[@]}" >&2
  echo "Logs: $LOGS" >&2
fi

echo
echo "To use the toolchain:"
echo "  export PATH=\"$BIN:\$PATH\""
[[ ${#FAILURES[@]} -eq 0 ]]

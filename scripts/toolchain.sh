#!/usr/bin/env bash
# Build (once) the binaries `omgml local up`, `omgml up` and the real-engine test tier run:
# the Pulumi CLI, the Kubernetes provider plugin, and a local cluster runtime - kwok (a real
# API server with simulated nodes, no Docker) or kind (real pods, needs Docker).
#
# Everything is built from Go modules served by the Go module proxy (nothing else can be
# downloaded on these machines), into a cache folder OUTSIDE the repo:
#   ${OMGML_TOOLCHAIN_DIR:-$HOME/.cache/omgml/toolchain}/bin
#
# Usage:
#   scripts/toolchain.sh                 what `omgml local up` needs here: kind's set when Docker
#                                        works, kwok's set otherwise
#   scripts/toolchain.sh --runtime kwok  the kwok set (what CI and the e2e tier use)
#   scripts/toolchain.sh --runtime kind  the kind set (Docker must work to use it)
#   scripts/toolchain.sh NAME...         only these binaries (see --list)
#   scripts/toolchain.sh --check         report present/missing, build nothing (exit 1 if missing)
#   scripts/toolchain.sh --keep-cache    keep Go's build and module caches afterwards (for
#                                        rebuilding with other pins; about 5 GB more on disk)
#   scripts/toolchain.sh --list          print the binary names and exit
#
# Guarantees: one run at a time per cache folder (flock; a second run waits up to an hour);
# the first failing step stops the run with that command's output; a binary is reported built
# (and stamped) only after it ran and reported the pinned version.
set -euo pipefail

# ---------------------------------------------------------------------------
# Pins - the one place that states which binary versions are used, and why. Each may be
# overridden from the environment (OMGML_<NAME>). docs/toolchain.md has the measured times.
# ---------------------------------------------------------------------------
# Pulumi CLI 3.276.0: the newest github.com/pulumi/pulumi/pkg/v3 the Go module proxy serves
# (3.261-3.273 are refused, so the CLI cannot equal pyproject's SDK pin `pulumi>=3.272.0,<3.273`).
# A CLI newer than the Python SDK is supported (omgml.deploy.preflight checks CLI >= SDK).
PULUMI_VERSION="${OMGML_PULUMI_VERSION:-3.276.0}"
# Kubernetes provider plugin 4.25.0: the only release commit of
# github.com/pulumi/pulumi-kubernetes/provider/v4 the proxy serves (4.34.2, pyproject's SDK pin,
# is refused). The engine uses a provider binary found on PATH whatever version the SDK asks
# for; the e2e tier runs pyproject's SDK 4.34.2 against it (docs/toolchain.md, "Versions").
PULUMI_K8S_VERSION="${OMGML_PULUMI_K8S_VERSION:-4.25.0}"
# provider/v4 has no tags, only pseudo-versions of release commits (table in k8s_provider_modver).
PULUMI_K8S_PROVIDER_MODVER="${OMGML_PULUMI_K8S_PROVIDER_MODVER:-}"
# pulumi-language-python (only for plain `pulumi up` in a project folder; omgml's commands run
# the program in-process and do not need it): the proxy serves no commit of its module, so it is
# not in any default set. Empty MODVER = derive it from the pkg/v3 release commit (Origin.Hash).
PULUMI_LANGUAGE_PYTHON_MODVER="${OMGML_PULUMI_LANGUAGE_PYTHON_MODVER:-}"
# Kubernetes 1.36.3 control plane + kubectl (newest 1.36 served; kwok 0.8.0 defaults to 1.36).
KUBERNETES_VERSION="${OMGML_KUBERNETES_VERSION:-1.36.3}"
# etcd 3.6.16 (Debian's etcd-server 3.4 is too old for Kubernetes 1.36).
ETCD_VERSION="${OMGML_ETCD_VERSION:-3.6.16}"
KWOK_VERSION="${OMGML_KWOK_VERSION:-0.8.0}"
KIND_VERSION="${OMGML_KIND_VERSION:-0.33.0}"

PULUMI_SET=(pulumi pulumi-resource-kubernetes)
KWOK_SET=("${PULUMI_SET[@]}" etcd kwok kwokctl kube-apiserver kube-controller-manager kube-scheduler kubectl)
KIND_SET=("${PULUMI_SET[@]}" kind kubectl)
ALL_BINARIES=(pulumi pulumi-resource-kubernetes pulumi-language-python etcd kwok kwokctl
  kube-apiserver kube-controller-manager kube-scheduler kubectl kind)

DIR="${OMGML_TOOLCHAIN_DIR:-$HOME/.cache/omgml/toolchain}"
BIN="$DIR/bin"
STAMPS="$DIR/stamps"
SRC="$DIR/src"
LOGS="$DIR/logs"

# ---------------------------------------------------------------------------
MODE=build
RUNTIME=""
KEEP_CACHE=0
SELECTED=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --check) MODE=check ;;
    --keep-cache) KEEP_CACHE=1 ;;
    --runtime) shift; RUNTIME="${1:-}"
      [[ "$RUNTIME" == kind || "$RUNTIME" == kwok ]] || { echo "toolchain.sh: --runtime takes kind or kwok, got '$RUNTIME'" >&2; exit 2; } ;;
    --list) printf '%s\n' "${ALL_BINARIES[@]}"; exit 0 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    -*) echo "toolchain.sh: unknown option $1" >&2; exit 2 ;;
    *)
      if [[ " ${ALL_BINARIES[*]} " != *" $1 "* ]]; then
        echo "toolchain.sh: unknown binary '$1' (known: ${ALL_BINARIES[*]})" >&2; exit 2
      fi
      SELECTED+=("$1") ;;
  esac
  shift
done
if [[ ${#SELECTED[@]} -eq 0 ]]; then
  if [[ -z "$RUNTIME" ]]; then
    # The same choice `omgml local up` makes (omgml/deploy/local.py: kind only with a working Docker).
    if command -v docker >/dev/null 2>&1 && docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; then
      RUNTIME=kind
    else
      RUNTIME=kwok
    fi
  fi
  if [[ "$RUNTIME" == kind ]]; then SELECTED=("${KIND_SET[@]}"); else SELECTED=("${KWOK_SET[@]}"); fi
fi

GO="${GO:-$(command -v go || true)}"
[[ -n "$GO" ]] || GO=/usr/local/go/bin/go
export GOPATH="$DIR/gopath" GOCACHE="$DIR/gocache" GOMODCACHE="$DIR/gomodcache"
export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false -trimpath" GOWORK=off CGO_ENABLED=0
NICE=(nice -n 15)
K8S_MINOR="${KUBERNETES_VERSION#*.}"; K8S_MINOR="${K8S_MINOR%%.*}"
K8S_STAGING_VERSION="v0.${KUBERNETES_VERSION#*.}"

# ---------------------------------------------------------------------------
# Per-binary facts
# ---------------------------------------------------------------------------
stamp_of() {  # the module@version a binary is built from (also what its stamp records)
  case "$1" in
    pulumi) echo "github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION" ;;
    pulumi-language-python) echo "github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3 for pulumi v$PULUMI_VERSION" ;;
    pulumi-resource-kubernetes) echo "github.com/pulumi/pulumi-kubernetes/provider/v4 for pulumi-kubernetes v$PULUMI_K8S_VERSION" ;;
    etcd) echo "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" ;;
    kwok|kwokctl) echo "sigs.k8s.io/kwok@v$KWOK_VERSION" ;;
    kind) echo "sigs.k8s.io/kind@v$KIND_VERSION" ;;
    kube-*|kubectl) echo "k8s.io/kubernetes@v$KUBERNETES_VERSION" ;;
  esac
}

pin_of() {
  case "$1" in
    pulumi|pulumi-language-python) echo "$PULUMI_VERSION" ;;
    pulumi-resource-kubernetes) echo "$PULUMI_K8S_VERSION" ;;
    etcd) echo "$ETCD_VERSION" ;;
    kwok|kwokctl) echo "$KWOK_VERSION" ;;
    kind) echo "$KIND_VERSION" ;;
    *) echo "$KUBERNETES_VERSION" ;;
  esac
}

# The version text a binary reports (its output, for error messages too).
version_of() {
  local name="$1" path="$2"
  local -x PULUMI_SKIP_UPDATE_CHECK=true
  case "$name" in
    pulumi) timeout 30 "$path" version 2>&1 ;;
    pulumi-language-python) timeout 30 "$path" -version 2>&1 ;;
    # No version flag: ask the plugin itself for its schema (the engine's own handshake). Needs
    # the pulumi CLI, which every set builds first.
    pulumi-resource-kubernetes)
      local home; home="$(mktemp -d)"
      PULUMI_HOME="$home" timeout 120 "$BIN/pulumi" package get-schema "$path" 2>&1 | grep -m1 '"version"' || true
      rm -rf "$home" ;;
    kubectl) timeout 30 "$path" version --client 2>&1 | head -1 ;;
    kind) timeout 30 "$path" version 2>&1 | head -1 ;;
    *) timeout 30 "$path" --version 2>&1 | head -1 ;;
  esac
}

matches_pin() {  # true when the version text names exactly the pinned version
  grep -qE "(^|[^0-9.])v?${2//./\\.}([^0-9.+-]|$)" <<<"$1"
}

reports_pin() { matches_pin "$(version_of "$1" "$2" || true)" "$(pin_of "$1")"; }

cached() {
  local name="$1"
  [[ -x "$BIN/$name" && -f "$STAMPS/$name" && "$(cat "$STAMPS/$name")" == "$(stamp_of "$name")" ]] || return 1
  # The provider's check runs the CLI and takes seconds; the stamp is written only after it passed.
  [[ "$name" == pulumi-resource-kubernetes ]] && return 0
  reports_pin "$name" "$BIN/$name"
}

# ---------------------------------------------------------------------------
# Steps: each runs one command with its output in the binary's log; the first failure stops
# the whole run and prints what the command said.
# ---------------------------------------------------------------------------
CURRENT=""
CURRENT_LOG=/dev/null

die() {  # die MESSAGE: stop the run, showing the end of the current log
  echo "FAILED" >&2
  echo "toolchain.sh: cannot build $CURRENT ($(stamp_of "$CURRENT")): $1" >&2
  if [[ -s "$CURRENT_LOG" ]]; then
    grep -vE '^go: (downloading|finding|extracting|added|upgraded|found) ' "$CURRENT_LOG" | tail -n 20 | sed 's/^/    | /' >&2
    echo "    full log: $CURRENT_LOG" >&2
  fi
  exit 1
}

step() {  # step "what" CMD...: run CMD (in $W) with its output in the log; stop the run on failure
  local what="$1"; shift
  printf '\n$ (%s) %s\n' "$what" "$*" >>"$CURRENT_LOG"
  (cd "$W" && "$@") >>"$CURRENT_LOG" 2>&1 || die "$what failed (exit $?)"
}

gostep() { local what="$1"; shift; step "$what" "${NICE[@]}" "$GO" "$@"; }

# JSON field of `go list -m -json MODULE@VERSION` (Hash, Time, GoMod, Dir).
module_field() {
  (cd "$DIR" && GOFLAGS=-buildvcs=false "$GO" list -m -json "$1" 2>>"$CURRENT_LOG") \
    | sed -n "s/^[[:space:]]*\"$2\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p" | head -1
}

module_dir() { GOFLAGS=-buildvcs=false "$GO" mod download -json "$1" 2>>"$CURRENT_LOG" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'; }

_replaces() {  # the replace directives of a go.mod, one "OLD [VER] => NEW [VER]" per line
  awk '/^replace[[:space:]]*\($/ {b=1; next} b && /^\)/ {b=0; next} b {print; next}
       /^replace[[:space:]]/ {sub(/^replace[[:space:]]+/, ""); print}' "$1"
}

nonpath_replaces() {  # replaces whose target is a module, not a local path
  _replaces "$1" | awk '/=>/ { split($0, a, "=>"); t=a[2]; gsub(/^[[:space:]]+/, "", t);
      if (t !~ /^\.\.?\// && t !~ /^\//) print $0 }'
}

path_replaced_modules() {  # modules replaced by local paths (the staging modules of k8s.io/kubernetes)
  _replaces "$1" | awk '/=>/ { split($0, a, "=>"); t=a[2]; gsub(/^[[:space:]]+/, "", t);
      if (t ~ /^\.\.?\//) { split(a[1], o, " "); print o[1] } }'
}

W=""
new_wrapper() {  # a fresh throw-away module $SRC/NAME that requires what is built; sets W
  W="$SRC/$1"
  rm -rf "$W"; mkdir -p "$W"
  printf 'module omgml.local/toolchain/%s\n\ngo 1.26\n' "$1" >"$W/go.mod"
}

install_bin() {  # install_bin NAME BUILT_FILE: only a binary that runs and reports the pin
  local name="$1" built="$2" got
  [[ -f "$built" ]] || die "the build reported success but wrote no $built"
  chmod +x "$built"
  mv -f "$built" "$BIN/$name.new"
  got="$(version_of "$name" "$BIN/$name.new" || true)"
  if ! matches_pin "$got" "$(pin_of "$name")"; then
    rm -f "$BIN/$name.new"
    printf '\n$ %s version check\n%s\n' "$name" "$got" >>"$CURRENT_LOG"
    die "the built binary does not report version $(pin_of "$name"): ${got:-no output}"
  fi
  mv -f "$BIN/$name.new" "$BIN/$name"
  stamp_of "$name" >"$STAMPS/$name"
  VERIFIED="$(head -1 <<<"$got" | tr -s ' ' | cut -c1-60)"
}

# ---------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------
build_pulumi() {
  local ver="v$PULUMI_VERSION" m r gomod
  new_wrapper pulumi
  # The modules' own non-path replaces (except the Windows-only clipboard fork).
  for m in "github.com/pulumi/pulumi/pkg/v3" "github.com/pulumi/pulumi/sdk/v3"; do
    gomod="$(module_field "$m@$ver" GoMod)"
    [[ -n "$gomod" && -f "$gomod" ]] || { step "look up $m@$ver" "$GO" list -m -json "$m@$ver"; die "no go.mod for $m@$ver"; }
    while IFS= read -r r; do
      [[ -z "$r" || "$r" == *atotto/clipboard* ]] && continue
      step "copy replace $r" "$GO" mod edit -replace \
        "$(sed -E 's/^[[:space:]]+//; s/[[:space:]]*=>[[:space:]]*/=/; s/[[:space:]]+$//; s/[[:space:]]+/@/g' <<<"$r")"
    done < <(nonpath_replaces "$gomod")
  done
  gostep "download modules" get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$ver" "github.com/pulumi/pulumi/sdk/v3@$ver"
  gostep "compile" build -o "$W/pulumi" \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$ver" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  install_bin pulumi "$W/pulumi"
}

build_pulumi_language_python() {
  local ver="v$PULUMI_VERSION" modver="$PULUMI_LANGUAGE_PYTHON_MODVER" hash time sdkdir
  local lmod="github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3"
  new_wrapper pulumi-language-python
  if [[ -z "$modver" ]]; then
    hash="$(module_field "github.com/pulumi/pulumi/pkg/v3@$ver" Hash)"
    time="$(module_field "github.com/pulumi/pulumi/pkg/v3@$ver" Time)"
    [[ -n "$hash" && -n "$time" ]] || die "the proxy gives no release commit (Origin.Hash) for github.com/pulumi/pulumi/pkg/v3@$ver; set OMGML_PULUMI_LANGUAGE_PYTHON_MODVER to the module's pseudo-version"
    modver="v3.0.0-$(date -u -d "$time" +%Y%m%d%H%M%S)-${hash:0:12}"
  fi
  gostep "download modules" get "$lmod@$modver" "github.com/pulumi/pulumi/sdk/v3@$ver" "github.com/pulumi/pulumi/pkg/v3@$ver"
  gostep "compile" build -o "$W/pulumi-language-python" \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$ver" "$lmod"
  sdkdir="$(cd "$W" && module_dir "github.com/pulumi/pulumi/sdk/v3@$ver")"
  [[ -f "$sdkdir/python/cmd/pulumi-language-python-exec" ]] || die "python/cmd/pulumi-language-python-exec is not in sdk/v3@$ver"
  install -m 0755 "$sdkdir/python/cmd/pulumi-language-python-exec" "$BIN/pulumi-language-python-exec"
  install_bin pulumi-language-python "$W/pulumi-language-python"
}

k8s_provider_modver() {  # known pseudo-versions of pulumi-kubernetes/provider/v4 release commits
  if [[ -n "$PULUMI_K8S_PROVIDER_MODVER" ]]; then echo "$PULUMI_K8S_PROVIDER_MODVER"; return; fi
  case "$1" in
    4.25.0) echo "v4.0.0-20260115033456-f47bc2d6f199" ;;
    *) echo "v$1" ;;  # not a tag of this module; the proxy answers with its error
  esac
}

build_pulumi_resource_kubernetes() {
  local ver="$PULUMI_K8S_VERSION" modver dir
  local pmod="github.com/pulumi/pulumi-kubernetes/provider/v4"
  modver="$(k8s_provider_modver "$ver")"
  [[ -x "$BIN/pulumi" ]] || die "build pulumi first: the provider is verified through \`pulumi package get-schema\`"
  new_wrapper pulumi-resource-kubernetes
  gostep "download modules" get "$pmod/pkg/provider@$modver" "$pmod/pkg/version@$modver"
  # The main package embeds files generated from the committed schema: build it from a
  # writable copy inside the wrapper. (No `go get` of pkg/v3 here: that would upgrade it past
  # what the provider compiles with.)
  dir="$(cd "$W" && module_dir "$pmod@$modver")/cmd/pulumi-resource-kubernetes"
  [[ -f "$dir/main.go" ]] || die "no cmd/pulumi-resource-kubernetes in $pmod@$modver"
  step "copy the main package" cp "$dir"/main.go "$dir"/generate.go "$dir"/schema.json "$dir"/terraform-mapping.json "$W/"
  step "make the copy writable" chmod u+w "$W/main.go" "$W/generate.go" "$W/schema.json" "$W/terraform-mapping.json"
  step "generate the embedded schema" env VERSION="$ver" "${NICE[@]}" "$GO" run generate.go
  gostep "compile" build -o "$W/pulumi-resource-kubernetes" -ldflags "-s -w -X $pmod/pkg/version.Version=$ver" .
  install_bin pulumi-resource-kubernetes "$W/pulumi-resource-kubernetes"
}

build_etcd() {
  local ver="v$ETCD_VERSION"
  new_wrapper etcd
  gostep "download modules" get "go.etcd.io/etcd/server/v3@$ver"
  gostep "compile" build -o "$W/etcd" -ldflags "-s -w" go.etcd.io/etcd/server/v3
  install_bin etcd "$W/etcd"
}

build_kwok_any() {  # kwok and kwokctl share one wrapper
  local name="$1" ver="v$KWOK_VERSION"
  if [[ -f "$SRC/kwok/.ready-$ver" ]]; then W="$SRC/kwok"; else
    new_wrapper kwok
    gostep "download modules" get "sigs.k8s.io/kwok/cmd/kwok@$ver" "sigs.k8s.io/kwok/cmd/kwokctl@$ver"
    touch "$W/.ready-$ver"
  fi
  gostep "compile" build -o "$W/$name" -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$ver" "sigs.k8s.io/kwok/cmd/$name"
  install_bin "$name" "$W/$name"
}

build_kind() {
  local ver="v$KIND_VERSION"
  new_wrapper kind
  gostep "download modules" get "sigs.k8s.io/kind@$ver"
  gostep "compile" build -o "$W/kind" -ldflags "-s -w" sigs.k8s.io/kind
  install_bin kind "$W/kind"
}

# One wrapper for k8s.io/kubernetes: its go.mod replaces the staging modules with local paths,
# which are replaced here by the published k8s.io/X versions.
prepare_kubernetes() {
  local ver="v$KUBERNETES_VERSION" gomod m
  if [[ -f "$SRC/kubernetes/.ready-$ver" ]]; then W="$SRC/kubernetes"; return; fi
  new_wrapper kubernetes
  gomod="$(module_field "k8s.io/kubernetes@$ver" GoMod)"
  [[ -n "$gomod" && -f "$gomod" ]] || { step "look up k8s.io/kubernetes@$ver" "$GO" list -m -json "k8s.io/kubernetes@$ver"; die "no go.mod for k8s.io/kubernetes@$ver"; }
  while IFS= read -r m; do
    [[ -n "$m" ]] && step "replace $m" "$GO" mod edit -replace "$m=$m@$K8S_STAGING_VERSION"
  done < <(path_replaced_modules "$gomod")
  gostep "download modules" get "k8s.io/kubernetes@$ver" \
    "k8s.io/kubernetes/cmd/kube-apiserver@$ver" "k8s.io/kubernetes/cmd/kube-controller-manager@$ver" \
    "k8s.io/kubernetes/cmd/kube-scheduler@$ver" "k8s.io/kubernetes/cmd/kubectl@$ver"
  touch "$W/.ready-$ver"
}

build_kube_any() {
  local name="$1" ver="v$KUBERNETES_VERSION" ld=() p
  prepare_kubernetes
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=("-X $p.gitVersion=$ver" "-X $p.gitMajor=1" "-X $p.gitMinor=$K8S_MINOR" "-X $p.gitTreeState=clean")
  done
  gostep "compile" build -o "$W/$name" -ldflags "-s -w ${ld[*]}" "k8s.io/kubernetes/cmd/$name"
  install_bin "$name" "$W/$name"
}

build_one() {
  case "$1" in
    pulumi) build_pulumi ;;
    pulumi-language-python) build_pulumi_language_python ;;
    pulumi-resource-kubernetes) build_pulumi_resource_kubernetes ;;
    etcd) build_etcd ;;
    kwok|kwokctl) build_kwok_any "$1" ;;
    kind) build_kind ;;
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
    else
      printf '%-28s MISSING  want %s\n' "$name" "$(stamp_of "$name")"
      missing=1
    fi
  done
  exit "$missing"
fi

mkdir -p "$BIN" "$STAMPS" "$SRC" "$LOGS"
# Two runs on one cache corrupt it (concurrent `go get`s rewrite the same wrapper modules).
exec 9>"$DIR/.lock"
if ! flock -n 9; then
  echo "toolchain.sh: another run holds $DIR/.lock; waiting for it (at most 60 min) ..."
  flock -w 3600 9 || { echo "toolchain.sh: $DIR/.lock still held after 60 min; giving up" >&2; exit 1; }
fi
"$GO" version >/dev/null 2>&1 || { echo "toolchain.sh: no Go toolchain (looked for 'go' on PATH and $GO); install Go 1.26 or newer" >&2; exit 1; }

echo "toolchain dir: $DIR ($("$GO" version | cut -d' ' -f3)) - ${RUNTIME:+runtime $RUNTIME, }${#SELECTED[@]} binaries"
total_start=$SECONDS
built=0
i=0
for name in "${SELECTED[@]}"; do
  i=$((i + 1))
  if cached "$name"; then
    printf '[%d/%d] %-28s cached\n' "$i" "${#SELECTED[@]}" "$name"; continue
  fi
  CURRENT="$name"
  CURRENT_LOG="$LOGS/$name.log"
  : >"$CURRENT_LOG"
  printf '[%d/%d] %-28s building %s ... ' "$i" "${#SELECTED[@]}" "$name" "$(stamp_of "$name")"
  start=$SECONDS
  VERIFIED=""
  build_one "$name"
  printf 'built in %s, runs: %s\n' "$(fmt_secs $((SECONDS - start)))" "$VERIFIED"
  built=$((built + 1))
done
echo "total: $(fmt_secs $((SECONDS - total_start))) ($built built)"

if [[ $built -gt 0 && $KEEP_CACHE -eq 0 ]]; then
  # The binaries are all that is used afterwards; Go's caches are several GB.
  GOFLAGS= "$GO" clean -cache >/dev/null 2>&1 || true
  GOFLAGS= "$GO" clean -modcache >/dev/null 2>&1 || true
  rm -rf "$SRC"
fi
echo "disk: $(du -sh "$DIR" 2>/dev/null | cut -f1) in $DIR"
echo "To use it: export PATH=\"$BIN:\$PATH\""

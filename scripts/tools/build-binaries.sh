#!/usr/bin/env bash
# build-binaries.sh: build the pinned programs of scripts/tools/pins.txt (the versions the
# images of docker-compose.yml and the Helm chart run) from Go modules, so that the stack runs
# and is tested without Docker or an image registry.
#
#   scripts/tools/build-binaries.sh [--force] [PROGRAM | GROUP ...]
#   scripts/tools/build-binaries.sh --dry-run [PROGRAM | GROUP ...]   what would be built or reused
#   scripts/tools/build-binaries.sh --check PROGRAM ...   exit 0 when each is built from its current inputs
#
# PROGRAM is a row of pins.txt (or one of its outputs: promtool, amtool, kubectl ...); GROUP is
# one of its groups (validate, stack, kube, engine). Default: validate stack. Rows are built in
# the table's order.
#
# Output: ${XDG_CACHE_HOME:-$HOME/.cache}/agent-observability/bin/NAME-VERSION (override the root
# with AGENT_OBS_CACHE_DIR), outside the clone so that a fresh clone (CI) reuses it, and a NAME
# symlink beside it, so the directory can go on PATH; scripts should ask bin-path.sh. Every
# program goes through one helper, build_program: a build is reused when its outputs exist and
# its stamp (<cache>/stamps/PROGRAM-VERSION) holds the hash of its inputs (its row of the
# table, its recipe's source, the repo files its row names with inputs=); otherwise it is built
# again. --force rebuilds. Build logs: <cache>/logs/PROGRAM-VERSION.log.
#
# Needs Go (>= the version each module's go.mod asks for; GOTOOLCHAIN=local, so no toolchain is
# downloaded) and the Go module proxy. Builds are static (CGO_ENABLED=0), -trimpath, stripped
# (-s -w). Times measured on 2 cores: scripts/tools/README.md.
set -Eeuo pipefail

TOOLS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$TOOLS_DIR/../.." && pwd)
# shellcheck source=bin-path.sh
. "$TOOLS_DIR/bin-path.sh" # AGENT_OBS_PINS, AGENT_OBS_CACHE_DIR, AGENT_OBS_BIN_DIR, agent_obs_row

BUILD_ROOT="$AGENT_OBS_CACHE_DIR/build" # scratch: module copies, build output
LOG_DIR="$AGENT_OBS_CACHE_DIR/logs"
STAMP_DIR="$AGENT_OBS_CACHE_DIR/stamps"
SHARE_DIR="$AGENT_OBS_CACHE_DIR/share"

export CGO_ENABLED=0
export GOTOOLCHAIN=local         # fail clearly instead of fetching another Go
export GOFLAGS="-buildvcs=false" # module copies are not git checkouts
export GOWORK=off                # Prometheus' module zip ships a go.work naming dirs it lacks
# Version stamps for `--version` (the module proxy carries no commit hashes).
BUILD_USER="build-binaries.sh@$(hostname 2>/dev/null || echo localhost)"
BUILD_DATE=$(date -u +%Y%m%d-%H:%M:%S)

# ---- the table ---------------------------------------------------------------

# load_pin NAME: the row of NAME as PIN_* variables.
load_pin() {
  local row
  row=$(agent_obs_row "$1") || { echo "build-binaries: '$1' is not in $AGENT_OBS_PINS (try --help)" >&2; return 2; }
  read -r PIN_PROGRAM _ PIN_VERSION PIN_MODULE PIN_MODVER PIN_RECIPE PIN_OUTPUTS _ PIN_OPTIONS <<<"$row"
  PIN_ROW=$row
}

# pin_option KEY: the value of KEY=VALUE in the row's options (empty when absent).
pin_option() {
  local word
  for word in $PIN_OPTIONS; do
    [ "${word%%=*}" = "$1" ] && { echo "${word#*=}"; return 0; }
  done
  return 0
}

# programs_of WORD: the programs a command-line word names (a group, a program or an output).
programs_of() {
  local found
  found=$(agent_obs_rows | awk -v g="$1" '$2 == g { print $1 }')
  if [ -n "$found" ]; then echo "$found"; return; fi
  load_pin "$1" && echo "$PIN_PROGRAM"
}

# ---- arguments ---------------------------------------------------------------

FORCE=0
MODE=build
WORDS=()
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    --dry-run) MODE=dry-run ;;
    --check) MODE=check ;;
    -h | --help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "build-binaries: unknown option '$arg' (try --help)" >&2; exit 2 ;;
    *) WORDS+=("$arg") ;;
  esac
done
[ ${#WORDS[@]} -gt 0 ] || WORDS=(validate stack)
PROGRAMS=()
for word in "${WORDS[@]}"; do
  for p in $(programs_of "$word"); do
    [[ " ${PROGRAMS[*]} " == *" $p "* ]] || PROGRAMS+=("$p")
  done
done

# ---- the one cache-and-install helper ------------------------------------------

# inputs_hash: the hash of what the current row's build depends on: its row (but the group and
# the image, which do not change the build), the source text of its recipe function, and every
# repo file under its inputs= paths.
inputs_hash() {
  local path
  {
    awk '{ $2 = ""; $8 = ""; print }' <<<"$PIN_ROW"
    awk -v f="recipe_${PIN_RECIPE//-/_}() {" '$0 == f { on = 1 } on { print } on && /^}$/ { exit }' "${BASH_SOURCE[0]}"
    for path in $(pin_option inputs | tr ',' ' '); do
      (cd "$REPO_DIR" && find "$path" -type f ! -name '*~' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    done
  } | sha256sum | cut -d' ' -f1
}

# output_path OUTPUT: where an output of the current row is installed.
output_path() {
  case "$1" in
    */) echo "$SHARE_DIR/${1%/}-$PIN_VERSION" ;;
    *) echo "$AGENT_OBS_BIN_DIR/$1-$PIN_VERSION" ;;
  esac
}

# is_current: true when every output exists and the stamp holds today's inputs hash.
is_current() {
  local out
  for out in ${PIN_OUTPUTS//,/ }; do [ -e "$(output_path "$out")" ] || return 1; done
  [ "$(cat "$STAMP_DIR/$PIN_PROGRAM-$PIN_VERSION" 2>/dev/null)" = "$(inputs_hash)" ]
}

# install_outputs DIR: move each output from DIR into the cache, atomically, and point the NAME
# symlink of each executable at it.
install_outputs() {
  local out dest
  for out in ${PIN_OUTPUTS//,/ }; do
    dest=$(output_path "$out")
    rm -rf "$dest.tmp"
    mv -f "$1/${out%/}" "$dest.tmp"
    rm -rf "$dest"
    mv -f "$dest.tmp" "$dest"
    case "$out" in */) ;; *) ln -sfn "$(basename "$dest")" "$AGENT_OBS_BIN_DIR/$out" ;; esac
  done
}

report() { # report STATE: one line per program
  printf 'build-binaries: %-17s %-8s %-8s %s\n' "$PIN_PROGRAM" "$PIN_VERSION" "$1" "$(output_path "${PIN_OUTPUTS%%,*}")"
}

CURRENT="" # "what, from module@version", for the failure message
LOG=""
on_error() {
  local rc=$?
  # Subshells inherit the trap (set -E): let only the main shell report.
  [ "$BASHPID" = "$$" ] || exit "$rc"
  echo >&2
  echo "build-binaries: FAILED building $CURRENT (exit $rc)" >&2
  if [ -n "$LOG" ] && [ -s "$LOG" ]; then
    echo "---- last lines of $LOG ----" >&2
    tail -n 25 "$LOG" >&2
  fi
  exit "$rc"
}

elapsed() { # seconds since $1 as "1m23s"
  local s=$(($(date +%s) - $1))
  printf '%dm%02ds' $((s / 60)) $((s % 60))
}

# build_program NAME: reuse NAME's build when current, else run its recipe in a scratch folder
# (WORK; outputs into OUT) and install what it made, with the stamp.
build_program() {
  local out t0 sum
  load_pin "$1"
  if [ "$FORCE" = 0 ] && is_current; then
    for out in ${PIN_OUTPUTS//,/ }; do
      case "$out" in */) ;; *) ln -sfn "$out-$PIN_VERSION" "$AGENT_OBS_BIN_DIR/$out" ;; esac
    done
    report cached
    return
  fi
  t0=$(date +%s)
  sum=$(inputs_hash)
  CURRENT="$PIN_PROGRAM $PIN_VERSION (Go module $PIN_MODULE@$PIN_MODVER, recipe $PIN_RECIPE)"
  LOG="$LOG_DIR/$PIN_PROGRAM-$PIN_VERSION.log"
  : >"$LOG"
  printf 'build-binaries: building %s ... ' "$CURRENT"
  # A scratch folder of this run alone: builds in other clones may share the cache.
  WORK=$(mktemp -d "$BUILD_ROOT/$PIN_PROGRAM-$PIN_VERSION.XXXXXX")
  OUT="$WORK/out"
  mkdir -p "$OUT"
  "recipe_${PIN_RECIPE//-/_}" >>"$LOG" 2>&1
  install_outputs "$OUT"
  echo "$sum" >"$STAMP_DIR/$PIN_PROGRAM-$PIN_VERSION"
  rm -rf "$WORK"
  echo "done in $(elapsed "$t0")"
}

# ---- what the recipes share -----------------------------------------------------

# module_dir: download the row's module from the module proxy into the module cache and print
# its (read-only) directory.
module_dir() {
  local json
  if ! json=$(cd "$BUILD_ROOT" && go mod download -json "$PIN_MODULE@$PIN_MODVER"); then
    echo "build-binaries: cannot download Go module $PIN_MODULE@$PIN_MODVER from the module proxy" >&2
    echo "$json" >&2
    return 1
  fi
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$json"
}

# module_time FORMAT: the module version's commit time (Go time layout), for version stamps.
module_time() {
  (cd "$BUILD_ROOT" && go list -m -f "{{.Time.UTC.Format \"$1\"}}" "$PIN_MODULE@$PIN_MODVER")
}

# copy_module: a writable copy of the row's module in WORK/src. (`go install module@version`
# refuses modules whose go.mod has replace/exclude directives, e.g. Jaeger's.)
copy_module() {
  local src
  src=$(module_dir)
  [ -n "$src" ] && [ -f "$src/go.mod" ]
  cp -R "$src" "$WORK/src"
  chmod -R u+w "$WORK/src"
}

# go_build LDFLAGS PACKAGE...: build in WORK/src into OUT, with the row's tags= option.
go_build() {
  local ldflags=$1
  shift
  (cd "$WORK/src" && go build -trimpath -tags "$(pin_option tags)" -ldflags "-s -w $ldflags" -o "$OUT/" "$@")
}

# ---- the recipes (the table's recipe column) ---------------------------------------

# `go install module/pkg@version`: for modules without replace directives; it stamps the version
# that `actionlint -version` prints.
recipe_go_install() {
  GOBIN="$OUT" go install -trimpath -ldflags "-s -w" "$PIN_MODULE/$(pin_option pkg | sed 's#^\./##')@$PIN_MODVER"
}

# The repo's own Go programs (inputs=DIR): built from their source, whose go.mod must require the
# row's module at the row's version.
recipe_repo_go() {
  local src
  src="$REPO_DIR/$(pin_option inputs)"
  grep -Eq "^(require)?[[:space:]]*$PIN_MODULE $PIN_MODVER([[:space:]]|\$)" "$src/go.mod" || {
    echo "build-binaries: $src/go.mod does not require $PIN_MODULE $PIN_MODVER (scripts/tools/pins.txt)" >&2
    return 1
  }
  cp -R "$src" "$WORK/src"
  (cd "$WORK/src" && go build -mod=readonly -trimpath -ldflags "-s -w" -o "$OUT/$PIN_PROGRAM" .)
}

# The Collector Builder (ocb) at the row's version, with the repo's manifest; the manifest pins
# every component itself, so refuse one whose versions differ from the row's.
recipe_ocb() {
  local manifest bad out
  manifest="$REPO_DIR/$(pin_option inputs)"
  grep -Eq "^[[:space:]]+version:[[:space:]]*\"?$PIN_VERSION\"?[[:space:]]*$" "$manifest" || {
    echo "build-binaries: $manifest: dist.version is not $PIN_VERSION (scripts/tools/pins.txt)" >&2
    return 1
  }
  bad=$(grep -E '^[[:space:]]*-[[:space:]]*gomod:' "$manifest" | grep -v " ${PIN_MODVER}[[:space:]]*\$" || true)
  # Components the row keeps at an older release (behind=MODULE@VERSION) are not drift.
  for behind in $(pin_option behind | tr ',' ' '); do
    bad=$(grep -vF "gomod: ${behind%@*} ${behind#*@}" <<<"$bad" || true)
  done
  if [ -n "$bad" ]; then
    printf 'build-binaries: %s: components not at %s (scripts/tools/pins.txt):\n%s\n' "$manifest" "$PIN_MODVER" "$bad" >&2
    return 1
  fi
  GOBIN="$WORK" go install -trimpath -ldflags "-s -w" "$PIN_MODULE@$PIN_MODVER"
  # ocb writes the generated sources and the binary to dist.output_path, relative to the working
  # directory; it builds with CGO_ENABLED=0, -trimpath and -ldflags "-s -w" by default.
  (cd "$WORK" && ./builder --config "$manifest")
  out=$(sed -n 's/^[[:space:]]*output_path:[[:space:]]*//p' "$manifest" | head -n1)
  mv "$WORK/$out/otelcol" "$OUT/otelcol"
}

# Stamps `jaeger version` like Jaeger's own Makefile (BuildInfo.mk), with the release commit.
# The UI assets are not in the module zip: the binary serves a placeholder page at / and the
# full query API (/api/..., /api/v3/...).
recipe_jaeger() {
  local v=github.com/jaegertracing/jaeger/internal/version
  copy_module
  go_build "-X $v.latestVersion=v$PIN_VERSION -X $v.commitSHA=$(pin_option commit) -X $v.date=$(module_time 2006-01-02T15:04:05Z)" ./cmd/jaeger
}

# Prometheus' projects (promu): what promu stamps into --version. Each output is ./cmd/NAME,
# or the module's root package when there is no cmd/ (blackbox_exporter). Prometheus is built
# without the `builtinassets` tag: the web UI assets are not in the module zip; the API is
# complete and the UI pages are placeholders.
recipe_promu() {
  local v=github.com/prometheus/common/version out pkgs=()
  [ -d "$WORK/src" ] || copy_module
  for out in ${PIN_OUTPUTS//,/ }; do
    if [ -d "$WORK/src/cmd/$out" ]; then pkgs+=("./cmd/$out"); else pkgs+=(.); fi
  done
  go_build "-X $v.Version=$PIN_VERSION -X $v.Revision=go-module-$PIN_MODVER -X $v.Branch=HEAD -X $v.BuildUser=$BUILD_USER -X $v.BuildDate=$BUILD_DATE" "${pkgs[@]}"
}

# Alertmanager embeds its web UI from ui/app/dist (`//go:embed app/dist`), an Elm/Vite build
# output that the module zip does not contain (building it needs the Elm compiler, which no
# package registry serves). A one-page placeholder there lets the Go code compile; the API
# (/api/v2/...), routing, grouping, inhibition and notifications are the release's own code.
recipe_alertmanager() {
  copy_module
  (cd "$WORK/src" && am_ui_placeholder)
  recipe_promu
}

am_ui_placeholder() {
  [ -e ui/app/dist ] && return 0
  mkdir -p ui/app/dist
  cat >ui/app/dist/index.html <<'HTML'
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Alertmanager</title></head>
<body><h1>Alertmanager (native build without the web UI)</h1>
<p>This binary was built from the Go module, which does not ship the compiled
web UI. The HTTP API is complete: <a href="api/v2/status">api/v2/status</a>,
<a href="api/v2/alerts">api/v2/alerts</a>; or use <code>amtool</code>.</p>
</body></html>
HTML
  # The server sends HTML only from precompressed files, and only the one the
  # client prefers (browsers: .br). gzip is at hand; for .br write the page as
  # one uncompressed Brotli meta-block (RFC 7932 9.2): header bits WBITS=16,
  # ISLAST=0, MNIBBLES=4, MLEN-1 (16 bits), ISUNCOMPRESSED=1; the raw bytes;
  # then an empty last meta-block (0x03).
  gzip -9 -n -k ui/app/dist/index.html
  local len h
  len=$(wc -c <ui/app/dist/index.html)
  h=$((((len - 1) << 4) | (1 << 20)))
  {
    printf "\\x$(printf %02x $((h & 255)))\\x$(printf %02x $((h >> 8 & 255)))\\x$(printf %02x $((h >> 16 & 255)))"
    cat ui/app/dist/index.html
    printf '\x03'
  } >ui/app/dist/index.html.br
}

# VictoriaLogs' go.mod has no replace directives and the module ships the web UI (vmui), so
# `go install` builds the release's own program. CGO_ENABLED=0 is the release's "pure" build
# (pure-Go zstd); the stamp has the form of its Makefile's GO_BUILDINFO (APP-DATE-TAG), dated by
# the module, not the build.
recipe_victoria_logs() {
  GOBIN="$OUT" go install -trimpath \
    -ldflags "-s -w -X github.com/VictoriaMetrics/VictoriaMetrics/lib/buildinfo.Version=victoria-logs-$(module_time 20060102-150405)-tags-$PIN_MODVER-0-go-module" \
    "$PIN_MODULE/app/victoria-logs@$PIN_MODVER"
}

# The stamps of Helm's Makefile: `helm version`, and the Kubernetes version that `helm template`
# and `helm lint` assume (1.MINOR of the client-go it is built with).
recipe_helm() {
  local minor v=helm.sh/helm/v3
  copy_module
  minor=$(sed -n 's#^[[:space:]]*k8s.io/client-go v0\.\([0-9]*\)\..*#\1#p' "$WORK/src/go.mod")
  [ -n "$minor" ]
  go_build "-X $v/internal/version.version=$PIN_MODVER -X $v/pkg/lint/rules.k8sVersionMajor=1 -X $v/pkg/lint/rules.k8sVersionMinor=$minor -X $v/pkg/chartutil.k8sVersionMajor=1 -X $v/pkg/chartutil.k8sVersionMinor=$minor" ./cmd/helm
}

# The Operator's CRD YAMLs (example/prometheus-operator-crd-full) from its Go module.
recipe_operator_crds() {
  local src
  src=$(module_dir)
  mkdir -p "$OUT/prometheus-operator-crds"
  cp "$src"/example/prometheus-operator-crd-full/*.yaml "$OUT/prometheus-operator-crds/"
  chmod u+w "$OUT/prometheus-operator-crds"/*.yaml
}

# The etcd server module has no main package and the top-level module cannot be built from the
# module proxy (its go.mod replaces every module with a directory): build a two-line main that
# calls the server's own entry point.
recipe_etcd() {
  mkdir -p "$WORK/src"
  printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' >"$WORK/src/main.go"
  (cd "$WORK/src" && go mod init etcd-main && go get "$PIN_MODULE@$PIN_MODVER" && go mod tidy)
  (cd "$WORK/src" && go build -trimpath -ldflags "-s -w" -o "$OUT/etcd" .)
}

# k8s.io/kubernetes replaces every k8s.io/* staging module with ./staging/..., which the module
# zip lacks: point those replaces at the published modules of the same release (staging=), drop
# go.work and vendor/ (which list the staging modules as local directories), and let -mod=mod
# fill go.sum. The ldflags are what hack/lib/version.sh stamps (`kubectl version` needs them).
recipe_kubernetes() {
  local staging minor pkg ldflags=""
  staging=$(pin_option staging)
  minor=$(cut -d. -f2 <<<"$PIN_VERSION")
  copy_module
  (cd "$WORK/src" && rm -rf go.work go.work.sum vendor &&
    sed -i -E "s#^(\\s*(replace\\s+)?k8s\\.io/[a-z0-9-]+) => \\./staging/src/(k8s\\.io/[a-z0-9-]+)\$#\\1 => \\3 $staging#" go.mod)
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=v$PIN_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  GOFLAGS="$GOFLAGS -mod=mod" go_build "$ldflags" ./cmd/kube-apiserver ./cmd/kubectl
}

# Docker Compose as the `docker compose` plugin, stamped as its Makefile does (`docker compose
# version`); built in a copy of the module, like the others.
recipe_docker_compose() {
  copy_module
  go_build "-X github.com/docker/compose/v5/internal.Version=v$PIN_VERSION" ./cmd
  mv "$OUT/cmd" "$OUT/docker-compose"
}

# ---- main ----------------------------------------------------------------------

case "$MODE" in
  dry-run)
    for p in "${PROGRAMS[@]}"; do
      load_pin "$p"
      if is_current; then report cached; else report build; fi
    done
    exit 0
    ;;
  check)
    for p in "${PROGRAMS[@]}"; do
      load_pin "$p"
      is_current || { echo "build-binaries: $p $PIN_VERSION is not built from its current inputs: run scripts/tools/build-binaries.sh $p" >&2; exit 1; }
    done
    exit 0
    ;;
esac

command -v go >/dev/null || { echo "build-binaries: Go is not installed (needed to build from Go modules)" >&2; exit 1; }
mkdir -p "$AGENT_OBS_BIN_DIR" "$BUILD_ROOT" "$LOG_DIR" "$STAMP_DIR" "$SHARE_DIR"
trap on_error ERR
T_ALL=$(date +%s)
for p in "${PROGRAMS[@]}"; do
  build_program "$p"
done
trap - ERR
echo "build-binaries: all done in $(elapsed "$T_ALL"); binaries in $AGENT_OBS_BIN_DIR"
echo "build-binaries: use them with: eval \"\$(scripts/tools/bin-path.sh --env)\"  or  PATH=$AGENT_OBS_BIN_DIR:\$PATH"

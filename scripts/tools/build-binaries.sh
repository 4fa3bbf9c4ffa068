#!/usr/bin/env bash
# build-binaries.sh: build the stack's real programs, at the versions pinned in
# scripts/tools/versions.env (the same versions as the images in
# docker-compose.yml), from Go modules, for machines without Docker.
#
#   scripts/tools/build-binaries.sh [--force] [PROGRAM ...]
#
# PROGRAM is any of: otelcol jaeger prometheus alertmanager victoria-logs
# actionlint compose-check (default: all). prometheus also gives promtool, alertmanager
# also gives amtool; actionlint and compose-check are `make validate`'s checkers.
#
# Output: ${XDG_CACHE_HOME:-$HOME/.cache}/agent-observability/bin/NAME-VERSION
# (override the root with AGENT_OBS_CACHE_DIR), outside the clone so that a
# fresh clone (CI) reuses it. A NAME symlink next to each points at the pinned
# build, so the directory can go on PATH; scripts should ask bin-path.sh.
# A binary already in the cache is reused (a second run takes seconds);
# --force rebuilds. Build logs: <cache>/logs/NAME-VERSION.log.
#
# Needs Go (>= the version each module's go.mod asks for; GOTOOLCHAIN=local, so
# no toolchain is downloaded) and the Go module proxy. Builds are static
# (CGO_ENABLED=0), -trimpath, stripped (-s -w). First build on 2 cores: see
# scripts/tools/README.md for the times measured.
set -Eeuo pipefail

TOOLS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$TOOLS_DIR/../.." && pwd)
# shellcheck source=bin-path.sh
. "$TOOLS_DIR/bin-path.sh" # versions.env, AGENT_OBS_CACHE_DIR, AGENT_OBS_BIN_DIR

MANIFEST="$REPO_DIR/otel-collector/builder-config.yaml"
BUILD_ROOT="$AGENT_OBS_CACHE_DIR/build" # scratch: module copies, ocb output
LOG_DIR="$AGENT_OBS_CACHE_DIR/logs"

export CGO_ENABLED=0
export GOTOOLCHAIN=local # fail clearly instead of fetching another Go
export GOFLAGS="-buildvcs=false" # module copies are not git checkouts
export GOWORK=off # Prometheus' module zip ships a go.work naming dirs it lacks
# Version stamps for `--version` (the module proxy carries no commit hashes).
BUILD_USER="build-binaries.sh@$(hostname 2>/dev/null || echo localhost)"
BUILD_DATE=$(date -u +%Y%m%d-%H:%M:%S)

FORCE=0
PROGRAMS=()
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h | --help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    otelcol | jaeger | prometheus | alertmanager) PROGRAMS+=("$arg") ;;
    promtool) PROGRAMS+=(prometheus) ;;
    amtool) PROGRAMS+=(alertmanager) ;;
    actionlint | compose-check) PROGRAMS+=("$arg") ;;
    helm | etcd | kubernetes | operator-crds | kube-validate) PROGRAMS+=("$arg") ;; # Kubernetes validation (make tools)
    kube-apiserver | kubectl) PROGRAMS+=(kubernetes) ;;
    victoria-logs) PROGRAMS+=("$arg") ;; # the log store (issue 18)
    *) echo "build-binaries: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done
[ ${#PROGRAMS[@]} -gt 0 ] || PROGRAMS=(actionlint compose-check otelcol jaeger prometheus alertmanager victoria-logs)

command -v go >/dev/null || { echo "build-binaries: Go is not installed (needed to build from Go modules)" >&2; exit 1; }
mkdir -p "$AGENT_OBS_BIN_DIR" "$BUILD_ROOT" "$LOG_DIR"

# ---- helpers ---------------------------------------------------------------

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
trap on_error ERR

elapsed() { # seconds since $1 as "1m23s"
  local s=$(($(date +%s) - $1))
  printf '%dm%02ds' $((s / 60)) $((s % 60))
}

# have NAME...: true when every NAME-VERSION is already built (and no --force)
have() {
  [ "$FORCE" = 0 ] || return 1
  local n
  for n in "$@"; do
    [ -x "$AGENT_OBS_BIN_DIR/$n-$(agent_obs_version "$n")" ] || return 1
  done
}

# install_bin NAME FILE: move a fresh build into the cache, atomically, and
# point the NAME symlink at it.
install_bin() {
  local name=$1 file=$2 version
  version=$(agent_obs_version "$name")
  mv -f "$file" "$AGENT_OBS_BIN_DIR/.$name-$version.tmp"
  mv -f "$AGENT_OBS_BIN_DIR/.$name-$version.tmp" "$AGENT_OBS_BIN_DIR/$name-$version"
  ln -sfn "$name-$version" "$AGENT_OBS_BIN_DIR/$name"
}

# module_dir MODULE VERSION: download MODULE@VERSION from the module proxy
# into the module cache and print its (read-only) directory.
module_dir() {
  local json
  if ! json=$(cd "$BUILD_ROOT" && go mod download -json "$1@$2" 2>>"$LOG"); then
    echo "build-binaries: cannot download Go module $1@$2 from the module proxy" >>"$LOG"
    echo "$json" >>"$LOG"
    return 1
  fi
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$json"
}

# build_in_module NAME MODULE VERSION LDFLAGS TAGS PKG...: copy the module to a
# writable directory and `go build` PKGs there. (`go install module@version`
# refuses modules whose go.mod has replace/exclude directives, e.g. Jaeger.)
# If $PREPARE names a function, it runs first inside the copy.
build_in_module() {
  local name=$1 module=$2 modver=$3 ldflags=$4 tags=$5
  shift 5
  local src work="$BUILD_ROOT/$name"
  src=$(module_dir "$module" "$modver")
  [ -n "$src" ] && [ -f "$src/go.mod" ]
  rm -rf "$work"
  mkdir -p "$work/out"
  cp -R "$src" "$work/src"
  chmod -R u+w "$work/src"
  if [ -n "${PREPARE:-}" ]; then (cd "$work/src" && "$PREPARE") >>"$LOG" 2>&1; fi
  (cd "$work/src" && go build -trimpath -tags "$tags" -ldflags "-s -w $ldflags" -o "$work/out/" "$@") >>"$LOG" 2>&1
}

begin() { # begin NAME "description": set the failure context and the log
  CURRENT=$2
  LOG="$LOG_DIR/$1.log"
  : >"$LOG"
  printf 'build-binaries: building %s ... ' "$CURRENT"
}

# finish_module_build DIR T0 NAME...: install each NAME from build_in_module's DIR/out, remove
# DIR, report the time.
finish_module_build() {
  local dir=$1 t0=$2 n
  shift 2
  for n in "$@"; do install_bin "$n" "$BUILD_ROOT/$dir/out/$n"; done
  rm -rf "$BUILD_ROOT/$dir"
  echo "done in $(elapsed "$t0")"
}

# Built from a source hash (otelcol's manifest, compose-check's source): the hash is kept beside
# the binary, so a changed source rebuilds even when the version did not change.
# cached_source NAME SUM STAMP: true (and reported) when NAME is built and STAMP holds SUM.
cached_source() {
  have "$1" && [ "$(cat "$3" 2>/dev/null)" = "$2" ] || return 1
  report_cached "$1"
}

# finish_source_build NAME BINARY SUM STAMP WORK T0: install, keep the hash, clean up, report.
finish_source_build() {
  install_bin "$1" "$2"
  echo "$3" >"$4"
  rm -rf "$5"
  echo "done in $(elapsed "$6")"
}

report_cached() {
  local n
  for n in "$@"; do
    ln -sfn "$n-$(agent_obs_version "$n")" "$AGENT_OBS_BIN_DIR/$n"
    printf 'build-binaries: %-12s %-8s cached  %s\n' "$n" "$(agent_obs_version "$n")" "$AGENT_OBS_BIN_DIR/$n-$(agent_obs_version "$n")"
  done
}

# ---- the programs ----------------------------------------------------------

prom_ldflags() { # prom_ldflags VERSION MODVER: what promu stamps into --version
  local v=github.com/prometheus/common/version
  echo "-X $v.Version=$1 -X $v.Revision=go-module-$2 -X $v.Branch=HEAD -X $v.BuildUser=$BUILD_USER -X $v.BuildDate=$BUILD_DATE"
}

build_prometheus() {
  have prometheus promtool && { report_cached prometheus promtool; return; }
  local t0; t0=$(date +%s)
  begin "prometheus-$PROMETHEUS_VERSION" "prometheus+promtool $PROMETHEUS_VERSION (Go module github.com/prometheus/prometheus@$PROMETHEUS_GO_MODULE_VERSION)"
  # Tags as in the release's .promu.yml minus `builtinassets` (the web UI
  # assets are not in the module zip; without it the API is complete and the
  # UI pages are placeholders).
  build_in_module prometheus github.com/prometheus/prometheus "$PROMETHEUS_GO_MODULE_VERSION" \
    "$(prom_ldflags "$PROMETHEUS_VERSION" "$PROMETHEUS_GO_MODULE_VERSION")" netgo \
    ./cmd/prometheus ./cmd/promtool
  finish_module_build prometheus "$t0" prometheus promtool
}

# Alertmanager embeds its web UI from ui/app/dist (`//go:embed app/dist`), an
# Elm/Vite build output that the module zip does not contain (building it needs
# the Elm compiler from outside the registries). Put a one-page placeholder
# there so the Go code compiles; the API (/api/v2/...), routing, grouping,
# inhibition and notifications are the release's own code. Only the HTML UI at
# / is missing (use amtool, or Grafana's Alertmanager datasource).
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

build_alertmanager() {
  have alertmanager amtool && { report_cached alertmanager amtool; return; }
  local t0; t0=$(date +%s)
  begin "alertmanager-$ALERTMANAGER_VERSION" "alertmanager+amtool $ALERTMANAGER_VERSION (Go module github.com/prometheus/alertmanager@$ALERTMANAGER_GO_MODULE_VERSION)"
  PREPARE=am_ui_placeholder build_in_module alertmanager github.com/prometheus/alertmanager "$ALERTMANAGER_GO_MODULE_VERSION" \
    "$(prom_ldflags "$ALERTMANAGER_VERSION" "$ALERTMANAGER_GO_MODULE_VERSION")" netgo \
    ./cmd/alertmanager ./cmd/amtool
  finish_module_build alertmanager "$t0" alertmanager amtool
}

build_jaeger() {
  have jaeger && { report_cached jaeger; return; }
  local t0; t0=$(date +%s)
  begin "jaeger-$JAEGER_VERSION" "jaeger $JAEGER_VERSION (Go module github.com/jaegertracing/jaeger@$JAEGER_GO_MODULE_VERSION, ./cmd/jaeger)"
  # Stamps `jaeger version` like Jaeger's own Makefile (BuildInfo.mk). The UI
  # assets are not in the module zip: the binary serves a placeholder page at
  # / and the full query API (/api/..., /api/v3/...).
  local v=github.com/jaegertracing/jaeger/internal/version
  local modtime
  modtime=$(cd "$BUILD_ROOT" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' "github.com/jaegertracing/jaeger@$JAEGER_GO_MODULE_VERSION" 2>>"$LOG")
  build_in_module jaeger github.com/jaegertracing/jaeger "$JAEGER_GO_MODULE_VERSION" \
    "-X $v.latestVersion=v$JAEGER_VERSION -X $v.commitSHA=$JAEGER_GIT_COMMIT -X $v.date=$modtime" "" \
    ./cmd/jaeger
  finish_module_build jaeger "$t0" jaeger
}

# VictoriaLogs, the log store (issue 18; docs/decisions/0011-log-store.md). Its
# go.mod has no replace directives and the module ships the web UI (vmui), so
# `go install` builds the release's own program. CGO_ENABLED=0 is the release's
# "pure" build (pure-Go zstd); the stamp has the form of the Makefile's
# GO_BUILDINFO (APP-DATE-TAG), dated by the module, not the build.
build_victoria_logs() {
  have victoria-logs && { report_cached victoria-logs; return; }
  local t0; t0=$(date +%s)
  local module=github.com/VictoriaMetrics/VictoriaLogs
  begin "victoria-logs-$VICTORIALOGS_VERSION" "victoria-logs $VICTORIALOGS_VERSION (Go module $module@$VICTORIALOGS_GO_MODULE_VERSION, ./app/victoria-logs)"
  local modtime
  modtime=$(cd "$BUILD_ROOT" && go list -m -f '{{.Time.UTC.Format "20060102-150405"}}' "$module@$VICTORIALOGS_GO_MODULE_VERSION" 2>>"$LOG")
  GOBIN="$BUILD_ROOT/victoria-logs" go install -trimpath \
    -ldflags "-s -w -X github.com/VictoriaMetrics/VictoriaMetrics/lib/buildinfo.Version=victoria-logs-$modtime-tags-$VICTORIALOGS_GO_MODULE_VERSION-0-go-module" \
    "$module/app/victoria-logs@$VICTORIALOGS_GO_MODULE_VERSION" >>"$LOG" 2>&1
  install_bin victoria-logs "$BUILD_ROOT/victoria-logs/victoria-logs"
  rm -rf "$BUILD_ROOT/victoria-logs"
  echo "done in $(elapsed "$t0")"
}

# The manifest pins every component itself; refuse to build when it disagrees
# with versions.env, so the binary named otelcol-VERSION really is VERSION.
check_manifest() {
  local bad
  grep -Eq "^[[:space:]]+version:[[:space:]]*\"?$OTELCOL_VERSION\"?[[:space:]]*$" "$MANIFEST" || {
    echo "build-binaries: $MANIFEST: dist.version is not $OTELCOL_VERSION (OTELCOL_VERSION in versions.env)" >&2
    return 1
  }
  bad=$(grep -E '^[[:space:]]*-[[:space:]]*gomod:' "$MANIFEST" | grep -v " $OTELCOL_GO_MODULE_VERSION[[:space:]]*\$" || true)
  if [ -n "$bad" ]; then
    echo "build-binaries: $MANIFEST: components not at $OTELCOL_GO_MODULE_VERSION (OTELCOL_GO_MODULE_VERSION in versions.env):" >&2
    echo "$bad" >&2
    return 1
  fi
}

build_otelcol() {
  CURRENT="otelcol $OTELCOL_VERSION (manifest otel-collector/builder-config.yaml)"
  LOG=""
  check_manifest
  # The manifest's hash is stored beside the binary: adding a component to the
  # manifest rebuilds even though the version did not change.
  local sum stamp="$AGENT_OBS_BIN_DIR/otelcol-$OTELCOL_VERSION.manifest.sha256"
  sum=$(sha256sum "$MANIFEST" | cut -d' ' -f1)
  cached_source otelcol "$sum" "$stamp" && return
  local t0; t0=$(date +%s)
  local builder="$AGENT_OBS_BIN_DIR/ocb-$OTELCOL_VERSION" work="$BUILD_ROOT/otelcol"
  begin "otelcol-$OTELCOL_VERSION" "otelcol $OTELCOL_VERSION (Collector Builder go.opentelemetry.io/collector/cmd/builder@$OTELCOL_GO_MODULE_VERSION, manifest otel-collector/builder-config.yaml)"
  rm -rf "$work"
  mkdir -p "$work"
  if [ ! -x "$builder" ] || [ "$FORCE" = 1 ]; then
    GOBIN="$work" go install -trimpath -ldflags "-s -w" \
      "go.opentelemetry.io/collector/cmd/builder@$OTELCOL_GO_MODULE_VERSION" >>"$LOG" 2>&1
    mv -f "$work/builder" "$builder"
  fi
  # ocb writes the generated sources and the binary to dist.output_path,
  # relative to the working directory; it builds with CGO_ENABLED=0,
  # -trimpath and -ldflags "-s -w" by default.
  (cd "$work" && "$builder" --config "$MANIFEST") >>"$LOG" 2>&1
  local out
  out=$(sed -n 's/^[[:space:]]*output_path:[[:space:]]*//p' "$MANIFEST" | head -n1)
  finish_source_build otelcol "$work/$out/otelcol" "$sum" "$stamp" "$work" "$t0"
}

# `make validate`'s checkers (issue 13): actionlint for .github/workflows/, and
# compose-check (scripts/tools/compose-check/), Docker Compose's own loader
# (compose-go) as a program. compose-check is built from the repo's source, so,
# like otelcol, a hash of that source is kept beside the binary and a changed
# source rebuilds it; its go.mod must require compose-go v$COMPOSE_GO_VERSION.
build_actionlint() {
  have actionlint && { report_cached actionlint; return; }
  local t0; t0=$(date +%s)
  begin "actionlint-$ACTIONLINT_VERSION" "actionlint $ACTIONLINT_VERSION (Go module github.com/rhysd/actionlint@v$ACTIONLINT_VERSION)"
  # `go install module@version` stamps the version that `actionlint -version` prints.
  GOBIN="$BUILD_ROOT/actionlint" go install -trimpath -ldflags "-s -w" \
    "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION" >>"$LOG" 2>&1
  install_bin actionlint "$BUILD_ROOT/actionlint/actionlint"
  rm -rf "$BUILD_ROOT/actionlint"
  echo "done in $(elapsed "$t0")"
}

compose_check_sum() { # the hash of compose-check's source, stored beside the binary
  (cd "$TOOLS_DIR/compose-check" && cat go.mod go.sum main.go | sha256sum | cut -d' ' -f1)
}

build_compose_check() {
  CURRENT="compose-check (compose-go v$COMPOSE_GO_VERSION, scripts/tools/compose-check)"
  LOG=""
  grep -Eq "^require github.com/compose-spec/compose-go/v2 v$COMPOSE_GO_VERSION\$" "$TOOLS_DIR/compose-check/go.mod" || {
    echo "build-binaries: scripts/tools/compose-check/go.mod does not require compose-go v$COMPOSE_GO_VERSION (COMPOSE_GO_VERSION in versions.env)" >&2
    return 1
  }
  local sum stamp="$AGENT_OBS_BIN_DIR/compose-check-$COMPOSE_GO_VERSION.source.sha256"
  sum=$(compose_check_sum)
  cached_source compose-check "$sum" "$stamp" && return
  local t0 work="$BUILD_ROOT/compose-check"; t0=$(date +%s)
  begin "compose-check-$COMPOSE_GO_VERSION" "$CURRENT"
  rm -rf "$work"
  mkdir -p "$work"
  cp "$TOOLS_DIR/compose-check/go.mod" "$TOOLS_DIR/compose-check/go.sum" "$TOOLS_DIR/compose-check/main.go" "$work/"
  (cd "$work" && go build -mod=readonly -trimpath -ldflags "-s -w" -o "$work/compose-check" .) >>"$LOG" 2>&1
  finish_source_build compose-check "$work/compose-check" "$sum" "$stamp" "$work" "$t0"
}

# ---- Kubernetes validation: helm, etcd, kube-apiserver, kubectl -----------
# (deploy/helm; test/kubernetes). Not in the default list: `make tools` names
# them, so the stack's own build stays as it was.

build_helm() {
  have helm && { report_cached helm; return; }
  local t0; t0=$(date +%s)
  begin "helm-$HELM_VERSION" "helm $HELM_VERSION (Go module helm.sh/helm/v3@$HELM_GO_MODULE_VERSION, ./cmd/helm)"
  # The stamps of Helm's Makefile: `helm version`, and the Kubernetes version that
  # `helm template` and `helm lint` assume (1.MINOR of the client-go it is built with).
  local src minor v=helm.sh/helm/v3
  src=$(module_dir helm.sh/helm/v3 "$HELM_GO_MODULE_VERSION")
  minor=$(sed -n 's#^[[:space:]]*k8s.io/client-go v0\.\([0-9]*\)\..*#\1#p' "$src/go.mod")
  [ -n "$minor" ]
  build_in_module helm helm.sh/helm/v3 "$HELM_GO_MODULE_VERSION" \
    "-X $v/internal/version.version=$HELM_GO_MODULE_VERSION -X $v/pkg/lint/rules.k8sVersionMajor=1 -X $v/pkg/lint/rules.k8sVersionMinor=$minor -X $v/pkg/chartutil.k8sVersionMajor=1 -X $v/pkg/chartutil.k8sVersionMinor=$minor" \
    "" ./cmd/helm
  finish_module_build helm "$t0" helm
}

# The etcd server module has no main package and the top-level module cannot
# be built from the module proxy (its go.mod replaces every module with a
# directory), so build a two-line main that calls the server's own entry point.
build_etcd() {
  have etcd && { report_cached etcd; return; }
  local t0 work="$BUILD_ROOT/etcd"
  t0=$(date +%s)
  begin "etcd-$ETCD_VERSION" "etcd $ETCD_VERSION (Go module go.etcd.io/etcd/server/v3@$ETCD_GO_MODULE_VERSION, etcdmain.Main)"
  rm -rf "$work"
  mkdir -p "$work"
  printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' >"$work/main.go"
  (cd "$work" && go mod init etcd-main && go get "go.etcd.io/etcd/server/v3@$ETCD_GO_MODULE_VERSION" &&
    go mod tidy && go build -trimpath -ldflags "-s -w" -o etcd .) >>"$LOG" 2>&1
  install_bin etcd "$work/etcd"
  rm -rf "$work"
  echo "done in $(elapsed "$t0")"
}

# k8s.io/kubernetes replaces every k8s.io/* staging module with ./staging/...,
# which the module zip lacks: point those replaces at the published modules
# of the same release, drop go.work, and let -mod=mod fill go.sum.
kube_staging_replaces() {
  # vendor/ lists the staging modules as local directories: without it, go resolves
  # every module from go.mod (and the module proxy) whatever -mod says.
  rm -rf go.work go.work.sum vendor
  sed -i -E "s#^(\\s*(replace\\s+)?k8s\\.io/[a-z0-9-]+) => \\./staging/src/(k8s\\.io/[a-z0-9-]+)\$#\\1 => \\3 $KUBE_STAGING_VERSION#" go.mod
}

kube_ldflags() { # what hack/lib/version.sh stamps (`kubectl version` needs it)
  local minor; minor=$(cut -d. -f2 <<<"$KUBERNETES_VERSION")
  local pkg out=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    out+=" -X $pkg.gitVersion=v$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    out+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  echo "$out"
}

build_kubernetes() {
  have kube-apiserver kubectl && { report_cached kube-apiserver kubectl; return; }
  local t0; t0=$(date +%s)
  begin "kubernetes-$KUBERNETES_VERSION" "kube-apiserver+kubectl $KUBERNETES_VERSION (Go module k8s.io/kubernetes@$KUBERNETES_GO_MODULE_VERSION, staging at $KUBE_STAGING_VERSION)"
  GOFLAGS="$GOFLAGS -mod=mod" PREPARE=kube_staging_replaces build_in_module kubernetes k8s.io/kubernetes \
    "$KUBERNETES_GO_MODULE_VERSION" "$(kube_ldflags)" "" ./cmd/kube-apiserver ./cmd/kubectl
  finish_module_build kubernetes "$t0" kube-apiserver kubectl
}

# The Operator's CRD YAMLs from its Go module: <cache>/crds/prometheus-operator-VERSION/.
build_operator_crds() {
  local dir="$AGENT_OBS_CACHE_DIR/crds/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION"
  if [ "$FORCE" = 0 ] && [ -s "$dir/monitoring.coreos.com_prometheusrules.yaml" ]; then
    printf 'build-binaries: %-12s %-8s cached  %s\n' operator-crds "$PROMETHEUS_OPERATOR_VERSION" "$dir"
    return
  fi
  begin "operator-crds-$PROMETHEUS_OPERATOR_VERSION" "Prometheus Operator CRDs $PROMETHEUS_OPERATOR_VERSION (Go module github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_GO_MODULE_VERSION, example/prometheus-operator-crd-full)"
  local src
  src=$(module_dir github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR_GO_MODULE_VERSION")
  rm -rf "$dir.tmp"
  mkdir -p "$dir.tmp"
  cp "$src"/example/prometheus-operator-crd-full/*.yaml "$dir.tmp/"
  chmod u+w "$dir.tmp"/*.yaml
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
  echo "done"
}

# The validation's fallback without an API server (deploy/validate, the repo's own Go
# module): named by the hash of its sources, so an edit rebuilds it.
build_kube_validate() {
  local src="$REPO_DIR/deploy/validate" sum
  sum=$(cat "$src/go.mod" "$src/go.sum" "$src"/*.go | sha256sum | cut -c1-12)
  local bin="$AGENT_OBS_BIN_DIR/kube-validate-$sum"
  if [ "$FORCE" = 0 ] && [ -x "$bin" ]; then
    ln -sfn "kube-validate-$sum" "$AGENT_OBS_BIN_DIR/kube-validate"
    printf 'build-binaries: %-12s %-8s cached  %s\n' kube-validate "$sum" "$bin"
    return
  fi
  local t0; t0=$(date +%s)
  begin "kube-validate" "kube-validate $sum (deploy/validate)"
  (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$bin.tmp" .) >>"$LOG" 2>&1
  mv -f "$bin.tmp" "$bin"
  ln -sfn "kube-validate-$sum" "$AGENT_OBS_BIN_DIR/kube-validate"
  echo "done in $(elapsed "$t0")"
}

# ---- main ------------------------------------------------------------------

T_ALL=$(date +%s)
for p in "${PROGRAMS[@]}"; do
  "build_${p//-/_}"
done
trap - ERR
echo "build-binaries: all done in $(elapsed "$T_ALL"); binaries in $AGENT_OBS_BIN_DIR"
echo "build-binaries: use them with: eval \"\$(scripts/tools/bin-path.sh --env)\"  or  PATH=$AGENT_OBS_BIN_DIR:\$PATH"

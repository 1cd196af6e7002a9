#!/usr/bin/env bash
# Build and cache a pinned kube-apiserver, kubectl and kine for `bbgen validate --server`
# tests and `bbgen validate --previous` (a scratch API server bbgen starts itself).
#
# The pins live in src/bbgen/kube/serverpins.py (read here with sed), so the script
# and bbgen agree on them. Everything is built from Go modules with the local Go
# toolchain: no prebuilt download, no docker, no etcd.
#
# kube-apiserver and kubectl come from the k8s.io/kubernetes module. Its go.mod
# replaces the 33 k8s.io/<staging> modules with ./staging/src/..., which a module
# download does not contain (nested modules are cut out of module zips). So: copy the
# module somewhere writable, drop vendor/ and go.work*, delete those replace lines and
# require each staging module at its release tag, then `go build` with -mod=mod.
# kine (etcd API over SQLite, cgo) comes from `go install`.
#
# Usage: scripts/install-kube.sh              # build what is missing or outdated, print the bin dir
#        BBGEN_KUBE_DIR=/some/dir scripts/install-kube.sh
#
# Idempotent: a cached binary reporting the pinned version is left alone (a pin bump
# rebuilds). Progress goes to stderr; the only stdout line is the bin directory.
# Cold: about 8-10 minutes on two idle cores, 2.4 GB peak memory.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PINS="${ROOT}/src/bbgen/kube/serverpins.py"

log() { printf '[install-kube] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

pin() {
    local value
    value="$(sed -n "s/^$1 = \"\\([^\"]*\\)\"\$/\\1/p" "${PINS}")"
    [[ -n "${value}" ]] || die "no $1 = \"...\" line in ${PINS}"
    printf '%s' "${value}"
}

KUBE_VERSION="$(pin KUBE_VERSION)"
KUBE_STAGING_VERSION="$(pin KUBE_STAGING_VERSION)"
KINE_VERSION="$(pin KINE_VERSION)"
KUBE_MODULE="k8s.io/kubernetes"
KINE_MODULE="github.com/k3s-io/kine"

CACHE_DIR="${BBGEN_KUBE_DIR:-${HOME}/.cache/bbgen/kube}"
BIN_DIR="${CACHE_DIR}/bin"

# `kube-apiserver --version` prints "Kubernetes vX.Y.Z"; `kubectl version --client`
# prints "Client Version: vX.Y.Z"; kine's version is the module version Go recorded.
apiserver_version() { "$1" --version 2>/dev/null | sed -n 's/^Kubernetes \(v[^ ]*\).*/\1/p' | head -n1; }
kubectl_version() { "$1" version --client 2>/dev/null | sed -n 's/^Client Version: \(v[^ ]*\).*/\1/p' | head -n1; }
kine_version() { go version -m "$1" 2>/dev/null | awk -v m="${KINE_MODULE}" '$1 == "mod" && $2 == m { print $3; exit }'; }

need_kube=0
need_kine=0
[[ -x "${BIN_DIR}/kube-apiserver" && "$(apiserver_version "${BIN_DIR}/kube-apiserver" || true)" == "${KUBE_VERSION}" ]] || need_kube=1
[[ -x "${BIN_DIR}/kubectl" && "$(kubectl_version "${BIN_DIR}/kubectl" || true)" == "${KUBE_VERSION}" ]] || need_kube=1

command -v go >/dev/null 2>&1 || die "the Go toolchain (go) is required to build kube-apiserver, kubectl and kine"
[[ -x "${BIN_DIR}/kine" && "$(kine_version "${BIN_DIR}/kine" || true)" == "${KINE_VERSION}" ]] || need_kine=1

if [[ "${need_kube}" == 0 && "${need_kine}" == 0 ]]; then
    log "kube-apiserver/kubectl ${KUBE_VERSION} and kine ${KINE_VERSION} already installed in ${BIN_DIR}"
    printf '%s\n' "${BIN_DIR}"
    exit 0
fi

# Never let a go.mod toolchain line trigger a toolchain download.
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export GOWORK=off
export GOFLAGS="${GOFLAGS:-} -mod=mod -buildvcs=false"

work="$(mktemp -d "${TMPDIR:-/tmp}/bbgen-kube-build.XXXXXX")"
cleanup() { chmod -R u+w "${work}" 2>/dev/null || true; rm -rf "${work}"; }
trap cleanup EXIT
mkdir -p "${work}/out" "${BIN_DIR}"

# Install atomically: a half-written binary must never look installed.
install_bin() {
    cp "${work}/out/$1" "${BIN_DIR}/.$1.tmp.$$"
    chmod 0755 "${BIN_DIR}/.$1.tmp.$$"
    mv -f "${BIN_DIR}/.$1.tmp.$$" "${BIN_DIR}/$1"
}

start_ts=$(date +%s)
log "using $(go version)"

if [[ "${need_kine}" == 1 ]]; then
    kine_ts=$(date +%s)
    log "building kine ${KINE_VERSION} (cgo, SQLite)"
    command -v "$(go env CC)" >/dev/null 2>&1 || die "a C compiler ($(go env CC)) is required: kine's SQLite driver uses cgo"
    CGO_ENABLED=1 GOBIN="${work}/out" go install -trimpath -ldflags "-s -w" "${KINE_MODULE}@${KINE_VERSION}" >&2
    have="$(kine_version "${work}/out/kine" || true)"
    [[ "${have}" == "${KINE_VERSION}" ]] || die "built kine reports module version '${have}', expected ${KINE_VERSION}"
    install_bin kine
    log "installed kine ${KINE_VERSION} in $(( $(date +%s) - kine_ts ))s"
fi

if [[ "${need_kube}" == 1 ]]; then
    kube_ts=$(date +%s)
    log "downloading module ${KUBE_MODULE}@${KUBE_VERSION}"
    mod_json="$(go mod download -json "${KUBE_MODULE}@${KUBE_VERSION}")" \
        || die "go mod download failed: ${mod_json:-}"
    src_dir="$(printf '%s\n' "${mod_json}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -n1)"
    [[ -n "${src_dir}" && -f "${src_dir}/go.mod" ]] || die "could not find the module directory in: ${mod_json}"
    log "copying ${src_dir} to ${work}/src"
    cp -R "${src_dir}" "${work}/src"
    chmod -R u+w "${work}/src"
    cd "${work}/src"
    rm -rf vendor go.work go.work.sum

    # Drop `k8s.io/X => ./staging/src/k8s.io/X` and pin each staging module it named.
    staging="$(sed -n 's#^[[:space:]]*\(k8s\.io/[^ ]*\) => \./staging/src/.*$#\1#p' go.mod)"
    [[ -n "${staging}" ]] || die "no ./staging replace lines in ${KUBE_MODULE}'s go.mod: the build recipe needs revisiting"
    log "replacing $(printf '%s\n' "${staging}" | wc -l) staging replace lines by ${KUBE_STAGING_VERSION} requirements"
    sed -i '\#=> \./staging/src/#d' go.mod
    for mod in ${staging}; do
        go mod edit -require="${mod}@${KUBE_STAGING_VERSION}"
    done

    # What hack/lib/version.sh stamps, so the server's /version and --version say the pin.
    minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
    ldflags="-s -w"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        ldflags+=" -X '${pkg}.gitVersion=${KUBE_VERSION}' -X '${pkg}.gitMajor=1' -X '${pkg}.gitMinor=${minor}'"
        ldflags+=" -X '${pkg}.gitTreeState=clean' -X '${pkg}.buildDate=1970-01-01T00:00:00Z'"
    done
    log "building kube-apiserver and kubectl ${KUBE_VERSION}; this takes about 8-10 minutes cold"
    CGO_ENABLED=0 go build -trimpath -ldflags "${ldflags}" -o "${work}/out/" ./cmd/kube-apiserver ./cmd/kubectl >&2
    have="$(apiserver_version "${work}/out/kube-apiserver" || true)"
    [[ "${have}" == "${KUBE_VERSION}" ]] || die "built kube-apiserver reports '${have}', expected ${KUBE_VERSION}"
    have="$(kubectl_version "${work}/out/kubectl" || true)"
    [[ "${have}" == "${KUBE_VERSION}" ]] || die "built kubectl reports '${have}', expected ${KUBE_VERSION}"
    install_bin kube-apiserver
    install_bin kubectl
    log "installed kube-apiserver and kubectl ${KUBE_VERSION} in $(( $(date +%s) - kube_ts ))s"
fi

{
    printf 'kube=%s\n' "${KUBE_VERSION}"
    printf 'staging=%s\n' "${KUBE_STAGING_VERSION}"
    printf 'kine=%s\n' "${KINE_VERSION}"
    printf 'go=%s\n' "$(go env GOVERSION)"
    printf 'last_build_seconds=%s\n' "$(( $(date +%s) - start_ts ))"
} > "${CACHE_DIR}/BUILD-INFO"

log "done in $(( $(date +%s) - start_ts ))s"
printf '%s\n' "${BIN_DIR}"

#!/usr/bin/env bash
# Install the pinned kustomize and kubeconform binaries `bbgen validate` runs.
#
# Both are built from their Go modules with `go install` (no prebuilt
# downloads), into ${BBGEN_TOOLS_DIR:-$HOME/.cache/bbgen/tools}/bin, which is
# one of the places bbgen looks for them (after $BBGEN_TOOLS_DIR/bin and PATH).
#
# Usage: scripts/install-tools.sh              # install what is missing or outdated
#        BBGEN_TOOLS_DIR=/some/dir scripts/install-tools.sh
#
# Idempotent: a binary already reporting the pinned version is left alone.
# Progress goes to stderr; the only stdout line is the bin directory.
set -euo pipefail

# Pinned versions (keep in sync with src/bbgen/validate/tools.py).
KUSTOMIZE_VERSION="v5.8.1"
KUBECONFORM_VERSION="v0.8.0"
KUSTOMIZE_MODULE="sigs.k8s.io/kustomize/kustomize/v5"
KUBECONFORM_MODULE="github.com/yannh/kubeconform"
KUBECONFORM_PACKAGE="${KUBECONFORM_MODULE}/cmd/kubeconform"

TOOLS_DIR="${BBGEN_TOOLS_DIR:-${HOME}/.cache/bbgen/tools}"
BIN_DIR="${TOOLS_DIR}/bin"

log() { printf '[install-tools] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

STAGES=()
cleanup() { [[ ${#STAGES[@]} -eq 0 ]] || rm -rf "${STAGES[@]}"; }
trap cleanup EXIT

# The version a binary was built as. `kustomize version` prints it; a
# `go install`ed kubeconform prints "development" for -v, so fall back to the
# module version Go records in every binary (`go version -m`).
binary_version() {
    local tool="$1" bin="$2" module="$3" reported=""
    case "${tool}" in
        kustomize) reported="$("${bin}" version 2>/dev/null | head -n1 || true)" ;;
        kubeconform) reported="$("${bin}" -v 2>/dev/null | head -n1 || true)" ;;
    esac
    reported="${reported##*/}"  # older kustomize printed "kustomize/v5.x.y"
    if [[ "${reported}" == v[0-9]* ]]; then
        printf '%s\n' "${reported}"
    elif command -v go >/dev/null 2>&1; then
        go version -m "${bin}" 2>/dev/null | awk -v m="${module}" '$1 == "mod" && $2 == m { print $3; exit }'
    fi
}

# install_tool NAME PACKAGE MODULE VERSION
install_tool() {
    local name="$1" package="$2" module="$3" version="$4"
    local bin="${BIN_DIR}/${name}"
    if [[ -x "${bin}" ]]; then
        local have
        have="$(binary_version "${name}" "${bin}" "${module}" || true)"
        if [[ "${have}" == "${version}" ]]; then
            log "${name} ${version} already installed at ${bin}"
            return 0
        fi
        log "${bin} reports '${have:-unknown}', installing ${version}"
    fi
    command -v go >/dev/null 2>&1 || die "the Go toolchain (go) is required to install ${name}"
    local stage
    stage="$(mktemp -d "${TMPDIR:-/tmp}/bbgen-tools.XXXXXX")"
    STAGES+=("${stage}")
    log "go install ${package}@${version}"
    GOBIN="${stage}" go install "${package}@${version}" >&2 || die "go install ${package}@${version} failed"
    mkdir -p "${BIN_DIR}"
    # Rename into place so a half-copied binary never looks installed.
    cp "${stage}/${name}" "${BIN_DIR}/.${name}.tmp.$$"
    chmod 0755 "${BIN_DIR}/.${name}.tmp.$$"
    mv -f "${BIN_DIR}/.${name}.tmp.$$" "${bin}"
    local got
    got="$(binary_version "${name}" "${bin}" "${module}" || true)"
    [[ "${got}" == "${version}" ]] || die "installed ${name} reports '${got:-unknown}', expected ${version}"
    log "installed ${name} ${version} at ${bin}"
}

# Never let a module's toolchain line trigger a toolchain download.
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export CGO_ENABLED="${CGO_ENABLED:-0}"

install_tool kustomize "${KUSTOMIZE_MODULE}" "${KUSTOMIZE_MODULE}" "${KUSTOMIZE_VERSION}"
install_tool kubeconform "${KUBECONFORM_PACKAGE}" "${KUBECONFORM_MODULE}" "${KUBECONFORM_VERSION}"
printf '%s\n' "${BIN_DIR}"

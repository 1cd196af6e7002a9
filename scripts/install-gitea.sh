#!/usr/bin/env bash
# Build and cache a pinned Gitea server binary for bbgen's integration tests.
#
# Gitea is built from its Go module with the Go toolchain (no prebuilt
# download, no docker, no npm). The result is a single self-contained binary
# (options/templates/public/migration schemas embedded via the `bindata` tag),
# so the test fixture can point its work path at a throw-away directory.
#
# Usage: scripts/install-gitea.sh            # build if needed, print binary path
#        BBGEN_GITEA_DIR=/some/dir scripts/install-gitea.sh
#
# Idempotent: when the cached binary already reports the pinned version,
# nothing is downloaded or built. Progress goes to stderr; the only stdout line
# is the absolute path of the binary.
set -euo pipefail

# Pinned Gitea release (keep in sync with GITEA_VERSION in
# tests/gitea/gitea_server.py; a test checks that they agree).
# Why not 1.27.x: v1.27.3 (module path gitea.dev) requires gitea.dev/sdk,
# gitea.dev/actions-proto-go and gitlab.com/gitlab-org/api/client-go/v2@v2.42.0,
# which the Go module proxy reachable from our machines refuses, so it cannot be
# built here. v1.26.0 resolves completely.
GITEA_VERSION="1.26.0"
GITEA_MODULE="code.gitea.io/gitea"
# Build tags, as upstream's release builds use them: `bindata` embeds the
# runtime assets (options, templates, public, migration schemas) into the
# binary; `sqlite sqlite_unlock_notify` enable the (cgo) SQLite backend.
GITEA_TAGS="bindata sqlite sqlite_unlock_notify"

CACHE_DIR="${BBGEN_GITEA_DIR:-${HOME}/.cache/bbgen/gitea/${GITEA_VERSION}}"
BIN="${CACHE_DIR}/gitea"

log() { printf '[install-gitea] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# `gitea --version` prints e.g. "gitea version 1.26.0 built with go1.26.8 : bindata, sqlite, ...".
binary_version() {
    "$1" --version 2>/dev/null | sed -n 's/^[Gg]itea version \([^ ]*\).*/\1/p' | head -n1
}

if [[ -x "${BIN}" ]]; then
    have="$(binary_version "${BIN}" || true)"
    if [[ "${have}" == "${GITEA_VERSION}" ]]; then
        log "Gitea ${GITEA_VERSION} already installed at ${BIN}"
        printf '%s\n' "${BIN}"
        exit 0
    fi
    log "cached binary at ${BIN} reports '${have:-?}', rebuilding ${GITEA_VERSION}"
fi

command -v go >/dev/null 2>&1 || die "the Go toolchain (go) is required to build Gitea"
command -v "$(go env CC)" >/dev/null 2>&1 || die "a C compiler ($(go env CC)) is required: the SQLite driver uses cgo"
command -v git >/dev/null 2>&1 || log "warning: git is not on PATH; Gitea needs it at run time"

# Never let go.mod's toolchain line trigger a toolchain download.
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export GOFLAGS="${GOFLAGS:-} -mod=mod -buildvcs=false"
# The SQLite driver (mattn/go-sqlite3) needs cgo and a C compiler.
export CGO_ENABLED=1
export CGO_CFLAGS="${CGO_CFLAGS:-$(go env CGO_CFLAGS)} -DSQLITE_MAX_VARIABLE_NUMBER=32766"

start_ts=$(date +%s)
log "using $(go version)"
log "downloading module ${GITEA_MODULE}@v${GITEA_VERSION}"
mod_json="$(go mod download -json "${GITEA_MODULE}@v${GITEA_VERSION}")" \
    || die "go mod download failed: ${mod_json:-}"
src_dir="$(printf '%s\n' "${mod_json}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -n1)"
[[ -n "${src_dir}" && -f "${src_dir}/go.mod" ]] || die "could not find the module directory in: ${mod_json}"
log "module source: ${src_dir}"

work="$(mktemp -d "${TMPDIR:-/tmp}/bbgen-gitea-build.XXXXXX")"
cleanup() { chmod -R u+w "${work}" 2>/dev/null || true; rm -rf "${work}"; }
trap cleanup EXIT

# The module cache is read-only; build in a writable copy (its go.mod has
# replace directives, which rules out `go install module@version`).
log "copying source to ${work}/src"
cp -R "${src_dir}" "${work}/src"
chmod -R u+w "${work}/src"
cd "${work}/src"

# The generators `make generate-backend` runs for bindata builds. The frontend
# (npm) assets are not built, so the web UI is bare, but the API and git over
# HTTP work.
for pkg in options templates public migration; do
    log "generating bindata for modules/${pkg}"
    (cd "modules/${pkg}" && CGO_ENABLED=0 go generate -tags "${GITEA_TAGS}" ./ >&2)
done

mkdir -p "${work}/out"
log "building gitea ${GITEA_VERSION} (tags: ${GITEA_TAGS}); this can take 10-20 minutes cold"
go build -trimpath -tags "${GITEA_TAGS}" \
    -ldflags "-s -w -X 'main.Version=${GITEA_VERSION}' -X 'main.Tags=${GITEA_TAGS}'" \
    -o "${work}/out/gitea" . >&2

have="$(binary_version "${work}/out/gitea" || true)"
[[ "${have}" == "${GITEA_VERSION}" ]] || die "built binary reports version '${have}', expected ${GITEA_VERSION}"

mkdir -p "${CACHE_DIR}"
# Install atomically: a half-written binary must never look installed.
cp "${work}/out/gitea" "${CACHE_DIR}/.gitea.tmp.$$"
chmod 0755 "${CACHE_DIR}/.gitea.tmp.$$"
mv -f "${CACHE_DIR}/.gitea.tmp.$$" "${BIN}"
{
    printf 'version=%s\n' "${GITEA_VERSION}"
    printf 'module=%s\n' "${GITEA_MODULE}"
    printf 'tags=%s\n' "${GITEA_TAGS}"
    printf 'go=%s\n' "$(go env GOVERSION)"
    printf 'built_seconds=%s\n' "$(( $(date +%s) - start_ts ))"
} > "${CACHE_DIR}/BUILD-INFO"

log "installed Gitea ${GITEA_VERSION} at ${BIN} in $(( $(date +%s) - start_ts ))s"
printf '%s\n' "${BIN}"

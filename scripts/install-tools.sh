#!/usr/bin/env bash
# Install the pinned kustomize, kubeconform and helm binaries `bbgen validate` runs.
#
# Delegates to `bbgen tools install`, so the pins live in one place
# (src/bbgen/kube/pins.py): each is built from its Go module with
# `go install` (no prebuilt downloads, GOTOOLCHAIN=local) into
# ${BBGEN_TOOLS_DIR:-$HOME/.cache/bbgen/tools}/bin, one of the places bbgen looks
# for them (after $BBGEN_TOOLS_DIR/bin and PATH).
#
# Usage: scripts/install-tools.sh              # install what is missing or outdated
#        BBGEN_TOOLS_DIR=/some/dir scripts/install-tools.sh
#
# Needs bbgen installed: the repository's .venv (scripts/test.sh makes it first)
# or a `bbgen` on PATH. Idempotent: a binary already reporting the pinned version
# is left alone. Progress goes to stderr; the only stdout line is the bin directory.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [[ -x "${ROOT}/.venv/bin/bbgen" ]]; then
    BBGEN="${ROOT}/.venv/bin/bbgen"
elif command -v bbgen >/dev/null 2>&1; then
    BBGEN="$(command -v bbgen)"
else
    printf '[install-tools] ERROR: bbgen is not installed; run: python3 -m venv .venv && .venv/bin/pip install -e .\n' >&2
    exit 1
fi

exec "${BBGEN}" tools install  # it reads BBGEN_TOOLS_DIR itself

#!/usr/bin/env bash
# Install Mermaid's own parser (the npm package Gitea's renderer uses) for the tests
# that check `bbgen graph` output parses: mermaid + jsdom (Mermaid needs a DOM), pinned.
# Into ${BBGEN_MERMAID_DIR:-$HOME/.cache/bbgen/mermaid}; idempotent.
set -euo pipefail

MERMAID_VERSION="12.3.0"
JSDOM_VERSION="29.1.1"
DIR="${BBGEN_MERMAID_DIR:-${HOME}/.cache/bbgen/mermaid}"
STAMP="${DIR}/.installed-${MERMAID_VERSION}-${JSDOM_VERSION}"

if [ -f "${STAMP}" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "[install-mermaid] npm not found" >&2; exit 1; }
mkdir -p "${DIR}"
echo "[install-mermaid] mermaid ${MERMAID_VERSION}, jsdom ${JSDOM_VERSION} -> ${DIR}" >&2
printf '{"name":"bbgen-mermaid-check","private":true}\n' > "${DIR}/package.json"
npm install --prefix "${DIR}" --no-audit --no-fund --silent \
  "mermaid@${MERMAID_VERSION}" "jsdom@${JSDOM_VERSION}" >&2
touch "${STAMP}"

#!/usr/bin/env bash
# Install everything the tests need (venv, kustomize + kubeconform, Mermaid's parser, Gitea, redis-server, Kafka's jars, kube-apiserver) and run all tests.
# Idempotent; caches under ~/.cache/bbgen. Extra arguments go to pytest (after ours, so `-n 0` wins).
# Tests run in one pytest-xdist worker per CPU, a file's tests in one worker (--dist loadfile), so
# module fixtures (a render, pre-commit's install of bbgen) are set up once. Not loadgroup: with
# pytest 9.2's node ids it silently stops grouping (pytest-xdist issue 1386). Files go out in
# collection order (--no-loadscope-reorder): xdist's default sends the files with the most tests
# first, which leaves the few-but-slow ones (Gitea faults, pre-commit, the benchmark) for the end.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

bash scripts/install-tools.sh
export BBGEN_TOOLS_DIR="${BBGEN_TOOLS_DIR:-$HOME/.cache/bbgen/tools}"
export PATH="$BBGEN_TOOLS_DIR/bin:$PATH"

bash scripts/install-mermaid.sh
export BBGEN_MERMAID_DIR="${BBGEN_MERMAID_DIR:-$HOME/.cache/bbgen/mermaid}"

if [ -f scripts/install-gitea.sh ]; then
  bash scripts/install-gitea.sh
fi

# redis-server for the Redis ACL test (from Debian's packages, when missing and root).
if [ -f scripts/install-servers.sh ]; then
  bash scripts/install-servers.sh
fi

# Apache Kafka's jars from Maven Central for the real-broker test (tests/test_kafka_real.py).
if [ -f scripts/install-kafka.sh ]; then
  bash scripts/install-kafka.sh
fi

# kube-apiserver, kubectl and kine for the `validate --server` tests (tests/server); cached like Gitea.
if [ -f scripts/install-kube.sh ]; then
  bash scripts/install-kube.sh
fi

set +e
.venv/bin/python -m pytest -n auto --dist loadfile --no-loadscope-reorder --durations=15 "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: treating as failure" >&2
  exit 1
fi
exit "$rc"

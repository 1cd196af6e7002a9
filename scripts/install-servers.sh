#!/usr/bin/env bash
# Install the database servers some tests run for real (a throwaway server on 127.0.0.1 each):
# redis-server for the Redis ACL step (tests/test_consumer_credentials_more.py). PostgreSQL's
# server binaries come with the machine image; this script does not touch them.
#
# From Debian's packages (the only registry of this kind reachable here), only when missing and only
# as root; otherwise it says what is missing and the tests that need it skip (or fail, where CI sets
# BBGEN_REQUIRE_REDIS). Idempotent. Progress goes to stderr.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    exit 0
fi
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    printf '[install-servers] redis-server is not installed and this is not a root Debian host: install it yourself (apt-get install redis-server)\n' >&2
    exit 0
fi
printf '[install-servers] installing redis-server from Debian packages\n' >&2
export DEBIAN_FRONTEND=noninteractive
# --no-install-recommends: the server and redis-tools only; the package's service is not started (no init system here).
apt-get install -y -qq --no-install-recommends redis-server >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null 2>&1
    apt-get install -y -qq --no-install-recommends redis-server >/dev/null
}

#!/usr/bin/env bash
# `npm test`: typecheck (the build), lint, then every test. Whatever the tests need from the system
# is found or installed here, so a fresh machine needs nothing but Node.js and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "typecheck and build (tsc; the web app: tsc, vite)"
npm run build --silent

step "lint and format check (biome)"
npx biome check .

step "system packages the tests use"
# Browser tests drive Debian's Chromium (HOLDFAST_CHROMIUM overrides the path); cluster tests run
# Debian's etcd 3.4 (HOLDFAST_ETCD overrides the path).
missing=()
if [ -z "${HOLDFAST_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then missing+=(chromium chromium-driver); fi
if [ -z "${HOLDFAST_ETCD:-}" ] && ! command -v etcd >/dev/null 2>&1; then missing+=(etcd-server); fi
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} (apt-get)…"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing ${missing[*]} and cannot install here (not root or no apt-get); set HOLDFAST_CHROMIUM / HOLDFAST_ETCD" >&2
    exit 1
  fi
fi
echo "chromium: ${HOLDFAST_CHROMIUM:-$(command -v chromium)}"
echo "etcd: ${HOLDFAST_ETCD:-$(command -v etcd)}"

step "tests (node --test)"
# Only *.test.js files are tests (helpers and child-process entry points sit beside them); files run
# in parallel, one process each; the runner's summary closes the output. --test-force-exit: a test
# that fails with a node, server or timer still open (its cleanup skipped by the failed assertion)
# used to keep its file's process, and so the whole run, alive for ever (CI stopped at 90 minutes
# instead of reporting the failure); --test-timeout bounds a test that never ends (the longest take
# under a minute, a few minutes on a starved machine).
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
node --test --test-force-exit --test-timeout=600000 --test-reporter=spec --test-reporter-destination=stdout "${files[@]}"

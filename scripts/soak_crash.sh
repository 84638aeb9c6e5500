#!/usr/bin/env bash
# `npm run soak:crash -- --cycles 500`: the crash test with many SIGKILL cycles (progress every 50).
set -euo pipefail
cd "$(dirname "$0")/.."
cycles=100
while [ $# -gt 0 ]; do
  case "$1" in
    --cycles) cycles="$2"; shift 2 ;;
    *) echo "usage: npm run soak:crash -- [--cycles N]" >&2; exit 2 ;;
  esac
done
npx tsc -p tsconfig.json
HOLDFAST_CRASH_CYCLES="$cycles" node --test --test-reporter=spec dist/test/node/crash.test.js

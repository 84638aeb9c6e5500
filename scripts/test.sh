#!/usr/bin/env bash
# `npm test`: typecheck (the build), lint, then every test. Whatever the tests need from the system
# is found or installed here, so a fresh machine needs nothing but Node.js and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "typecheck and build (tsc)"
npx tsc -p tsconfig.json

step "lint and format check (biome)"
npx biome check .

step "tests (node --test)"
# Files run in parallel, one process per file; the runner's summary closes the output.
node --test --test-reporter=spec --test-reporter-destination=stdout dist/test/

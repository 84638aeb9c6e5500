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
# Only *.test.js files are tests (helpers and child-process entry points sit beside them); files run
# in parallel, one process each; the runner's summary closes the output.
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
node --test --test-reporter=spec --test-reporter-destination=stdout "${files[@]}"

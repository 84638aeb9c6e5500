#!/usr/bin/env node
// Entry point for `npx holdfast` and `npm start`. The TypeScript is compiled to dist/ by `npm ci`
// (the `prepare` script), so this works on a fresh clone after `npm ci` alone.
import("../dist/src/cli/main.js").catch((error) => {
  if (error && error.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("dist/src/cli")) {
    console.error("holdfast: not built yet; run `npm ci` (or `npm run build`) first");
    process.exit(1);
  }
  throw error;
});

/**
 * The engine imports nothing from the shell and reads no clock or randomness (DESIGN invariant 1).
 * The lint rule noRestrictedImports (biome.json) catches imports at edit time; this test also catches
 * globals that a lint rule on imports cannot see.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

const ENGINE_DIR = join(import.meta.dirname, "../../../src/engine");
const ALLOWED_PACKAGES = new Set(["node:crypto"]); // SHA-256 for the state hash: pure, no I/O
const FORBIDDEN = [
  /\bDate\b/,
  /\bMath\.random\b/,
  /\bperformance\b/,
  /\bprocess\./,
  /\bsetTimeout\b/,
  /\bsetInterval\b/,
  /\bsetImmediate\b/,
  /\bqueueMicrotask\b/,
  /\brequire\(/,
  /\bfetch\(/,
];

describe("engine purity", () => {
  const files = readdirSync(ENGINE_DIR).filter((f) => f.endsWith(".ts"));
  it("has source files to check", () => assert.ok(files.length > 5));
  for (const file of files) {
    it(`${file} imports only engine modules and reads no clock or randomness`, () => {
      const text = readFileSync(join(ENGINE_DIR, file), "utf8");
      for (const match of text.matchAll(/from\s+"([^"]+)"/g)) {
        const spec = match[1];
        assert.ok(spec.startsWith("./") || ALLOWED_PACKAGES.has(spec), `${file} imports ${spec}`);
      }
      const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
      for (const pattern of FORBIDDEN) assert.ok(!pattern.test(code), `${file} uses ${pattern}`);
    });
  }
});

/** Signed updates: canonical JSON + Ed25519; any change to a value fails, key order and spacing do not. */
import assert from "node:assert/strict";
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { KEY_FILE, Signer, verify_document, verify_signed } from "../../src/status/signing.js";

describe("status signing", () => {
  const dir = mkdtempSync(join(tmpdir(), "hf-sign-"));
  const signer = Signer.open(dir);
  const key = createPublicKey(signer.public_pem);

  it("keeps one key per directory, private and stable", () => {
    assert.equal(statSync(join(dir, KEY_FILE)).mode & 0o777, 0o600);
    assert.equal(Signer.open(dir).key_id, signer.key_id);
    assert.match(signer.key_id, /^[0-9a-f]{16}$/);
  });

  it("verifies whatever the key order and spacing; fails on any changed value or another key", () => {
    const update = signer.sign({
      id: "u1",
      incident_id: "i1",
      incident_name: "Exchange unreachable",
      status: "investigating",
      body: "We are investigating. ünïcödé ✓",
      affected_components: [{ code: "rest-api", old_status: "operational", new_status: "major_outage" }],
    });
    assert.ok(verify_signed(update, key));
    // every object's keys reversed, and printed with indentation: the same values, other bytes
    const reverse = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reverse)
        : typeof v === "object" && v !== null
          ? Object.fromEntries(
              Object.entries(v)
                .reverse()
                .map(([k, x]) => [k, reverse(x)]),
            )
          : v;
    const reordered = JSON.parse(JSON.stringify(reverse(update), null, 7)) as Record<string, unknown>;
    assert.ok(verify_signed(reordered, key), "another serialisation of the same values");
    assert.ok(!verify_signed({ ...update, body: "All fine, nothing happened." }, key));
    assert.ok(!verify_signed({ ...update, incident_name: "Scheduled maintenance" }, key));
    assert.ok(!verify_signed({ ...update, extra: 1 }, key), "an added field");
    const other = generateKeyPairSync("ed25519").publicKey;
    assert.ok(!verify_signed(update, other));
    assert.ok(!verify_signed({ ...update, signature: { alg: "Ed25519", key_id: "x", value: "AAAA" } }, key));
    assert.ok(!verify_signed({ ...update, signature: "not an object" }, key));
  });

  it("finds every signed object in a document", () => {
    const doc = signer.sign({
      incidents: [
        { incident_updates: [signer.sign({ id: "a", body: "x" }), signer.sign({ id: "b", body: "y" })] },
      ],
    });
    assert.deepEqual(
      verify_document(doc, key).map((r) => [r.path, r.ok]),
      [
        ["(document)", true],
        ["incidents[0].incident_updates[0]", true],
        ["incidents[0].incident_updates[1]", true],
      ],
    );
    const tampered = JSON.parse(JSON.stringify(doc)) as typeof doc;
    (tampered.incidents[0].incident_updates[1] as { body: string }).body = "z";
    assert.deepEqual(
      verify_document(tampered, key).map((r) => r.ok),
      [false, true, false],
      "the altered update and the summary around it fail",
    );
    rmSync(dir, { recursive: true, force: true });
  });
});

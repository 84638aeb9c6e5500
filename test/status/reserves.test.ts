/**
 * The status service as a witness of the proof-of-reserves audits (src/status/reserves.ts), with real
 * nodes: it keeps the first root it sees for each audit and serves it from its own process, so a
 * user's proof checks against the exchange and the status page alike; two nodes publishing different
 * roots for the same audit (here: two exchanges with different master keys, whose demo audits share a
 * number) is recorded as a conflict and shown on the page.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { admin_request } from "../../src/admin/client.js";
import { signed_query } from "../helpers/cluster.js";
import { demo_node } from "../helpers/nodes.js";
import { test_status } from "../helpers/status.js";
import { cli, until } from "../helpers/wait.js";

describe("status: the reserves audits' witness", () => {
  it("keeps the first root of each audit, serves it for verify, and records a conflicting root", async () => {
    const a = await demo_node("hf-status-res-a-");
    const b = await demo_node("hf-status-res-b-");
    const dir = mkdtempSync(join(tmpdir(), "hf-status-res-"));
    const base = (n: typeof a) => `http://127.0.0.1:${n.running.port}`;
    const status = await test_status(dir, base(a), { watch: [base(a), base(b)] });
    const page = `http://127.0.0.1:${status.port}`;
    try {
      const latest = async (n: typeof a) =>
        (await (await fetch(`${base(n)}/holdfast/v1/reserves`)).json()) as { audit: number; root: string };
      const [first_a, first_b] = [await latest(a), await latest(b)];
      assert.equal(first_a.audit, first_b.audit, "the demo's audit has the same number on both");
      assert.notEqual(first_a.root, first_b.root, "different master keys, different nonces");

      // the first root seen is kept; the other node's is the conflict
      const witnessed = await until("the witness to see both", 10_000, async () => {
        const r = await fetch(`${page}/holdfast/v1/reserves?audit=${first_a.audit}`);
        if (r.status !== 200) return null;
        const w = (await r.json()) as {
          root: string;
          witnessed: { seen_from: string; conflict: string | null };
        };
        return w.witnessed.conflict === null ? null : w;
      });
      assert.equal(witnessed.root, first_a.root, "node a is watched first: its root was seen first");
      assert.equal(witnessed.witnessed.seen_from, base(a));
      assert.match(
        witnessed.witnessed.conflict ?? "",
        new RegExp(`${base(b)} published root ${first_b.root}`),
      );
      const html = await (await fetch(`${page}/`)).text();
      assert.match(html, /<h2 id="reserves-h">Proof of reserves<\/h2>/);

      // a new audit on a: witnessed without conflict; a user's proof checks against both places
      const taken = await admin_request(a.running.admin_socket, "POST", "/v1/reserves", {
        reserves: { BTC: "10000" },
      });
      const audit = taken.body as { audit: number; root: string };
      await until("the witness to see the new audit", 10_000, async () => {
        const r = await fetch(`${page}/holdfast/v1/reserves`);
        const w = (await r.json()) as { audit: number; witnessed: { conflict: string | null } };
        return w.audit === audit.audit && w.witnessed.conflict === null ? true : null;
      });
      const creds = JSON.parse(readFileSync(a.running.credentials_file as string, "utf8")) as {
        users: { apiKey: string; secretKey: string }[];
      };
      const user = creds.users[0];
      const proof = await fetch(`${base(a)}/holdfast/v1/reserves/proof?${signed_query({}, user.secretKey)}`, {
        headers: { "X-MBX-APIKEY": user.apiKey },
      });
      const file = join(dir, "proof.json");
      writeFileSync(file, await proof.text());
      const checked = await cli(["reserves", "verify", file, "--url", base(a), "--url", page]);
      assert.equal(checked.code, 0, checked.stdout + checked.stderr);
      assert.match(
        checked.stdout,
        /which is the root http:\/\/127\.0\.0\.1:\d+ publishes\n {2}which is the root/,
      );
      // bad input to the witness: Binance-shaped refusals
      const bad = await fetch(`${page}/holdfast/v1/reserves?audit=x`);
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { code: number }).code, -1100);
      const none = await fetch(`${page}/holdfast/v1/reserves?audit=99999999`);
      assert.equal(none.status, 404);
    } finally {
      await status.close();
      await a.remove();
      await b.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * A custody service for tests of users' withdrawals (src/withdrawals/executor.ts): a local HTTP
 * server that checks every request's Standard Webhooks signature with the `standardwebhooks` package,
 * as a real custody service must, and pays each withdrawal at most once per webhook-id.
 */
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export const SECRET = `whsec_${Buffer.from("holdfast test custody secret 32b").toString("base64")}`;

export interface Payout {
  id: string;
  asset: string;
  amount: string;
  amount_units: string;
  address: string;
  network: string;
}

/**
 * The custody service: pays a withdrawal once per webhook-id (a repeat answers the same txid),
 * refuses addresses starting "refuse" (422), answers "flaky" addresses 503 the first time, and holds
 * the answer for "slow" addresses until `release()`.
 */
export class Custody {
  readonly server: Server;
  /** Requests per webhook-id. */
  readonly asked = new Map<string, number>();
  /** What was paid, per webhook-id (once each). */
  readonly paid = new Map<string, Payout>();
  readonly bad_signatures: string[] = [];
  private held: (() => void)[] = [];
  hold_slow = true;

  constructor() {
    const hook = new Webhook(SECRET);
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const headers = Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v[0] : (v ?? "")]),
        );
        try {
          hook.verify(body, headers);
        } catch (error) {
          this.bad_signatures.push(String(error));
          res.writeHead(401).end();
          return;
        }
        const id = headers["webhook-id"];
        this.asked.set(id, (this.asked.get(id) ?? 0) + 1);
        const p = JSON.parse(body) as Payout;
        const answer = () => {
          if (p.address.startsWith("refuse")) {
            res.writeHead(422, { "content-type": "application/json" });
            res.end(JSON.stringify({ reason: "address on a blocked list" }));
            return;
          }
          if (!this.paid.has(id)) this.paid.set(id, p);
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ txid: `tx-${id}` }));
        };
        if (p.address.startsWith("flaky") && this.asked.get(id) === 1) {
          res.writeHead(503).end();
          return;
        }
        // pays at once, answers later (the node may be gone by then)
        if (p.address.startsWith("slow") && this.hold_slow) {
          if (!this.paid.has(id)) this.paid.set(id, p);
          this.held.push(answer);
          return;
        }
        answer();
      });
    });
  }
  release(): void {
    for (const a of this.held.splice(0)) a();
  }
  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/payouts`;
  }
}

/** Writes the secret where `--payout-secret-file` reads it; the node's arguments. */
export function payout_args(url: string, secret_file: string): string[] {
  writeFileSync(secret_file, SECRET, { mode: 0o600 });
  return ["--payout-url", url, "--payout-secret-file", secret_file];
}

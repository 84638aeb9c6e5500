/**
 * The operator's side of proof of reserves, on the admin socket:
 * - POST /v1/reserves {reserves: {"BTC": "12.5", …}}: takes an audit (the journaled command
 *   `reserves_audit`, so every node builds the same tree) with the reserves the operator declares, and
 *   answers with its figures once the history holds it;
 * - GET /v1/reserves[?audit=SEQ]: an audit's figures (the latest by default), as the public API shows.
 * What "reserves" are is the operator's declaration: Holdfast has no blockchain wallets to read yet,
 * so the audit sets that declaration beside what it can prove (what users hold, from the ledger).
 */
import type { FastifyInstance } from "fastify";
import type { Command } from "../engine/commands.js";
import { decimal_to_units } from "../engine/decimal.js";
import type { ExchangeNode } from "../node/exchange_node.js";
import type { History } from "../projections/history.js";
import { audit_view } from "../reserves/report.js";

/** How long POST /v1/reserves waits for the tree before answering 202 (building). */
const ANSWER_WAIT_MS = 10_000;
const POLL_MS = 50;

/** What an audit still being built answers (202): the CLI polls GET /v1/reserves?audit=SEQ. */
const building = (p: { seq: number; accounts: number }) => ({
  audit: p.seq,
  building: true,
  accounts: p.accounts,
});

type Outcome =
  | { seq: number; applied: true }
  | { seq: number; applied: false; reason: string; message: string };

export function register_reserves_admin(
  app: FastifyInstance,
  node: ExchangeNode,
  history: History,
  submit: (command: Command) => Promise<Outcome>,
  schemas: { name_pattern: string; decimal: object },
): void {
  app.get<{ Querystring: { audit?: string } }>("/v1/reserves", async (request, reply) => {
    const text = request.query.audit;
    if (text !== undefined && !/^[1-9][0-9]{0,15}$/.test(text))
      return reply.code(400).send({ error: `audit ${text}: a sequence number` });
    const seq = text === undefined ? null : Number(text);
    const found = await history.reserves_find(seq);
    if (found.audit !== null) return audit_view(found.audit, node.engine.assets);
    if (found.building !== null) return reply.code(202).send(building(found.building));
    return reply.code(404).send({ error: seq === null ? "no reserves audit yet" : `no audit ${seq}` });
  });

  app.post<{ Body: { reserves: Record<string, string> } }>(
    "/v1/reserves",
    {
      schema: {
        body: {
          type: "object",
          required: ["reserves"],
          additionalProperties: false,
          properties: {
            reserves: {
              type: "object",
              maxProperties: 255,
              propertyNames: { pattern: schemas.name_pattern },
              additionalProperties: schemas.decimal,
            },
          },
        },
      },
    },
    async (request, reply) => {
      const e = node.engine;
      const reserves: { asset: number; units: number }[] = [];
      for (const [name, amount] of Object.entries(request.body.reserves)) {
        const asset = e.assets.findIndex((a) => a.name === name);
        if (asset < 0) return reply.code(400).send({ error: `unknown asset ${name}` });
        const units = decimal_to_units(amount, e.assets[asset].decimals);
        if (!units.ok)
          return reply.code(400).send({
            error: `${name} ${amount}: ${units.error === "precision" ? `more than ${e.assets[asset].decimals} decimals` : units.error}`,
          });
        reserves.push({ asset, units: units.units });
      }
      const outcome = await submit({ type: "reserves_audit", ts_ms: 0, reserves });
      // the engine's refusal is journaled as its outcome: 409, as the other routes' refusals
      if (!outcome.applied) return reply.code(409).send({ error: outcome.message, ...outcome });
      // the builder thread makes the tree: a small exchange's in milliseconds, a million accounts' in
      // about a minute (`npm run bench:reserves`); past ANSWER_WAIT_MS the answer says it is building
      const deadline_ms = Date.now() + ANSWER_WAIT_MS;
      for (;;) {
        const found = await history.reserves_find(outcome.seq);
        if (found.audit !== null) return audit_view(found.audit, e.assets);
        if (found.building === null)
          return reply.code(503).send({ error: "the audit was journaled but the history does not hold it" });
        if (Date.now() > deadline_ms) return reply.code(202).send(building(found.building));
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    },
  );
}

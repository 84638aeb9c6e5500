/**
 * The operator's side of users' withdrawals, on the admin socket (src/engine/withdrawals.ts):
 * - GET /v1/withdrawals: the pending ones (awaiting approval, processing), oldest first, with why a
 *   safeguard held each; and every asset's policy;
 * - POST /v1/withdrawals/review {id, approve}: approve a held one for payout, or reject it (funds back);
 * - POST /v1/withdrawals/result {id, ok, note}: a payout made by hand (or failed): the transaction id,
 *   or why. With `--payout-url` the payout executor journals these itself (src/withdrawals/);
 * - POST /v1/withdrawals/policy {asset, review_min, daily_max}: an asset's safeguards (decimals).
 * Every change is a journaled command; an engine refusal answers applied: false with its reason.
 */
import type { FastifyInstance } from "fastify";
import type { Command } from "../engine/commands.js";
import { decimal_to_units, units_to_decimal } from "../engine/decimal.js";
import type { Engine } from "../engine/engine.js";
import {
  ALLOWLIST_ADD,
  ALLOWLIST_OFF,
  ALLOWLIST_ON,
  ALLOWLIST_REMOVE,
  held_reasons,
  WITHDRAW_AWAITING_APPROVAL,
  WITHDRAW_NOTE_LENGTH_MAX,
  WITHDRAW_WINDOW_MS,
  type Withdrawal,
} from "../engine/withdrawals.js";

/** A withdrawal's id as users and operators see it ("w12"); the number alone is taken too. */
export const WITHDRAWAL_ID_PATTERN = "^w?[1-9][0-9]{0,15}$";
export const withdrawal_id = (text: string): number => Number(text.replace(/^w/, ""));

/** A pending withdrawal as the operator sees it. */
export function withdrawal_view(e: Engine, w: Readonly<Withdrawal>) {
  const asset = e.assets[w.asset];
  return {
    id: `w${w.id}`,
    account: w.account,
    asset: asset.name,
    amount: units_to_decimal(w.amount_units, asset.decimals),
    address: w.address,
    address_tag: w.address_tag,
    network: w.network,
    withdraw_order_id: w.client_id,
    status: w.status === WITHDRAW_AWAITING_APPROVAL ? "AWAITING_APPROVAL" : "PROCESSING",
    held: held_reasons(w.held),
    requested_ms: w.requested_ms,
  };
}

/** Every asset's safeguards (an asset without a policy has every withdrawal reviewed). */
export function policies_view(e: Engine) {
  return e.assets.map((a) => {
    const p = e.withdrawals.policy(a.id);
    return {
      asset: a.name,
      review_min: units_to_decimal(p.review_min_units, a.decimals),
      daily_max:
        p.daily_max_units === Number.MAX_SAFE_INTEGER
          ? "none"
          : units_to_decimal(p.daily_max_units, a.decimals),
      configured: e.withdrawals.policies.has(a.id),
    };
  });
}

/** withdraw_allowlist's actions by name. */
export const ALLOWLIST_ACTIONS = {
  add: ALLOWLIST_ADD,
  remove: ALLOWLIST_REMOVE,
  on: ALLOWLIST_ON,
  off: ALLOWLIST_OFF,
};

/** An account's address allow-list: whether on, and each address with when it becomes usable. */
export function allowlist_view(e: Engine, account: number) {
  const list = e.withdrawals.allowlists.get(account);
  return {
    on: list?.on ?? false,
    off_ms: list?.off_ms ?? -1,
    addresses: [...(list?.addresses ?? [])].map(([address, added_ms]) => ({
      address,
      added_ms,
      usable_ms: added_ms + WITHDRAW_WINDOW_MS,
    })),
  };
}

type Outcome =
  | { seq: number; applied: true }
  | { seq: number; applied: false; reason: string; message: string };

export function register_withdrawals_admin(
  app: FastifyInstance,
  engine: () => Engine,
  submit: (command: Command) => Promise<Outcome>,
  schemas: { name_pattern: string; decimal: object },
): void {
  const id_schema = { type: "string", pattern: WITHDRAWAL_ID_PATTERN };

  app.get("/v1/withdrawals", async () => {
    const e = engine();
    return {
      pending: [...e.withdrawals.pending.values()].map((w) => withdrawal_view(e, w)),
      policies: policies_view(e),
    };
  });

  app.post<{ Body: { id: string; approve: boolean } }>(
    "/v1/withdrawals/review",
    {
      schema: {
        body: {
          type: "object",
          required: ["id", "approve"],
          additionalProperties: false,
          properties: { id: id_schema, approve: { type: "boolean" } },
        },
      },
    },
    async (request) =>
      submit({
        type: "withdraw_review",
        ts_ms: 0,
        id: withdrawal_id(request.body.id),
        approve: request.body.approve,
      }),
  );

  app.post<{ Body: { id: string; ok: boolean; note?: string } }>(
    "/v1/withdrawals/result",
    {
      schema: {
        body: {
          type: "object",
          required: ["id", "ok"],
          additionalProperties: false,
          properties: {
            id: id_schema,
            ok: { type: "boolean" },
            note: { type: "string", maxLength: WITHDRAW_NOTE_LENGTH_MAX },
          },
        },
      },
    },
    async (request) =>
      submit({
        type: "withdraw_result",
        ts_ms: 0,
        id: withdrawal_id(request.body.id),
        ok: request.body.ok,
        note: request.body.note ?? "",
      }),
  );

  // an account's address allow-list, changed by the operator (say, at a user's written request)
  app.post<{ Body: { account: number; action: keyof typeof ALLOWLIST_ACTIONS; address?: string } }>(
    "/v1/withdrawals/allowlist",
    {
      schema: {
        body: {
          type: "object",
          required: ["account", "action"],
          additionalProperties: false,
          properties: {
            account: { type: "integer", minimum: 0, maximum: 4_294_967_295 },
            action: { type: "string", enum: Object.keys(ALLOWLIST_ACTIONS) },
            address: { type: "string", maxLength: 128 },
          },
        },
      },
    },
    async (request) =>
      submit({
        type: "withdraw_allowlist",
        ts_ms: 0,
        account: request.body.account,
        action: ALLOWLIST_ACTIONS[request.body.action],
        address: request.body.address ?? "",
      }),
  );

  app.post<{ Body: { asset: string; review_min: string; daily_max?: string } }>(
    "/v1/withdrawals/policy",
    {
      schema: {
        body: {
          type: "object",
          required: ["asset", "review_min"],
          additionalProperties: false,
          properties: {
            asset: { type: "string", pattern: schemas.name_pattern },
            review_min: schemas.decimal,
            daily_max: schemas.decimal,
          },
        },
      },
    },
    async (request, reply) => {
      const e = engine();
      const b = request.body;
      const asset = e.assets.findIndex((a) => a.name === b.asset);
      if (asset < 0) return reply.code(404).send({ error: `unknown asset ${b.asset}` });
      const units = (text: string | undefined): number | string => {
        if (text === undefined) return Number.MAX_SAFE_INTEGER;
        const u = decimal_to_units(text, e.assets[asset].decimals);
        return u.ok
          ? u.units
          : `${text}: ${u.error === "precision" ? `more than ${e.assets[asset].decimals} decimals` : u.error}`;
      };
      const review_min_units = units(b.review_min);
      const daily_max_units = units(b.daily_max);
      if (typeof review_min_units === "string") return reply.code(400).send({ error: review_min_units });
      if (typeof daily_max_units === "string") return reply.code(400).send({ error: daily_max_units });
      return submit({ type: "withdraw_policy", ts_ms: 0, asset, review_min_units, daily_max_units });
    },
  );
}

/**
 * The status service as a witness of the exchange's proof-of-reserves audits (src/reserves/). Every
 * probe round it reads each watched node's published audits (GET /holdfast/v1/reserves/audits) and
 * keeps, in its own store, the first root it saw for each audit; a different root for the same audit
 * later, or from another node, is recorded as a conflict and logged: an exchange that showed users
 * one tree and auditors another would be caught by anyone comparing. It serves what it witnessed at
 * GET /holdfast/v1/reserves[?audit=N] in the exchange's own shape (plus `witnessed`), so a user can
 * check a proof against this failure domain as well: `holdfast reserves verify proof.json --url
 * EXCHANGE --url STATUS_PAGE`.
 */
import type { FastifyInstance } from "fastify";
import type { StatusStore } from "./store.js";

const FETCH_TIMEOUT_MS = 2000;
/** The exchange lists at most 100; more would be a malformed answer. */
const AUDITS_READ_MAX = 100;
const ROOT_RE = /^([0-9a-f]{64})?$/;

interface PublishedAudit {
  audit: number;
  root: string;
}

function well_formed(a: unknown): a is PublishedAudit {
  const x = a as PublishedAudit;
  return (
    typeof x === "object" &&
    x !== null &&
    Number.isSafeInteger(x.audit) &&
    x.audit > 0 &&
    typeof x.root === "string" &&
    ROOT_RE.test(x.root)
  );
}

/** One round: every node's audits, recorded. Returns the conflicts found this round (for the log). */
export async function witness_reserves(
  store: StatusStore,
  nodes: readonly string[],
  now_ms: number,
  log: (line: string) => void,
): Promise<number> {
  let conflicts = 0;
  for (const url of nodes) {
    let list: unknown;
    try {
      const r = await fetch(`${url}/holdfast/v1/reserves/audits`, {
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
      if (!r.ok) continue; // an older exchange without audits, or a node that is down: the probes say so
      list = await r.json();
    } catch {
      continue;
    }
    if (!Array.isArray(list)) continue;
    for (const a of list.slice(0, AUDITS_READ_MAX)) {
      if (!well_formed(a)) continue;
      const seen = store.reserves_seen(a.audit, a.root, JSON.stringify(a), url, now_ms);
      if (seen === "conflict") {
        conflicts++;
        log(`status: reserves audit ${a.audit}: ${url} publishes root ${a.root}, not the root first seen`);
      }
    }
  }
  return conflicts;
}

/** GET /holdfast/v1/reserves[?audit=N]: an audit as this service first saw it. */
export function register_reserves_witness(app: FastifyInstance, store: StatusStore): void {
  app.get<{ Querystring: { audit?: string } }>("/holdfast/v1/reserves", async (request, reply) => {
    const text = request.query.audit;
    if (text !== undefined && !/^[1-9][0-9]{0,15}$/.test(text))
      return reply.code(400).send({ code: -1100, msg: "Illegal characters found in parameter 'audit'." });
    const row = store.reserves_audit(text === undefined ? null : Number(text));
    reply.header("cache-control", "no-cache").header("access-control-allow-origin", "*");
    if (row === null) return reply.code(404).send({ code: -2013, msg: "No such reserves audit." });
    return {
      ...(JSON.parse(row.body) as object),
      witnessed: { seen_at: row.seen_at, seen_from: row.seen_from, conflict: row.conflict },
    };
  });
}

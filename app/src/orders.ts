/**
 * Placing an order so that a dropped connection can never place it twice: the app picks the client
 * order id before the first try and keeps it for every retry. If the node does not answer, the app
 * retries with backoff for up to RETRY_FOR_MS; the exchange refuses a second order with the same id
 * ("Duplicate order sent.", -2010) on any node and across restarts, and then the app looks the order
 * up by that id and reports what became of it. Either way the user learns one final answer.
 */
import { ApiFailure, binance } from "./api";
import { Store } from "./store";

const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 4000;
const RETRY_FOR_MS = 120_000;
const NOTICES_KEPT = 5;

export interface OrderRequest {
  symbol: string;
  side: "BUY" | "SELL";
  type: string;
  timeInForce?: string;
  quantity?: string;
  quoteOrderQty?: string;
  price?: string;
  stopPrice?: string;
}

export interface OrderNotice {
  client_order_id: string;
  /** "pending" while retrying; then placed (with its status) or rejected. */
  state: "sending" | "retrying" | "placed" | "rejected";
  text: string;
}

export const notices = new Store<OrderNotice[]>([]);

function notice(n: OrderNotice): void {
  notices.update((list) =>
    [n, ...list.filter((x) => x.client_order_id !== n.client_order_id)].slice(0, NOTICES_KEPT),
  );
}

export function new_client_order_id(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `web-${Array.from(bytes, (b) => b.toString(36).padStart(2, "0")).join("")}`.slice(0, 36);
}

interface OrderAnswer {
  orderId: number;
  clientOrderId: string;
  status: string;
  executedQty: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function describe(o: OrderAnswer, req: OrderRequest): string {
  return (
    `${req.side} ${req.type.replace(/_/g, " ").toLowerCase()} ${req.symbol}: ${o.status.replace(/_/g, " ").toLowerCase()}` +
    (o.executedQty !== undefined && Number(o.executedQty) > 0
      ? `, filled ${o.executedQty.replace(/\.?0+$/, "")}`
      : "")
  );
}

/**
 * After RETRY_FOR_MS without an answer the app stops trying to place the order (the market has moved
 * on) but keeps asking, once the node is back, whether an earlier try got through, so the user still
 * gets a definite answer: placed (with its state) or not placed.
 */
async function settle(req: OrderRequest, client_order_id: string): Promise<OrderNotice> {
  notice({
    client_order_id,
    state: "retrying",
    text: "Still no answer: stopped retrying; waiting to learn whether the order exists…",
  });
  let wait = RETRY_FIRST_MS;
  for (;;) {
    try {
      const o = await binance<OrderAnswer>("GET", "order", {
        symbol: req.symbol,
        origClientOrderId: client_order_id,
      });
      const done: OrderNotice = { client_order_id, state: "placed", text: describe(o, req) };
      notice(done);
      return done;
    } catch (error) {
      const f = error as ApiFailure;
      if (f.code === -2013) {
        const done: OrderNotice = {
          client_order_id,
          state: "rejected",
          text: `Not placed: the exchange was unreachable for ${RETRY_FOR_MS / 1000} s and never received the order.`,
        };
        notice(done);
        return done;
      }
    }
    await sleep(wait);
    wait = Math.min(wait * 2, RETRY_MAX_MS);
  }
}

/** Places `req`; resolves with the final notice. Never throws. */
export async function place_order(
  req: OrderRequest,
  client_order_id = new_client_order_id(),
): Promise<OrderNotice> {
  const params = { ...req, newClientOrderId: client_order_id, newOrderRespType: "RESULT" };
  const started = Date.now();
  let wait = RETRY_FIRST_MS;
  let tried_before = false;
  notice({ client_order_id, state: "sending", text: `Sending ${req.side.toLowerCase()} order…` });
  for (;;) {
    try {
      const o = await binance<OrderAnswer>("POST", "order", params);
      const done: OrderNotice = { client_order_id, state: "placed", text: describe(o, req) };
      notice(done);
      return done;
    } catch (error) {
      const f = error as ApiFailure;
      const busy = f.status === 429 && f.code === -1003;
      if (f.code === -2010 && f.message === "Duplicate order sent." && tried_before) {
        // an earlier try got through: report that order, not an error
        try {
          const o = await binance<OrderAnswer>("GET", "order", {
            symbol: req.symbol,
            origClientOrderId: client_order_id,
          });
          const done: OrderNotice = {
            client_order_id,
            state: "placed",
            text: `${describe(o, req)} (placed once; the retry was refused)`,
          };
          notice(done);
          return done;
        } catch {
          // fall through to retry the lookup
        }
      } else if (!(f instanceof ApiFailure) || (!f.network && !busy && f.status < 500)) {
        const done: OrderNotice = {
          client_order_id,
          state: "rejected",
          text: `Order rejected: ${f.message}`,
        };
        notice(done);
        return done;
      }
      tried_before = tried_before || f.network || f.status >= 500;
      if (Date.now() - started > RETRY_FOR_MS) return settle(req, client_order_id);
      notice({
        client_order_id,
        state: "retrying",
        // what the exchange said, when it answered (busy, order entry paused), else the lost connection
        text: f.network
          ? "Connection lost: retrying the same order (it can only be placed once)…"
          : `Not placed yet: ${f.message} Retrying the same order (it can only be placed once)…`,
      });
      await sleep(wait);
      wait = Math.min(wait * 2, RETRY_MAX_MS);
    }
  }
}

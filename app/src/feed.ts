/**
 * Live data from the node, and the app's view of whether the node is there at all.
 *
 * One combined stream (/stream?streams=…) carries the selected market's depth diffs, trades and
 * candles plus every market's mini-ticker. The book is kept the way Binance documents (and ccxt
 * does): buffer diffs, fetch a REST snapshot, drop diffs it already covers, then apply diffs whose
 * first id follows the last; any gap starts over. When the socket drops, the app asks /api/v3/ping
 * at once: no answer means "exchange unreachable". It reconnects with backoff (0.5 s doubling to
 * 8 s, with jitter) and, once back, every view re-reads its snapshot (`generation` changes).
 */
import { binance } from "./api";
import { cmp } from "./decimal";
import { Store } from "./store";

export type Reachability = "connecting" | "live" | "unreachable";

export interface Level {
  price: string;
  qty: string;
}
export interface Book {
  bids: Level[];
  asks: Level[];
  last_update_id: number;
  synced: boolean;
}
export interface Trade {
  id: number;
  price: string;
  qty: string;
  time_ms: number;
  buyer_maker: boolean;
}
export interface Candle {
  open_ms: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}
export interface MiniTicker {
  symbol: string;
  open: string;
  close: string;
  volume: string;
}

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 8000;
const TRADES_KEPT = 50;
const BOOK_LEVELS_KEPT = 200;
const BUFFERED_DIFFS_MAX = 10_000;

export const reachability = new Store<Reachability>("connecting");
/** Bumped each time the node comes back after being gone: views re-read their snapshots. */
export const generation = new Store(0);
export const book = new Store<Book>({ bids: [], asks: [], last_update_id: 0, synced: false });
export const trades = new Store<Trade[]>([]);
export const candles = new Store<{ key: string; list: Candle[] }>({ key: "", list: [] });
export const tickers = new Store<Map<string, MiniTicker>>(new Map());

interface DepthDiff {
  U: number;
  u: number;
  b: [string, string][];
  a: [string, string][];
}

function apply_side(levels: Level[], changes: [string, string][], descending: boolean): Level[] {
  const map = new Map(levels.map((l) => [l.price, l.qty]));
  for (const [price, qty] of changes) {
    if (cmp(qty, "0") === 0) map.delete(price);
    else map.set(price, qty);
  }
  const out = [...map].map(([price, qty]) => ({ price, qty }));
  out.sort((x, y) => (descending ? cmp(y.price, x.price) : cmp(x.price, y.price)));
  return out.slice(0, BOOK_LEVELS_KEPT);
}

class MarketFeed {
  private socket: WebSocket | null = null;
  private symbol = "";
  private interval = "1m";
  private backoff_ms = BACKOFF_FIRST_MS;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private buffered: DepthDiff[] = [];
  private syncing = false;
  private was_down = false;

  select(symbol: string, interval: string): void {
    if (symbol === this.symbol && interval === this.interval && this.socket !== null) return;
    const symbol_changed = symbol !== this.symbol;
    this.symbol = symbol;
    this.interval = interval;
    if (symbol_changed) {
      book.set({ bids: [], asks: [], last_update_id: 0, synced: false });
      trades.set([]);
    }
    this.open();
  }

  private open(): void {
    if (this.retry !== null) clearTimeout(this.retry);
    this.retry = null;
    if (this.socket !== null) {
      this.socket.onclose = null;
      this.socket.close();
    }
    const s = this.symbol.toLowerCase();
    const streams = [`${s}@depth@100ms`, `${s}@trade`, `${s}@kline_${this.interval}`, "!miniTicker@arr"];
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${proto}://${location.host}/stream?streams=${streams.join("/")}`);
    this.socket = socket;
    this.buffered = [];
    book.update((b) => ({ ...b, synced: false }));
    socket.onopen = () => {
      this.backoff_ms = BACKOFF_FIRST_MS;
      reachability.set("live");
      if (this.was_down) {
        this.was_down = false;
        generation.update((g) => g + 1);
      }
      void this.sync_book();
      void this.load_history();
    };
    socket.onmessage = (m) => this.on_message(m.data as string);
    socket.onclose = () => this.lost(socket);
  }

  private lost(socket: WebSocket): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.was_down = true;
    reachability.set("connecting");
    // Is the node gone, or only this socket? Ask at once so the user knows within a second or two.
    binance("GET", "ping").then(
      () => undefined,
      () => reachability.set("unreachable"),
    );
    const wait = this.backoff_ms * (0.75 + Math.random() * 0.5);
    this.backoff_ms = Math.min(this.backoff_ms * 2, BACKOFF_MAX_MS);
    this.retry = setTimeout(() => this.open(), wait);
  }

  private on_message(text: string): void {
    const m = JSON.parse(text) as { stream: string; data: unknown };
    if (m.stream.endsWith("@depth@100ms")) {
      const d = m.data as DepthDiff;
      const b = book.get();
      if (!b.synced) {
        if (this.buffered.length < BUFFERED_DIFFS_MAX) this.buffered.push(d);
        return;
      }
      if (d.u <= b.last_update_id) return;
      if (d.U !== b.last_update_id + 1) return void this.sync_book();
      book.set({
        bids: apply_side(b.bids, d.b, true),
        asks: apply_side(b.asks, d.a, false),
        last_update_id: d.u,
        synced: true,
      });
    } else if (m.stream.endsWith("@trade")) {
      const t = m.data as { t: number; p: string; q: string; T: number; m: boolean };
      trades.update((list) =>
        [{ id: t.t, price: t.p, qty: t.q, time_ms: t.T, buyer_maker: t.m }, ...list].slice(0, TRADES_KEPT),
      );
    } else if (m.stream.includes("@kline_")) {
      const k = (m.data as { k: { t: number; o: string; h: string; l: string; c: string; v: string } }).k;
      const candle = { open_ms: k.t, open: k.o, high: k.h, low: k.l, close: k.c, volume: k.v };
      candles.update((c) => {
        if (c.key !== this.candle_key()) return c;
        const list = c.list.slice();
        if (list.length > 0 && list[list.length - 1].open_ms === candle.open_ms)
          list[list.length - 1] = candle;
        else list.push(candle);
        return { key: c.key, list };
      });
    } else if (m.stream === "!miniTicker@arr") {
      const arr = m.data as { s: string; o: string; c: string; v: string }[];
      tickers.update((old) => {
        const next = new Map(old);
        for (const t of arr) next.set(t.s, { symbol: t.s, open: t.o, close: t.c, volume: t.v });
        return next;
      });
    }
  }

  private candle_key(): string {
    return `${this.symbol}/${this.interval}`;
  }

  private async sync_book(): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    const symbol = this.symbol;
    try {
      book.update((b) => ({ ...b, synced: false }));
      const snap = await binance<{
        lastUpdateId: number;
        bids: [string, string][];
        asks: [string, string][];
      }>("GET", "depth", { symbol, limit: 1000 });
      if (symbol !== this.symbol) return;
      let state: Book = {
        bids: apply_side([], snap.bids, true),
        asks: apply_side([], snap.asks, false),
        last_update_id: snap.lastUpdateId,
        synced: true,
      };
      for (const d of this.buffered) {
        if (d.u <= state.last_update_id) continue;
        if (d.U > state.last_update_id + 1) {
          // a gap between the snapshot and the buffered diffs: try again
          this.buffered = [];
          this.syncing = false;
          return void setTimeout(() => void this.sync_book(), 200);
        }
        state = {
          bids: apply_side(state.bids, d.b, true),
          asks: apply_side(state.asks, d.a, false),
          last_update_id: d.u,
          synced: true,
        };
      }
      this.buffered = [];
      book.set(state);
    } catch {
      // the socket's close handler deals with a node that went away
    } finally {
      this.syncing = false;
    }
  }

  private async load_history(): Promise<void> {
    const symbol = this.symbol;
    const key = this.candle_key();
    try {
      const [recent, klines, tick] = await Promise.all([
        binance<{ id: number; price: string; qty: string; time: number; isBuyerMaker: boolean }[]>(
          "GET",
          "trades",
          {
            symbol,
            limit: TRADES_KEPT,
          },
        ),
        binance<[number, string, string, string, string, string][]>("GET", "klines", {
          symbol,
          interval: this.interval,
          limit: 500,
        }),
        binance<{ symbol: string; openPrice: string; lastPrice: string; volume: string }[]>(
          "GET",
          "ticker/24hr",
        ),
      ]);
      if (symbol !== this.symbol) return;
      trades.set(
        recent
          .map((t) => ({
            id: t.id,
            price: t.price,
            qty: t.qty,
            time_ms: t.time,
            buyer_maker: t.isBuyerMaker,
          }))
          .reverse(),
      );
      candles.set({
        key,
        list: klines.map((k) => ({
          open_ms: k[0],
          open: k[1],
          high: k[2],
          low: k[3],
          close: k[4],
          volume: k[5],
        })),
      });
      tickers.set(
        new Map(
          tick.map((t) => [
            t.symbol,
            { symbol: t.symbol, open: t.openPrice, close: t.lastPrice, volume: t.volume },
          ]),
        ),
      );
    } catch {
      // as above
    }
  }
}

export const market_feed = new MarketFeed();

/**
 * The logged-in user's events (executionReport, outboundAccountPosition, balanceUpdate) over a
 * listenKey stream opened with the session. Each event, and each reconnect, calls `changed`: the
 * views re-read orders and balances from REST, which is always the truth.
 */
export class UserFeed {
  private socket: WebSocket | null = null;
  private closed = false;
  private backoff_ms = BACKOFF_FIRST_MS;
  private keepalive: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly changed: (event: Record<string, unknown> | null) => void) {
    void this.open();
  }

  private async open(): Promise<void> {
    if (this.closed) return;
    let key: string;
    try {
      key = (await binance<{ listenKey: string }>("POST", "userDataStream")).listenKey;
    } catch {
      return void this.again();
    }
    if (this.closed) return;
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${proto}://${location.host}/ws/${key}`);
    this.socket = socket;
    socket.onopen = () => {
      this.backoff_ms = BACKOFF_FIRST_MS;
      this.changed(null);
    };
    socket.onmessage = (m) => this.changed(JSON.parse(m.data as string) as Record<string, unknown>);
    socket.onclose = () => {
      if (this.socket === socket) this.again();
    };
    if (this.keepalive !== null) clearInterval(this.keepalive);
    this.keepalive = setInterval(
      () => {
        void binance("PUT", "userDataStream", { listenKey: key }).catch(() => undefined);
      },
      30 * 60 * 1000,
    );
  }

  private again(): void {
    this.socket = null;
    if (this.closed) return;
    const wait = this.backoff_ms * (0.75 + Math.random() * 0.5);
    this.backoff_ms = Math.min(this.backoff_ms * 2, BACKOFF_MAX_MS);
    setTimeout(() => void this.open(), wait);
  }

  close(): void {
    this.closed = true;
    if (this.keepalive !== null) clearInterval(this.keepalive);
    this.socket?.close();
    this.socket = null;
  }
}

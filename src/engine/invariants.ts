/**
 * Full invariant check, recomputed from scratch (DESIGN invariants 3 and 4). Tests run it after
 * every command; the node can run it on demand. Cost is linear in the state, so it is not on the
 * hot path (the hot path keeps cheap assertions instead).
 */
import type { Engine } from "./engine.js";
import { SIDE_BUY } from "./types.js";

export function check_invariants(e: Engine): string[] {
  const problems: string[] = [];
  const n_assets = e.assets.length;
  const held = e.accounts.map(() => new Float64Array(n_assets));
  const sums = new Float64Array(n_assets);

  for (let a = 0; a < e.accounts.length; a++) {
    for (let s = 0; s < n_assets; s++) {
      const free = e.ledger.free(a, s);
      const locked = e.ledger.locked(a, s);
      if (!Number.isSafeInteger(free) || free < 0) problems.push(`account ${a} asset ${s}: free ${free}`);
      if (!Number.isSafeInteger(locked) || locked < 0)
        problems.push(`account ${a} asset ${s}: locked ${locked}`);
      sums[s] += free + locked;
    }
  }

  const orders = e.orders;
  let live = 0;
  const visit = (slot: number, market: number): void => {
    live++;
    const m = e.markets[market];
    const asset = orders.side(slot) === SIDE_BUY ? m.config.quote : m.config.base;
    const locked = orders.locked_units(slot);
    if (!Number.isSafeInteger(locked) || locked < 0)
      problems.push(`order ${orders.id(slot)}: locked ${locked}`);
    held[orders.account(slot)][asset] += locked;
    if (orders.market(slot) !== market)
      problems.push(`order ${orders.id(slot)} filed under the wrong market`);
  };

  for (const m of e.markets) {
    const pool = e.levels;
    for (const book of [m.bids, m.asks]) {
      let previous_key = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < book.count; i++) {
        const key = book.keys[i];
        if (!(key > previous_key)) problems.push(`${m.config.symbol}: levels out of order`);
        previous_key = key;
        const level = book.levels[i];
        let total = 0;
        let count = 0;
        for (let s = pool.head[level]; s !== 0; s = orders.next(s)) {
          const left = orders.remaining_lots(s);
          if (!(left > 0)) problems.push(`order ${orders.id(s)} rests with ${left} lots`);
          const ice = orders.iceberg(s);
          if (
            ice !== undefined &&
            !(ice.visible_lots > 0 && ice.visible_lots <= left && ice.visible_lots <= ice.display_lots)
          )
            problems.push(
              `iceberg ${orders.id(s)} shows ${ice.visible_lots} of ${left} (parts of ${ice.display_lots})`,
            );
          if (orders.price_ticks(s) !== pool.price_ticks[level])
            problems.push(`order ${orders.id(s)} at wrong level`);
          if (orders.side(s) !== book.side) problems.push(`order ${orders.id(s)} on the wrong side`);
          // a resting order locks exactly what it may still trade: base, or quote at its own price
          const lot_lock =
            book.side === SIDE_BUY
              ? orders.price_ticks(s) * m.config.quote_units_per_tick_lot
              : m.config.lot_units;
          if (orders.locked_units(s) !== left * lot_lock)
            problems.push(`order ${orders.id(s)} locks ${orders.locked_units(s)}, not ${left} lots' worth`);
          total += orders.book_lots(s);
          count++;
          visit(s, m.id);
        }
        if (total !== pool.quantity_lots[level] || count !== pool.order_count[level])
          problems.push(
            `${m.config.symbol}: level ${pool.price_ticks[level]} totals ${total}/${count} != stored`,
          );
        if (count === 0) problems.push(`${m.config.symbol}: empty level ${pool.price_ticks[level]}`);
      }
    }
    const bid = m.bids.best_price();
    const ask = m.asks.best_price();
    if (bid !== 0 && ask !== 0 && bid >= ask)
      problems.push(`${m.config.symbol}: crossed book ${bid} >= ${ask}`);
    for (const s of m.stops.rising) visit(s, m.id);
    for (const s of m.stops.falling) visit(s, m.id);
    if (m.trailing.fired.length !== 0) problems.push(`${m.config.symbol}: fired trailing stops left over`);
    let previous_id = 0;
    for (const s of m.trailing.slots) {
      visit(s, m.id);
      const trail = orders.trail(s);
      if (trail === undefined || orders.triggered(s) !== 0)
        problems.push(`order ${orders.id(s)} in the trailing list is not an untriggered trailing stop`);
      else if ((trail.time_ms === -1) !== (trail.extreme_ticks === 0))
        problems.push(`order ${orders.id(s)}: trailing time and extreme disagree`);
      if (!(orders.id(s) > previous_id)) problems.push(`${m.config.symbol}: trailing stops out of order`);
      previous_id = orders.id(s);
    }
  }
  // waiting pending orders (an OTO's, before its working order fills): live, open, in no book or
  // stop list (so counted here), each in a waiting list
  for (const id of e.waiting) {
    const s = orders.by_id.get(id);
    if (s === 0) {
      problems.push(`waiting order ${id} is gone`);
      continue;
    }
    if (orders.level(s) !== 0 || orders.triggered(s) !== 0 || orders.open(s) !== 1)
      problems.push(`waiting order ${id} is in a book, triggered or not open`);
    if (e.order_lists.get(orders.list_id(s))?.waiting !== true)
      problems.push(`waiting order ${id} is in no waiting order list`);
    visit(s, orders.market(s));
  }
  // pending order lists, every order live, in it, of its account and market: an OCO (or an OTOCO's
  // placed pair): two orders, each resting or an untriggered stop, at most one resting; a waiting
  // OTO/OTOCO: its working order resting, its pending orders waiting
  let in_lists = 0;
  for (const l of e.order_lists.values()) {
    const ids = l.waiting ? [l.working_id, l.above_id, l.below_id] : [l.above_id, l.below_id];
    const legs = ids.filter((id) => id !== 0).map((id) => orders.by_id.get(id));
    if (
      legs.some(
        (s) =>
          s === 0 ||
          orders.list_id(s) !== l.id ||
          orders.account(s) !== l.account ||
          orders.market(s) !== l.market,
      )
    ) {
      problems.push(`order list ${l.id}: an order gone or not in it`);
    } else if (l.waiting) {
      const [working, ...pending] = legs;
      if (orders.level(working) === 0 || !pending.every((s) => e.waiting.has(orders.id(s))))
        problems.push(
          `order list ${l.id}: its working order does not rest or its pending orders do not wait`,
        );
    } else if (
      legs.length !== 2 ||
      legs.filter((s) => orders.level(s) !== 0).length > 1 ||
      legs.some((s) => orders.triggered(s) !== 0 || e.waiting.has(orders.id(s)))
    )
      problems.push(`order list ${l.id}: not two orders, each resting or a waiting stop`);
    in_lists += legs.length;
  }
  let listed = 0;
  const pending = (s: number) => e.order_lists.has(orders.list_id(s));
  for (const id of e.waiting) if (pending(orders.by_id.get(id))) listed++;
  for (const m of e.markets)
    for (const s of [...m.stops.rising, ...m.stops.falling, ...m.trailing.slots]) if (pending(s)) listed++;
  for (const m of e.markets)
    for (const book of [m.bids, m.asks])
      for (let i = 0; i < book.count; i++)
        for (let s = e.levels.head[book.levels[i]]; s !== 0; s = orders.next(s)) if (pending(s)) listed++;
  if (listed !== in_lists)
    problems.push(`${listed} orders name a pending order list, ${in_lists} are in one`);

  // pending withdrawals hold their amounts (DESIGN invariant 3: locked = orders + pending withdrawals)
  for (const w of e.withdrawals.pending.values()) {
    if (!e.account_valid(w.account) || !e.asset_valid(w.asset) || !(w.amount_units > 0))
      problems.push(`withdrawal ${w.id}: bad account, asset or amount`);
    else held[w.account][w.asset] += w.amount_units;
  }
  if (live !== orders.live)
    problems.push(`live orders ${orders.live} but ${live} in books, stop and trailing lists, waiting`);

  for (let a = 0; a < e.accounts.length; a++) {
    for (let s = 0; s < n_assets; s++) {
      if (held[a][s] !== e.ledger.locked(a, s))
        problems.push(
          `account ${a} asset ${s}: locked ${e.ledger.locked(a, s)} but orders and withdrawals hold ${held[a][s]}`,
        );
    }
  }
  for (let s = 0; s < n_assets; s++) {
    const t = e.asset_totals[s];
    const expected = t.deposits_units - t.withdrawals_units;
    if (sums[s] + t.fees_units !== expected)
      problems.push(
        `asset ${e.assets[s].name}: balances ${sums[s]} + fees ${t.fees_units} != net deposits ${expected}`,
      );
  }
  return problems;
}

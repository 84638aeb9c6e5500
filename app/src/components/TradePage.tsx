import { useEffect, useState } from "react";
import { refresh_account } from "../account_data";
import { generation, market_feed, reachability, UserFeed } from "../feed";
import { MODES_EVERY_MS, markets, mode_text, modes, refresh_markets, refresh_modes } from "../markets";
import { navigate } from "../router";
import { me } from "../session";
import { useStore } from "../store";
import { Chart } from "./Chart";
import { MarketList } from "./MarketList";
import { MyOrders } from "./MyOrders";
import { OrderBookView } from "./OrderBookView";
import { OrderForm } from "./OrderForm";
import { TradesView } from "./TradesView";

export const INTERVALS = ["1m", "5m", "15m", "1h", "4h", "1d"] as const;

export function TradePage(props: { symbol: string }) {
  const list = useStore(markets);
  const gen = useStore(generation);
  const user = useStore(me);
  const reach = useStore(reachability);
  const [interval, set_interval] = useState<string>("1m");
  const market = list.find((m) => m.symbol === props.symbol);
  const now = useStore(modes);
  const mode = mode_text(now?.markets[props.symbol] ?? market?.status, now?.maintenance === true);

  // biome-ignore lint/correctness/useExhaustiveDependencies: re-read when the node comes back (gen)
  useEffect(() => {
    void refresh_markets();
  }, [gen]);
  // the markets' modes, read every few seconds: a halt or a reopening shows without a reload
  useEffect(() => {
    void refresh_modes();
    const timer = setInterval(() => void refresh_modes(), MODES_EVERY_MS);
    return () => clearInterval(timer);
  }, []);
  useEffect(() => {
    market_feed.select(props.symbol, interval);
  }, [props.symbol, interval]);
  useEffect(() => {
    if (list.length > 0 && market === undefined) navigate(`/trade/${list[0].symbol}`);
  }, [list, market]);
  useEffect(() => {
    document.title = `${props.symbol} · Holdfast`;
  }, [props.symbol]);

  // the user's orders and balances: read now, on every user event, and when the node comes back
  const logged = user !== null && user !== undefined;
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new stream when the node comes back (gen)
  useEffect(() => {
    if (!logged) return;
    void refresh_account(props.symbol);
    const feed = new UserFeed(() => void refresh_account(props.symbol));
    return () => feed.close();
  }, [logged, props.symbol, gen]);
  useEffect(() => {
    if (logged && reach === "live") void refresh_account(props.symbol);
  }, [logged, reach, props.symbol]);

  return (
    <div className="trade">
      <section className="panel markets" aria-label="Markets">
        <MarketList current={props.symbol} />
      </section>
      <section className="panel chart" aria-label={`${props.symbol} price chart`}>
        <div className="panel-head">
          <h1>{market ? `${market.base}/${market.quote}` : props.symbol}</h1>
          {market && mode !== null ? (
            <span className="badge warn" data-testid="market-mode" title={mode.says}>
              {mode.badge}
            </span>
          ) : null}
          <fieldset className="intervals">
            <legend className="sr-only">Candle interval</legend>
            {INTERVALS.map((iv) => (
              <button
                type="button"
                key={iv}
                className={iv === interval ? "on" : ""}
                aria-pressed={iv === interval}
                onClick={() => set_interval(iv)}
              >
                {iv}
              </button>
            ))}
          </fieldset>
        </div>
        {market ? <Chart market={market} interval={interval} /> : null}
      </section>
      <section className="panel book" aria-label="Order book">
        {market ? <OrderBookView market={market} /> : null}
      </section>
      <section className="panel trades" aria-label="Recent trades">
        {market ? <TradesView market={market} /> : null}
      </section>
      <section className="panel form" aria-label="Place an order">
        {market ? <OrderForm market={market} /> : null}
      </section>
      <section className="panel mine" aria-label="Your orders, trades and balances">
        {market ? <MyOrders market={market} /> : null}
      </section>
    </div>
  );
}

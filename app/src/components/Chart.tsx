/**
 * Candles with TradingView's lightweight-charts (canvas, ~45 KB compressed). The chart only draws:
 * prices become floats here and nowhere else, and nothing drawn is sent back to the exchange.
 */
import {
  CandlestickSeries,
  ColorType,
  createChart,
  HistogramSeries,
  type IChartApi,
  type ISeriesApi,
  type UTCTimestamp,
} from "lightweight-charts";
import { useEffect, useRef } from "react";
import { candles } from "../feed";
import type { MarketInfo } from "../markets";
import { useStore } from "../store";

function colours() {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string) => css.getPropertyValue(name).trim();
  return { text: v("--muted"), grid: v("--line"), up: v("--up"), down: v("--down"), bg: v("--panel") };
}

export function Chart(props: { market: MarketInfo; interval: string }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<IChartApi | null>(null);
  const series = useRef<ISeriesApi<"Candlestick"> | null>(null);
  const volume = useRef<ISeriesApi<"Histogram"> | null>(null);
  const data = useStore(candles);
  const key = `${props.market.symbol}/${props.interval}`;

  useEffect(() => {
    if (box.current === null) return;
    const c = colours();
    const ch = createChart(box.current, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: c.bg },
        textColor: c.text,
        attributionLogo: false,
      },
      grid: { vertLines: { color: c.grid }, horzLines: { color: c.grid } },
      timeScale: { timeVisible: true, secondsVisible: false },
    });
    const s = ch.addSeries(CandlestickSeries, {
      upColor: c.up,
      downColor: c.down,
      wickUpColor: c.up,
      wickDownColor: c.down,
      borderVisible: false,
      priceFormat: {
        type: "price",
        precision: props.market.price_decimals,
        minMove: Number(props.market.tick_size),
      },
    });
    const v = ch.addSeries(HistogramSeries, {
      priceScaleId: "vol",
      priceFormat: { type: "volume" },
      color: c.grid,
    });
    ch.priceScale("vol").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    chart.current = ch;
    series.current = s;
    volume.current = v;
    // follow the theme (the toggle sets data-theme; the system setting changes the media query)
    const retheme = () => {
      const k = colours();
      ch.applyOptions({
        layout: { background: { type: ColorType.Solid, color: k.bg }, textColor: k.text },
        grid: { vertLines: { color: k.grid }, horzLines: { color: k.grid } },
      });
      s.applyOptions({ upColor: k.up, downColor: k.down, wickUpColor: k.up, wickDownColor: k.down });
    };
    const observer = new MutationObserver(retheme);
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    const media = matchMedia("(prefers-color-scheme: dark)");
    media.addEventListener("change", retheme);
    return () => {
      observer.disconnect();
      media.removeEventListener("change", retheme);
      ch.remove();
      chart.current = null;
    };
  }, [props.market]);

  useEffect(() => {
    if (series.current === null || volume.current === null || data.key !== key) return;
    const c = colours();
    series.current.setData(
      data.list.map((k) => ({
        time: (k.open_ms / 1000) as UTCTimestamp,
        open: Number(k.open),
        high: Number(k.high),
        low: Number(k.low),
        close: Number(k.close),
      })),
    );
    volume.current.setData(
      data.list.map((k) => ({
        time: (k.open_ms / 1000) as UTCTimestamp,
        value: Number(k.volume),
        color: Number(k.close) >= Number(k.open) ? `${c.up}66` : `${c.down}66`,
      })),
    );
  }, [data, key]);

  return (
    <div
      className="chart-box"
      ref={box}
      role="img"
      aria-label={`Candlestick chart, ${props.interval} candles`}
    />
  );
}

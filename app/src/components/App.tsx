import { useEffect } from "react";
import { market_feed } from "../feed";
import { path } from "../router";
import { config, me } from "../session";
import { watch_status } from "../status";
import { useStore } from "../store";
import { AccountPage } from "./AccountPage";
import { AuthPage } from "./AuthPage";
import { Banners } from "./Banners";
import { Header } from "./Header";
import { TradePage } from "./TradePage";

export function App() {
  const p = useStore(path);
  const cfg = useStore(config);
  useEffect(() => watch_status(cfg.status_url), [cfg.status_url]);
  // The market feed runs on every page: it is also how the app notices the node has gone.
  useEffect(() => {
    if (!p.startsWith("/trade/") && p !== "/") market_feed.select("BTCUSDT", "1m");
  }, [p]);
  const user = useStore(me);
  let page: React.ReactNode;
  if (p === "/login" || p === "/signup") page = <AuthPage mode={p === "/login" ? "login" : "signup"} />;
  else if (p === "/account") page = user === null ? <AuthPage mode="login" /> : <AccountPage />;
  else page = <TradePage symbol={p.startsWith("/trade/") ? decodeURIComponent(p.slice(7)) : "BTCUSDT"} />;
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <Header />
      <Banners />
      <main id="main">{page}</main>
    </>
  );
}

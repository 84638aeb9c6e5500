import { useState } from "react";
import { account_data, refresh_account, refresh_transfers } from "../account_data";
import { web } from "../api";
import { useStore } from "../store";

/** Demo mode: top the account up with test balances. */
export function DemoFunds() {
  const symbol = useStore(account_data).symbol;
  const [message, set_message] = useState("");
  const click = async () => {
    try {
      const r = await web<{ credited: Record<string, string> }>("POST", "demo-funds");
      const parts = Object.entries(r.credited).map(([a, v]) => `${v.replace(/\.?0+$/, "")} ${a}`);
      set_message(
        parts.length === 0 ? "Your demo balances are already topped up." : `Added ${parts.join(", ")}.`,
      );
      if (symbol !== "") await refresh_account(symbol);
      await refresh_transfers();
    } catch (error) {
      set_message((error as Error).message);
    }
  };
  return (
    <div className="demo-funds">
      <button type="button" className="ghost" onClick={() => void click()}>
        Get demo funds
      </button>
      <span role="status" className="small">
        {message}
      </span>
    </div>
  );
}

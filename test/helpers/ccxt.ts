/** ccxt.pro's Binance client pointed at a demo node, as the client tests make it. */
import ccxt from "ccxt";
import type { DemoCredentials } from "../../src/demo/setup.js";

/**
 * ccxt.pro 4.5.84's binance for `user` on the node `creds` describe: its REST, wallet (sapi),
 * market-stream and WebSocket API URLs, spot markets only, no currencies or margin pairs loaded.
 */
export function pro_client(
  creds: Pick<DemoCredentials, "baseUrl" | "wsUrl">,
  user: { apiKey: string; secretKey: string },
): InstanceType<typeof ccxt.pro.binance> {
  return new ccxt.pro.binance({
    apiKey: user.apiKey,
    secret: user.secretKey,
    urls: {
      api: {
        public: `${creds.baseUrl}/api/v3`,
        private: `${creds.baseUrl}/api/v3`,
        sapi: `${creds.baseUrl}/sapi/v1`,
        ws: { spot: `${creds.wsUrl}/ws`, "ws-api": { spot: `${creds.wsUrl}/ws-api/v3` } },
      },
    },
    options: { fetchMarkets: { types: ["spot"] }, fetchCurrencies: false, fetchMargins: false },
  });
}

/** The parts of @binance/connector 3.6.1 the tests use (the package ships no types). */
declare module "@binance/connector" {
  type Response = Promise<{ data: unknown }>;
  export class Spot {
    constructor(
      apiKey: string,
      apiSecret: string,
      options?: { baseURL?: string; privateKey?: string; privateKeyAlgo?: "RSA" | "Ed25519" },
    );
    time(): Response;
    exchangeInfo(options?: { symbol?: string; symbols?: string[] }): Response;
    depth(symbol: string, options?: { limit?: number }): Response;
    tickerPrice(symbol?: string): Response;
    newOrder(symbol: string, side: string, type: string, options?: Record<string, string | number>): Response;
    openOrders(options?: { symbol?: string }): Response;
    cancelOrder(symbol: string, options?: Record<string, string | number>): Response;
    account(options?: Record<string, string>): Response;
    createListenKey(): Response;
    renewListenKey(listenKey: string): Response;
    closeListenKey(listenKey: string): Response;
  }
}

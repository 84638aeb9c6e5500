/** The parts of @binance/connector 3.6.1 the tests use (the package ships no types). */
declare module "@binance/connector" {
  type Response = Promise<{ data: unknown; status: number }>;
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
    orderCount(options?: Record<string, string>): Response;
    coinInfo(options?: Record<string, string>): Response;
    apiPermissions(options?: Record<string, string>): Response;
    accountStatus(options?: Record<string, string>): Response;
    createListenKey(): Response;
    renewListenKey(listenKey: string): Response;
    closeListenKey(listenKey: string): Response;
  }
  interface Logger {
    info(...a: unknown[]): void;
    warn(...a: unknown[]): void;
    error(...a: unknown[]): void;
    debug(...a: unknown[]): void;
    log(...a: unknown[]): void;
  }
  interface WsOptions {
    wsURL?: string;
    logger?: Logger;
    combinedStreams?: boolean;
    /** After a connection closes that the client did not close, it connects again after this. */
    reconnectDelay?: number;
    callbacks?: { open?: (client: unknown) => void; message?: (data: string) => void; close?: () => void };
  }
  export class WebsocketStream {
    constructor(options?: WsOptions);
    trade(symbol: string): void;
    aggTrade(symbol: string): void;
    kline(symbol: string, interval: string): void;
    bookTicker(symbol: string): void;
    diffBookDepth(symbol: string, speed: string): void;
    partialBookDepth(symbol: string, levels: number, speed: string): void;
    miniTicker(symbol?: string | null): void;
    ticker(symbol?: string | null): void;
    userData(listenKey: string): void;
    unsubscribe(stream: string | string[]): void;
    isConnected(): boolean;
    disconnect(): void;
  }
  export class WebsocketAPI {
    constructor(apiKey: string, apiSecret: string, options?: WsOptions);
    isConnected(): boolean;
    disconnect(): void;
    time(options?: { id?: string }): void;
    exchangeInfo(options?: Record<string, unknown>): void;
    orderbook(symbol: string, options?: Record<string, unknown>): void;
    avgPrice(symbol: string): void;
    klines(symbol: string, interval: string, options?: Record<string, unknown>): void;
    uiKlines(symbol: string, interval: string, options?: Record<string, unknown>): void;
    ticker(options?: Record<string, unknown>): void;
    newOrder(symbol: string, side: string, type: string, options?: Record<string, unknown>): void;
    getOrder(symbol: string, options?: Record<string, unknown>): void;
    cancelOrder(symbol: string, options?: Record<string, unknown>): void;
    openOrders(symbol?: string, options?: Record<string, unknown>): void;
    account(options?: Record<string, unknown>): void;
    myTrades(symbol: string, options?: Record<string, unknown>): void;
    startUserDataStream(): void;
    pingUserDataStream(listenKey: string): void;
    stopUserDataStream(listenKey: string): void;
  }
}

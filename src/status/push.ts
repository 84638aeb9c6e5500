/**
 * Live push: `GET /api/v2/stream` is a Server-Sent Events stream. On connecting, a client gets the
 * current signed summary (event "summary"); after every change (a status, an incident, an update, a
 * maintenance) it gets the new one. The web app's banner listens here; EventSource reconnects by
 * itself. A comment line every 15 s keeps proxies from closing an idle stream.
 */
import type { ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";

const CLIENTS_MAX = 10_000;
const HEARTBEAT_MS = 15_000;
/** A client this far behind is dropped (it reconnects and starts from the current summary). */
const BUFFERED_BYTES_MAX = 1024 * 1024;

export class PushHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(private readonly summary: () => string) {
    this.heartbeat = setInterval(() => {
      for (const c of this.clients) c.write(": ping\n\n");
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  register(app: FastifyInstance): void {
    app.get("/api/v2/stream", (request, reply) => {
      if (this.clients.size >= CLIENTS_MAX) {
        reply.code(503).header("retry-after", "30").send({ error: "too many stream clients" });
        return;
      }
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        connection: "keep-alive",
        "access-control-allow-origin": "*",
      });
      // HEAD: the headers, then done. Node sends a HEAD answer's headers only at its end (a write
      // sends nothing), so a HEAD stream was held open unanswered for good.
      if (request.method === "HEAD") {
        res.end();
        return;
      }
      res.write(`retry: 3000\nevent: summary\ndata: ${this.summary()}\n\n`);
      this.clients.add(res);
      request.raw.on("close", () => this.clients.delete(res));
    });
  }

  /** Sends the current summary to every client. */
  changed(): void {
    if (this.clients.size === 0) return;
    const frame = `event: summary\ndata: ${this.summary()}\n\n`;
    for (const c of this.clients) {
      if (c.writableLength > BUFFERED_BYTES_MAX) {
        c.destroy();
        this.clients.delete(c);
      } else c.write(frame);
    }
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const c of this.clients) c.end();
    this.clients.clear();
  }
}

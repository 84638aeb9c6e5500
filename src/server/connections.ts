/**
 * Caps on the connections a public-facing server (the exchange's, the status service's) holds, so a
 * flood of idle connections cannot stop it:
 *  - at most the open-files limit less FD_RESERVE at once (Node's maxConnections: further ones are
 *    closed as soon as accepted): connections that took every file descriptor would leave the process
 *    unable to open a file (a journal segment, a snapshot, SQLite's WAL, the admin socket);
 *  - at most `per_ip` from one address (0: no cap), so one client cannot take every slot and keep
 *    everyone else out. Generous by default: many users can share one address (NAT, a carrier's);
 *    a proxy named in `--trust-proxy` is not capped (below).
 *
 * Behind a reverse proxy every request arrives from the proxy's address. `--trust-proxy` names the
 * proxies (addresses or CIDR ranges); a request from one of them is then the client's whose address
 * the proxy put in X-Forwarded-For (the nearest address not itself a trusted proxy), for the limits
 * per address, API keys' IP allow-lists and the logs. Without it the header is ignored: any client
 * could write one. A trusted proxy's own connections are not capped per address (they carry many
 * clients).
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, Server } from "node:http";
import type { Socket } from "node:net";
import proxyaddr from "@fastify/proxy-addr";

/** Whether an address (a hop of a request's path, `i` from the socket's) is a trusted proxy. */
export type TrustProxy = (address: string, i: number) => boolean;

/**
 * The trusted proxies from `--trust-proxy` (comma-separated addresses, CIDR ranges, or proxy-addr's
 * names: loopback, linklocal, uniquelocal); throws a TypeError naming what does not parse.
 */
export function trust_proxy(list: string): TrustProxy {
  return proxyaddr.compile(
    list
      .split(",")
      .map((x) => x.trim())
      .filter((x) => x !== ""),
  );
}

/** A request's client address: its socket's, or through trusted proxies the one they forwarded. */
export function client_ip(request: IncomingMessage, trust: TrustProxy | null): string {
  if (trust === null) return request.socket.remoteAddress ?? "";
  return proxyaddr(request, trust);
}

/** Connections one address may hold at once (`--connections-per-ip`). */
export const CONNECTIONS_PER_IP_DEFAULT = 1000;
/** File descriptors kept for the process's own use: journal segments, snapshots, SQLite, sockets, workers. */
export const FD_RESERVE = 512;
/** When the open-files limit cannot be read (not Linux). */
const CONNECTIONS_MAX_FALLBACK = 10_000;

/** The process's open-files limit (soft), from /proc/self/limits; null where there is none to read. */
export function open_files_limit(): number | null {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
    if (soft === undefined) return null;
    return soft === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(soft) || null;
  } catch {
    return null;
  }
}

/** Client connections a server takes at once: the open-files limit less FD_RESERVE. */
export function connections_max_default(): number {
  const limit = open_files_limit();
  return limit === null ? CONNECTIONS_MAX_FALLBACK : Math.max(64, limit - FD_RESERVE);
}

/** Applies both caps to `server` (before it listens); a trusted proxy's connections have no cap per address. */
export function cap_connections(server: Server, per_ip_max: number, trust: TrustProxy | null = null): void {
  server.maxConnections = connections_max_default();
  if (per_ip_max > 0) {
    const per_ip = new Map<string, number>();
    server.on("connection", (socket: Socket) => {
      const ip = socket.remoteAddress ?? "";
      if (trust?.(ip, 0)) return;
      const held = per_ip.get(ip) ?? 0;
      if (held >= per_ip_max) {
        socket.destroy();
        return;
      }
      per_ip.set(ip, held + 1);
      socket.once("close", () => {
        const left = (per_ip.get(ip) ?? 1) - 1;
        if (left <= 0) per_ip.delete(ip);
        else per_ip.set(ip, left);
      });
    });
  }
}

/** What the caps of `server` are, for its log. */
export function caps_line(server: Server, per_ip_max: number, what: string): string {
  const n = (x: number) => x.toLocaleString("en-US");
  return `${what}: at most ${n(server.maxConnections)} client connections at once, ${per_ip_max === 0 ? "any number" : n(per_ip_max)} per address (open-files limit ${open_files_limit()?.toLocaleString("en-US") ?? "unknown"}; ${FD_RESERVE} kept for the process's own files)`;
}

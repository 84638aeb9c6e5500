/**
 * Caps on the connections a public-facing server (the exchange's, the status service's) holds, so a
 * flood of idle connections cannot stop it:
 *  - at most the open-files limit less FD_RESERVE at once (Node's maxConnections: further ones are
 *    closed as soon as accepted): connections that took every file descriptor would leave the process
 *    unable to open a file (a journal segment, a snapshot, SQLite's WAL, the admin socket);
 *  - at most `per_ip` from one address (0: no cap), so one client cannot take every slot and keep
 *    everyone else out. Generous by default: many users can share one address (NAT, a carrier's); a
 *    server behind a proxy on the same host should set 0, since every client then has its address.
 */
import { readFileSync } from "node:fs";
import type { Server } from "node:http";
import type { Socket } from "node:net";

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

/** Applies both caps to `server` (before it listens). */
export function cap_connections(server: Server, per_ip_max: number): void {
  server.maxConnections = connections_max_default();
  if (per_ip_max > 0) {
    const per_ip = new Map<string, number>();
    server.on("connection", (socket: Socket) => {
      const ip = socket.remoteAddress ?? "";
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

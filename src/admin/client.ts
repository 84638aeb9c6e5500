/** Talks to a running node's admin interface over its Unix socket (see server.ts). */
import { request } from "node:http";
import { join } from "node:path";

export const ADMIN_SOCKET_NAME = "admin.sock";
const TIMEOUT_MS = 30_000;

export const admin_socket_path = (data_dir: string): string => join(data_dir, ADMIN_SOCKET_NAME);

export class AdminUnreachableError extends Error {
  override name = "AdminUnreachableError";
}

export function admin_request(
  socket_path: string,
  method: "GET" | "POST" | "DELETE",
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath: socket_path,
        method,
        path,
        timeout: TIMEOUT_MS,
        headers: payload === undefined ? {} : { "content-type": "application/json" },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          try {
            resolve({ status: res.statusCode ?? 0, body: text.length > 0 ? JSON.parse(text) : null });
          } catch {
            resolve({ status: res.statusCode ?? 0, body: text });
          }
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer from ${socket_path} within ${TIMEOUT_MS} ms`)));
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT" || error.code === "ECONNREFUSED")
        reject(new AdminUnreachableError(`no node is running on ${socket_path} (${error.code})`));
      else reject(error);
    });
    req.end(payload);
  });
}

/** A call to the admin interface at `socket_path` that answers the body, or throws for a status of 400 or more. */
export function admin_call(
  socket_path: string,
): (method: "GET" | "POST" | "DELETE", path: string, body?: unknown) => Promise<unknown> {
  return async (method, path, body) => {
    const answer = await admin_request(socket_path, method, path, body);
    if (answer.status >= 400) {
      const b = answer.body as { error?: string; message?: string } | string | null;
      const why = typeof b === "string" ? b : (b?.message ?? b?.error ?? JSON.stringify(b));
      throw new Error(`the node refused: ${why}`);
    }
    return answer.body;
  };
}

/**
 * Serves the built web app (dist/app, made by `npm run build`: Vite, then every file pre-compressed
 * with brotli and gzip) from the node's public port. The app is a single page: its own paths
 * (/trade/…, /account, /login, /signup) all answer with index.html and the app routes itself.
 * Hashed assets are cached for a year; index.html is revalidated every time, so a new build
 * reaches users on their next load.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";

/** dist/src/web/static.js → dist/app */
export const APP_DIR = fileURLToPath(new URL("../../app/", import.meta.url));
const APP_PATHS = ["/", "/trade/:symbol", "/account", "/login", "/signup"];

/** The page's Content-Security-Policy: our own scripts only; the status service may be reached. */
function csp(status_url: string | null): string {
  const status = status_url === null ? "" : ` ${new URL(status_url).origin}`;
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    `connect-src 'self' ws: wss:${status}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join("; ");
}

export async function register_app(app: FastifyInstance, status_url: string | null): Promise<void> {
  if (!existsSync(`${APP_DIR}index.html`)) {
    app.get("/", async (_request, reply) =>
      reply.type("text/plain").send("The web app is not built: run `npm run build`.\n"),
    );
    return;
  }
  const policy = csp(status_url);
  await app.register(fastifyStatic, {
    root: APP_DIR,
    prefix: "/",
    preCompressed: true,
    wildcard: false,
    index: false,
    setHeaders: (res, path) => {
      if (path.includes("/assets/")) void res.header("cache-control", "public, max-age=31536000, immutable");
      else void res.header("cache-control", "no-cache");
      res.header("x-content-type-options", "nosniff");
    },
  });
  for (const path of APP_PATHS)
    app.get(path, (_request, reply) =>
      reply
        .header("content-security-policy", policy)
        .header("x-frame-options", "DENY")
        .header("referrer-policy", "same-origin")
        .header("cache-control", "no-cache")
        .sendFile("index.html"),
    );
}

/** `holdfast status`: runs the status service until SIGTERM/SIGINT (see src/status/service.ts). */
import { createPublicKey } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { admin_request } from "../admin/client.js";
import { trust_proxy } from "../server/connections.js";
import { STATUS_ADMIN_SOCKET } from "../status/admin.js";
import { signing_key_json } from "../status/api.js";
import { STATUS_DEFAULTS, start_status } from "../status/service.js";
import { key_id, Signer, verify_document } from "../status/signing.js";

/** A whole number (of seconds, of minutes) as typed; the service checks the range. */
function whole_number(flag: string, text: string): number {
  if (!/^[0-9]{1,9}$/.test(text)) throw new Error(`${flag}: expected a whole number, got ${text}`);
  return Number(text);
}

/** A staged reopening's progress, for the list. */
function reopening_text(m: {
  reopening: { done: string | null; next_at: string; stopped: string | null } | null;
  status: string;
}): string {
  const r = m.reopening;
  if (r === null) return "";
  if (r.stopped !== null) return `\n    reopening stopped ${r.stopped}`;
  if (m.status === "completed") return "\n    reopened in stages";
  return `\n    reopening: ${r.done === null ? "no stage done yet" : `${r.done} done`}; next stage at ${r.next_at}`;
}

export function register_status(program: Command): void {
  const status = program
    .command("status")
    .description(
      "run the status service: probes the exchange from outside, opens incidents, serves the status page",
    )
    .option("--watch <urls>", "comma-separated base URLs of the exchange nodes' public APIs (required)")
    .option("--data-dir <dir>", "the status service's own directory (its SQLite store)", "holdfast-status")
    .option("--host <host>", "address the status page listens on", "127.0.0.1")
    .option("--port <n>", "port of the status page and API", "8081")
    .option("--name <name>", "the page's name", STATUS_DEFAULTS.name)
    .option("--public-url <url>", "the page's public URL (incident links)")
    .option("--export-dir <dir>", "also write the page, JSON and feeds there as static files on every change")
    .option(
      "--telegram-token <token>",
      "a Telegram bot's token (or HOLDFAST_TELEGRAM_TOKEN): updates go to the chats added with admin telegram-add",
    )
    .option("--telegram-api <url>", "the Telegram Bot API's base URL", "https://api.telegram.org")
    .option("--smtp-url <url>", "smtp://host:port (or smtps://user:pass@host): offers email subscriptions")
    .option("--mail-from <address>", 'the From of status emails, e.g. "Holdfast status <status@example.com>"')
    .option("--allow-internal-webhooks", "let webhooks target internal addresses (refused by default)")
    .option(
      "--retry-schedule-ms <list>",
      "comma-separated delays between delivery attempts (default: 0,5s,5m,30m,2h,5h,10h,14h,20h,24h)",
    )
    .option(
      "--exchange-admin-socket <path>",
      "the exchange node's admin socket: lets maintenance windows switch it",
    )
    .option(
      "--canary-key <file>",
      'order-entry canary: {"apiKey","secretKey","symbols":[…]} of an account made for it',
    )
    .option(
      "--connections-per-ip <n>",
      "connections one client address may hold at once (0: no cap; a --trust-proxy proxy has none; default 1000)",
    )
    .option(
      "--trust-proxy <list>",
      "reverse proxies (addresses, CIDR ranges, 'loopback') whose X-Forwarded-For names the client (default: none; the header is ignored)",
    )
    .option("--probe-interval-ms <n>", "time between probe rounds", String(STATUS_DEFAULTS.probe_interval_ms))
    .option(
      "--rounds <n>",
      "consecutive rounds that must agree to change a status",
      String(STATUS_DEFAULTS.rounds_to_change),
    )
    .option(
      "--quiet-s <n>",
      "seconds in monitoring without a relapse before an incident is resolved",
      String(STATUS_DEFAULTS.quiet_ms / 1000),
    )
    .action(
      async (opts: {
        watch?: string;
        dataDir: string;
        host: string;
        port: string;
        name: string;
        publicUrl?: string;
        exportDir?: string;
        canaryKey?: string;
        exchangeAdminSocket?: string;
        allowInternalWebhooks?: boolean;
        smtpUrl?: string;
        telegramToken?: string;
        telegramApi: string;
        mailFrom?: string;
        retryScheduleMs?: string;
        probeIntervalMs: string;
        rounds: string;
        quietS: string;
        connectionsPerIp?: string;
        trustProxy?: string;
      }) => {
        if (opts.watch === undefined) return fail("--watch URL[,URL…] is required");
        const port = Number(opts.port);
        const interval = Number(opts.probeIntervalMs);
        const rounds = Number(opts.rounds);
        const quiet_s = Number(opts.quietS);
        if (!Number.isInteger(port) || port < 0 || port > 65535) return fail("--port must be 0..65535");
        if (!(interval >= 100 && interval <= 600_000)) return fail("--probe-interval-ms must be 100..600000");
        if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) return fail("--rounds must be 1..100");
        if (!(quiet_s >= 0 && quiet_s <= 86_400)) return fail("--quiet-s must be 0..86400");
        if (opts.name.length > 100) return fail("--name is at most 100 characters");
        const per_ip = opts.connectionsPerIp === undefined ? undefined : Number(opts.connectionsPerIp);
        if (per_ip !== undefined && !(Number.isInteger(per_ip) && per_ip >= 0 && per_ip <= 1_000_000))
          return fail("--connections-per-ip must be 0..1000000");
        if (opts.trustProxy !== undefined) {
          try {
            trust_proxy(opts.trustProxy);
          } catch (error) {
            return fail(`--trust-proxy: ${(error as Error).message}`);
          }
        }
        const telegram_token = opts.telegramToken ?? process.env.HOLDFAST_TELEGRAM_TOKEN;
        const schedule = opts.retryScheduleMs?.split(",").map(Number);
        if (
          schedule !== undefined &&
          (schedule.length < 1 ||
            schedule.length > 50 ||
            !schedule.every((x) => Number.isInteger(x) && x >= 0))
        )
          return fail("--retry-schedule-ms: 1 to 50 non-negative integers");
        const log = (line: string): void => console.error(`${new Date().toISOString()} ${line}`);
        let running: Awaited<ReturnType<typeof start_status>>;
        try {
          running = await start_status({
            data_dir: opts.dataDir,
            host: opts.host,
            port,
            watch: opts.watch
              .split(",")
              .map((u) => u.trim())
              .filter((u) => u !== ""),
            probe_interval_ms: interval,
            rounds_to_change: rounds,
            quiet_ms: quiet_s * 1000,
            name: opts.name,
            ...(opts.publicUrl === undefined ? {} : { public_url: opts.publicUrl }),
            ...(opts.exportDir === undefined ? {} : { export_dir: opts.exportDir }),
            ...(opts.canaryKey === undefined ? {} : { canary_key_file: opts.canaryKey }),
            ...(opts.exchangeAdminSocket === undefined
              ? {}
              : { exchange_admin_socket: opts.exchangeAdminSocket }),
            allow_internal_webhooks: opts.allowInternalWebhooks === true,
            ...(opts.smtpUrl === undefined ? {} : { smtp_url: opts.smtpUrl }),
            ...(telegram_token === undefined ? {} : { telegram_token, telegram_api: opts.telegramApi }),
            ...(opts.mailFrom === undefined ? {} : { mail_from: opts.mailFrom }),
            ...(schedule === undefined ? {} : { retry_schedule_ms: schedule }),
            ...(per_ip === undefined ? {} : { connections_per_ip: per_ip }),
            ...(opts.trustProxy === undefined ? {} : { trust_proxy: opts.trustProxy }),
            log,
          });
        } catch (error) {
          return fail(error instanceof Error ? error.message : String(error));
        }
        console.log(`holdfast: status page ready at http://${opts.host}:${running.port}`);
        let stopping = false;
        const stop = (signal: string): void => {
          if (stopping) return;
          stopping = true;
          log(`status: ${signal}: stopping`);
          running.close().then(
            () => process.exit(0),
            (error: unknown) => {
              log(`status: error while stopping: ${String(error)}`);
              process.exit(1);
            },
          );
        };
        process.on("SIGTERM", () => stop("SIGTERM"));
        process.on("SIGINT", () => stop("SIGINT"));
      },
    );

  status
    .command("key")
    .description("print the status service's public signing key (created if the directory has none)")
    .option("--json", "print one JSON object")
    .action((opts: { json?: boolean }) => {
      // --data-dir is the parent command's option (commander reads it on either side of "key")
      const dir = (status.opts() as { dataDir: string }).dataDir;
      mkdirSync(dir, { recursive: true });
      const signer = Signer.open(dir);
      if (opts.json) return console.log(JSON.stringify(signing_key_json(signer)));
      console.log(`Ed25519 signing key, id ${signer.key_id}\n${signer.public_pem.trimEnd()}`);
    });

  const admin = status
    .command("admin")
    .description("operator commands for a running status service (its admin socket)");
  const socket = (): string => join((status.opts() as { dataDir: string }).dataDir, STATUS_ADMIN_SOCKET);
  /** One request to the admin socket; prints the refusal and exits 1 when refused. */
  const call = async (method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> => {
    const r = await admin_request(socket(), method, path, body);
    if (r.status >= 400) {
      const message =
        (r.body as { message?: string; error?: string } | null)?.message ?? JSON.stringify(r.body);
      throw new Error(`refused (${r.status}): ${message}`);
    }
    return r.body;
  };
  const run = (action: () => Promise<void>): Promise<void> =>
    action().catch((error: unknown) => {
      console.error(`holdfast status admin: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    });

  admin
    .command("incidents")
    .description("list incidents, newest first")
    .option("--json", "print JSON")
    .action((opts: { json?: boolean }) =>
      run(async () => {
        const list = (await call("GET", "/v1/incidents")) as {
          id: string;
          name: string;
          status: string;
          impact: string;
          automatic: boolean;
          created_at: string;
        }[];
        if (opts.json) return console.log(JSON.stringify(list));
        if (list.length === 0) console.log("no incidents");
        for (const i of list)
          console.log(
            `${i.id}  ${i.status.padEnd(13)} ${i.impact.padEnd(11)} ${i.created_at}  ${i.automatic ? "[auto] " : ""}${i.name}`,
          );
      }),
    );

  admin
    .command("components")
    .description("list components: what the page shows, what the probes say, and any override")
    .option("--json", "print JSON")
    .action((opts: { json?: boolean }) =>
      run(async () => {
        const list = (await call("GET", "/v1/components")) as {
          id: string;
          status: string;
          auto_status: string;
          override: string | null;
        }[];
        if (opts.json) return console.log(JSON.stringify(list));
        for (const c of list)
          console.log(
            `${c.id.padEnd(22)} ${c.status.padEnd(21)}${c.override === null ? "" : ` (override; probes say ${c.auto_status})`}`,
          );
      }),
    );

  admin
    .command("open <name>")
    .description("open an incident")
    .requiredOption("--body <text>", "the first update's text")
    .option("--status <status>", "investigating, identified or monitoring", "investigating")
    .option("--components <ids>", "comma-separated component ids it affects")
    .option("--component-status <status>", "show the affected components as this status")
    .option("--json", "print JSON")
    .action(
      (
        name: string,
        opts: { body: string; status: string; components?: string; componentStatus?: string; json?: boolean },
      ) =>
        run(async () => {
          const r = (await call("POST", "/v1/incidents", {
            name,
            body: opts.body,
            status: opts.status,
            ...(opts.components === undefined
              ? {}
              : { components: opts.components.split(",").map((x) => x.trim()) }),
            ...(opts.componentStatus === undefined ? {} : { component_status: opts.componentStatus }),
          })) as { id: string; status: string; impact: string };
          if (opts.json) return console.log(JSON.stringify(r));
          console.log(`incident ${r.id} opened (${r.status}, impact ${r.impact})`);
        }),
    );

  admin
    .command("update <id> <status>")
    .description("post an update: investigating, identified, monitoring, resolved or postmortem")
    .requiredOption("--body <text>", "the update's text")
    .option("--component-status <status>", "show the incident's components as this status")
    .option("--json", "print JSON")
    .action(
      (id: string, new_status: string, opts: { body: string; componentStatus?: string; json?: boolean }) =>
        run(async () => {
          const r = await call("POST", `/v1/incidents/${encodeURIComponent(id)}/updates`, {
            status: new_status,
            body: opts.body,
            ...(opts.componentStatus === undefined ? {} : { component_status: opts.componentStatus }),
          });
          if (opts.json) return console.log(JSON.stringify(r));
          console.log(`incident ${id}: ${new_status}`);
        }),
    );

  admin
    .command("maintenances")
    .description("list scheduled maintenance windows")
    .option("--json", "print JSON")
    .action((opts: { json?: boolean }) =>
      run(async () => {
        const list = (await call("GET", "/v1/maintenances")) as {
          id: string;
          name: string;
          status: string;
          scheduled_for: string;
          scheduled_until: string;
          switch_exchange: boolean;
          reopen_stage_seconds: number | null;
          reopening: { done: string | null; next_at: string; stopped: string | null } | null;
        }[];
        if (opts.json) return console.log(JSON.stringify(list));
        if (list.length === 0) console.log("no maintenance scheduled");
        for (const m of list)
          console.log(
            `${m.id}  ${m.status.padEnd(11)} ${m.scheduled_for} → ${m.scheduled_until}  ${m.switch_exchange ? `[switches exchange${m.reopen_stage_seconds === null ? "" : `, reopens in stages ${m.reopen_stage_seconds} s apart`}] ` : ""}${m.name}${reopening_text(m)}`,
          );
      }),
    );

  admin
    .command("schedule <name>")
    .description("announce a maintenance window; it starts and finishes by itself")
    .requiredOption("--start <time>", "ISO 8601 start, e.g. 2026-12-01T02:00:00Z")
    .requiredOption("--end <time>", "ISO 8601 end")
    .requiredOption("--body <text>", "what users should know")
    .option("--components <ids>", "comma-separated component ids shown under maintenance")
    .option(
      "--switch-exchange",
      "put the exchange into maintenance for the window (needs --exchange-admin-socket)",
    )
    .option(
      "--remind-minutes <n>",
      "remind every subscriber this many minutes before the start (an update of its own)",
    )
    .option(
      "--reopen-stage-seconds <n>",
      "with --switch-exchange: at the end, reopen in stages this far apart (markets closed, cancel-only, trading, withdrawals) instead of all at once",
    )
    .option("--json", "print JSON")
    .action(
      (
        name: string,
        opts: {
          start: string;
          end: string;
          body: string;
          components?: string;
          switchExchange?: boolean;
          reopenStageSeconds?: string;
          remindMinutes?: string;
          json?: boolean;
        },
      ) =>
        run(async () => {
          const r = (await call("POST", "/v1/maintenances", {
            name,
            body: opts.body,
            start: opts.start,
            end: opts.end,
            ...(opts.components === undefined
              ? {}
              : { components: opts.components.split(",").map((x) => x.trim()) }),
            switch_exchange: opts.switchExchange === true,
            ...(opts.reopenStageSeconds === undefined
              ? {}
              : { reopen_stage_seconds: whole_number("--reopen-stage-seconds", opts.reopenStageSeconds) }),
            ...(opts.remindMinutes === undefined
              ? {}
              : { remind_minutes: whole_number("--remind-minutes", opts.remindMinutes) }),
          })) as { id: string; scheduled_for: string; scheduled_until: string };
          if (opts.json) return console.log(JSON.stringify(r));
          console.log(`maintenance ${r.id} scheduled ${r.scheduled_for} → ${r.scheduled_until}`);
        }),
    );

  admin
    .command("complete <id>")
    .description("end a maintenance window now")
    .requiredOption("--body <text>", "the closing update")
    .option("--json", "print JSON")
    .action((id: string, opts: { body: string; json?: boolean }) =>
      run(async () => {
        const r = await call("POST", `/v1/maintenances/${encodeURIComponent(id)}/complete`, {
          body: opts.body,
        });
        if (opts.json) return console.log(JSON.stringify(r));
        console.log(
          (r as { status: string }).status === "verifying"
            ? `maintenance ${id}: verifying: the exchange reopens in stages; the window completes after the last`
            : `maintenance ${id} completed`,
        );
      }),
    );

  admin
    .command("passwd <username>")
    .description(
      "create an operator of the /admin web page, or set a new password (read from standard input)",
    )
    .option("--json", "print JSON")
    .action((username: string, opts: { json?: boolean }) =>
      run(async () => {
        const chunks: Buffer[] = [];
        for await (const c of process.stdin) chunks.push(c as Buffer);
        const password = Buffer.concat(chunks)
          .toString("utf8")
          .replace(/\r?\n$/, "");
        const r = await call("POST", "/v1/admin-users", { username, password });
        if (opts.json) return console.log(JSON.stringify(r));
        console.log(`operator ${username}: password set (existing sessions ended)`);
      }),
    );

  admin
    .command("webhooks")
    .description("list webhook subscribers")
    .option("--json", "print JSON")
    .action((opts: { json?: boolean }) =>
      run(async () => {
        const list = (await call("GET", "/v1/webhooks")) as {
          id: string;
          url: string;
          disabled_at: string | null;
          disabled_reason: string | null;
        }[];
        if (opts.json) return console.log(JSON.stringify(list));
        if (list.length === 0) console.log("no webhooks");
        for (const w of list)
          console.log(
            `${w.id}  ${w.disabled_at === null ? "active  " : "disabled"}  ${w.url}${w.disabled_reason === null ? "" : ` (${w.disabled_reason})`}`,
          );
      }),
    );

  admin
    .command("webhook-add <url>")
    .description("subscribe a URL to every incident and maintenance update (Standard Webhooks)")
    .option("--json", "print JSON")
    .action((url: string, opts: { json?: boolean }) =>
      run(async () => {
        const r = (await call("POST", "/v1/webhooks", { url })) as { id: string; secret: string };
        if (opts.json) return console.log(JSON.stringify(r));
        console.log(`webhook ${r.id}\nsigning secret: ${r.secret}   (shown once)`);
      }),
    );

  admin
    .command("webhook-remove <id>")
    .description("stop sending to a webhook")
    .option("--json", "print JSON")
    .action((id: string, opts: { json?: boolean }) =>
      run(async () => {
        const r = await admin_request(socket(), "DELETE", `/v1/webhooks/${encodeURIComponent(id)}`);
        if (r.status !== 200)
          throw new Error(`refused (${r.status}): ${(r.body as { message?: string }).message}`);
        if (opts.json) return console.log(JSON.stringify(r.body));
        console.log(`webhook ${id} removed`);
      }),
    );

  admin
    .command("telegram-add <chat-id>")
    .description("send every update to a Telegram chat (numeric id or @channel; the bot must be a member)")
    .option("--json", "print JSON")
    .action((chat: string, opts: { json?: boolean }) =>
      run(async () => {
        const r = await call("POST", "/v1/telegram-chats", { chat_id: chat });
        if (opts.json) return console.log(JSON.stringify(r));
        console.log(`Telegram chat ${chat} added`);
      }),
    );

  admin
    .command("telegram-remove <chat-id>")
    .description("stop sending to a Telegram chat")
    .option("--json", "print JSON")
    .action((chat: string, opts: { json?: boolean }) =>
      run(async () => {
        const r = await admin_request(socket(), "DELETE", `/v1/telegram-chats/${encodeURIComponent(chat)}`);
        if (r.status !== 200)
          throw new Error(`refused (${r.status}): ${(r.body as { message?: string }).message}`);
        if (opts.json) return console.log(JSON.stringify(r.body));
        console.log(`Telegram chat ${chat} removed`);
      }),
    );

  admin
    .command("component <id> <status>")
    .description("override what a component shows (a component status), or hand it back to the probes (auto)")
    .option("--json", "print JSON")
    .action((id: string, new_status: string, opts: { json?: boolean }) =>
      run(async () => {
        const r = await call("POST", `/v1/components/${encodeURIComponent(id)}`, { status: new_status });
        if (opts.json) return console.log(JSON.stringify(r));
        console.log(`${id}: ${new_status === "auto" ? "back to automatic" : new_status}`);
      }),
    );

  program
    .command("verify <source>")
    .description("check the signatures in a status update, incident or summary (a file or an http(s) URL)")
    .option(
      "--key <file>",
      "the status page's public key (PEM) you saved; without it the key is fetched from the source's server",
    )
    .option("--json", "print one JSON object")
    .action(async (source: string, opts: { key?: string; json?: boolean }) => {
      try {
        const remote = /^https?:\/\//.test(source);
        const text = remote
          ? await (await fetch(source, { signal: AbortSignal.timeout(10_000) })).text()
          : readFileSync(source, "utf8");
        if (text.length > VERIFY_BYTES_MAX)
          return fail(`verify: ${source} is larger than ${VERIFY_BYTES_MAX} bytes`);
        let pem: string;
        let pinned = true;
        if (opts.key !== undefined) pem = readFileSync(opts.key, "utf8");
        else if (remote) {
          const origin = new URL(source).origin;
          const k = (await (
            await fetch(`${origin}/api/v2/signing-key.json`, { signal: AbortSignal.timeout(10_000) })
          ).json()) as {
            public_key_pem: string;
          };
          pem = k.public_key_pem;
          pinned = false;
        } else return fail("verify: give --key FILE (the public key you saved from the status page)");
        const key = createPublicKey(pem);
        const results = verify_document(JSON.parse(text), key);
        const ok = results.length > 0 && results.every((r) => r.ok);
        if (opts.json) console.log(JSON.stringify({ ok, key_id: key_id(key), pinned, results }));
        else {
          if (results.length === 0) console.log("no signed object found");
          for (const r of results) console.log(`${r.ok ? "authentic" : "FORGED OR ALTERED"}  ${r.path}`);
          console.log(
            ok ? `all ${results.length} signatures verify (key ${key_id(key)})` : "verification FAILED",
          );
          if (!pinned)
            console.log(
              "note: the key came from the same server as the document; pin it with --key to know who wrote it",
            );
        }
        if (!ok) process.exitCode = 1;
      } catch (error) {
        fail(`verify: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
}

/** Bound on a document `holdfast verify` reads. */
const VERIFY_BYTES_MAX = 16 * 1024 * 1024;

function fail(message: string): void {
  console.error(`holdfast status: ${message}`);
  process.exitCode = 2;
}

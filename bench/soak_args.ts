/** What the soaks (bench/cluster/soak.ts, bench/node/soak.ts) share: arguments, progress lines. */

/** `--name N` from the command line, a positive number; `fallback` when absent. */
export function positive_arg(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i < 0 ? fallback : Number(args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} takes a positive number`);
  return v;
}

/** A progress line on stderr, with the time of day (stdout keeps the results). */
export const log = (line: string): void =>
  void process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

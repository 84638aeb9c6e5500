/**
 * Assertions catch programmer errors in the core; they stay on in production because they are cheap.
 * Operating errors (bad input, full limits) are never asserted: they are rejected with a reason.
 */
export class InvariantError extends Error {
  override name = "InvariantError";
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

/** Largest integer a JS number holds exactly (2^53 - 1). Every money value stays at or below it. */
export const UNITS_MAX = Number.MAX_SAFE_INTEGER;

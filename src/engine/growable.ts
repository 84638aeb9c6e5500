/**
 * Typed-array columns that grow by doubling up to a hard maximum. Storage follows use, so a limit of
 * millions of orders costs memory only once that many orders exist; growth is rare and amortised.
 */
export type Column = Float64Array | Int32Array | Uint8Array;

export function grown<T extends Column>(column: T, length: number): T {
  const next = new (column.constructor as new (n: number) => T)(length);
  next.set(column);
  return next;
}

/** Next capacity: double, capped at `max`. */
export function next_capacity(current: number, needed: number, max: number): number {
  let size = Math.max(current, 16);
  while (size < needed) size *= 2;
  return Math.min(size, max);
}

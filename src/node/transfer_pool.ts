/**
 * Buffers that travel to a worker thread (transferred, not copied) and come back once it is done with
 * them. Allocating a fresh 4 MB buffer for every hand-over took up to 5 ms on the node's thread now and
 * then (mapping new memory, with huge pages on: `npm run bench:snapshot`, hand-overs of 5-8.7 ms
 * against 0.2-0.3 ms); a returned buffer costs nothing.
 */
import type { MessagePort } from "node:worker_threads";

export class TransferPool {
  private readonly spare: ArrayBuffer[] = [];

  /** `preallocated` buffers are allocated now, at start, rather than on the first hand-overs. */
  constructor(
    readonly bytes: number,
    private readonly kept_max: number,
    preallocated = TRANSFER_POOL_PREALLOCATED,
  ) {
    for (let i = 0; i < preallocated; i++) this.spare.push(new ArrayBuffer(bytes));
  }

  /** A buffer of `bytes` (whatever it held before: the caller overwrites what it sends). */
  take(): Buffer {
    const spare = this.spare.pop();
    return spare === undefined ? Buffer.allocUnsafeSlow(this.bytes) : Buffer.from(spare);
  }

  /** Buffers back from the worker; only the pool's size is kept, up to kept_max of them. */
  give(buffers: readonly ArrayBuffer[]): void {
    for (const b of buffers)
      if (b.byteLength === this.bytes && this.spare.length < this.kept_max) this.spare.push(b);
  }
}

/**
 * The worker's side: the buffers of messages it holds (not yet applied), sent back to the pool in one
 * message once they are applied and no view into them is left.
 */
export class HeldBuffers {
  private readonly held: ArrayBuffer[] = [];

  hold(bytes: Uint8Array): void {
    this.held.push(bytes.buffer as ArrayBuffer);
  }

  give_back(port: MessagePort): void {
    if (this.held.length === 0) return;
    const buffers = this.held.splice(0);
    port.postMessage({ type: "buffers", buffers }, buffers);
  }
}

/** Enough for what a worker holds before applying (8 MB, two buffers) and one being filled. */
export const TRANSFER_POOL_KEPT_MAX = 8;
const TRANSFER_POOL_PREALLOCATED = 4;

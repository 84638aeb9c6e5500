/**
 * Maps the order store's memory ahead of its high-water mark on a helper thread (see TouchPlan in
 * src/engine/orders.ts): the kernel's zeroing of each fresh page (with transparent huge pages, ~3-5 ms
 * per 2 MB on this VM) then happens there, not on the node's thread in the middle of order entry or
 * replay. Purely an optimisation: if the worker fails, the node's thread maps pages itself as before.
 */
import { Worker } from "node:worker_threads";
import type { TouchPlan } from "../engine/orders.js";

export interface TouchAheadStart {
  plan: TouchPlan;
  /** [0]: 1 asks the worker to stop. */
  control: Int32Array;
}

export class TouchAhead {
  private readonly control = new Int32Array(new SharedArrayBuffer(4));
  private readonly worker: Worker;

  constructor(plan: TouchPlan, log: (line: string) => void) {
    const start: TouchAheadStart = { plan, control: this.control };
    this.worker = new Worker(new URL("./touch_ahead_worker.js", import.meta.url), { workerData: start });
    this.worker.unref();
    this.worker.on("error", (error) =>
      log(`node: touch-ahead worker failed (pages are mapped on demand): ${error}`),
    );
  }

  async stop(): Promise<void> {
    Atomics.store(this.control, 0, 1);
    Atomics.notify(this.control, 0);
    await this.worker.terminate();
  }
}

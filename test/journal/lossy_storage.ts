/**
 * In-memory storage that behaves like a disk at power loss: at crash(), every byte not yet covered by
 * a datasync is lost (or, to model a torn write, a random prefix of it survives, possibly garbled),
 * and files whose names were not made durable by sync_dir disappear.
 */
import type { JournalFile, Storage } from "../../src/journal/storage.js";
import type { Prng } from "../../src/sim/prng.js";

interface MemFile {
  data: Uint8Array;
  durable: Uint8Array;
}

export class CrashedError extends Error {}

export class LossyStorage implements Storage {
  private files = new Map<string, MemFile>();
  private durable_names = new Set<string>();
  private crashed = false;
  syncs = 0;

  constructor(private readonly rng: Prng) {}

  private check(): void {
    if (this.crashed) throw new CrashedError("storage crashed");
  }

  async list(): Promise<string[]> {
    this.check();
    return [...this.files.keys()].sort();
  }

  async open(name: string, create: boolean): Promise<JournalFile> {
    this.check();
    let f = this.files.get(name);
    if (f === undefined) {
      if (!create) throw new Error(`no file ${name}`);
      f = { data: new Uint8Array(0), durable: new Uint8Array(0) };
      this.files.set(name, f);
    }
    const file = f;
    const self = this;
    const handle: JournalFile = {
      async size() {
        self.check();
        return file.data.length;
      },
      async read(position, length) {
        self.check();
        return file.data.slice(position, Math.min(file.data.length, position + length));
      },
      async write(bytes, position) {
        self.check();
        const end = Math.max(file.data.length, position + bytes.length);
        const next = new Uint8Array(end);
        next.set(file.data);
        next.set(bytes, position);
        file.data = next;
        await Promise.resolve();
      },
      async datasync() {
        self.check();
        await new Promise((r) => setImmediate(r)); // let other appends queue up, as a real sync would
        self.check();
        file.durable = file.data.slice();
        self.syncs++;
      },
      async write_synced(bytes, position) {
        // O_DSYNC: the data is not durable until the write returns; a crash before then loses it
        await handle.write(bytes, position);
        await handle.datasync();
      },
      async truncate(length) {
        self.check();
        file.data = file.data.slice(0, length);
      },
      async close() {},
    };
    return handle;
  }

  async sync_dir(): Promise<void> {
    this.check();
    this.durable_names = new Set(this.files.keys());
  }

  async remove(name: string): Promise<void> {
    this.check();
    this.files.delete(name);
  }

  /** Power loss. Afterwards the storage is usable again, holding only what survived. */
  crash(): void {
    this.crashed = true;
    for (const [name, f] of [...this.files]) {
      if (!this.durable_names.has(name)) {
        this.files.delete(name);
        continue;
      }
      const unsynced = f.data.subarray(f.durable.length);
      let kept = new Uint8Array(0);
      if (unsynced.length > 0 && this.rng.chance(0.5)) {
        kept = unsynced.slice(0, this.rng.below(unsynced.length + 1));
        if (kept.length > 0 && this.rng.chance(0.3)) kept[this.rng.below(kept.length)] ^= 0xff;
      }
      const data = new Uint8Array(f.durable.length + kept.length);
      data.set(f.durable);
      data.set(kept, f.durable.length);
      f.data = data;
      f.durable = data.slice();
    }
  }

  restart(): void {
    this.crashed = false;
  }
}

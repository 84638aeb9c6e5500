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
  /** Writes and truncations since the last datasync, in order: what a power loss may undo. */
  pending: ({ position: number; bytes: Uint8Array } | { truncate: number })[];
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
      f = { data: new Uint8Array(0), durable: new Uint8Array(0), pending: [] };
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
        file.data = written(file.data, position, bytes);
        file.pending.push({ position, bytes: bytes.slice() });
        await Promise.resolve();
      },
      async datasync() {
        self.check();
        await new Promise((r) => setImmediate(r)); // let other appends queue up, as a real sync would
        self.check();
        file.durable = file.data.slice();
        file.pending = [];
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
        file.pending.push({ truncate: length });
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
      // Each write or truncation since the last datasync survives whole, in part (a prefix of a
      // write, possibly with a garbled byte), or not at all, independently (disks reorder them). Only
      // bytes a write actually carried can come back garbled: zeros filled ahead stay zeros.
      let data = f.durable;
      for (const op of f.pending) {
        if (this.rng.chance(0.5)) continue;
        if ("truncate" in op) {
          data = data.slice(0, op.truncate);
          continue;
        }
        const kept = this.rng.chance(0.5)
          ? op.bytes.slice()
          : op.bytes.slice(0, this.rng.below(op.bytes.length + 1));
        if (kept.some((b) => b !== 0) && this.rng.chance(0.3)) kept[this.rng.below(kept.length)] ^= 0xff;
        data = written(data, op.position, kept);
      }
      f.data = data;
      f.pending = [];
      f.durable = data.slice();
    }
  }

  restart(): void {
    this.crashed = false;
  }
}

/** `data` with `bytes` written at `position` (a write past the end extends it with zeros). */
function written(data: Uint8Array, position: number, bytes: Uint8Array): Uint8Array {
  const next = new Uint8Array(Math.max(data.length, position + bytes.length));
  next.set(data);
  next.set(bytes, position);
  return next;
}

/**
 * Space kept on the status service's disk for the day it fills. An outage is when the page must
 * record most (incidents, updates, the outbox), and a full disk (another process's logs, say) would
 * otherwise stop every write: the page would go on showing its last state, "operational" through the
 * outage. The ballast is a file of real zeros (not sparse, so its blocks are taken); deleting it gives
 * them back to the file system for SQLite to grow into. Space inside the database cannot do this:
 * pages freed there are no use once the WAL holds pages past the end of the database file, since the
 * checkpoint that would let the WAL start over must grow that file first (tried: with 16 MB freed
 * inside the database, not one more write succeeded).
 */
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from "node:fs";

export const BALLAST_BYTES = 16 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;

export class Ballast {
  constructor(
    readonly file: string,
    readonly bytes: number = BALLAST_BYTES,
  ) {}

  /** Whether the ballast is in place. */
  get present(): boolean {
    try {
      return statSync(this.file).size >= this.bytes;
    } catch {
      return false;
    }
  }

  /**
   * Writes the ballast if it is not in place (a temporary file, synced, then renamed). False when the
   * disk has no room for it; other errors are thrown.
   */
  ensure(): boolean {
    if (this.present) return true;
    const temp = `${this.file}.tmp`;
    const fd = openSync(temp, "w");
    try {
      const zeros = Buffer.alloc(CHUNK_BYTES);
      for (let at = 0; at < this.bytes; at += CHUNK_BYTES)
        writeSync(fd, zeros, 0, Math.min(CHUNK_BYTES, this.bytes - at));
      fsyncSync(fd);
    } catch (error) {
      closeSync(fd);
      rmSync(temp, { force: true });
      if ((error as { code?: string }).code === "ENOSPC") return false;
      throw error;
    }
    closeSync(fd);
    renameSync(temp, this.file);
    return true;
  }

  /** Deletes the ballast; whether there was one. */
  release(): boolean {
    if (!existsSync(this.file)) return false;
    rmSync(this.file, { force: true });
    return true;
  }
}

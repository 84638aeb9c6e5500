/**
 * The journal's storage layer. The journal does all its I/O through this interface so that tests can
 * substitute a store that loses every write not yet made durable at a simulated crash, as a power loss
 * does (a kill -9 cannot show that: the OS keeps unsynced pages).
 */
import { constants } from "node:fs";
import { type FileHandle, mkdir, open, readdir, rm } from "node:fs/promises";
import { join } from "node:path";

export interface JournalFile {
  size(): Promise<number>;
  read(position: number, length: number): Promise<Uint8Array>;
  write(bytes: Uint8Array, position: number): Promise<void>;
  /** Makes written data durable (fdatasync). */
  datasync(): Promise<void>;
  /**
   * Writes and makes durable in one step: as write() then datasync(), but one trip through the thread
   * pool instead of two (a busy event loop delays each trip's continuation).
   */
  write_synced(bytes: Uint8Array, position: number): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export interface Storage {
  /** Names of the files in the journal directory. */
  list(): Promise<string[]>;
  open(name: string, create: boolean): Promise<JournalFile>;
  /** Makes created, renamed and removed names durable (fsync of the directory). */
  sync_dir(): Promise<void>;
  remove(name: string): Promise<void>;
}

class FsFile implements JournalFile {
  /** The same file opened O_DSYNC: each write returns once its data is durable, as fdatasync makes it. */
  private synced: FileHandle | null = null;
  constructor(
    private readonly handle: FileHandle,
    private readonly path: string,
  ) {}
  async size(): Promise<number> {
    return (await this.handle.stat()).size;
  }
  async read(position: number, length: number): Promise<Uint8Array> {
    const buf = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(buf, done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return buf.subarray(0, done);
  }
  async write(bytes: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, position + done);
      done += bytesWritten;
    }
  }
  datasync(): Promise<void> {
    return this.handle.datasync();
  }
  async write_synced(bytes: Uint8Array, position: number): Promise<void> {
    this.synced ??= await open(this.path, constants.O_WRONLY | constants.O_DSYNC);
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.synced.write(bytes, done, bytes.length - done, position + done);
      done += bytesWritten;
    }
  }
  truncate(length: number): Promise<void> {
    return this.handle.truncate(length);
  }
  async close(): Promise<void> {
    await this.synced?.close();
    this.synced = null;
    await this.handle.close();
  }
}

/** Files in a directory of the real file system. */
export class FsStorage implements Storage {
  constructor(readonly dir: string) {}

  async list(): Promise<string[]> {
    await mkdir(this.dir, { recursive: true });
    return (await readdir(this.dir)).sort();
  }
  async open(name: string, create: boolean): Promise<JournalFile> {
    await mkdir(this.dir, { recursive: true });
    // Not O_APPEND: the journal writes at explicit positions (and cuts torn tails before writing).
    const flags = constants.O_RDWR | (create ? constants.O_CREAT : 0);
    const path = join(this.dir, name);
    return new FsFile(await open(path, flags, 0o644), path);
  }
  async sync_dir(): Promise<void> {
    const handle = await open(this.dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
  remove(name: string): Promise<void> {
    return rm(join(this.dir, name), { force: true });
  }
}

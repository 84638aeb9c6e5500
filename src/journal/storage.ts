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
  constructor(private readonly handle: FileHandle) {}
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
  truncate(length: number): Promise<void> {
    return this.handle.truncate(length);
  }
  close(): Promise<void> {
    return this.handle.close();
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
    return new FsFile(await open(join(this.dir, name), flags, 0o644));
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

/**
 * A node's data directory: everything a run writes lives under it (journal/, snapshots/, LOCK).
 * Two nodes cannot open the same directory: LOCK is created exclusively and holds the owner's pid;
 * a LOCK left by a process that no longer exists (a crash) is taken over. (If an unrelated process
 * has since been given that pid, the error names it and the operator removes LOCK by hand.)
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";

export class DataDirLockedError extends Error {
  override name = "DataDirLockedError";
}

export interface DataDir {
  root: string;
  journal: string;
  snapshots: string;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function open_data_dir(root: string): DataDir {
  const release = lock_dir(root, "node");
  const dir: DataDir = {
    root,
    journal: join(root, "journal"),
    snapshots: join(root, "snapshots"),
    release,
  };
  mkdirSync(dir.journal, { recursive: true });
  mkdirSync(dir.snapshots, { recursive: true });
  return dir;
}

/** Creates `root` if needed and takes its LOCK (see above); returns the release function. */
export function lock_dir(root: string, owner_kind: string): () => void {
  mkdirSync(root, { recursive: true });
  const lock = join(root, "LOCK");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, "wx");
      writeSync(fd, `${process.pid}\n`);
      fsyncSync(fd);
      closeSync(fd);
      return () => rmSync(lock, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = Number.parseInt(readFileSync(lock, "utf8"), 10);
      if (Number.isInteger(owner) && alive(owner))
        throw new DataDirLockedError(
          `data directory ${root} is in use by process ${owner} (${lock}); stop that ${owner_kind} first`,
        );
      rmSync(lock, { force: true }); // stale: its owner is gone
    }
  }
  throw new DataDirLockedError(`could not lock data directory ${root}`);
}

/**
 * Opens the SQLite database at `file` with `open`; a file SQLite cannot read as a database
 * (SQLITE_NOTADB, SQLITE_CORRUPT) is moved aside with its WAL and shared-memory files, `moved` is told
 * where, and a new one is opened. For stores whose loss must not keep their process from starting.
 */
export function open_or_set_aside<T>(
  file: string,
  open: () => T,
  moved: (aside: string, error: unknown) => void,
): T {
  try {
    return open();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== "SQLITE_NOTADB" && code !== "SQLITE_CORRUPT") throw error;
    const aside = `${file}.damaged-${Date.now()}`;
    for (const suffix of ["", "-wal", "-shm"])
      if (existsSync(file + suffix)) renameSync(file + suffix, aside + suffix);
    moved(aside, error);
    return open();
  }
}

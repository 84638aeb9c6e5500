/** A small real file system for tests that fill a disk: a tmpfs mounted for the test (root only). */
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { free_bytes } from "../../src/node/disk_guard.js";

const MB = 1024 * 1024;

/** Mounts a tmpfs of `size_mb` at a new directory; the reason as a string where mounting is not allowed. */
export function mount_tmpfs(size_mb: number, prefix: string): { dir: string; unmount: () => void } | string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size_mb}m`, "tmpfs", dir], { stdio: "pipe" });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return `cannot mount a tmpfs here: ${String(error).slice(0, 200)}`;
  }
  return {
    dir,
    unmount: () => {
      execFileSync("umount", ["-l", dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes zeros to `file` until its file system has at most `leave_bytes` free (0: until it is full). */
export function fill(file: string, leave_bytes = 0): void {
  const fd = openSync(file, "a");
  const chunk = Buffer.alloc(MB);
  try {
    for (;;) {
      const left = leave_bytes === 0 ? chunk.length : (free_bytes(dirname(file)) ?? 0) - leave_bytes;
      if (left <= 0) break;
      writeSync(fd, chunk, 0, Math.min(chunk.length, left));
    }
  } catch (error) {
    if ((error as { code?: string }).code !== "ENOSPC") throw error;
  } finally {
    closeSync(fd);
  }
}

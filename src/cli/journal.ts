/** `holdfast journal verify|repair`: check a data directory's journal; cut a torn tail on request. */
import { join } from "node:path";
import type { Command } from "commander";
import { FileJournal, JournalCorruptionError } from "../journal/file_journal.js";
import { scan_journal } from "../journal/scan.js";
import { FsStorage } from "../journal/storage.js";

export function journal_dir(data_dir: string): string {
  return join(data_dir, "journal");
}

export function register_journal(program: Command): void {
  const journal = program.command("journal").description("inspect and repair a node's journal");
  journal
    .command("verify")
    .description("check every frame of the journal (CRC32C, hash chain, sequence) and print a summary")
    .requiredOption("--data-dir <dir>", "the node's data directory")
    .option("--json", "print JSON")
    .action(async (opts: { dataDir: string; json?: boolean }) => {
      const scan = await scan_journal(new FsStorage(journal_dir(opts.dataDir)));
      const summary = {
        segments: scan.segments.length,
        frames: scan.frames,
        commands: scan.commands,
        first_seq: scan.first_seq,
        last_seq: scan.next_seq - 1,
        last_timestamp_ms: scan.last_timestamp_ms,
        torn_tail: scan.torn,
        corruption: scan.corruption,
        ok: scan.corruption === null && scan.torn === null,
      };
      if (opts.json) {
        console.log(JSON.stringify(summary));
      } else {
        console.log(`journal in ${journal_dir(opts.dataDir)}`);
        console.log(`  segments ${summary.segments}, frames ${summary.frames}, commands ${summary.commands}`);
        console.log(`  sequences ${summary.first_seq}..${summary.last_seq}`);
        if (scan.torn !== null)
          console.log(
            `  torn tail: ${scan.torn.file} at offset ${scan.torn.offset} (sequence ${scan.torn.seq}): ${scan.torn.reason}; \`holdfast journal repair --yes\` cuts it`,
          );
        if (scan.corruption !== null)
          console.log(
            `  CORRUPT: ${scan.corruption.file} at offset ${scan.corruption.offset} (sequence ${scan.corruption.seq}): ${scan.corruption.reason}`,
          );
        if (summary.ok) console.log("  ok: every frame intact");
      }
      process.exitCode = scan.corruption !== null ? 2 : scan.torn !== null ? 1 : 0;
    });
  journal
    .command("repair")
    .description("cut a torn tail (a crash mid-write); refuses to touch corruption")
    .requiredOption("--data-dir <dir>", "the node's data directory")
    .option("--yes", "confirm cutting the torn tail")
    .action(async (opts: { dataDir: string; yes?: boolean }) => {
      const storage = new FsStorage(journal_dir(opts.dataDir));
      const scan = await scan_journal(storage);
      if (scan.corruption !== null) {
        console.error(new JournalCorruptionError(scan.corruption).message);
        process.exitCode = 2;
        return;
      }
      if (scan.torn === null) {
        console.log("nothing to repair: the journal ends with an intact frame");
        return;
      }
      const t = scan.torn;
      if (!opts.yes) {
        console.log(`would cut ${t.file} at offset ${t.offset} (sequence ${t.seq}): ${t.reason}`);
        console.log("run again with --yes to cut it");
        process.exitCode = 1;
        return;
      }
      const j = await FileJournal.open(storage, { log: (line) => console.log(line) });
      await j.close();
    });
}

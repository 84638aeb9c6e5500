/**
 * One log entry of cluster mode: a batch of commands proposed by one node. Its id names the node, the
 * node's run (a random nonce per start) and a counter, so ids never repeat; the node that proposed it
 * recognises its own batches on the tail. The timestamp is the proposer's clock; appliers clamp it so
 * time never goes backwards along the log (every node clamps the same way: determinism).
 */
import { ByteReader, ByteWriter } from "../engine/bytes.js";
import type { Command } from "../engine/commands.js";
import { CodecError, decode_command, encode_command } from "../journal/codec.js";

const BATCH_VERSION = 1;
/** Commands per batch; a gateway's batch is bounded well below this. */
export const BATCH_COMMANDS_MAX = 10_000;

export interface Batch {
  timestamp_ms: number;
  commands: Command[];
}

export function encode_batch(batch: Batch): Buffer {
  const w = new ByteWriter();
  w.u8(BATCH_VERSION);
  w.f64(batch.timestamp_ms);
  w.u32(batch.commands.length);
  const one = new ByteWriter();
  for (const c of batch.commands) {
    one.reset();
    encode_command(one, c);
    const bytes = one.bytes();
    w.u32(bytes.length);
    w.raw(bytes);
  }
  return Buffer.from(w.bytes());
}

/** Decodes a log entry; throws CodecError on anything malformed. */
export function decode_batch(bytes: Uint8Array): Batch {
  const r = new ByteReader(bytes);
  try {
    if (r.u8() !== BATCH_VERSION) throw new CodecError("unknown batch version");
    const timestamp_ms = r.f64();
    if (!Number.isSafeInteger(timestamp_ms) || timestamp_ms < 0) throw new CodecError("bad batch timestamp");
    const count = r.u32();
    if (count > BATCH_COMMANDS_MAX) throw new CodecError(`batch of ${count} commands`);
    const commands: Command[] = [];
    for (let i = 0; i < count; i++) commands.push(decode_command(r.raw(r.u32())));
    if (!r.done()) throw new CodecError("trailing bytes after batch");
    return { timestamp_ms, commands };
  } catch (error) {
    if (error instanceof CodecError) throw error;
    throw new CodecError(error instanceof Error ? error.message : String(error));
  }
}

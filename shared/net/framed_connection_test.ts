import assert from "node:assert/strict";
import { encodeFrame } from "../protocol/frame.ts";
import { FramedConnection } from "./framed_connection.ts";

/** A connection whose reads come from a script and whose writes are recorded. */
class ScriptedConn {
  readonly writes: Uint8Array[] = [];
  readonly #reads: Uint8Array[];
  readonly remoteAddr = { transport: "tcp", hostname: "127.0.0.1", port: 1 };

  constructor(reads: Uint8Array[]) {
    this.#reads = reads;
  }

  read(buffer: Uint8Array): Promise<number | null> {
    const next = this.#reads.shift();
    if (next === undefined) return Promise.resolve(null);
    buffer.set(next);
    return Promise.resolve(next.length);
  }

  write(bytes: Uint8Array): Promise<number> {
    this.writes.push(bytes.slice());
    return Promise.resolve(bytes.length);
  }

  close(): void {}
}

function frames(...texts: string[]): Uint8Array {
  const parts = texts.map((t) => encodeFrame(new TextEncoder().encode(t)));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

Deno.test("frameBatches yields a read's whole frames together, and the replies to them leave in one write", async () => {
  const whole = frames("a", "b", "c");
  // The third frame is split across two reads: it completes with the second one.
  const raw = new ScriptedConn([whole.subarray(0, whole.length - 1), whole.subarray(-1)]);
  const conn = new FramedConnection(raw as unknown as Deno.Conn, { maxFrameBytes: 1024 });
  const batches: string[][] = [];
  for await (const batch of conn.frameBatches()) {
    batches.push(batch.map((p) => new TextDecoder().decode(p)));
    for (const _ of batch) conn.sendPayload(new TextEncoder().encode("ok"));
  }
  await conn.flushed();
  assert.deepEqual(batches, [["a", "b"], ["c"]]);
  assert.equal(raw.writes.length, 2, "one write per batch, not per frame");
  assert.equal(raw.writes[0].length, 2 * (4 + 2));
});

Deno.test("frames still yields one payload at a time", async () => {
  const raw = new ScriptedConn([frames("x", "y")]);
  const conn = new FramedConnection(raw as unknown as Deno.Conn, { maxFrameBytes: 1024 });
  const seen: string[] = [];
  for await (const payload of conn.frames()) seen.push(new TextDecoder().decode(payload));
  assert.deepEqual(seen, ["x", "y"]);
});

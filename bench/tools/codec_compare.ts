/**
 * Weighs the wire and log encodings of replicated entries (issue 12): JSON, as today, against
 * msgpackr (MessagePack, with and without its record extension), each with the schema check a
 * follower did before and the hand-written check it does now. Prints µs per entry and bytes per
 * entry for a typical AppendEntries of 100 entries (a third each submit, assign, finish).
 *
 *   deno run -A bench/tools/codec_compare.ts [--rounds N]
 * @module
 */
import { parseArgs } from "node:util";
import { Packr } from "msgpackr";
import { checkAppendEntries } from "../../shared/protocol/append_entries_check.ts";
import { CommandSchema } from "../../shared/protocol/commands.ts";
import { PeerMessageSchema } from "../../shared/protocol/peer_messages.ts";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "2000" } } });
const rounds = Number(values.rounds);
const COMMAND_TYPES = new Set<string>(
  // deno-lint-ignore no-explicit-any
  CommandSchema.options.map((o: any) => String(o.shape.type.value)),
);

function entry(index: number): object {
  const stamp = { atMs: 1_796_482_344_000 + index, lamport: 100_000 + index, node: "o1" };
  const taskId = `t-${Math.floor(index / 3)}`;
  switch (index % 3) {
    case 0:
      return {
        index,
        term: 3,
        command: {
          type: "taskSubmitted",
          owner: "user1",
          idempotencyKey: `run-${index}`,
          spec: { kind: "sleep", description: `bench ${index}`, durationMs: 0 },
          maxAttempts: 5,
          ...stamp,
        },
      };
    case 1:
      return {
        index,
        term: 3,
        command: {
          type: "taskAssigned",
          taskId,
          attempt: 1,
          workerId: "127.0.0.1:40001",
          incarnation: "5f0c2a4e-8a31-4c5e-9a53-0d2b7d1c9e11",
          ...stamp,
        },
      };
    default:
      return {
        index,
        term: 3,
        command: {
          type: "taskFinished",
          taskId,
          attempt: 1,
          workerId: "127.0.0.1:40001",
          outcome: {
            status: "succeeded",
            exitCode: null,
            stdout: `Processed "bench ${index}" in 0 s\n`,
            stderr: "",
            error: null,
            durationMs: 0,
          },
          includesStart: true,
          ...stamp,
        },
      };
  }
}

const ENTRIES = 100;
const message = {
  v: 1,
  lamport: 200_000,
  type: "appendEntries",
  term: 3,
  prevLogIndex: 999,
  prevLogTerm: 3,
  entries: Array.from({ length: ENTRIES }, (_, i) => entry(1000 + i)),
  leaderCommit: 998,
  readCtx: 0,
};

function time(label: string, body: () => unknown): number {
  for (let i = 0; i < Math.min(200, rounds); i++) body(); // warm-up
  const start = performance.now();
  for (let i = 0; i < rounds; i++) body();
  const usPerEntry = ((performance.now() - start) * 1000) / (rounds * ENTRIES);
  console.log(`  ${label.padEnd(44)} ${usPerEntry.toFixed(2).padStart(7)} µs/entry`);
  return usPerEntry;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const json = encoder.encode(JSON.stringify(message));
const plain = new Packr({ useRecords: false });
const records = new Packr({ useRecords: true, structuredClone: false });
const packedPlain = plain.pack(message);
const packedRecords = records.pack(message);

console.log(`${ENTRIES} entries per AppendEntries, ${rounds} rounds (Deno ${Deno.version.deno})`);
console.log(
  `bytes per entry: JSON ${(json.length / ENTRIES).toFixed(0)}, msgpackr ${
    (packedPlain.length / ENTRIES).toFixed(0)
  }, msgpackr records ${(packedRecords.length / ENTRIES).toFixed(0)}`,
);
console.log("encode:");
time("JSON.stringify + UTF-8", () => encoder.encode(JSON.stringify(message)));
time("msgpackr pack", () => plain.pack(message));
time("msgpackr pack (records)", () => records.pack(message));
console.log("decode:");
time("UTF-8 + JSON.parse", () => JSON.parse(decoder.decode(json)));
time("msgpackr unpack", () => plain.unpack(packedPlain));
time("msgpackr unpack (records)", () => records.unpack(packedRecords));
console.log("check (a follower's validation of the decoded message):");
const parsed = JSON.parse(decoder.decode(json));
time("schema (zod), as before", () => PeerMessageSchema.safeParse(parsed));
time("hand-written (append_entries_check.ts)", () => checkAppendEntries(parsed, COMMAND_TYPES));

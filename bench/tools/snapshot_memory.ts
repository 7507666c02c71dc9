/**
 * A measurement, not a test: what a leader's memory pays for its newest snapshot, the way it was
 * held before (the whole encoded snapshot in memory: joined from its parts, then kept for
 * InstallSnapshot) and now (each part written to the snapshot file as it is encoded; the file
 * read a chunk at a time when a follower needs it). Each mode runs in its own process, on a
 * state machine of `--tasks` submitted tasks; RSS and V8 heap are read after a full GC at each
 * step, and RSS is sampled between parts while encoding (the peak).
 *
 *     deno run -A bench/tools/snapshot_memory.ts --tasks 200000
 * @module
 */
import { join } from "node:path";
import { concatBytes } from "../../shared/protocol/frame.ts";
import {
  bytesSnapshotSource,
  openFileLogStorage,
  type SnapshotSource,
} from "../../orchestrator/storage/mod.ts";
import { encodeSnapshotParts, TaskStateMachine } from "../../orchestrator/tasks/mod.ts";

const MODES = ["memory", "file"] as const;
type Mode = typeof MODES[number];
const CHUNK_BYTES = 256 * 1024;
const MIB = 1024 * 1024;

interface Figures {
  mode: Mode;
  snapshotBytes: number;
  baselineRssMib: number;
  peakRssMib: number;
  heldRssMib: number;
  heldHeapMib: number;
  heldExternalMib: number;
  afterSendRssMib: number;
}

/** Full GCs with event-loop turns between them (array buffers are released after a GC). */
async function gc(): Promise<void> {
  for (let round = 0; round < 3; round++) {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

function rssMib(): number {
  return Deno.memoryUsage().rss / MIB;
}

/** A state machine retaining `tasks` finished (cancelled) tasks, what a leader's snapshot covers. */
function stateWith(tasks: number): TaskStateMachine {
  const sm = new TaskStateMachine();
  let index = 0;
  for (let i = 1; i <= tasks; i++) {
    const submitted = sm.apply({
      index: ++index,
      term: 1,
      command: {
        type: "taskSubmitted",
        owner: `user${i % 10}`,
        idempotencyKey: `key-${i}`,
        spec: {
          kind: "sleep",
          description: `bench task ${i} of the scale scenario`,
          durationMs: 10,
        },
        maxAttempts: 3,
        atMs: 1_700_000_000_000 + i,
        lamport: 2 * i,
        node: "o1",
      },
    });
    if (submitted.type !== "submitted") {
      throw new Error(`Cannot build the state: ${submitted.type}`);
    }
    sm.apply({
      index: ++index,
      term: 1,
      command: {
        type: "taskCancelled",
        taskId: submitted.taskId,
        by: `user${i % 10}`,
        atMs: 1_700_000_000_000 + i,
        lamport: 2 * i + 1,
        node: "o1",
      },
    });
  }
  return sm;
}

/** What encodeSnapshotInSteps did: the parts gathered, then joined (the parts die on return). */
async function encodeWhole(sm: TaskStateMachine, pause: () => Promise<void>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of encodeSnapshotParts(sm, pause)) parts.push(part);
  return concatBytes(parts);
}

async function runMode(mode: Mode, tasks: number): Promise<Figures> {
  const sm = stateWith(tasks);
  await gc();
  const baselineRssMib = rssMib();
  let peakRssMib = baselineRssMib;
  const pause = () => {
    peakRssMib = Math.max(peakRssMib, rssMib());
    return new Promise<void>((resolve) => setTimeout(resolve, 0));
  };
  const root = await Deno.makeTempDir({ prefix: "mutirao_snapshot_memory_" });
  let source: SnapshotSource;
  const { storage } = await openFileLogStorage(join(root, "log"));
  if (mode === "memory") {
    // As before: the parts joined in memory, the bytes kept by Raft for InstallSnapshot.
    const data = await encodeWhole(sm, pause);
    peakRssMib = Math.max(peakRssMib, rssMib());
    source = bytesSnapshotSource(data);
  } else {
    const draft = await storage.createSnapshotDraft(tasks, 1);
    for await (const part of encodeSnapshotParts(sm, pause)) await draft.write(part);
    await draft.finish();
    await storage.publishSnapshot(draft);
    peakRssMib = Math.max(peakRssMib, rssMib());
    source = storage.newestSnapshot!.source;
  }
  await gc();
  const heldRssMib = rssMib();
  const heldHeapMib = Deno.memoryUsage().heapUsed / MIB;
  const heldExternalMib = Deno.memoryUsage().external / MIB;
  // A follower needs it: every chunk read, as the leader sends it.
  for (let offset = 0; offset < source.byteLength; offset += CHUNK_BYTES) {
    source.read(offset, Math.min(CHUNK_BYTES, source.byteLength - offset));
  }
  await gc();
  const afterSendRssMib = rssMib();
  const snapshotBytes = source.byteLength;
  await storage.close();
  await Deno.remove(root, { recursive: true });
  if (sm.tasks.size !== tasks) throw new Error("the state lost tasks");
  return {
    mode,
    snapshotBytes,
    baselineRssMib,
    peakRssMib,
    heldRssMib,
    heldHeapMib,
    heldExternalMib,
    afterSendRssMib,
  };
}

function parseTasks(args: readonly string[]): number {
  const at = args.indexOf("--tasks");
  const tasks = at < 0 ? 200_000 : Number(args[at + 1]);
  if (!Number.isSafeInteger(tasks) || tasks <= 0) {
    throw new RangeError(`Cannot measure: --tasks must be a positive integer, got ${args[at + 1]}`);
  }
  return tasks;
}

async function runChild(mode: Mode, tasks: number): Promise<Figures> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      import.meta.filename!,
      "--child",
      mode,
      "--tasks",
      String(tasks),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error(`The ${mode} measurement failed`);
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

const childAt = Deno.args.indexOf("--child");
const tasks = parseTasks(Deno.args);
if (childAt >= 0) {
  console.log(JSON.stringify(await runMode(Deno.args[childAt + 1] as Mode, tasks)));
} else {
  console.log(`${tasks} tasks; RSS in MiB (after a full GC except the peak)`);
  console.log(
    "mode    snapshot  baseline  peak    held  heap  external  after-send  held-baseline",
  );
  for (const mode of MODES) {
    const f = await runChild(mode, tasks);
    const row = [
      f.mode.padEnd(7),
      `${(f.snapshotBytes / MIB).toFixed(1)} MiB`.padStart(9),
      f.baselineRssMib.toFixed(0).padStart(9),
      f.peakRssMib.toFixed(0).padStart(6),
      f.heldRssMib.toFixed(0).padStart(7),
      f.heldHeapMib.toFixed(0).padStart(5),
      f.heldExternalMib.toFixed(0).padStart(9),
      f.afterSendRssMib.toFixed(0).padStart(11),
      (f.heldRssMib - f.baselineRssMib).toFixed(0).padStart(14),
    ];
    console.log(row.join(" "));
  }
}

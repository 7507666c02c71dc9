/**
 * A measurement, not a test: how long an orchestrator with N retained finished tasks takes to
 * recover. Builds a data directory the way the product leaves one (a snapshot through
 * FileLogStorage, then a log tail of entries after it), then times what a restart does: open the
 * storage (read and check the snapshot and the segments, decode the write-ahead log records),
 * decode and restore the snapshot, and apply the tail. Each task is submitted, assigned, started
 * and finished with a result; commands go through a JSON round trip as decoded entries do.
 *
 *     deno run -A --v8-flags=--max-old-space-size=8192 bench/tools/recovery_time.ts [tasks=200000] [tailTasks=25000] [--profile=DIR]
 *
 * With --profile, the timed restart writes a CPU profile to DIR (bench/tools/profile_summary.ts reads it).
 * @module
 */
import process from "node:process";
import { finishedTask, workersJoining } from "../lib/finished_task_commands.ts";
import { openFileLogStorage } from "../../orchestrator/storage/mod.ts";
import {
  type Command,
  decodeSnapshot,
  encodeSnapshot,
  type LogEntry,
  restoreSnapshot,
  TaskStateMachine,
} from "../../orchestrator/tasks/mod.ts";

/** `--recover <dir> <tasks>`: the child process that times a restart on a fresh heap. */
const recoverDir = Deno.args[0] === "--recover" ? Deno.args[1] : null;
const numbers = Deno.args.filter((arg) => /^\d+$/.test(arg)).map(Number);
const [tasks, tailTasks] = [numbers[0] ?? 200_000, numbers[1] ?? 25_000];

/** The log of `count` tasks run to completion, from `first` (entry index `fromIndex`). */
function* taskLog(first: number, count: number, fromIndex: number): Generator<LogEntry> {
  let index = fromIndex;
  let lamport = fromIndex * 2;
  let nowMs = 1_764_000_000_000 + fromIndex;
  const entry = (command: Command): LogEntry => ({
    index: index++,
    term: 1,
    command: JSON.parse(JSON.stringify(command)),
  });
  const stamp = (node: string) => ({ atMs: nowMs += 1, lamport: lamport += 1, node });
  if (first === 0) { for (const command of workersJoining(stamp)) yield entry(command); }
  for (let i = first; i < first + count; i++) {
    for (const command of finishedTask(i, stamp)) yield entry(command);
  }
}

async function build(dir: string): Promise<{ snapshotBytes: number; encodeMs: number }> {
  const sm = new TaskStateMachine();
  const snapshotted = tasks - tailTasks;
  for (const entry of taskLog(0, snapshotted, 1)) {
    const result = sm.apply(entry);
    if (result.type === "rejected") throw new Error(`rejected: ${result.reason}`);
  }
  const startMs = performance.now();
  const data = encodeSnapshot(sm);
  const encodeMs = performance.now() - startMs;
  const { storage } = await openFileLogStorage(dir);
  await storage.saveSnapshot({ index: sm.appliedIndex, term: 1, data });
  storage.setHardState({ term: 1, votedFor: "o1" });
  let batch: LogEntry[] = [];
  for (const entry of taskLog(snapshotted, tailTasks, sm.appliedIndex + 1)) {
    batch.push(entry);
    if (batch.length === 1000) {
      storage.append(batch);
      await storage.sync();
      batch = [];
    }
  }
  storage.append(batch);
  await storage.sync();
  await storage.close();
  return { snapshotBytes: data.length, encodeMs };
}

async function recover(dir: string): Promise<Record<string, number>> {
  const times: Record<string, number> = {};
  let lap = performance.now();
  const step = (name: string) => {
    const now = performance.now();
    times[name] = Math.round(now - lap);
    lap = now;
  };
  const { storage, recovered } = await openFileLogStorage(dir);
  step("openStorageMs");
  const sm = restoreSnapshot(decodeSnapshot(recovered.snapshot!.data));
  step("decodeAndRestoreMs");
  for (const entry of recovered.entries) sm.apply(entry);
  step("applyTailMs");
  if (sm.tasks.size !== tasks) throw new Error(`recovered ${sm.tasks.size} tasks of ${tasks}`);
  await storage.close();
  times.totalMs = Object.values(times).reduce((a, b) => a + b, 0);
  // CPU time is steadier than wall time on a shared machine.
  const cpu = process.cpuUsage();
  times.cpuMs = Math.round((cpu.user + cpu.system) / 1000);
  times.tailEntries = recovered.entries.length;
  // What the recovered state holds, once the snapshot bytes and the log tail are dropped (the
  // heap of an empty process, a few MiB, included).
  recovered.entries.length = 0;
  recovered.snapshot = null;
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) {
    gc();
    gc();
    times.heapBytesPerTaskAfter = Math.round(Deno.memoryUsage().heapUsed / sm.tasks.size);
  }
  return times;
}

if (recoverDir !== null) {
  console.log(JSON.stringify(await recover(recoverDir)));
  Deno.exit(0);
}

const dir = await Deno.makeTempDir({ prefix: "mutirao_recovery_" });
try {
  const built = await build(dir);
  // A fresh heap, as a restarted process has: measure in a child process.
  const profile = Deno.args.find((arg) => arg.startsWith("--profile="))?.slice("--profile=".length);
  const child = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--max-old-space-size=8192,--expose-gc",
      ...(profile === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profile}`]),
      import.meta.filename!,
      "--recover",
      dir,
      `${tasks}`,
    ],
  }).output();
  if (!child.success) throw new Error(new TextDecoder().decode(child.stderr));
  const times = JSON.parse(new TextDecoder().decode(child.stdout));
  console.log(JSON.stringify({
    tasks,
    tailTasks,
    snapshotBytesPerTask: Math.round(built.snapshotBytes / (tasks - tailTasks)),
    snapshotMiB: Math.round(built.snapshotBytes / 2 ** 20),
    encodeMs: Math.round(built.encodeMs),
    ...times,
  }));
} finally {
  await Deno.remove(dir, { recursive: true });
}

/**
 * Memory per retained finished task in the task state machine: applies N realistic tasks
 * (submitted, assigned, started, finished with a result; every command through a JSON round trip,
 * as entries decoded from the log are), forces garbage collection, and prints live heap and RSS
 * growth per task.
 *
 *   deno run --v8-flags=--expose-gc bench/tools/task_memory.ts [tasks=200000] [--breakdown]
 * @module
 */
import { TaskStateMachine } from "../../orchestrator/tasks/mod.ts";
import type { Command } from "../../orchestrator/tasks/commands.ts";
import { finishedTask, workersJoining } from "../lib/finished_task_commands.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("Run with --v8-flags=--expose-gc");

const tasks = Number(Deno.args.find((arg) => !arg.startsWith("--")) ?? 200_000);

function measure(): { heap: number; rss: number } {
  gc!();
  gc!();
  return { heap: Deno.memoryUsage().heapUsed, rss: Deno.memoryUsage().rss };
}

/** Applies the tasks, each command decoded from JSON text the way the log hands them over. */
function run(sm: TaskStateMachine): void {
  let index = 0;
  let lamport = 0;
  let nowMs = 1_764_000_000_000;
  const apply = (command: Command) => {
    index += 1;
    const decoded = JSON.parse(JSON.stringify(command)) as Command;
    const result = sm.apply({ index, term: 1, command: decoded });
    if (result.type === "rejected") throw new Error(`rejected: ${result.reason}`);
  };
  const stamp = (node: string) => ({ atMs: nowMs += 1, lamport: lamport += 1, node });
  for (const command of workersJoining(stamp)) apply(command);
  for (let i = 0; i < tasks; i++) for (const command of finishedTask(i, stamp)) apply(command);
}

const before = measure();
const sm = new TaskStateMachine();
const startMs = performance.now();
run(sm);
const applyMs = Math.round(performance.now() - startMs);
const after = measure();
const perTask = (bytes: number) => Math.round(bytes / tasks);
console.log(
  JSON.stringify({
    tasks,
    heapBytesPerTask: perTask(after.heap - before.heap),
    rssBytesPerTask: perTask(after.rss - before.rss),
    heapUsedMiB: Math.round(after.heap / 2 ** 20),
    rssMiB: Math.round(after.rss / 2 ** 20),
    retained: sm.tasks.size,
    /** Wall time of the JSON round trips and applies (4 entries per task), for comparisons. */
    applyMs,
  }),
);
if (Deno.args.includes("--breakdown")) printBreakdown(sm);

/** Heap freed per task by dropping each part in turn (what each part costs). */
function printBreakdown(sm: TaskStateMachine): void {
  const freed = (name: string, drop: () => void) => {
    const start = measure().heap;
    drop();
    console.log(`${name}: ${perTask(start - measure().heap)} B/task`);
  };
  type Loose = Record<string, unknown>;
  const each = (field: string) => () => {
    for (const task of sm.tasks.values()) (task as unknown as Loose)[field] = null;
  };
  freed("history", each("packedHistory"));
  freed("result", each("result"));
  freed("spec", each("spec"));
  freed("idempotency index", () => sm.idempotency.clear());
  freed("taskOrder and ownerTasks", () => {
    sm.taskOrder = [];
    sm.ownerTasks.clear();
  });
  freed("records, ids and the tasks map", () => sm.tasks.clear());
}

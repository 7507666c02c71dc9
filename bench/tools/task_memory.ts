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

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("Run with --v8-flags=--expose-gc");

const tasks = Number(Deno.args.find((arg) => !arg.startsWith("--")) ?? 200_000);
const WORKERS = ["w1", "w2", "w3"];

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
  for (const [i, workerId] of WORKERS.entries()) {
    apply({
      type: "workerJoined",
      workerId,
      incarnation: `${workerId}-${i}`,
      slots: 8,
      canExec: false,
      ...stamp("o1"),
    });
  }
  for (let i = 0; i < tasks; i++) {
    const workerId = WORKERS[i % WORKERS.length];
    apply({
      type: "taskSubmitted",
      owner: "bench",
      idempotencyKey: `s0-${i}`,
      spec: { kind: "sleep", description: `bench ${i}`, durationMs: 0 },
      maxAttempts: 3,
      ...stamp("o1"),
    });
    const taskId = `t-${sm.nextTaskSeq - 1}`;
    apply({
      type: "taskAssigned",
      taskId,
      attempt: 1,
      workerId,
      incarnation: sm.workers.get(workerId)!.incarnation,
      ...stamp("o1"),
    });
    apply({ type: "taskStarted", taskId, attempt: 1, workerId, ...stamp(workerId) });
    apply({
      type: "taskFinished",
      taskId,
      attempt: 1,
      workerId,
      outcome: {
        status: "succeeded",
        exitCode: null,
        // What a worker reports for a sleep task (worker/shell/task_runner.ts).
        stdout: `Processed "bench ${i}" in 0 s\n`,
        stderr: "",
        error: null,
        durationMs: i % 7,
      },
      ...stamp(workerId),
    });
  }
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

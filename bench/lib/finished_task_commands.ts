/**
 * The commands of a cluster whose tasks all ran to completion, as the log holds them: three
 * workers joining, then per task its submission, assignment, start and success with the output a
 * worker reports for a sleep task. Shared by the state-level tools (task_memory.ts,
 * recovery_time.ts), so both measure the same tasks.
 * @module
 */
import type { Command, Stamp } from "../../orchestrator/tasks/mod.ts";

export const BENCH_WORKERS = ["w1", "w2", "w3"];

/** A stamp from `node`, each later than the one before. */
export type Stamper = (node: string) => Stamp;

/** The workers joining (worker `w` with incarnation `w-<position>`). */
export function workersJoining(stamp: Stamper): Command[] {
  return BENCH_WORKERS.map((workerId, i) => ({
    type: "workerJoined",
    workerId,
    incarnation: `${workerId}-${i}`,
    slots: 8,
    canExec: false,
    ...stamp("o1"),
  }));
}

/** Task `i` (id `t-<i + 1>`) submitted, assigned, started and succeeded. */
export function finishedTask(i: number, stamp: Stamper): Command[] {
  const workerId = BENCH_WORKERS[i % BENCH_WORKERS.length];
  const taskId = `t-${i + 1}`;
  return [
    {
      type: "taskSubmitted",
      owner: "bench",
      idempotencyKey: `s0-${i}`,
      spec: { kind: "sleep", description: `bench ${i}`, durationMs: 0 },
      maxAttempts: 3,
      ...stamp("o1"),
    },
    {
      type: "taskAssigned",
      taskId,
      attempt: 1,
      workerId,
      incarnation: `${workerId}-${BENCH_WORKERS.indexOf(workerId)}`,
      ...stamp("o1"),
    },
    { type: "taskStarted", taskId, attempt: 1, workerId, ...stamp(workerId) },
    {
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
    },
  ];
}

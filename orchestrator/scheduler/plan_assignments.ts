/**
 * The scheduler: decides which queued task goes to which worker. Two policies:
 * - round robin (the seed's policy, default): each assignment goes to the next
 *   worker after the previous one, in worker-id order, skipping workers with no
 *   free slot or without a capability the task needs;
 * - least loaded: the worker with the lowest busy/slots ratio, ties broken in
 *   round-robin order.
 * Both respect slot counts: a task stays queued when every slot is busy.
 * Pure: same input, same plan.
 * @module
 */
import { assert } from "../../shared/assert.ts";
import type {
  Assignment,
  ConcurrencyLimits,
  PlanInput,
  SchedulableTask,
  SchedulableWorker,
} from "./scheduler_types.ts";

/** Plans assignments for as many queued tasks as free slots allow. */
export function planAssignments(input: PlanInput): Assignment[] {
  const workers = input.workers.map((w) => ({ ...w })).sort((a, b) => compareIds(a.id, b.id));
  const plan: Assignment[] = [];
  let freeSlots = workers.reduce((sum, w) => sum + Math.max(0, w.slots - w.busy), 0);
  let freeExecSlots = workers.reduce(
    (sum, w) => sum + (w.canExec ? Math.max(0, w.slots - w.busy) : 0),
    0,
  );
  let cursor = input.cursor;
  let scanned = 0;
  let walked = 0;
  // Kinds of task found unplaceable this round stay so (slots only fill up as it goes): the rest
  // of their kind are passed over without counting against maxScanned, so one user's backlog of
  // tasks nobody can take now never hides another's task behind it.
  const blocked = new Set<string>();
  for (const task of input.queue) {
    if (
      freeSlots === 0 || plan.length >= input.maxAssignments || scanned >= input.maxScanned ||
      walked >= input.maxScanned * WALK_FACTOR
    ) break;
    walked += 1;
    // (Classes are only spelled out once something is blocked: the common round blocks nothing.)
    if (
      blocked.size > 0 &&
      (blocked.has(placeClass(task)) || blocked.has(`owner:${task.owner}`) ||
        blocked.has(`queue:${task.queue}`))
    ) continue;
    scanned += 1;
    if (task.needsExec && freeExecSlots === 0) {
      blocked.add(placeClass(task));
      continue;
    }
    if (input.limits !== undefined) {
      const over = overLimit(input.limits, task);
      if (over !== null) {
        blocked.add(over === "queue" ? `queue:${task.queue}` : `owner:${task.owner}`);
        continue;
      }
    }
    const chosen = input.policy === "least-loaded"
      ? pickLeastLoaded(workers, cursor, task)
      : pickRoundRobin(workers, cursor, task);
    if (chosen === null) {
      blocked.add(placeClass(task));
      continue;
    }
    assert(chosen.busy < chosen.slots, `scheduler picked full worker ${chosen.id}`);
    chosen.busy += 1;
    freeSlots -= 1;
    if (chosen.canExec) freeExecSlots -= 1;
    cursor = chosen.id;
    if (input.limits !== undefined) countRunning(input.limits, task);
    plan.push({ taskId: task.id, workerId: chosen.id });
  }
  return plan;
}

/** Workers in round-robin order: those after `cursor` first, then from the start. */
function rotation(
  workers: readonly SchedulableWorker[],
  cursor: string | null,
): SchedulableWorker[] {
  if (cursor === null) return [...workers];
  const start = workers.findIndex((w) => compareIds(w.id, cursor) > 0);
  if (start <= 0) return [...workers];
  return [...workers.slice(start), ...workers.slice(0, start)];
}

/** Tasks passed over as blocked, at most this many times maxScanned per round. */
const WALK_FACTOR = 5;

/** What decides where a task may run: its queue and what it runs (kind, or exec program). */
function placeClass(task: SchedulableTask): string {
  const what = task.handler !== undefined
    ? `kind:${task.handler}`
    : task.needsExec
    ? `exec:${task.program ?? ""}`
    : "sleep";
  return `place:${task.queue}|${what}`;
}

/** Which limit one more task of `task`'s queue or owner would run past, if any. */
function overLimit(limits: ConcurrencyLimits, task: SchedulableTask): "queue" | "owner" | null {
  const queueMax = limits.maxRunningPerQueue[task.queue];
  if (queueMax !== undefined && (limits.runningByQueue.get(task.queue) ?? 0) >= queueMax) {
    return "queue";
  }
  const ownerOver = limits.maxRunningPerUser > 0 &&
    (limits.runningByOwner.get(task.owner) ?? 0) >= limits.maxRunningPerUser;
  return ownerOver ? "owner" : null;
}

function countRunning(limits: ConcurrencyLimits, task: SchedulableTask): void {
  limits.runningByQueue.set(task.queue, (limits.runningByQueue.get(task.queue) ?? 0) + 1);
  limits.runningByOwner.set(task.owner, (limits.runningByOwner.get(task.owner) ?? 0) + 1);
}

function canTake(worker: SchedulableWorker, task: SchedulableTask): boolean {
  if (worker.busy >= worker.slots) return false;
  if (!worker.queues.includes(task.queue)) return false;
  if (task.handler !== undefined) return worker.kinds.includes(task.handler);
  if (!task.needsExec) return true;
  return worker.canExec &&
    (worker.execAllow === null ||
      (task.program !== undefined && worker.execAllow.includes(task.program)));
}

function pickRoundRobin(
  workers: readonly SchedulableWorker[],
  cursor: string | null,
  task: SchedulableTask,
): SchedulableWorker | null {
  for (const worker of rotation(workers, cursor)) {
    if (canTake(worker, task)) return worker;
  }
  return null;
}

function pickLeastLoaded(
  workers: readonly SchedulableWorker[],
  cursor: string | null,
  task: SchedulableTask,
): SchedulableWorker | null {
  let best: SchedulableWorker | null = null;
  for (const worker of rotation(workers, cursor)) {
    if (!canTake(worker, task)) continue;
    // Strictly lower only: on a tie the earlier worker in rotation order wins.
    if (best === null || worker.busy / worker.slots < best.busy / best.slots) best = worker;
  }
  return best;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

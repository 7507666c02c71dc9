/**
 * What applying a command means on this node beyond the state machine, whoever proposed it:
 * in-flight proposals settled, assignments and acknowledgements sent to workers, the failure
 * detector told of joins and losses, and one log line per event.
 * @module
 */
import { isoTime } from "../../shared/iso_time.ts";
import { finishKey, type PendingFinish } from "./in_flight_proposals.ts";
import { assert, assertNever } from "../../shared/assert.ts";
import { type ApplyResult, type Command, LAST_ADMIN, type TaskStateMachine } from "../tasks/mod.ts";
import type { FailureDetector } from "./failure_detector.ts";
import type { NodeOutput } from "./node_output.ts";
import type { WorkerLinks } from "./worker_links.ts";

/** What the applied effects need from the node. */
export interface AppliedContext {
  out: NodeOutput;
  detector: FailureDetector;
  links: WorkerLinks;
  /** Assignments proposed but not yet applied: task id -> worker id. */
  proposedAssignments: Map<string, string>;
  /** Of those, the ones already sent to their worker: task id -> the connection used. */
  dispatchedAssignments: Map<string, number>;
  /** Results proposed but not yet applied: finishKey(task, attempt, worker) -> worker id. */
  proposedFinishes: Map<string, PendingFinish>;
  /** Workers whose loss is proposed but not yet applied. */
  proposedLosses: Set<string>;
  sm(): TaskStateMachine;
  nowMs(): number;
  /** One admitted submission of `owner` reached the state. */
  submitApplied(owner: string): void;
  /** A firing of schedule `name` of `owner` was applied (or refused): it is no longer in flight. */
  scheduleSettled(owner: string, name: string): void;
}

function describeScheduleChange(
  command: Extract<Command, { type: "scheduleSet" | "scheduleRemoved" | "schedulePaused" }>,
): string {
  const which = `Schedule ${command.name} of ${command.owner}`;
  switch (command.type) {
    case "scheduleSet":
      return `${which} set: ${command.cron}${command.timezone ? ` (${command.timezone})` : ""}`;
    case "scheduleRemoved":
      return `${which} removed by ${command.by}`;
    case "schedulePaused":
      return `${which} ${command.paused ? "paused" : "resumed"}`;
  }
}

/** Carries out what applying `command` with `result` means on this node, whoever proposed it. */
export function afterApply(ctx: AppliedContext, command: Command, result: ApplyResult): void {
  switch (command.type) {
    case "taskAssigned": {
      ctx.proposedAssignments.delete(command.taskId);
      const sentOn = ctx.dispatchedAssignments.get(command.taskId);
      ctx.dispatchedAssignments.delete(command.taskId);
      if (result.type !== "ok") {
        // Sent before it committed (leader_rounds.ts) and now refused: the worker must drop it.
        if (sentOn !== undefined) {
          ctx.links.sendToWorker(command.workerId, {
            type: "abort",
            taskId: command.taskId,
            attempt: command.attempt,
            reason: `assignment refused: ${result.type === "rejected" ? result.reason : "?"}`,
          });
        }
        break;
      }
      // Per-task lines are debug: at thousands of tasks a second, info stays for what is rare.
      ctx.out.log(
        "debug",
        `Task ${command.taskId} attempt ${command.attempt} assigned to worker ${command.workerId}`,
      );
      // Already sent when proposed, unless the connection it went out on is gone since.
      if (sentOn === undefined || ctx.links.linkOf(command.workerId)?.conn !== sentOn) {
        const task = ctx.sm().tasks.get(command.taskId);
        assert(task !== undefined, `assigned task ${command.taskId} is not in the state`);
        ctx.links.sendAssign(task);
      }
      break;
    }
    case "taskFinished":
      ctx.proposedFinishes.delete(finishKey(command.taskId, command.attempt, command.workerId));
      ctx.links.sendToWorker(command.workerId, {
        type: "finishedAck",
        taskId: command.taskId,
        attempt: command.attempt,
        ...(result.type === "ok" ? {} : { ignored: true }),
      });
      if (result.type === "ok") {
        ctx.out.log(
          "debug",
          `Task ${command.taskId} ${command.outcome.status} on worker ${command.workerId}`,
        );
      } else if (result.type === "rejected") {
        ctx.out.log(
          "info",
          `Ignored result of task ${command.taskId} attempt ${command.attempt} from ${command.workerId}: ${result.reason}`,
        );
      }
      break;
    case "workerJoined":
      if (result.type === "ok") {
        // The new incarnation replaces every older one: forget them (bounded memory).
        ctx.detector.forget(command.workerId);
        ctx.detector.observe(command.workerId, command.incarnation, ctx.nowMs());
        ctx.out.log("info", `Worker ${command.workerId} joined with ${command.slots} slot(s)`);
      }
      break;
    case "workerLost":
      ctx.proposedLosses.delete(command.workerId);
      if (result.type !== "ok") break;
      ctx.detector.forget(command.workerId);
      ctx.out.log("warn", `Worker ${command.workerId} lost: ${command.reason}`);
      {
        const link = ctx.links.linkOf(command.workerId);
        if (link !== undefined && link.incarnation === command.incarnation) {
          // It is still connected, so it was wrongly suspected: its attempts are void now.
          ctx.out.sendRaw(link.conn, { type: "evicted", reason: command.reason });
        }
      }
      break;
    case "taskHandedBack":
      if (result.type === "ok") {
        ctx.out.log(
          "info",
          `Task ${command.taskId} handed back by ${command.workerId}: ${command.reason}`,
        );
      }
      break;
    case "taskCancelled":
      if (result.type === "ok") {
        ctx.out.log("info", `Task ${command.taskId} cancelled by ${command.by}`);
      }
      break;
    case "taskSubmitted":
      ctx.submitApplied(command.owner);
      if (result.type === "submitted" && !result.duplicate) {
        ctx.out.log("debug", `Task ${result.taskId} submitted by ${command.owner}`);
      }
      break;
    case "accountConfigured":
      if (result.type === "rejected" && result.reason === LAST_ADMIN) {
        ctx.out.log(
          "warn",
          `Not applying account "${command.name}" from the cluster configuration: ${result.reason}`,
        );
      }
      break;
    case "tasksExpired":
      if (result.type === "expired" && result.expired > 0) {
        ctx.out.log(
          "info",
          `${result.expired} task(s) expired: not started within their queue timeout`,
        );
      }
      break;
    case "tasksRemoved":
      if (result.type === "removed" && result.removed > 0) {
        const by = command.by === null ? "" : ` by ${command.by}`;
        ctx.out.log(
          command.reason === "purge" ? "info" : "debug",
          `Removed ${result.removed} finished task(s) (${command.reason}${by})`,
        );
      }
      break;
    case "scheduleSet":
    case "scheduleRemoved":
    case "schedulePaused":
      if (result.type === "ok") ctx.out.log("info", describeScheduleChange(command));
      break;
    case "scheduleFired":
      ctx.scheduleSettled(command.owner, command.name);
      if (result.type === "fired") {
        ctx.out.log(
          "debug",
          `Schedule ${command.name} of ${command.owner} fired tick ${
            isoTime(command.tickMs)
          }: task ${result.taskId ?? "refused"}`,
        );
      }
      break;
    case "sessionOpened":
    case "sessionClosed":
    case "userAdded":
    case "userPasswordChanged":
    case "userRemoved":
    case "taskStarted":
    case "workerDraining":
    case "noop":
      break;
    default:
      assertNever(command, "unknown command");
  }
}

/** Tasks whose waiters may be answered once `command` applies. */
export function tasksTouchedBy(sm: TaskStateMachine, command: Command): string[] {
  switch (command.type) {
    case "taskFinished":
    case "taskCancelled":
    case "taskHandedBack":
      return [command.taskId];
    case "workerLost":
    case "workerJoined":
      return [...(sm.workers.get(command.workerId)?.running ?? [])];
    default:
      return [];
  }
}

/** The running attempt of `taskId` and its worker, before a cancel applies (to abort it). */
export function currentHolder(
  sm: TaskStateMachine,
  taskId: string,
): { taskId: string; attempt: number; workerId: string } | null {
  const task = sm.tasks.get(taskId);
  if (task?.state !== "running" || task.workerId === null) return null;
  return { taskId, attempt: task.attempt, workerId: task.workerId };
}

/**
 * Client requests other than login, on this node: authentication from the session in the
 * replicated state, authorization, submissions (admitted, then proposed with a reply owed),
 * cancellation, linearizable reads (status, list, workers, wait) and the node's own status.
 * Account and token requests go on to account_requests.ts.
 * @module
 */
import { assertNever } from "../../shared/assert.ts";
import { LIMITS } from "../../shared/limits.ts";
import type { ClientToOrchestrator } from "../../shared/protocol/messages.ts";
import { isFinalState } from "../../shared/protocol/messages.ts";
import type { ConsensusStatus } from "../raft/mod.ts";
import type { Command, Stamp, TaskRecord } from "../tasks/mod.ts";
import { listTaskPage, toWorkerView } from "../tasks/mod.ts";
import {
  type Caller,
  handleAccountRequest,
  type PasswordResults,
  type RequestContext,
  requireAdmin,
} from "./account_requests.ts";
import type { FailureDetector } from "./failure_detector.ts";
import type { LiveOutput } from "./live_output.ts";
import { logsReply } from "./logs_reply.ts";
import type { NodeClock } from "./node_clock.ts";
import type { ConnId, NodeInput } from "./node_io.ts";
import type { NodeOutput } from "./node_output.ts";
import type { BatchReply, Pending, PendingReplies } from "./pending_replies.ts";
import type { RequestTurns } from "./request_turns.ts";
import type { SubmitAdmission } from "./submit_admission.ts";
import { viewTask } from "./view_task.ts";
import { checkSession, sessionRefusal } from "./session_check.ts";
import { timingProblem, whenAndRetry } from "./submit_options.ts";
import { purge } from "./purge_request.ts";
import { handleScheduleRequest } from "./schedule_requests.ts";
import { expiredMessage } from "./wait_replies.ts";
import type { Waiters } from "./waiters.ts";

export type ClientRequest = Exclude<ClientToOrchestrator, { type: "login" }>;

/** Requests answered only from linearizable state: they always wait for a read barrier. */
type ReadRequest = Extract<
  ClientRequest,
  {
    type:
      | "status"
      | "list"
      | "workers"
      | "wait"
      | "logs"
      | "userList"
      | "tokenList"
      | "scheduleList";
  }
>;
const READ_REQUEST_TYPES: ReadonlySet<ClientRequest["type"]> = new Set<ReadRequest["type"]>([
  "status",
  "logs",
  "list",
  "workers",
  "wait",
  "userList",
  "tokenList",
  "scheduleList",
]);

/** What client requests need from the node (account requests' context included). */
export interface ClientContext extends RequestContext {
  out: NodeOutput;
  clock: NodeClock;
  options: { nodeId: string; defaultMaxAttempts: number };
  turns: RequestTurns;
  waiters: Waiters;
  admission: SubmitAdmission;
  detector: FailureDetector;
  pending: PendingReplies;
  /** Datagrams the shell dropped, by reason (reported by `cluster`). */
  droppedDatagrams: Readonly<Record<"malformed" | "forged" | "stale" | "replayed", number>>;
  /** Running attempts' output, for `logs` (live_output.ts). */
  liveOutput: LiveOutput;
  /** Where this node stands in the consensus group. */
  status(): ConsensusStatus;
  /** What the node's storage occupies; null when not known. */
  diskUse(): { snapshotBytes: number; logBytes: number } | null;
  /** Proposes consecutive entries; the index of the first, or null when not the leader. */
  proposeBatch(commands: Command[]): number | null;
  /** Proposes a command whose application answers a request. */
  proposeFor(pending: Pending, command: Command): void;
  stamp(): Stamp;
  /** A leader that has caught up, and may answer clients. */
  canServeClients(): boolean;
  /** True when this node may serve clients; otherwise replies why not. */
  requireReadyLeader(conn: ConnId, requestId: number | null): boolean;
}

export class ClientRequests {
  readonly #ctx: ClientContext;

  constructor(ctx: ClientContext) {
    this.#ctx = ctx;
  }

  /** A decoded client request (not a login): handled in a turn of its own (see RequestTurns). */
  receive(input: Extract<NodeInput, { type: "clientRequest" }>): void {
    this.#ctx.clock.receiveUntrusted(input.request.lamport, this.#ctx.nowMs());
    this.#ctx.turns.run(
      input.conn,
      input.request.id,
      false,
      () =>
        this.handle(input.conn, input.request, input.tokenHash, {
          tokenHash: input.tokenHash,
          passwordHash: input.passwordHash ?? null,
          currentPasswordCheck: input.currentPasswordCheck ?? null,
        }),
    );
  }

  /** Handles one authenticated-or-not client request (not a login) inside its turn. */
  handle(
    conn: ConnId,
    request: ClientRequest,
    tokenHash: string,
    password: PasswordResults,
  ): void {
    if (request.type === "nodeStatus") {
      this.#describeSelf(conn, request.id, tokenHash);
      return;
    }
    // Only the leader serves clients: writes must go through it, and reads are linearizable there.
    if (!this.#ctx.requireReadyLeader(conn, request.id)) return;
    const turn = this.#ctx.turns.current();
    if (READ_REQUEST_TYPES.has(request.type) && !turn.confirmed) {
      // Even "unknown session" must wait: this node may no longer lead without knowing it.
      turn.deferred = true;
      return;
    }
    const caller = this.#authenticate(conn, request.id, tokenHash);
    if (caller === null) return;
    const user = caller.user;
    switch (request.type) {
      case "logout":
        this.#ctx.proposeFor({ kind: "logout", conn, requestId: request.id }, {
          type: "sessionClosed",
          tokenHash,
          atMs: this.#ctx.nowMs(),
        });
        break;
      case "submit": {
        const problem = timingProblem(request, this.#ctx.nowMs());
        if (problem !== null) {
          this.#ctx.sendError(conn, request.id, "bad_request", `Cannot submit task: ${problem}`);
          break;
        }
        if (!this.#withinSubmitRate(conn, request.id, user, 1)) break;
        this.#ctx.proposeFor({ kind: "submit", conn, requestId: request.id }, {
          type: "taskSubmitted",
          owner: user,
          idempotencyKey: request.idempotencyKey,
          spec: request.task,
          maxAttempts: request.maxAttempts ?? this.#ctx.options.defaultMaxAttempts,
          ...whenAndRetry(request, this.#ctx.nowMs()),
          ...this.#ctx.stamp(),
        });
        break;
      }
      case "status":
      case "wait":
      case "logs":
        this.#serveRead(conn, request, caller);
        break;
      case "list":
        if (
          request.all === true &&
          !this.#requireAdmin(conn, request.id, caller, "list every user's tasks")
        ) break;
        this.#serveRead(conn, request, caller);
        break;
      case "workers":
        if (this.#requireAdmin(conn, request.id, caller, "list workers")) {
          this.#serveRead(conn, request, caller);
        }
        break;
      case "userAdd":
      case "userPasswd":
      case "userRemove":
      case "userList":
      case "tokenList":
      case "tokenRevoke":
        handleAccountRequest(this.#ctx, conn, request, caller, password);
        break;
      case "submitBatch":
        this.#submitBatch(conn, request, user);
        break;
      case "cancel":
        this.#cancel(conn, request, caller);
        break;
      case "purge":
        if (this.#requireAdmin(conn, request.id, caller, "purge tasks")) {
          purge(this.#ctx, conn, request, caller);
        }
        break;
      case "scheduleAdd":
      case "scheduleList":
      case "scheduleRemove":
      case "schedulePause":
        handleScheduleRequest(this.#ctx, conn, request, caller);
        break;
      default:
        assertNever(request, "unknown client request");
    }
  }

  /** Admits a batch, proposes its entries at once, and owes one reply when all have applied. */
  #submitBatch(
    conn: ConnId,
    request: Extract<ClientRequest, { type: "submitBatch" }>,
    user: string,
  ): void {
    const problems = request.tasks.map((item, i) => {
      const problem = timingProblem(item, this.#ctx.nowMs());
      return problem === null ? null : `task ${i}: ${problem}`;
    }).filter((p) => p !== null);
    if (problems.length > 0) {
      this.#ctx.sendError(conn, request.id, "bad_request", `Cannot submit batch: ${problems[0]}`);
      return;
    }
    if (!this.#withinSubmitRate(conn, request.id, user, request.tasks.length)) return;
    const commands: Command[] = request.tasks.map((item) => ({
      type: "taskSubmitted",
      owner: user,
      idempotencyKey: item.idempotencyKey,
      spec: item.task,
      maxAttempts: item.maxAttempts ?? this.#ctx.options.defaultMaxAttempts,
      ...whenAndRetry(item, this.#ctx.nowMs()),
      ...this.#ctx.stamp(),
    }));
    const first = this.#ctx.proposeBatch(commands);
    if (first === null) return;
    const batch: BatchReply = {
      conn,
      requestId: request.id,
      results: [],
      remaining: commands.length,
    };
    for (let i = 0; i < commands.length; i++) {
      this.#ctx.pending.add(first + i, {
        kind: "submitBatchItem",
        conn,
        requestId: request.id,
        batch,
        position: i,
      });
    }
  }

  /** Cancels a task the caller may see: at once if already cancelled, else by proposal. */
  #cancel(conn: ConnId, request: Extract<ClientRequest, { type: "cancel" }>, caller: Caller): void {
    const task = this.#ownedTask(conn, request.id, caller, request.taskId);
    if (task === null) return;
    if (task.state === "cancelled") {
      // Cancelling is idempotent: a retry after a timeout or failover finds it done.
      this.#ctx.out.send(conn, {
        type: "task",
        re: request.id,
        task: viewTask(this.#ctx.sm(), task, this.#ctx.nowMs()),
      });
      return;
    }
    if (isFinalState(task.state)) {
      this.#ctx.refuse(
        conn,
        request.id,
        "conflict",
        `Cannot cancel task ${task.id}: it is already ${task.state}`,
      );
      return;
    }
    this.#ctx.proposeFor({ kind: "cancel", conn, requestId: request.id, taskId: task.id }, {
      type: "taskCancelled",
      taskId: task.id,
      by: caller.user,
      ...this.#ctx.stamp(),
    });
  }

  /**
   * Every orchestrator describes itself (for `cluster`), leader or not. A leader refuses a
   * session only once a barrier confirms it; any other node may simply not have applied the
   * session yet (a login acknowledged a moment ago), so it says "unavailable, retry" instead.
   */
  #describeSelf(conn: ConnId, requestId: number, tokenHash: string): void {
    const caller = this.#checkSession(tokenHash);
    if (typeof caller === "string") {
      const { code, message } = sessionRefusal(caller, {
        canServeClients: this.#ctx.canServeClients(),
        nodeId: this.#ctx.options.nodeId,
      });
      // "unavailable" is no verdict on the session, so it needs no barrier; a refusal does.
      if (code === "unavailable") this.#ctx.out.sendError(conn, requestId, code, message);
      else this.#ctx.refuse(conn, requestId, code, message);
      return;
    }
    if (!this.#requireAdmin(conn, requestId, caller, "view the cluster")) return;
    const status = this.#ctx.status();
    const disk = this.#ctx.diskUse();
    this.#ctx.out.send(conn, {
      type: "nodeStatusReply",
      re: requestId,
      node: {
        id: this.#ctx.options.nodeId,
        role: status.role,
        term: status.term,
        leaderId: status.leaderId,
        commitIndex: status.commitIndex,
        appliedIndex: this.#ctx.sm().appliedIndex,
        lastIndex: status.lastIndex,
        followers: status.followers,
        droppedDatagrams: { ...this.#ctx.droppedDatagrams },
        ...(disk === null ? {} : { disk }),
      },
    });
  }

  /** Answers a read from the applied state, once its barrier holds. */
  #serveRead(
    conn: ConnId,
    request: Extract<ReadRequest, { type: "status" | "list" | "workers" | "wait" | "logs" }>,
    caller: Caller,
  ): void {
    switch (request.type) {
      case "status": {
        const task = this.#ownedTask(conn, request.id, caller, request.taskId);
        if (task !== null) {
          this.#ctx.out.send(conn, {
            type: "task",
            re: request.id,
            task: viewTask(this.#ctx.sm(), task, this.#ctx.nowMs()),
          });
        }
        break;
      }
      case "logs": {
        const task = this.#ownedTask(conn, request.id, caller, request.taskId);
        if (task !== null) {
          this.#ctx.out.send(conn, {
            re: request.id,
            ...logsReply(task, this.#ctx.liveOutput, request),
          });
        }
        break;
      }
      case "list": {
        const states = [
          ...request.states ?? [],
          ...request.state === undefined ? [] : [request.state],
        ];
        const page = listTaskPage(this.#ctx.sm(), {
          owner: request.all === true ? null : caller.user,
          states,
          ...request.after === undefined ? {} : { after: request.after },
          limit: request.limit ?? LIMITS.listLimitDefault,
        });
        // total and next only for clients that read them (an older client's codec refuses them).
        this.#ctx.out.send(
          conn,
          request.paged === true
            ? { type: "taskList", re: request.id, ...page }
            : { type: "taskList", re: request.id, tasks: page.tasks },
        );
        break;
      }
      case "workers":
        this.#ctx.out.send(conn, {
          type: "workerList",
          re: request.id,
          workers: [...this.#ctx.sm().workers.values()].sort((a, b) => a.id < b.id ? -1 : 1).map((
            w,
          ) =>
            toWorkerView(
              w,
              this.#ctx.detector.sinceLastSeen(w.id, w.incarnation, this.#ctx.nowMs()),
            )
          ),
        });
        break;
      case "wait": {
        const task = this.#ownedTask(conn, request.id, caller, request.taskId);
        if (task === null) break;
        if (isFinalState(task.state)) {
          this.#ctx.out.send(conn, {
            type: "task",
            re: request.id,
            task: viewTask(this.#ctx.sm(), task, this.#ctx.nowMs()),
          });
          break;
        }
        const refusal = this.#ctx.waiters.add({
          user: caller.user,
          conn,
          requestId: request.id,
          taskId: task.id,
          deadlineMs: this.#ctx.nowMs() + request.timeoutMs,
        });
        if (refusal !== null) {
          this.#ctx.out.sendError(
            conn,
            request.id,
            "rate_limited",
            refusal === "user"
              ? `Too many waiting requests from user ${caller.user} (at most ` +
                `${LIMITS.waitersPerUserMax} at once); retry later`
              : "Too many waiting requests on this orchestrator; retry later",
          );
        }
        break;
      }
      default:
        assertNever(request, "unknown read request");
    }
  }

  /** True when `user` may submit `count` more tasks now; otherwise replies "slow down". */
  #withinSubmitRate(conn: ConnId, requestId: number, user: string, count: number): boolean {
    const refusal = this.#ctx.admission.admit(this.#ctx.sm(), user, count, this.#ctx.nowMs());
    if (refusal === null) return true;
    this.#ctx.out.sendError(conn, requestId, "rate_limited", refusal);
    return false;
  }

  /** The caller behind a token hash, or null after replying with an error. */
  #authenticate(conn: ConnId, requestId: number, tokenHash: string): Caller | null {
    const verdict = this.#checkSession(tokenHash);
    if (typeof verdict === "string") {
      this.#ctx.refuse(conn, requestId, "unauthenticated", verdict);
      return null;
    }
    return verdict;
  }

  /** The caller behind a token hash in this node's state, or why there is none. */
  #checkSession(tokenHash: string): Caller | string {
    return checkSession(this.#ctx.sm(), { tokenHash, nowMs: this.#ctx.nowMs() });
  }

  /** True for admins; otherwise replies "forbidden" naming what was refused. */
  #requireAdmin(conn: ConnId, requestId: number, caller: Caller, what: string): boolean {
    return requireAdmin(this.#ctx, conn, requestId, caller, what);
  }

  /**
   * The task if the caller may see it (its owner, or an admin); otherwise replies "not found"
   * (never "forbidden": task ids must not leak).
   */
  #ownedTask(conn: ConnId, requestId: number, caller: Caller, taskId: string): TaskRecord | null {
    const task = this.#ctx.sm().tasks.get(taskId);
    if (task === undefined && this.#ctx.sm().isRemovedTask(taskId)) {
      // Distinct from "not found" so a script can tell "gone by policy" from "wrong id". It says
      // nothing of whose task it was: ids are issued in sequence, so that one was is no secret.
      this.#ctx.refuse(
        conn,
        requestId,
        "expired",
        expiredMessage(taskId),
      );
      return null;
    }
    if (task === undefined || (task.owner !== caller.user && caller.role !== "admin")) {
      this.#ctx.refuse(conn, requestId, "not_found", `No task with id "${taskId}"`);
      return null;
    }
    return task;
  }
}

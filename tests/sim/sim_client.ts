/**
 * A simulated user at a client: logs in, submits tasks (one at a time or in
 * batches) with its own idempotency keys, re-submits keys whose outcome it
 * never learned, and sometimes reads (`status`, `list`, `wait`) or cancels.
 * An admin client instead changes passwords, lists and revokes sessions,
 * removes and re-adds users and logs out and in again. Every request goes into
 * the client history (checked for linearizability at the end of a run); a
 * client also checks at once that what it reads agrees with what it was told
 * before. Scripted scenarios call its operations directly instead of starting
 * its loop.
 * @module
 */
import { hashToken } from "../../shared/auth/mod.ts";
import { isFinalState, type TaskView } from "../../shared/protocol/messages.ts";
import { historyOf } from "./client_history.ts";
import { passwordBookOf } from "./sim_accounts.ts";
import {
  ClientTransport,
  type Reply,
  type RequestBody,
  type RequestResult,
} from "./sim_client_transport.ts";
import { SimViolation } from "./violation.ts";
import { simAfter, simTaskFor } from "./sim_handler_tasks.ts";
import type { World } from "./world.ts";

interface Submission {
  key: string;
  durationMs: number;
  /** Null until acknowledged. */
  taskId: string | null;
  /** When the key was first sent (world time): resubmissions stay inside the retention window. */
  firstSentMs: number;
  /** The earlier task of this client it runs after (`--after`), fixed when first sent. */
  after?: string[];
}

/** An operation in progress; `result` is set once it ended. */
export interface OpHandle {
  result: RequestResult | null;
}

/** One client process and the user behind it. */
export class SimClient {
  readonly name: string;
  readonly user: string;
  readonly #password: string;
  readonly #world: World;
  readonly #transport: ClientTransport;
  readonly isAdmin: boolean;
  #token: string | null = null;
  /** Logins refused so far: the next one tries the next password the user was given. */
  #refusedLogins = 0;
  /** Admin: token ids seen in the last `token list`, and users it removed. */
  #listedTokenIds: string[] = [];
  readonly #removedUsers = new Set<string>();
  #passwordsSet = 0;
  /** Password changes this client sent (each with its own change id). */
  #changesSent = 0;
  #isBusy = false;
  #isAutonomous = false;
  #isStopped = false;
  readonly #submissions = new Map<string, Submission>();
  /** The task of the last acknowledged submission: what a new one may run after. */
  #lastAcked: string | null = null;
  /** Final states this client has seen, per task. */
  readonly #seenFinal = new Map<string, string>();
  acks = 0;
  duplicateAcks = 0;
  gaveUp = 0;

  constructor(
    world: World,
    options: { name: string; user: string; password: string; isAdmin?: boolean },
  ) {
    this.#world = world;
    this.name = options.name;
    this.user = options.user;
    this.#password = options.password;
    this.isAdmin = options.isAdmin ?? false;
    this.#transport = new ClientTransport(world, options.name, world.params.clientTimeoutMs);
  }

  /** True while a request is in flight. */
  get isBusy(): boolean {
    return this.#isBusy;
  }

  /** The orchestrator this client is connected to, if any. */
  get connectedTo(): string | null {
    return this.#transport.connectedTo;
  }

  /** The task an acknowledged key became, if it was acknowledged. */
  taskOf(key: string): string | null {
    return this.#submissions.get(key)?.taskId ?? null;
  }

  /** Scripts: the next request goes to orchestrator `id` (a new connection). */
  preferServer(id: string): void {
    this.#transport.preferServer(id);
  }

  /** Scripts: acts with `token` from now on (a session opened elsewhere, a revoked one). */
  useToken(token: string | null): void {
    this.#token = token;
  }

  /** Starts the client's own loop after `delayMs`. */
  start(delayMs: number): void {
    this.#isAutonomous = true;
    this.#world.schedule(delayMs, this.name, () => this.#next());
  }

  /** No new requests from the loop; the one in flight finishes. */
  stop(): void {
    this.#isStopped = true;
  }

  // ---- operations (scripted scenarios call these; the loop does too) ----

  /** The session token, once logged in. */
  get token(): string | null {
    return this.#token;
  }

  /**
   * Logs in with the password the user was last given (or, when `typo`, a wrong one that must
   * be refused); `password` overrides both.
   */
  login(typo = false, password?: string): OpHandle {
    const given = passwordBookOf(this.#world).candidate(this.user, this.#refusedLogins) ||
      this.#password;
    const sent = password ?? (typo ? `${given}-typo` : given);
    return this.#request({ type: "login", user: this.user, password: sent }, (result) => {
      if (result.ok) {
        if (typo && password === undefined) {
          throw new SimViolation(`${this.name}: a wrong password of ${this.user} was accepted`);
        }
        this.#token = this.#expect(result.reply, "loginOk").token;
        return;
      }
      // Unreachable, throttled, or refused: a password changed or an account removed (judged
      // by the history check), or the right password refused off the leader (judged where it
      // was sent, see reply_checks.ts): try again later.
      if (result.code === null || result.code === "rate_limited") return;
      if (result.code === "bad_credentials") {
        if (!typo) this.#refusedLogins += 1;
        return;
      }
      throw new SimViolation(`${this.name}: login of ${this.user} failed: ${result.message}`);
    });
  }

  /** Submits one task under `key` (a new key, or one submitted before: the same task must come back). */
  submit(key: string, durationMs: number): OpHandle {
    const submission = this.#remember(key, durationMs);
    return this.#request({
      type: "submit",
      token: this.#token,
      idempotencyKey: key,
      ...simTaskFor(key, submission.durationMs, this.#world.params.handlerTasks),
      ...(submission.after === undefined ? {} : { after: submission.after }),
    }, (result) => {
      if (!result.ok) return this.#failed("submit", result);
      const reply = this.#expect(result.reply, "submitOk");
      this.#acknowledged(submission, reply.taskId, reply.duplicate);
    });
  }

  /** Submits several tasks in one request (`submitBatch`). */
  submitBatch(items: ReadonlyArray<{ key: string; durationMs: number }>): OpHandle {
    const submissions = items.map((item) => this.#remember(item.key, item.durationMs));
    return this.#request({
      type: "submitBatch",
      token: this.#token,
      tasks: submissions.map((s) => ({
        idempotencyKey: s.key,
        ...simTaskFor(s.key, s.durationMs, this.#world.params.handlerTasks),
        ...(s.after === undefined ? {} : { after: s.after }),
      })),
    }, (result) => {
      if (!result.ok) return this.#failed("submitBatch", result);
      const reply = this.#expect(result.reply, "submitBatchOk");
      if (reply.results.length !== submissions.length) {
        throw new SimViolation(
          `${this.name}: a batch of ${submissions.length} got ${reply.results.length} results`,
        );
      }
      reply.results.forEach((r, i) => this.#acknowledged(submissions[i], r.taskId, r.duplicate));
    });
  }

  /** `status` or `wait` of a task. */
  read(body: { type: "status" | "wait"; taskId: string; timeoutMs?: number }): OpHandle {
    return this.#request({ ...body, token: this.#token }, (result) => {
      if (!result.ok) return this.#failed(body.type, result);
      this.#checkView(this.#expect(result.reply, "task").task, result.from);
    });
  }

  list(): OpHandle {
    const limit = 1000;
    // Tasks acknowledged before the request is sent must be in a linearizable answer.
    const ackedBefore = [...this.#world.checker.acks.values()]
      .filter((ack) => ack.owner === this.user)
      .map((ack) => ack.taskId);
    return this.#request({ type: "list", token: this.#token, limit }, (result) => {
      if (!result.ok) return this.#failed("list", result);
      const listed = new Set(this.#expect(result.reply, "taskList").tasks.map((t) => t.id));
      if (listed.size >= limit) return;
      for (const taskId of ackedBefore) {
        // A task removed by retention is no longer listed (the history check judges when).
        if (!listed.has(taskId) && !this.#world.checker.wasRemoved(taskId)) {
          throw new SimViolation(
            `${this.name}: list from ${result.from} misses acknowledged task ${taskId} of ${this.user}`,
          );
        }
      }
    });
  }

  cancel(taskId: string): OpHandle {
    return this.#request({ type: "cancel", token: this.#token, taskId }, (result) => {
      if (!result.ok) {
        if (result.code === "conflict") return; // it was already final
        return this.#failed("cancel", result);
      }
      this.#checkView(this.#expect(result.reply, "task").task, result.from);
    });
  }

  /** Ends the session. */
  logout(): OpHandle {
    const token = this.#token;
    return this.#request({ type: "logout", token }, (result) => {
      if (result.ok) {
        this.#expect(result.reply, "logoutOk");
        if (this.#token === token) this.#token = null;
        return;
      }
      this.#failed("logout", result);
    });
  }

  // ---- account requests (an admin's; the history check judges the answers) ----

  /** Sets `name`'s password (the user is given it at once: the change may not be confirmed). */
  userPasswd(name: string, password: string): OpHandle {
    passwordBookOf(this.#world).give(name, password);
    // One change id across the transport's retries, as the CLI sends (applied once).
    const changeId = `${this.name}-change-${++this.#changesSent}`;
    return this.#accountRequest({ type: "userPasswd", name, password, changeId }, "done");
  }

  userRemove(name: string): OpHandle {
    return this.#accountRequest({ type: "userRemove", name }, "done", () => {
      this.#removedUsers.add(name);
    });
  }

  userAdd(name: string, password: string): OpHandle {
    passwordBookOf(this.#world).give(name, password);
    return this.#accountRequest({ type: "userAdd", name, role: "user", password }, "done", () => {
      this.#removedUsers.delete(name);
    });
  }

  userList(): OpHandle {
    return this.#accountRequest({ type: "userList" }, "userList");
  }

  tokenList(): OpHandle {
    return this.#accountRequest({ type: "tokenList" }, "tokenList", (reply) => {
      // Others' sessions only: revoking its own would just log the admin out.
      const own = this.#token === null ? "" : hashToken(this.#token).slice(0, 12);
      this.#listedTokenIds = (reply as Extract<Reply, { type: "tokenList" }>).tokens
        .map((t) => t.id).filter((id) => id !== own);
    });
  }

  tokenRevoke(tokenId: string): OpHandle {
    return this.#accountRequest({ type: "tokenRevoke", tokenId }, "done");
  }

  /** An account request: refusals (conflict, not found) are judged by the history check. */
  #accountRequest(
    body: RequestBody,
    expected: Reply["type"],
    onDone?: (reply: Reply) => void,
  ): OpHandle {
    return this.#request({ ...body, token: this.#token }, (result) => {
      if (result.ok) {
        onDone?.(this.#expect(result.reply, expected));
        return;
      }
      if (result.code === "conflict" || result.code === "bad_request") return;
      this.#failed(body.type, result);
    });
  }

  // ---- the loop ----

  #next(): void {
    if (this.#isStopped || this.#isBusy) return;
    const world = this.#world;
    const rng = world.rng;
    if (this.#token === null) return void this.login(rng.chance(0.05));
    if (this.isAdmin) return this.#nextAdmin();
    if (rng.chance(0.02)) return void this.logout(); // and log in again
    const all = [...this.#submissions.values()];
    const unknown = all.filter((s) => s.taskId === null && this.#mayResubmit(s));
    const acked = all.filter((s) => s.taskId !== null);
    const planned = world.params.submissionsPerClient;
    const roll = rng.next();
    if (unknown.length > 0 && roll < 0.3) {
      const s = rng.pick(unknown);
      return void this.submit(s.key, s.durationMs);
    }
    if (all.length < planned && roll < 0.75) {
      if (rng.chance(0.2) && planned - all.length >= 2) {
        const count = rng.int(2, Math.min(6, planned - all.length));
        return void this.submitBatch(Array.from({ length: count }, (_, i) => this.#newItem(i)));
      }
      const item = this.#newItem(0);
      return void this.submit(item.key, item.durationMs);
    }
    if (acked.length > 0) {
      const task = rng.pick(acked);
      const kind = rng.next();
      if (kind < 0.4) return void this.read({ type: "status", taskId: task.taskId! });
      if (kind < 0.6) {
        return void this.read({ type: "wait", taskId: task.taskId!, timeoutMs: rng.int(50, 2000) });
      }
      if (kind < 0.8) return void this.list();
      if (kind < 0.9) return void this.cancel(task.taskId!);
      // A retry: must give the same task (inside the retention window; after it, a key is free).
      if (this.#mayResubmit(task)) return void this.submit(task.key, task.durationMs);
      return void this.read({ type: "status", taskId: task.taskId! });
    }
    if (all.length < planned) {
      const item = this.#newItem(0);
      return void this.submit(item.key, item.durationMs);
    }
    this.#later();
  }

  /** An admin's next step: account changes aimed at the workload's users. */
  #nextAdmin(): void {
    const world = this.#world;
    const rng = world.rng;
    const target = rng.pick(world.users).name;
    const roll = rng.next();
    if (roll < 0.2) {
      this.#passwordsSet += 1;
      return void this.userPasswd(target, `${target}-pw${this.#passwordsSet}`);
    }
    if (roll < 0.35) return void this.tokenList();
    if (roll < 0.5 && this.#listedTokenIds.length > 0) {
      const id = rng.pick(this.#listedTokenIds);
      this.#listedTokenIds = this.#listedTokenIds.filter((x) => x !== id);
      return void this.tokenRevoke(id);
    }
    if (roll < 0.6) return void this.userList();
    if (roll < 0.68 && !this.#removedUsers.has(target)) return void this.userRemove(target);
    if (roll < 0.85 && this.#removedUsers.size > 0) {
      this.#passwordsSet += 1;
      const name = rng.pick([...this.#removedUsers]);
      return void this.userAdd(name, `${name}-pw${this.#passwordsSet}`);
    }
    if (roll < 0.9) return void this.logout();
    this.#later();
  }

  #newItem(offset: number): { key: string; durationMs: number } {
    const p = this.#world.params;
    const drawn = this.#world.rng.int(p.taskDurationMsMin, p.taskDurationMsMax);
    return {
      key: `${this.name}-k${this.#submissions.size + 1 + offset}`,
      // No extra draw (older seeds keep their runs): a third of the durations become zero.
      durationMs: p.zeroLengthTasks && drawn % 3 === 0 ? 0 : drawn,
    };
  }

  #later(): void {
    const world = this.#world;
    world.schedule(world.rng.int(0, world.params.thinkMsMax), this.name, () => this.#next());
  }

  #request(body: RequestBody, check: (result: RequestResult) => void): OpHandle {
    if (this.#isBusy) throw new Error(`simulator: ${this.name} already has a request in flight`);
    const world = this.#world;
    const handle: OpHandle = { result: null };
    this.#isBusy = true;
    const token = body.type === "login" ? null : (body.token as string | null);
    const history = historyOf(world);
    const op = history.begin(world, { client: this.name, user: this.user, token, body });
    this.#transport.request(body, (result) => {
      this.#isBusy = false;
      handle.result = result;
      history.end(world, op, result);
      // A revoked session (logout, token revoke, password change, removal): log in again.
      if (!result.ok && result.code === "unauthenticated" && token === this.#token) {
        this.#token = null;
      }
      check(result);
      if (this.#isAutonomous) this.#later();
    });
    return handle;
  }

  // ---- checks ----

  /**
   * Whether the idempotency promise still covers a resubmission of `s`, however long it retries:
   * a task is removed no sooner than the retention age after it finished, and it finished after
   * its key was first sent; half the window leaves room for the orchestrators' clocks to disagree
   * with the world's. (Arriving later, a resubmission rightly creates a new task.)
   */
  #mayResubmit(s: Submission): boolean {
    const { retention, clientTimeoutMs } = this.#world.params;
    // The request may keep retrying for its whole time budget: all of it must fit in the window.
    const lastArrivalMs = this.#world.nowMs + clientTimeoutMs;
    return retention === null || lastArrivalMs - s.firstSentMs < retention.keepFinishedForMs / 2;
  }

  #remember(key: string, durationMs: number): Submission {
    let submission = this.#submissions.get(key);
    if (submission === undefined) {
      submission = { key, durationMs, taskId: null, firstSentMs: this.#world.nowMs };
      const after = simAfter(key, this.#lastAcked, this.#world.params);
      if (after !== null) submission.after = after;
      this.#submissions.set(key, submission);
    }
    return submission;
  }

  #acknowledged(submission: Submission, taskId: string, duplicate: boolean): void {
    this.acks += 1;
    if (duplicate) this.duplicateAcks += 1;
    if (submission.taskId !== null && submission.taskId !== taskId) {
      throw new SimViolation(
        `${this.name}: key ${submission.key} gave task ${submission.taskId}, then ${taskId}`,
      );
    }
    submission.taskId = taskId;
    this.#lastAcked = taskId;
    this.#world.checker.onAck({ client: this.name, owner: this.user, key: submission.key, taskId });
  }

  /** A task as read: its owner, and a final state that agrees with the log and with earlier reads. */
  #checkView(task: TaskView, from: string): void {
    if (task.owner !== this.user) {
      throw new SimViolation(
        `${this.name} (${this.user}) was shown ${task.owner}'s task ${task.id}`,
      );
    }
    const seen = this.#seenFinal.get(task.id);
    if (!isFinalState(task.state)) {
      if (seen !== undefined) {
        throw new SimViolation(
          `${this.name}: ${from} says task ${task.id} is ${task.state}, but it was already ${seen}`,
        );
      }
      return;
    }
    const logged = this.#world.checker.finalState(task.id);
    if (logged !== task.state || (seen !== undefined && seen !== task.state)) {
      throw new SimViolation(
        `${this.name}: ${from} says task ${task.id} is ${task.state}; the log says ${logged}, ` +
          `earlier reads ${seen}`,
      );
    }
    this.#seenFinal.set(task.id, task.state);
  }

  /**
   * A request that did not succeed. Retries running out leaves its outcome unknown; refusals
   * of committed sessions and tasks are judged when sent (reply_checks.ts); anything else is a
   * wrong answer.
   */
  #failed(what: string, result: Extract<RequestResult, { ok: false }>): void {
    switch (result.code) {
      case null:
        this.gaveUp += 1;
        return;
      case "unauthenticated":
      case "not_found":
      case "rate_limited":
      case "expired": // judged by the history check: only a task that finished may expire
        return;
      default:
        throw new SimViolation(
          `${this.name}: ${what} failed with ${result.code}: ${result.message}`,
        );
    }
  }

  #expect<T extends Reply["type"]>(reply: Reply, type: T): Extract<Reply, { type: T }> {
    if (reply.type !== type) {
      throw new SimViolation(`${this.name}: expected ${type}, got ${JSON.stringify(reply)}`);
    }
    return reply as Extract<Reply, { type: T }>;
  }
}

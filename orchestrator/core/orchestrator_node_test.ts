// Proves that OrchestratorNode answers, dispatches and detects failures only from what its log
// has made durable, fences stale worker reports, and is a deterministic function of its inputs.
import assert from "node:assert/strict";
import { bytesSnapshotSource } from "../storage/mod.ts";
import { LAMPORT_CLIENT_JUMP_MAX, LAMPORT_MAX, LIMITS } from "../../shared/limits.ts";
import { ProtocolError } from "../../shared/protocol/codec.ts";
import type {
  ClientToOrchestrator,
  OrchestratorToClient,
  OrchestratorToWorker,
  Outcome,
  TaskRef,
  TaskSpec,
  Unstamped,
  WorkerToOrchestrator,
} from "../../shared/protocol/messages.ts";
import type { Command, LogEntry } from "../tasks/commands.ts";
import { takeSnapshot } from "../tasks/state_snapshot.ts";
import { TaskStateMachine } from "../tasks/task_state_machine.ts";
import { EXEC, outcome, SLEEP } from "../tasks/_task_fixtures_test.ts";
import { type ConnId, emptyEffects, type NodeEffects, type NodeInput } from "./node_io.ts";
import { type NodeOptions, OrchestratorNode } from "./orchestrator_node.ts";
import { buildNode } from "./node_builder.ts";
import { createPrng } from "../../shared/prng.ts";
import { WorkerCore } from "../../worker/core/worker_core.ts";
import { historyOf } from "../tasks/mod.ts";

const HEARTBEAT_MS = 1000;
const MISSED_HEARTBEATS = 3;
const TIMEOUT_MS = HEARTBEAT_MS * MISSED_HEARTBEATS;
/** When a worker heartbeating steadily is suspected: 2 intervals plus the assumed noise. */
const STEADY_LIMIT_MS = 2 * HEARTBEAT_MS + HEARTBEAT_MS / 5;
/** Tick spacing well under the stall threshold (2 heartbeat intervals): a node that is not stalled. */
const TICK_MS = 100;
const OPTIONS: NodeOptions = {
  nodeId: "o1",
  clusterId: "c1",
  heartbeatIntervalMs: HEARTBEAT_MS,
  missedHeartbeats: MISSED_HEARTBEATS,
  schedulerPolicy: "round-robin",
  defaultMaxAttempts: 3,
  // Accounts the leader creates once it has caught up: alice administers, bob does not.
  bootstrapUsers: [
    { name: "alice", role: "admin", passwordHash: "scrypt$1$1$1$AAAA$BBBB" },
    { name: "bob", role: "user", passwordHash: "scrypt$1$1$1$AAAA$BBBB" },
  ],
};

// Connection ids: clients below 10, workers from 11.
const ALICE = 1;
const BOB = 2;
const W1 = 11;
const W2 = 12;
const W3 = 13;
const W1_AGAIN = 21;

type Message = OrchestratorToClient | OrchestratorToWorker;
type Request = Exclude<ClientToOrchestrator, { type: "login" }>;
type WithoutEnvelope<M> = M extends unknown ? Omit<M, "v" | "lamport" | "id" | "token"> : never;
/** A client request without what the driver fills in (envelope, request id, token). */
type RequestBody = WithoutEnvelope<Request>;

/** What the shell would compute with SHA-256; any function works as long as it is the same. */
function hashOf(token: string): string {
  return `sha256(${token})`;
}

function mergeInto(all: NodeEffects, more: NodeEffects): NodeEffects {
  all.persist.entries.push(...more.persist.entries);
  if (more.persist.hardState !== null) all.persist.hardState = more.persist.hardState;
  if (more.persist.snapshot !== null) all.persist.snapshot = more.persist.snapshot;
  all.peerSend.push(...more.peerSend);
  all.peerSendAfterPersist.push(...more.peerSendAfterPersist);
  all.send.push(...more.send);
  all.close.push(...more.close);
  all.log.push(...more.log);
  return all;
}

/**
 * Drives an OrchestratorNode like its shell: feeds inputs stamped with the driver's clock and,
 * unless told otherwise, reports every staged entry as durable right after the step (group commit),
 * until nothing more is staged. Plays the clients and workers too, with their own Lamport time.
 */
class Driver {
  readonly node: OrchestratorNode;
  /** Effects of construction (recovery). */
  readonly initial: NodeEffects;
  nowMs: number;
  /**
   * Lamport time of the simulated clients and workers, as one clock: it jumps past every message
   * the node sends, and every message they send is later.
   */
  peerLamport = 0;
  /** Every entry staged for persistence, in order. */
  readonly entries: LogEntry[] = [];
  /** The effects of every step, in order, for determinism checks. */
  readonly history: NodeEffects[] = [];
  /** Sent messages whose Lamport time was not after every Lamport time received before. */
  readonly lamportViolations: string[] = [];
  #maxReceived = 0;
  /** The last entry staged for persistence, and the last one reported durable. */
  #staged: { index: number; term: number };
  #durable: number;
  #nextRequestId = 1;

  constructor(
    options: {
      recovered?: LogEntry[];
      term?: number;
      nowMs?: number;
      node?: Partial<NodeOptions>;
    } = {},
  ) {
    this.nowMs = options.nowMs ?? 0;
    const recovered = options.recovered ?? [];
    this.node = buildNode({
      node: { ...OPTIONS, ...options.node },
      // A one-voter Raft group: it elects itself at once and commits what its own disk holds.
      raft: {
        nodeId: "o1",
        voters: ["o1"],
        electionTimeoutMinMs: 1000,
        electionTimeoutMaxMs: 2000,
        heartbeatIntervalMs: 100,
        rng: createPrng(1),
      },
      recovered: {
        hardState: { term: options.term ?? 0, votedFor: null },
        snapshot: null,
        entries: recovered,
      },
      nowMs: this.nowMs,
    }).node;
    const initial = this.node.takeEffects();
    this.#durable = recovered.at(-1)?.index ?? 0;
    this.#staged = { index: this.#durable, term: recovered.at(-1)?.term ?? 0 };
    this.entries.push(...initial.persist.entries);
    const last = initial.persist.entries.at(-1);
    if (last !== undefined) this.#staged = { index: last.index, term: last.term };
    // The new term's first entry (a no-op) commits everything recovered once it is durable.
    this.initial = mergeInto(initial, this.persist());
  }

  get sm(): TaskStateMachine {
    return this.node.sm;
  }

  /** Feeds one input and returns its effects, without reporting anything durable. */
  raw(input: NodeInput): NodeEffects {
    const received = receivedLamport(input);
    if (received !== null) this.#maxReceived = Math.max(this.#maxReceived, received);
    const effects = this.node.step(input);
    for (const { conn, message } of effects.send) {
      if (message.lamport <= this.#maxReceived) {
        this.lamportViolations.push(
          `${message.type} to ${conn} at ${message.lamport} after receiving ${this.#maxReceived}`,
        );
      }
      // Clients and workers follow Lamport's receive rule too.
      this.peerLamport = Math.max(this.peerLamport, message.lamport);
    }
    this.entries.push(...effects.persist.entries);
    const last = effects.persist.entries.at(-1);
    if (last !== undefined) this.#staged = { index: last.index, term: last.term };
    this.history.push(effects);
    return effects;
  }

  /** Reports everything staged so far as durable, once. */
  persistOnce(): NodeEffects {
    if (this.#staged.index === this.#durable) return emptyEffects();
    const { index, term } = this.#staged;
    this.#durable = index;
    return this.raw({ type: "persisted", index, term, nowMs: this.nowMs });
  }

  /** Reports the staged entries up to `index` as durable (a sync that covered only part of them). */
  persistUpTo(index: number): NodeEffects {
    const entry = this.entries.find((e) => e.index === index);
    assert.ok(entry !== undefined, `no staged entry ${index}`);
    this.#durable = Math.max(this.#durable, index);
    return this.raw({ type: "persisted", index, term: entry.term, nowMs: this.nowMs });
  }

  /** Reports staged entries as durable until a step stages nothing new. */
  persist(): NodeEffects {
    const all = emptyEffects();
    while (this.#staged.index > this.#durable) mergeInto(all, this.persistOnce());
    return all;
  }

  /** Feeds one input; with `persist`, also everything it staged, merged into one result. */
  step(input: NodeInput, persist = true): NodeEffects {
    const effects = mergeInto(emptyEffects(), this.raw(input));
    return persist ? mergeInto(effects, this.persist()) : effects;
  }

  // ---- clients ----

  loginChecked(
    conn: ConnId,
    options: { user?: string; token?: string | null; expiresAtMs?: number; persist?: boolean } = {},
  ): { requestId: number; effects: NodeEffects } {
    const requestId = this.#nextRequestId++;
    const token = options.token === undefined ? `token-${options.user ?? "alice"}` : options.token;
    const effects = this.step({
      type: "loginChecked",
      conn,
      requestId,
      lamport: ++this.peerLamport,
      user: options.user ?? "alice",
      session: token === null
        ? null
        : { token, tokenHash: hashOf(token), expiresAtMs: options.expiresAtMs ?? 1e12 },
      nowMs: this.nowMs,
    }, options.persist ?? true);
    return { requestId, effects };
  }

  /** Logs `user` in and returns its token. */
  login(conn: ConnId, user = "alice", expiresAtMs = 1e12): string {
    const token = `token-${user}`;
    const { effects } = this.loginChecked(conn, { user, token, expiresAtMs });
    one(effects, conn, "loginOk");
    return token;
  }

  request(
    conn: ConnId,
    token: string,
    body: RequestBody,
    options: { persist?: boolean; lamport?: number } = {},
  ): { id: number; effects: NodeEffects } {
    const id = this.#nextRequestId++;
    const request = {
      ...body,
      id,
      token,
      v: 1,
      lamport: options.lamport ?? ++this.peerLamport,
    } as Request;
    const effects = this.step(
      { type: "clientRequest", conn, request, tokenHash: hashOf(token), nowMs: this.nowMs },
      options.persist ?? true,
    );
    return { id, effects };
  }

  /** Submits a task and returns its id. */
  submit(conn: ConnId, token: string, options: { key?: string; spec?: TaskSpec } = {}): string {
    const { effects } = this.request(conn, token, {
      type: "submit",
      idempotencyKey: options.key ?? `key-${this.#nextRequestId}`,
      task: options.spec ?? SLEEP,
    });
    return one(effects, conn, "submitOk").taskId;
  }

  status(conn: ConnId, token: string, taskId: string) {
    const { effects } = this.request(conn, token, { type: "status", taskId });
    return one(effects, conn, "task").task;
  }

  // ---- workers ----

  register(
    conn: ConnId,
    name: string,
    options: {
      incarnation?: string;
      slots?: number;
      canExec?: boolean;
      running?: TaskRef[];
      persist?: boolean;
    } = {},
  ): NodeEffects {
    return this.fromWorker(conn, {
      type: "register",
      worker: {
        name,
        incarnation: options.incarnation ?? `${name}-i1`,
        slots: options.slots ?? 1,
        canExec: options.canExec ?? false,
      },
      running: options.running ?? [],
    }, { persist: options.persist });
  }

  fromWorker(
    conn: ConnId,
    message: Unstamped<WorkerToOrchestrator>,
    options: { persist?: boolean; lamport?: number } = {},
  ): NodeEffects {
    return this.step({
      type: "workerMessage",
      conn,
      message: {
        ...message,
        v: 1,
        lamport: options.lamport ?? ++this.peerLamport,
      } as WorkerToOrchestrator,
      nowMs: this.nowMs,
    }, options.persist ?? true);
  }

  started(conn: ConnId, taskId: string, attempt = 1, persist = true): NodeEffects {
    return this.fromWorker(conn, { type: "started", taskId, attempt }, { persist });
  }

  finished(
    conn: ConnId,
    taskId: string,
    options: { attempt?: number; outcome?: Outcome; persist?: boolean } = {},
  ): NodeEffects {
    return this.fromWorker(conn, {
      type: "finished",
      taskId,
      attempt: options.attempt ?? 1,
      outcome: options.outcome ?? outcome(),
    }, { persist: options.persist });
  }

  heartbeat(name: string, options: { incarnation?: string; lamport?: number } = {}): NodeEffects {
    return this.step({
      type: "heartbeat",
      heartbeat: {
        v: 1,
        lamport: options.lamport ?? ++this.peerLamport,
        type: "heartbeat",
        workerId: name,
        incarnation: options.incarnation ?? `${name}-i1`,
        seq: 0,
        running: 0,
        slots: 1,
        sentAtMs: this.nowMs,
      },
      nowMs: this.nowMs,
    });
  }

  close(conn: ConnId, persist = true): NodeEffects {
    return this.step({ type: "connectionClosed", conn, nowMs: this.nowMs }, persist);
  }

  tick(nowMs = this.nowMs): NodeEffects {
    this.nowMs = nowMs;
    return this.step({ type: "tick", nowMs });
  }

  /**
   * Advances time to `toMs` in ticks of TICK_MS; the `beating` workers heartbeat every interval.
   * Returns every effect on the way.
   */
  advance(toMs: number, beating: string[] = []): NodeEffects {
    const all = emptyEffects();
    for (let t = this.nowMs + TICK_MS; t <= toMs; t += TICK_MS) {
      this.nowMs = t;
      if (t % HEARTBEAT_MS === 0) {
        for (const name of beating) mergeInto(all, this.heartbeat(name));
      }
      mergeInto(all, this.tick(t));
    }
    return all;
  }
}

function receivedLamport(input: NodeInput): number | null {
  switch (input.type) {
    case "hello":
      return input.hello.lamport;
    case "clientRequest":
      return input.request.lamport;
    case "loginChecked":
      return input.lamport;
    case "workerMessage":
      return input.message.lamport;
    case "heartbeat":
      return input.heartbeat.lamport;
    default:
      return null;
  }
}

// ---- reading effects ----

function sentTo(effects: NodeEffects, conn: ConnId): Message[] {
  return effects.send.filter((o) => o.conn === conn).map((o) => o.message);
}

function typesTo(effects: NodeEffects, conn: ConnId): string[] {
  return sentTo(effects, conn).map((m) => m.type);
}

/** The only message of `type` sent to `conn`; fails unless there is exactly one. */
function one<T extends Message["type"]>(
  effects: NodeEffects,
  conn: ConnId,
  type: T,
): Extract<Message, { type: T }> {
  const found = sentTo(effects, conn).filter((m) => m.type === type);
  assert.equal(
    found.length,
    1,
    `expected one ${type} to connection ${conn}, got: ${JSON.stringify(effects.send)}`,
  );
  return found[0] as Extract<Message, { type: T }>;
}

function commands(effects: NodeEffects): Command[] {
  return effects.persist.entries.map((e) => e.command);
}

function commandTypes(effects: NodeEffects): string[] {
  return commands(effects).map((c) => c.type);
}

function only<T extends Command["type"]>(
  effects: NodeEffects,
  type: T,
): Extract<Command, { type: T }> {
  const found = commands(effects).filter((c) => c.type === type);
  assert.equal(found.length, 1, `expected one ${type} entry, got: ${commandTypes(effects)}`);
  return found[0] as Extract<Command, { type: T }>;
}

/** Task id -> the connection its assignment went to, for every assign in `effects`. */
function assignments(effects: NodeEffects): Array<[string, number, ConnId]> {
  return effects.send
    .filter((o) => o.message.type === "assign")
    .map((o) => {
      const m = o.message as Extract<Message, { type: "assign" }>;
      return [m.taskId, m.attempt, o.conn];
    });
}

function errorTo(effects: NodeEffects, conn: ConnId) {
  return one(effects, conn, "error");
}

// ---- fixtures ----

/** A node with alice logged in on ALICE. */
function withAlice(): { d: Driver; alice: string } {
  const d = new Driver();
  return { d, alice: d.login(ALICE, "alice") };
}

/** Alice's task t-1 running (attempt 1) on w1 (one slot, connected on W1). */
function withRunningTask(): { d: Driver; alice: string } {
  const { d, alice } = withAlice();
  d.register(W1, "w1");
  assert.equal(d.submit(ALICE, alice), "t-1");
  assert.equal(d.sm.tasks.get("t-1")!.state, "running");
  return { d, alice };
}

// ---- hello and protocol errors ----

Deno.test("OrchestratorNode answers hello with welcome naming the node and cluster", () => {
  const d = new Driver();
  const effects = d.step({
    type: "hello",
    conn: ALICE,
    hello: { v: 1, lamport: 7, type: "hello", role: "client" },
    nowMs: 0,
  });
  const welcome = one(effects, ALICE, "welcome");
  assert.equal(welcome.nodeId, "o1");
  assert.equal(welcome.clusterId, "c1");
  assert.equal(welcome.v, 1);
  assert.deepEqual(effects.persist.entries, []);
});

Deno.test("OrchestratorNode answers a protocol error with an error reply carrying its code and request id", () => {
  const d = new Driver();
  const effects = d.step({
    type: "protocolError",
    conn: ALICE,
    error: new ProtocolError("bad_request", 'Field "taskId" must be a string, got 5', 42),
    nowMs: 0,
  });
  const error = errorTo(effects, ALICE);
  assert.equal(error.re, 42);
  assert.equal(error.code, "bad_request");
  assert.equal(error.message, 'Field "taskId" must be a string, got 5');
  assert.equal(effects.log[0].level, "warn");
  assert.deepEqual(effects.persist.entries, []);

  const unreadable = d.step({
    type: "protocolError",
    conn: BOB,
    error: new ProtocolError("malformed_frame", "Frame is not a JSON object"),
    nowMs: 0,
  });
  assert.equal(errorTo(unreadable, BOB).re, null);
  assert.equal(errorTo(unreadable, BOB).code, "malformed_frame");
});

// ---- login and sessions ----

Deno.test("OrchestratorNode sends loginOk only after the sessionOpened entry is persisted", () => {
  const d = new Driver();
  const { requestId, effects } = d.loginChecked(ALICE, {
    user: "alice",
    token: "secret",
    expiresAtMs: 60_000,
    persist: false,
  });
  assert.deepEqual(commands(effects), [{
    type: "sessionOpened",
    tokenHash: hashOf("secret"),
    user: "alice",
    expiresAtMs: 60_000,
    atMs: 0,
  }]);
  assert.deepEqual(effects.send, [], "replied before the session was durable");
  assert.equal(d.sm.sessions.size, 0);

  const durable = d.persist();
  const ok = one(durable, ALICE, "loginOk");
  assert.deepEqual(
    { re: ok.re, user: ok.user, token: ok.token, expiresAtMs: ok.expiresAtMs },
    { re: requestId, user: "alice", token: "secret", expiresAtMs: 60_000 },
  );
  assert.deepEqual(d.sm.sessions.get(hashOf("secret")), {
    user: "alice",
    issuedAtMs: 0,
    expiresAtMs: 60_000,
  });
});

Deno.test("OrchestratorNode answers a failed password check with bad_credentials and records nothing", () => {
  const d = new Driver();
  const { requestId, effects } = d.loginChecked(ALICE, { user: "mallory", token: null });
  const error = errorTo(effects, ALICE);
  assert.equal(error.code, "bad_credentials");
  assert.equal(error.re, requestId);
  assert.deepEqual(effects.persist.entries, []);
  assert.equal(d.sm.sessions.size, 0);
  assert.match(effects.log[0].message, /mallory/);
});

Deno.test("OrchestratorNode rejects a request with an unknown token as unauthenticated", () => {
  const { d } = withAlice();
  const { id, effects } = d.request(ALICE, "forged", { type: "list" });
  const error = errorTo(effects, ALICE);
  assert.equal(error.code, "unauthenticated");
  assert.equal(error.re, id);
  assert.match(error.message, /Unknown session token/);
  assert.deepEqual(effects.persist.entries, []);
});

Deno.test("OrchestratorNode rejects a request on an expired session as unauthenticated", () => {
  const d = new Driver();
  const token = d.login(ALICE, "alice", 5000);
  d.nowMs = 4999;
  one(d.request(ALICE, token, { type: "list" }).effects, ALICE, "taskList");
  d.nowMs = 5000;
  const { effects } = d.request(ALICE, token, {
    type: "submit",
    idempotencyKey: "k",
    task: SLEEP,
  });
  const error = errorTo(effects, ALICE);
  assert.equal(error.code, "unauthenticated");
  assert.match(error.message, /expired/);
  assert.deepEqual(effects.persist.entries, []);
  assert.equal(d.sm.tasks.size, 0);
});

Deno.test("OrchestratorNode logs a user out after the sessionClosed entry is persisted", () => {
  const { d, alice } = withAlice();
  const { id, effects } = d.request(ALICE, alice, { type: "logout" }, { persist: false });
  assert.deepEqual(commandTypes(effects), ["sessionClosed"]);
  assert.deepEqual(effects.send, []);
  assert.equal(one(d.persist(), ALICE, "logoutOk").re, id);
  const after = d.request(ALICE, alice, { type: "list" }).effects;
  assert.equal(errorTo(after, ALICE).code, "unauthenticated");
});

// ---- submit ----

Deno.test("OrchestratorNode acknowledges a submission only after its entry is persisted", () => {
  const { d, alice } = withAlice();
  const { id, effects } = d.request(ALICE, alice, {
    type: "submit",
    idempotencyKey: "k1",
    task: SLEEP,
  }, { persist: false });
  const submitted = only(effects, "taskSubmitted");
  assert.equal(submitted.owner, "alice");
  assert.equal(submitted.idempotencyKey, "k1");
  assert.deepEqual(submitted.spec, SLEEP);
  assert.equal(submitted.maxAttempts, OPTIONS.defaultMaxAttempts);
  assert.equal(submitted.node, "o1");
  assert.deepEqual(effects.send, [], "acknowledged before the entry was durable");
  assert.equal(d.sm.tasks.size, 0);

  const ok = one(d.persist(), ALICE, "submitOk");
  assert.equal(ok.re, id);
  assert.equal(ok.taskId, "t-1");
  assert.equal(ok.duplicate, false);
  assert.equal(d.sm.tasks.get("t-1")!.state, "queued");
});

Deno.test("OrchestratorNode uses the submission's maxAttempts when given", () => {
  const { d, alice } = withAlice();
  d.request(ALICE, alice, { type: "submit", idempotencyKey: "k", task: SLEEP, maxAttempts: 7 });
  assert.equal(d.sm.tasks.get("t-1")!.maxAttempts, 7);
});

Deno.test("OrchestratorNode answers a repeated idempotency key with the same task id and duplicate: true", () => {
  const { d, alice } = withAlice();
  const first = d.request(ALICE, alice, { type: "submit", idempotencyKey: "k1", task: SLEEP });
  assert.equal(one(first.effects, ALICE, "submitOk").taskId, "t-1");
  const again = d.request(ALICE, alice, { type: "submit", idempotencyKey: "k1", task: SLEEP });
  const ok = one(again.effects, ALICE, "submitOk");
  assert.equal(ok.re, again.id);
  assert.equal(ok.taskId, "t-1");
  assert.equal(ok.duplicate, true);
  assert.equal(d.sm.tasks.size, 1);
  // Keys are per owner: bob's k1 is another task.
  const bob = d.login(BOB, "bob");
  assert.equal(d.submit(BOB, bob, { key: "k1" }), "t-2");
});

Deno.test("OrchestratorNode refuses an idempotency key reused for a different task with conflict", () => {
  const { d, alice } = withAlice();
  assert.equal(d.submit(ALICE, alice, { key: "k1" }), "t-1");
  const again = d.request(ALICE, alice, { type: "submit", idempotencyKey: "k1", task: EXEC });
  const error = one(again.effects, ALICE, "error");
  assert.equal(error.re, again.id);
  assert.equal(error.code, "conflict");
  assert.equal(
    error.message,
    "idempotency key k1 was used for task t-1 with a different task; use another key",
  );
  assert.equal(d.sm.tasks.size, 1);
});

Deno.test("OrchestratorNode reports a batch item whose key was used for a different task, and submits the rest", () => {
  const { d, alice } = withAlice();
  assert.equal(d.submit(ALICE, alice, { key: "k1" }), "t-1");
  const { effects } = d.request(ALICE, alice, {
    type: "submitBatch",
    tasks: [
      { idempotencyKey: "k0", task: SLEEP },
      { idempotencyKey: "k1", task: EXEC },
      { idempotencyKey: "k1", task: SLEEP },
    ],
  });
  assert.deepEqual(one(effects, ALICE, "submitBatchOk").results, [
    { taskId: "t-2", duplicate: false },
    {
      taskId: "",
      duplicate: false,
      error: "idempotency key k1 was used for task t-1 with a different task; use another key",
    },
    { taskId: "t-1", duplicate: true },
  ]);
  assert.equal(d.sm.tasks.size, 2);
});

Deno.test("OrchestratorNode makes one task of two submissions with one key that are in flight together", () => {
  const { d, alice } = withAlice();
  const body = { type: "submit", idempotencyKey: "k1", task: SLEEP } as const;
  const a = d.request(ALICE, alice, body, { persist: false });
  const b = d.request(ALICE, alice, body, { persist: false });
  const durable = d.persist();
  const replies = sentTo(durable, ALICE) as Array<Extract<Message, { type: "submitOk" }>>;
  assert.deepEqual(replies.map((r) => [r.re, r.taskId, r.duplicate]), [
    [a.id, "t-1", false],
    [b.id, "t-1", true],
  ]);
  assert.equal(d.sm.tasks.size, 1);
});

// ---- status, list, workers ----

Deno.test("OrchestratorNode answers status with the task and why a queued task waits", () => {
  const { d, alice } = withAlice();
  d.submit(ALICE, alice, { key: "k1" });
  const task = d.status(ALICE, alice, "t-1");
  assert.equal(task.id, "t-1");
  assert.equal(task.owner, "alice");
  assert.equal(task.state, "queued");
  assert.equal(task.attempt, 1);
  assert.deepEqual(task.spec, SLEEP);
  assert.match(task.waitingReason ?? "", /no live workers/);
  assert.deepEqual(task.history.map((e) => e.event), ["submitted"]);

  d.register(W1, "w1");
  const running = d.status(ALICE, alice, "t-1");
  assert.equal(running.state, "running");
  assert.equal(running.workerId, "w1");
  assert.equal(running.waitingReason, null);
  assert.deepEqual(running.history.map((e) => e.event), ["submitted", "assigned"]);
});

Deno.test("OrchestratorNode lists only the caller's tasks, newest first, filtered and limited", () => {
  const { d, alice } = withAlice();
  const bob = d.login(BOB, "bob");
  d.register(W1, "w1");
  d.submit(ALICE, alice); // t-1, runs on w1
  d.submit(BOB, bob); // t-2
  d.submit(ALICE, alice); // t-3, waits
  d.submit(ALICE, alice); // t-4, waits
  const list = (body: RequestBody) => {
    const { id, effects } = d.request(ALICE, alice, body);
    const reply = one(effects, ALICE, "taskList");
    assert.equal(reply.re, id);
    return reply.tasks.map((t) => `${t.id}:${t.state}`);
  };
  assert.deepEqual(list({ type: "list" }), ["t-4:queued", "t-3:queued", "t-1:running"]);
  assert.deepEqual(list({ type: "list", state: "running" }), ["t-1:running"]);
  assert.deepEqual(list({ type: "list", limit: 2 }), ["t-4:queued", "t-3:queued"]);
  const bobs = one(d.request(BOB, bob, { type: "list" }).effects, BOB, "taskList");
  assert.deepEqual(bobs.tasks.map((t) => t.id), ["t-2"]);
});

Deno.test("OrchestratorNode's list reply says how many tasks match and pages with a cursor", () => {
  const { d, alice } = withAlice();
  d.register(W1, "w1");
  for (let i = 0; i < 5; i++) d.submit(ALICE, alice); // t-1 runs on w1, t-2 … t-5 wait
  const page = (body: RequestBody) =>
    one(
      d.request(ALICE, alice, { ...body, paged: true } as unknown as RequestBody).effects,
      ALICE,
      "taskList",
    );
  const first = page({ type: "list", limit: 2 });
  assert.deepEqual(first.tasks.map((t) => t.id), ["t-5", "t-4"]);
  assert.equal(first.total, 5);
  assert.equal(first.next, "t-4");
  const last = page({ type: "list", limit: 2, after: "t-2" });
  assert.deepEqual(last.tasks.map((t) => t.id), ["t-1"]);
  assert.equal(last.next, null);
  // `state` and `states` together: either state matches.
  const both = page({ type: "list", state: "running", states: ["succeeded"] });
  assert.deepEqual(both.tasks.map((t) => t.id), ["t-1"]);
  assert.equal(both.total, 1);
});

Deno.test("OrchestratorNode answers a list request without paged in the reply shape older clients decode", () => {
  const { d, alice } = withAlice();
  d.submit(ALICE, alice);
  const reply = one(d.request(ALICE, alice, { type: "list" }).effects, ALICE, "taskList");
  // Their codec refuses unknown fields: total and next would make the whole reply unreadable.
  assert.deepEqual(Object.keys(reply).sort(), ["lamport", "re", "tasks", "type", "v"]);
});

Deno.test("OrchestratorNode lists workers with their load and time since the last heartbeat", () => {
  const { d, alice } = withAlice();
  d.register(W1, "w1", { slots: 2, canExec: true });
  d.submit(ALICE, alice);
  d.nowMs = 300;
  d.heartbeat("w1");
  d.nowMs = 1000;
  const { id, effects } = d.request(ALICE, alice, { type: "workers" });
  const reply = one(effects, ALICE, "workerList");
  assert.equal(reply.re, id);
  assert.deepEqual(reply.workers, [{
    id: "w1",
    incarnation: "w1-i1",
    status: "alive",
    slots: 2,
    running: 1,
    canExec: true,
    execAllow: null,
    lastHeartbeatAgoMs: 700,
    completed: 0,
  }]);
});

Deno.test("OrchestratorNode answers not_found, never forbidden, for another user's task", () => {
  const { d, alice } = withAlice();
  d.submit(ALICE, alice);
  const bob = d.login(BOB, "bob");
  for (
    const body of [
      { type: "status", taskId: "t-1" },
      { type: "cancel", taskId: "t-1" },
      { type: "wait", taskId: "t-1", timeoutMs: 1000 },
    ] as const
  ) {
    const { id, effects } = d.request(BOB, bob, body);
    const error = errorTo(effects, BOB);
    assert.equal(error.code, "not_found", body.type);
    assert.equal(error.re, id);
    // Indistinguishable from a task that does not exist.
    const missing = errorTo(d.request(BOB, bob, { ...body, taskId: "t-99" }).effects, BOB);
    assert.equal(missing.code, "not_found");
    assert.equal(missing.message.replace("t-99", "t-1"), error.message);
    assert.deepEqual(effects.persist.entries, []);
  }
  assert.equal(d.sm.tasks.get("t-1")!.state, "queued");
});

// ---- workers: registration and dispatch ----

Deno.test("OrchestratorNode confirms a registration only after the workerJoined entry is persisted", () => {
  const d = new Driver();
  const effects = d.register(W1, "w1", { slots: 4, canExec: true, persist: false });
  const joined = only(effects, "workerJoined");
  assert.deepEqual(
    [joined.workerId, joined.incarnation, joined.slots, joined.canExec],
    ["w1", "w1-i1", 4, true],
  );
  assert.deepEqual(effects.send, [], "registered before the join was durable");
  const registered = one(d.persist(), W1, "registered");
  assert.equal(registered.workerId, "w1");
  assert.equal(registered.heartbeatIntervalMs, HEARTBEAT_MS);
  assert.equal(d.sm.workers.get("w1")!.status, "alive");
});

Deno.test("OrchestratorNode sends each client, and as leader each worker, a keepalive per interval", () => {
  const { d } = withAlice();
  d.step({
    type: "hello",
    conn: ALICE,
    hello: { v: 1, lamport: 7, type: "hello", role: "client" },
    nowMs: d.nowMs,
  });
  d.register(W1, "w1");
  d.advance(d.nowMs + HEARTBEAT_MS, ["w1"]);
  const start = d.nowMs;
  const effects = d.advance(start + 3 * HEARTBEAT_MS, ["w1"]);
  const keepalives = sentTo(effects, W1).filter((m) => m.type === "keepalive");
  assert.equal(keepalives.length, 3);
  assert.deepEqual(typesTo(effects, ALICE), ["keepalive", "keepalive", "keepalive"]);
});

Deno.test("OrchestratorNode sends an assignment as it proposes it, once; the worker's reports follow it into the log", () => {
  const { d, alice } = withAlice();
  d.submit(ALICE, alice);
  d.register(W1, "w1", { persist: false });
  const joined = d.persistOnce();
  const assigned = only(joined, "taskAssigned");
  assert.deepEqual(
    [assigned.taskId, assigned.attempt, assigned.workerId, assigned.incarnation],
    ["t-1", 1, "w1", "w1-i1"],
  );
  // Sent with the proposal: the task starts one commit round sooner.
  assert.deepEqual(typesTo(joined, W1), ["registered", "assign"]);
  const assign = one(joined, W1, "assign");
  assert.deepEqual([assign.taskId, assign.attempt, assign.spec], ["t-1", 1, SLEEP]);
  assert.equal(d.sm.tasks.get("t-1")!.state, "queued", "not committed yet");

  // The worker reports its start before the assignment is durable: proposed after it, not aborted.
  const early = d.started(W1, "t-1", 1, false);
  assert.deepEqual(typesTo(early, W1), []);
  const indexOf = (type: string) => d.entries.findIndex((e) => e.command.type === type);
  assert.ok(indexOf("taskStarted") > indexOf("taskAssigned"), "the start follows in the log");

  const durable = d.persist();
  assert.deepEqual(typesTo(durable, W1), [], "not sent a second time");
  const task = d.sm.tasks.get("t-1")!;
  assert.equal(task.state, "running");
  assert.equal(task.started, true);
});

Deno.test("OrchestratorNode assigns tasks round robin across workers in worker-id order", () => {
  const { d, alice } = withAlice();
  // Registration order differs from id order on purpose.
  d.register(W2, "w2", { slots: 2 });
  d.register(W3, "w3", { slots: 2 });
  d.register(W1, "w1", { slots: 2 });
  const all = emptyEffects();
  for (let i = 1; i <= 6; i++) {
    const { effects } = d.request(ALICE, alice, {
      type: "submit",
      idempotencyKey: `k${i}`,
      task: SLEEP,
    });
    mergeInto(all, effects);
  }
  assert.deepEqual(assignments(all), [
    ["t-1", 1, W1],
    ["t-2", 1, W2],
    ["t-3", 1, W3],
    ["t-4", 1, W1],
    ["t-5", 1, W2],
    ["t-6", 1, W3],
  ]);
});

Deno.test("OrchestratorNode assigns a batch of queued tasks round robin when workers appear", () => {
  const { d, alice } = withAlice();
  for (let i = 0; i < 3; i++) d.submit(ALICE, alice);
  d.register(W1, "w1", { slots: 1, persist: false });
  d.register(W2, "w2", { slots: 2, persist: false });
  const effects = d.persist();
  assert.deepEqual(assignments(effects), [["t-1", 1, W1], ["t-2", 1, W2], ["t-3", 1, W2]]);
});

Deno.test("OrchestratorNode never gives a worker more tasks than it has slots", () => {
  const { d, alice } = withAlice();
  d.register(W1, "w1", { slots: 1 });
  d.submit(ALICE, alice);
  d.submit(ALICE, alice);
  d.submit(ALICE, alice);
  assert.deepEqual(assignments(d.history.reduce(mergeInto, emptyEffects())), [["t-1", 1, W1]]);
  assert.equal(d.sm.tasks.get("t-2")!.state, "queued");
  assert.match(
    d.status(ALICE, alice, "t-2").waitingReason ?? "",
    /all 1 worker slot\(s\) are busy/,
  );

  const first = d.finished(W1, "t-1");
  one(first, W1, "finishedAck");
  assert.deepEqual(assignments(first), [["t-2", 1, W1]]);
  assert.equal(d.sm.tasks.get("t-3")!.state, "queued");
  const second = d.finished(W1, "t-2");
  assert.deepEqual(assignments(second), [["t-3", 1, W1]]);
});

Deno.test("OrchestratorNode sends exec tasks only to workers that allow exec", () => {
  const { d, alice } = withAlice();
  d.register(W1, "w1", { slots: 2, canExec: false });
  const exec = d.submit(ALICE, alice, { spec: EXEC });
  assert.equal(d.sm.tasks.get(exec)!.state, "queued");
  assert.match(d.status(ALICE, alice, exec).waitingReason ?? "", /allows exec/);
  const effects = d.register(W2, "w2", { canExec: true });
  assert.deepEqual(assignments(effects), [[exec, 1, W2]]);
});

Deno.test("OrchestratorNode records a started report for the current attempt", () => {
  const { d } = withRunningTask();
  const effects = d.started(W1, "t-1", 1, false);
  const started = only(effects, "taskStarted");
  assert.deepEqual([started.taskId, started.attempt, started.workerId], ["t-1", 1, "w1"]);
  // Recorded at this leader's time, which is after the worker's (its clock took the report in).
  assert.ok(started.lamport > d.peerLamport, "a start is stamped after the worker's time");
  assert.equal(started.node, "w1");
  d.persist();
  const task = d.sm.tasks.get("t-1")!;
  assert.equal(task.started, true);
  assert.equal(historyOf(task).at(-1)!.event, "started");
});

Deno.test("OrchestratorNode aborts a started report for an attempt that is not current", () => {
  const { d } = withRunningTask();
  const effects = d.started(W1, "t-1", 2);
  assert.deepEqual(effects.persist.entries, []);
  const abort = one(effects, W1, "abort");
  assert.deepEqual([abort.taskId, abort.attempt], ["t-1", 2]);
  assert.equal(d.sm.tasks.get("t-1")!.started, false);
});

Deno.test("OrchestratorNode acknowledges a result only after it is persisted, and the task succeeds", () => {
  const { d } = withRunningTask();
  d.started(W1, "t-1");
  const result = outcome({ stdout: "42", durationMs: 900 });
  const effects = d.finished(W1, "t-1", { outcome: result, persist: false });
  const finished = only(effects, "taskFinished");
  assert.deepEqual(finished.outcome, result);
  assert.deepEqual(effects.send, [], "acknowledged before the result was durable");
  const durable = d.persistOnce();
  const ack = one(durable, W1, "finishedAck");
  assert.deepEqual([ack.taskId, ack.attempt], ["t-1", 1]);
  const task = d.sm.tasks.get("t-1")!;
  assert.equal(task.state, "succeeded");
  assert.deepEqual(task.result, result);
  assert.equal(d.sm.workers.get("w1")!.completed, 1);
  assert.equal(d.sm.workers.get("w1")!.running.size, 0);
});

Deno.test("OrchestratorNode acknowledges a stale result at once and records nothing", () => {
  const { d } = withRunningTask();
  const stale = d.finished(W1, "t-1", { attempt: 2, persist: false });
  assert.deepEqual(stale.persist.entries, []);
  const ack = one(stale, W1, "finishedAck");
  assert.deepEqual([ack.taskId, ack.attempt], ["t-1", 2]);
  assert.equal(d.sm.tasks.get("t-1")!.state, "running");

  // A result repeated after the first was recorded is stale too.
  d.finished(W1, "t-1");
  const repeat = d.finished(W1, "t-1", { persist: false });
  assert.deepEqual(repeat.persist.entries, []);
  one(repeat, W1, "finishedAck");
  assert.equal(d.sm.workers.get("w1")!.completed, 1);
});

Deno.test("OrchestratorNode does not propose a result twice while the first is in flight", () => {
  const { d } = withRunningTask();
  const first = d.finished(W1, "t-1", { persist: false });
  assert.deepEqual(commandTypes(first), ["taskFinished"]);
  const second = d.finished(W1, "t-1", { persist: false });
  assert.deepEqual(second.persist.entries, []);
  assert.deepEqual(second.send, []);
  const durable = d.persist();
  assert.equal(sentTo(durable, W1).filter((m) => m.type === "finishedAck").length, 1);
  assert.equal(d.entries.filter((e) => e.command.type === "taskFinished").length, 1);
});

Deno.test("OrchestratorNode turns down worker messages on a connection that has not registered", () => {
  const { d } = withRunningTask();
  const effects = d.finished(W2, "t-1");
  const error = errorTo(effects, W2);
  assert.equal(error.code, "bad_request");
  assert.equal(error.re, null);
  assert.match(error.message, /register first/);
  assert.deepEqual(effects.persist.entries, []);
  assert.equal(d.sm.tasks.get("t-1")!.state, "running");
});

Deno.test("OrchestratorNode requeues a handed-back attempt and assigns the task again", () => {
  const { d } = withRunningTask();
  d.register(W2, "w2");
  const effects = d.fromWorker(W1, {
    type: "handBack",
    taskId: "t-1",
    attempt: 1,
    reason: "worker is shutting down",
  });
  assert.deepEqual(commandTypes(effects), ["taskHandedBack", "taskAssigned"]);
  assert.deepEqual(assignments(effects), [["t-1", 2, W2]]);
});

// ---- failure detection ----

Deno.test("OrchestratorNode declares a silent worker lost and reassigns its task as attempt 2", () => {
  const { d, alice } = withAlice();
  d.register(W1, "w1");
  d.register(W2, "w2");
  d.submit(ALICE, alice); // to w1, first in id order
  d.close(W1); // w1 crashed: its connection is gone and it sends no heartbeats
  d.tick(0);
  const quiet = d.advance(TIMEOUT_MS, ["w2"]);
  assert.deepEqual(commandTypes(quiet), [], "declared lost before the timeout");
  const effects = d.advance(TIMEOUT_MS + TICK_MS, ["w2"]);
  const lost = only(effects, "workerLost");
  assert.equal(lost.workerId, "w1");
  assert.equal(lost.incarnation, "w1-i1");
  assert.match(lost.reason, /missed heartbeats/);
  assert.equal(lost.atMs, TIMEOUT_MS + TICK_MS);
  assert.deepEqual(assignments(effects), [["t-1", 2, W2]]);
  assert.deepEqual(sentTo(effects, W1), []);
  const task = d.sm.tasks.get("t-1")!;
  assert.equal(task.state, "running");
  assert.equal(task.attempt, 2);
  assert.equal(task.workerId, "w2");
  assert.deepEqual(historyOf(task).map((e) => e.event), [
    "submitted",
    "assigned",
    "requeued",
    "assigned",
  ]);
  assert.equal(d.sm.workers.has("w1"), false);
  // Declared once.
  assert.deepEqual(commandTypes(d.advance(TIMEOUT_MS * 3, ["w2"])), []);
});

Deno.test("OrchestratorNode keeps a worker that heartbeats alive", () => {
  const { d } = withRunningTask();
  d.tick(0);
  const effects = d.advance(20_000, ["w1"]);
  assert.deepEqual(commandTypes(effects), []);
  assert.equal(d.sm.workers.get("w1")!.status, "alive");
  assert.equal(d.sm.tasks.get("t-1")!.attempt, 1);
  // Silence after the last heartbeat (at 20 000) is counted from it; steady heartbeats make the
  // detector suspect after 2.2 intervals rather than the configured limit.
  assert.deepEqual(commandTypes(d.advance(20_000 + STEADY_LIMIT_MS)), []);
  assert.equal(only(d.advance(20_000 + STEADY_LIMIT_MS + TICK_MS), "workerLost").workerId, "w1");
});

Deno.test("OrchestratorNode does not count heartbeats of another incarnation", () => {
  const { d } = withRunningTask();
  d.tick(0);
  const all = emptyEffects();
  for (let t = TICK_MS; t <= TIMEOUT_MS + TICK_MS; t += TICK_MS) {
    d.nowMs = t;
    if (t % HEARTBEAT_MS === 0) mergeInto(all, d.heartbeat("w1", { incarnation: "w1-old" }));
    mergeInto(all, d.tick(t));
  }
  assert.equal(only(all, "workerLost").workerId, "w1");
});

Deno.test("OrchestratorNode does not declare workers dead for its own stall", () => {
  const { d } = withRunningTask();
  d.tick(0);
  d.advance(5000, ["w1"]);
  // One tick gap of 30 s: the node itself was paused, heartbeats sat unread.
  const stalled = d.tick(35_000);
  assert.deepEqual(commandTypes(stalled), []);
  assert.equal(d.sm.workers.has("w1"), true);
  // The worker is alive and heartbeats again: nothing happens.
  assert.deepEqual(commandTypes(d.advance(45_000, ["w1"])), []);
  assert.equal(d.sm.tasks.get("t-1")!.attempt, 1);
});

Deno.test("OrchestratorNode still detects a worker that stays silent after a stall", () => {
  const { d } = withRunningTask();
  d.tick(0);
  d.advance(5000, ["w1"]);
  d.tick(35_000);
  // Stall compensation credited the worker the whole 30 s stall: last seen 35 000.
  assert.deepEqual(commandTypes(d.advance(35_000 + STEADY_LIMIT_MS)), []);
  const lost = only(d.advance(35_000 + STEADY_LIMIT_MS + TICK_MS), "workerLost");
  assert.equal(lost.workerId, "w1");
});

Deno.test("OrchestratorNode evicts a worker declared lost while it is still connected", () => {
  const { d } = withRunningTask();
  d.tick(0);
  const effects = d.advance(TIMEOUT_MS + TICK_MS);
  only(effects, "workerLost");
  const evicted = one(effects, W1, "evicted");
  assert.match(evicted.reason, /missed heartbeats/);
  // Its late result is stale now: acknowledged at once, not recorded.
  const late = d.finished(W1, "t-1");
  assert.deepEqual(late.persist.entries, []);
  one(late, W1, "finishedAck");
  assert.equal(d.sm.tasks.get("t-1")!.state, "queued");
  assert.equal(d.sm.tasks.get("t-1")!.attempt, 2);
});

Deno.test("OrchestratorNode fails a task whose worker is lost on its last attempt", () => {
  const { d, alice } = withAlice();
  d.register(W1, "w1");
  d.request(ALICE, alice, { type: "submit", idempotencyKey: "k", task: SLEEP, maxAttempts: 1 });
  d.close(W1);
  d.tick(0);
  d.advance(TIMEOUT_MS + TICK_MS);
  const task = d.sm.tasks.get("t-1")!;
  assert.equal(task.state, "failed");
  assert.match(task.result?.error ?? "", /Gave up after 1 attempt/);
});

// ---- reconnection ----

Deno.test("OrchestratorNode re-sends the current assignment to a worker that reconnects without it", () => {
  const { d } = withRunningTask();
  d.started(W1, "t-1");
  assert.deepEqual(commandTypes(d.close(W1)), [], "a dropped connection alone is not a loss");
  const effects = d.register(W1_AGAIN, "w1", { running: [], persist: false });
  assert.deepEqual(effects.persist.entries, [], "the same incarnation joins nothing new");
  assert.deepEqual(typesTo(effects, W1_AGAIN), ["registered", "assign"]);
  const assign = one(effects, W1_AGAIN, "assign");
  assert.deepEqual([assign.taskId, assign.attempt], ["t-1", 1]);
  // Reports on the new connection count.
  one(d.finished(W1_AGAIN, "t-1"), W1_AGAIN, "finishedAck");
  assert.equal(d.sm.tasks.get("t-1")!.state, "succeeded");
});

Deno.test("OrchestratorNode re-sends nothing to a worker that reconnects reporting its attempt", () => {
  const { d } = withRunningTask();
  d.close(W1);
  const effects = d.register(W1_AGAIN, "w1", { running: [{ taskId: "t-1", attempt: 1 }] });
  assert.deepEqual(typesTo(effects, W1_AGAIN), ["registered"]);
});

Deno.test("OrchestratorNode aborts an attempt a reconnecting worker reports that is no longer current", () => {
  const { d } = withRunningTask();
  d.register(W2, "w2");
  d.close(W1);
  d.tick(0);
  d.advance(TIMEOUT_MS + TICK_MS, ["w2"]); // w1 lost; t-1 attempt 2 goes to w2
  assert.equal(d.sm.tasks.get("t-1")!.workerId, "w2");
  const effects = d.register(W1_AGAIN, "w1", { running: [{ taskId: "t-1", attempt: 1 }] });
  assert.deepEqual(commandTypes(effects), ["workerJoined"]);
  assert.deepEqual(typesTo(effects, W1_AGAIN), ["registered", "abort"]);
  const abort = one(effects, W1_AGAIN, "abort");
  assert.deepEqual([abort.taskId, abort.attempt], ["t-1", 1]);
  assert.equal(d.sm.tasks.get("t-1")!.attempt, 2);
});

Deno.test("OrchestratorNode replaces a worker's old incarnation and requeues its attempts", () => {
  const { d } = withRunningTask();
  d.close(W1); // the old process died: its connection closed
  const effects = d.register(W1_AGAIN, "w1", { incarnation: "w1-i2" });
  assert.deepEqual(commandTypes(effects), ["workerJoined", "taskAssigned"]);
  assert.equal(d.sm.workers.get("w1")!.incarnation, "w1-i2");
  assert.deepEqual(assignments(effects), [["t-1", 2, W1_AGAIN]]);
  assert.deepEqual(sentTo(effects, W1), [], "the old incarnation's connection gets nothing");
});

Deno.test("OrchestratorNode refuses to register a second worker name on one connection", () => {
  const d = new Driver();
  d.register(W1, "w1");
  const effects = d.register(W1, "w2");
  assert.equal(errorTo(effects, W1).code, "bad_request");
  assert.deepEqual(effects.persist.entries, []);
  assert.equal(d.sm.workers.has("w2"), false);
});

// ---- drain ----

Deno.test("OrchestratorNode assigns nothing more to a draining worker", () => {
  const { d, alice } = withAlice();
  d.register(W1, "w1", { slots: 2 });
  d.register(W2, "w2", { slots: 2 });
  const effects = d.fromWorker(W1, { type: "drain" });
  const draining = only(effects, "workerDraining");
  assert.deepEqual([draining.workerId, draining.incarnation], ["w1", "w1-i1"]);
  assert.equal(d.sm.workers.get("w1")!.status, "draining");
  const all = emptyEffects();
  for (let i = 0; i < 3; i++) {
    mergeInto(
      all,
      d.request(ALICE, alice, { type: "submit", idempotencyKey: `k${i}`, task: SLEEP }).effects,
    );
  }
  assert.deepEqual(assignments(all), [["t-1", 1, W2], ["t-2", 1, W2]]);
  assert.equal(d.sm.tasks.get("t-3")!.state, "queued");
});

Deno.test("OrchestratorNode records a drained worker that disconnects as left, without waiting for heartbeats", () => {
  const { d } = withRunningTask();
  d.fromWorker(W1, { type: "drain" });
  d.finished(W1, "t-1");
  const effects = d.close(W1, false);
  const lost = only(effects, "workerLost");
  assert.equal(lost.workerId, "w1");
  assert.equal(lost.reason, "left after draining");
  d.persist();
  assert.equal(d.sm.workers.has("w1"), false);
});

Deno.test("OrchestratorNode treats a disconnect right after a drain request as leaving", () => {
  const { d } = withRunningTask();
  d.fromWorker(W1, { type: "drain" }, { persist: false });
  const effects = d.close(W1);
  assert.equal(only(effects, "workerLost").reason, "left after draining");
  assert.equal(d.sm.workers.has("w1"), false);
});

Deno.test({
  name:
    "OrchestratorNode honours a drain that arrives while the worker's registration is in flight",
  fn() {
    const { d, alice } = withAlice();
    d.register(W1, "w1", { persist: false });
    d.fromWorker(W1, { type: "drain" }, { persist: false });
    d.persist();
    assert.equal(d.sm.workers.get("w1")?.status, "draining");
    const effects = d.request(ALICE, alice, { type: "submit", idempotencyKey: "k", task: SLEEP })
      .effects;
    assert.deepEqual(assignments(effects), [], "a task was assigned to a draining worker");
  },
});

// ---- cancel ----

Deno.test("OrchestratorNode cancels a queued task once the cancellation is persisted", () => {
  const { d, alice } = withAlice();
  d.submit(ALICE, alice);
  const { id, effects } = d.request(ALICE, alice, { type: "cancel", taskId: "t-1" }, {
    persist: false,
  });
  const cancelled = only(effects, "taskCancelled");
  assert.deepEqual([cancelled.taskId, cancelled.by], ["t-1", "alice"]);
  assert.deepEqual(effects.send, []);
  const reply = one(d.persist(), ALICE, "task");
  assert.equal(reply.re, id);
  assert.equal(reply.task.state, "cancelled");
  assert.equal(d.sm.queue.size, 0);
  // Nothing is dispatched once a worker appears.
  assert.deepEqual(assignments(d.register(W1, "w1")), []);
});

Deno.test("OrchestratorNode aborts the attempt of a running task that is cancelled", () => {
  const { d, alice } = withRunningTask();
  const effects = d.request(ALICE, alice, { type: "cancel", taskId: "t-1" }).effects;
  const abort = one(effects, W1, "abort");
  assert.deepEqual([abort.taskId, abort.attempt, abort.reason], ["t-1", 1, "task was cancelled"]);
  assert.equal(one(effects, ALICE, "task").task.state, "cancelled");
  assert.equal(d.sm.workers.get("w1")!.running.size, 0);
  // Its late result is stale.
  const late = d.finished(W1, "t-1");
  assert.deepEqual(late.persist.entries, []);
  assert.equal(d.sm.tasks.get("t-1")!.state, "cancelled");
});

Deno.test("OrchestratorNode answers conflict when cancelling a finished task", () => {
  const { d, alice } = withRunningTask();
  d.finished(W1, "t-1");
  const { id, effects } = d.request(ALICE, alice, { type: "cancel", taskId: "t-1" });
  const error = errorTo(effects, ALICE);
  assert.equal(error.code, "conflict");
  assert.equal(error.re, id);
  assert.equal(error.message, "Cannot cancel task t-1: it is already succeeded");
  assert.deepEqual(effects.persist.entries, []);
});

Deno.test("OrchestratorNode treats cancelling a cancelled task as done (a retry is idempotent)", () => {
  const { d, alice } = withAlice();
  d.submit(ALICE, alice);
  const a = d.request(ALICE, alice, { type: "cancel", taskId: "t-1" }, { persist: false });
  const b = d.request(ALICE, alice, { type: "cancel", taskId: "t-1" }, { persist: false });
  const replies = sentTo(d.persist(), ALICE);
  assert.deepEqual(replies.map((m) => [m.type, "re" in m ? m.re : null]), [
    ["task", a.id],
    ["task", b.id],
  ]);
  const again = one(
    d.request(ALICE, alice, { type: "cancel", taskId: "t-1" }).effects,
    ALICE,
    "task",
  );
  assert.equal(again.task.state, "cancelled");
});

Deno.test("OrchestratorNode answers conflict to cancelling a task that already succeeded", () => {
  const { d, alice } = withRunningTask();
  d.finished(W1, "t-1");
  const error = errorTo(d.request(ALICE, alice, { type: "cancel", taskId: "t-1" }).effects, ALICE);
  assert.equal(error.code, "conflict");
  assert.match(error.message, /already succeeded/);
});

// ---- wait ----

Deno.test("OrchestratorNode answers a wait when the task finishes, after the result is persisted", () => {
  const { d, alice } = withRunningTask();
  const { id, effects } = d.request(ALICE, alice, {
    type: "wait",
    taskId: "t-1",
    timeoutMs: 60_000,
  });
  assert.deepEqual(effects.send, []);
  const raw = d.finished(W1, "t-1", { persist: false });
  assert.deepEqual(sentTo(raw, ALICE), [], "answered before the result was durable");
  const reply = one(d.persist(), ALICE, "task");
  assert.equal(reply.re, id);
  assert.equal(reply.task.state, "succeeded");
  // Answered once.
  assert.deepEqual(sentTo(d.tick(70_000), ALICE), []);
});

Deno.test("OrchestratorNode answers a wait with the current state at its deadline", () => {
  const { d, alice } = withRunningTask();
  d.submit(ALICE, alice); // t-2 waits for w1's only slot
  d.tick(0);
  const { id } = d.request(ALICE, alice, { type: "wait", taskId: "t-2", timeoutMs: 500 });
  assert.deepEqual(sentTo(d.tick(499), ALICE), []);
  const reply = one(d.tick(500), ALICE, "task");
  assert.equal(reply.re, id);
  assert.equal(reply.task.id, "t-2");
  assert.equal(reply.task.state, "queued");
  assert.match(reply.task.waitingReason ?? "", /busy/);
  assert.deepEqual(sentTo(d.tick(600), ALICE), []);
});

Deno.test("OrchestratorNode answers a wait on a finished task at once", () => {
  const { d, alice } = withRunningTask();
  d.finished(W1, "t-1");
  const { id, effects } = d.request(ALICE, alice, {
    type: "wait",
    taskId: "t-1",
    timeoutMs: 60_000,
  });
  const reply = one(effects, ALICE, "task");
  assert.equal(reply.re, id);
  assert.equal(reply.task.state, "succeeded");
});

Deno.test("OrchestratorNode drops the waits of a closed connection", () => {
  const { d, alice } = withRunningTask();
  const bob = d.login(BOB, "bob");
  d.submit(BOB, bob); // t-2 waits
  d.request(ALICE, alice, { type: "wait", taskId: "t-1", timeoutMs: 60_000 });
  d.request(BOB, bob, { type: "wait", taskId: "t-2", timeoutMs: 1000 });
  d.close(ALICE);
  d.close(BOB);
  const finished = d.finished(W1, "t-1");
  assert.deepEqual(sentTo(finished, ALICE), []);
  const later = d.tick(120_000);
  assert.deepEqual([...sentTo(later, ALICE), ...sentTo(later, BOB)], []);
});

Deno.test("OrchestratorNode answers rate_limited beyond a user's bound on pending waits, and serves other users", () => {
  const { d, alice } = withRunningTask();
  const bob = d.login(BOB, "bob");
  const bobsTask = d.submit(BOB, bob);
  for (let i = 0; i < LIMITS.waitersPerUserMax; i++) {
    const { effects } = d.request(ALICE, alice, { type: "wait", taskId: "t-1", timeoutMs: 1000 });
    assert.deepEqual(effects.send, []);
  }
  const { id, effects } = d.request(ALICE, alice, {
    type: "wait",
    taskId: "t-1",
    timeoutMs: 1000,
  });
  const error = errorTo(effects, ALICE);
  assert.equal(error.code, "rate_limited");
  assert.equal(error.re, id);
  assert.match(error.message, /from user alice/);
  // Another user's wait is still held (issue 13, hole 10).
  const other = d.request(BOB, bob, { type: "wait", taskId: bobsTask, timeoutMs: 1000 });
  assert.deepEqual(other.effects.send, []);
});

// ---- Lamport time ----

Deno.test("OrchestratorNode stamps every message later than every Lamport time it received", () => {
  const { d, alice } = withAlice();
  d.peerLamport = 1000;
  d.register(W1, "w1");
  d.register(W2, "w2");
  d.submit(ALICE, alice);
  d.peerLamport = 50_000; // a worker far ahead of the cluster
  d.started(W1, "t-1");
  d.submit(ALICE, alice);
  d.peerLamport = 70_000;
  d.heartbeat("w2");
  d.finished(W1, "t-1");
  d.request(ALICE, alice, { type: "wait", taskId: "t-2", timeoutMs: 100 });
  d.request(ALICE, alice, { type: "cancel", taskId: "t-2" });
  d.tick(0);
  d.advance(TIMEOUT_MS + TICK_MS, ["w2"]);
  d.request(ALICE, alice, { type: "status", taskId: "t-1" });
  assert.deepEqual(d.lamportViolations, []);
  const stamps = d.history.flatMap((e) => e.send.map((o) => o.message.lamport));
  assert.ok(stamps.length > 10);
  for (let i = 1; i < stamps.length; i++) {
    assert.ok(stamps[i] > stamps[i - 1], `Lamport time went from ${stamps[i - 1]} to ${stamps[i]}`);
  }
  // Entries it stamps itself are after what it received too.
  const cancel = d.entries.find((e) => e.command.type === "taskCancelled")!.command;
  assert.ok("lamport" in cancel && cancel.lamport > 70_000);
});

Deno.test("OrchestratorNode bounds the jump a client's Lamport time makes its clock take", () => {
  const d = new Driver();
  const before = d.node.lamport;
  const welcome = one(
    d.step({
      type: "hello",
      conn: ALICE,
      hello: { v: 1, lamport: LAMPORT_MAX, type: "hello", role: "client" },
      nowMs: 0,
    }),
    ALICE,
    "welcome",
  );
  // One receive and one send on top of the bounded jump.
  assert.ok(d.node.lamport <= before + LAMPORT_CLIENT_JUMP_MAX + 2, `clock at ${d.node.lamport}`);
  assert.ok(welcome.lamport <= before + LAMPORT_CLIENT_JUMP_MAX + 2);
  assert.ok(welcome.lamport > before);

  const alice = d.login(ALICE, "alice");
  const mid = d.node.lamport;
  d.request(ALICE, alice, { type: "submit", idempotencyKey: "k", task: SLEEP }, {
    lamport: LAMPORT_MAX,
  });
  assert.ok(d.node.lamport <= mid + LAMPORT_CLIENT_JUMP_MAX + 4, `clock at ${d.node.lamport}`);
  const submitted = d.entries.find((e) => e.command.type === "taskSubmitted")!.command;
  assert.ok("lamport" in submitted && submitted.lamport < LAMPORT_MAX / 2);
});

Deno.test({
  name: "OrchestratorNode keeps working after a heartbeat stamped with the largest Lamport time",
  fn() {
    const { d, alice } = withAlice();
    d.heartbeat("nobody", { lamport: LAMPORT_MAX });
    assert.equal(d.submit(ALICE, alice), "t-1");
  },
});

Deno.test({
  name:
    "OrchestratorNode keeps working after a worker report stamped with the largest Lamport time",
  fn() {
    const { d, alice } = withRunningTask();
    d.fromWorker(W1, { type: "started", taskId: "t-1", attempt: 1 }, { lamport: LAMPORT_MAX });
    assert.equal(d.submit(ALICE, alice), "t-2");
  },
});

// ---- recovery ----

/** A first node's life: sessions, workers, finished, running and queued tasks; returns its log. */
function earlierLife(): { d: Driver; alice: string } {
  const { d, alice } = withAlice();
  d.register(W1, "w1");
  d.submit(ALICE, alice); // t-1 on w1
  d.started(W1, "t-1");
  d.submit(ALICE, alice); // t-2 waits
  d.finished(W1, "t-1"); // t-2 goes to w1
  d.submit(ALICE, alice); // t-3 waits
  return { d, alice };
}

Deno.test("OrchestratorNode applies recovered entries silently and continues after them", () => {
  const first = earlierLife();
  const d = new Driver({ recovered: first.d.entries, term: 1, nowMs: 100_000 });
  assert.deepEqual(d.initial.send, []);
  assert.deepEqual(d.initial.log, []);
  assert.deepEqual(d.initial.persist.entries.map((e) => e.command.type), ["noop"]);
  assert.deepEqual(d.initial.persist.hardState, { term: 2, votedFor: "o1" });
  // The same state, plus the new term's no-op applied after the recovered entries.
  const rebuilt = { ...takeSnapshot(d.sm), appliedIndex: 0, appliedTerm: 0 };
  const original = { ...takeSnapshot(first.d.sm), appliedIndex: 0, appliedTerm: 0 };
  assert.equal(
    JSON.stringify(rebuilt),
    JSON.stringify(original),
    "recovery rebuilt a different state",
  );
  assert.equal(d.sm.appliedIndex, first.d.sm.appliedIndex + 1);
  assert.ok(d.node.lamport >= d.sm.maxLamport);

  // The recovered session still works, and task ids continue.
  d.nowMs = 100_000;
  const { effects } = d.request(ALICE, first.alice, {
    type: "submit",
    idempotencyKey: "after-restart",
    task: SLEEP,
  });
  assert.equal(one(effects, ALICE, "submitOk").taskId, "t-4");
  const entry = effects.persist.entries[0];
  assert.equal(
    entry.index,
    first.d.entries.length + 2,
    "after the recovered entries and the no-op",
  );
  assert.equal(entry.term, 2);
  assert.ok(
    "lamport" in entry.command &&
      entry.command.lamport > historyOf(d.sm.tasks.get("t-3")!)[0].lamport,
  );
});

Deno.test("OrchestratorNode lets a recovered worker reconnect and get its assignment again", () => {
  const first = earlierLife();
  const d = new Driver({ recovered: first.d.entries, term: 1, nowMs: 100_000 });
  assert.equal(d.sm.tasks.get("t-2")!.workerId, "w1");
  const effects = d.register(W1_AGAIN, "w1", { running: [] });
  assert.deepEqual(effects.persist.entries, []);
  assert.deepEqual(assignments(effects), [["t-2", 1, W1_AGAIN]]);
  one(d.finished(W1_AGAIN, "t-2"), W1_AGAIN, "finishedAck");
  assert.equal(d.sm.tasks.get("t-3")!.workerId, "w1");
});

Deno.test("OrchestratorNode gives recovered workers a full timeout before declaring them lost", () => {
  const first = earlierLife();
  const d = new Driver({ recovered: first.d.entries, term: 1, nowMs: 100_000 });
  d.tick(100_000);
  assert.deepEqual(commandTypes(d.advance(100_000 + TIMEOUT_MS)), []);
  const effects = d.advance(100_000 + TIMEOUT_MS + TICK_MS);
  assert.equal(only(effects, "workerLost").workerId, "w1");
  assert.equal(d.sm.tasks.get("t-2")!.attempt, 2);
  assert.equal(d.sm.tasks.get("t-2")!.state, "queued");
});

// ---- determinism ----

/** A busy life exercising most inputs; returns the driver. */
function busyLife(): Driver {
  const { d, alice } = withAlice();
  const bob = d.login(BOB, "bob");
  d.register(W1, "w1", { slots: 2 });
  d.register(W2, "w2", { slots: 1, canExec: true });
  d.register(W3, "w3", { slots: 1 });
  for (let i = 0; i < 5; i++) d.submit(i % 2 === 0 ? ALICE : BOB, i % 2 === 0 ? alice : bob);
  d.submit(ALICE, alice, { spec: EXEC });
  d.tick(0);
  d.advance(1500, ["w1", "w2", "w3"]);
  d.started(W1, "t-1");
  d.finished(W1, "t-1");
  d.request(ALICE, alice, { type: "wait", taskId: "t-3", timeoutMs: 30_000 });
  d.request(BOB, bob, { type: "cancel", taskId: "t-2" });
  d.fromWorker(W3, { type: "drain" });
  d.close(W2);
  d.advance(6000, ["w1", "w3"]);
  d.finished(W1, "t-3", { outcome: outcome({ status: "failed", exitCode: 1 }) });
  d.close(W3);
  d.request(ALICE, alice, { type: "list" });
  d.request(BOB, bob, { type: "workers" });
  d.advance(9000, ["w1"]);
  return d;
}

Deno.test("OrchestratorNode produces identical effects and state from identical inputs", () => {
  const a = busyLife();
  const b = busyLife();
  assert.ok(a.history.length > 50);
  assert.ok(a.entries.some((e) => e.command.type === "workerLost"));
  assert.equal(JSON.stringify(a.history), JSON.stringify(b.history));
  assert.equal(JSON.stringify(takeSnapshot(a.sm)), JSON.stringify(takeSnapshot(b.sm)));
});

// ---- accounts from the cluster file (issue 14, bug 4) ----

function configuredNames(effects: NodeEffects): string[] {
  return commands(effects).flatMap((c) => c.type === "accountConfigured" ? [c.name] : []);
}

Deno.test("OrchestratorNode does not re-create a removed cluster-file account at the next term", () => {
  const { d, alice } = withAlice();
  const { effects } = d.request(ALICE, alice, { type: "userRemove", name: "bob" });
  one(effects, ALICE, "done");
  // A restart is a new term: its leader looks at the cluster file again.
  const next = new Driver({ recovered: d.entries, term: d.node.term });
  assert.equal(next.sm.users.has("bob"), false);
  assert.deepEqual(configuredNames(next.initial), []);
});

Deno.test("OrchestratorNode applies a cluster-file password that changed, once", () => {
  const { d } = withAlice();
  const newHash = "scrypt$1$1$1$AAAA$NEW0";
  const [alice, bob] = OPTIONS.bootstrapUsers!;
  const users = [alice, { ...bob, passwordHash: newHash }];
  const next = new Driver({
    recovered: d.entries,
    term: d.node.term,
    node: { bootstrapUsers: users },
  });
  assert.equal(next.sm.users.get("bob")?.passwordHash, newHash);
  assert.deepEqual(configuredNames(next.initial), ["bob"]);
  const again = new Driver({
    recovered: [...d.entries, ...next.entries],
    term: next.node.term,
    node: { bootstrapUsers: users },
  });
  assert.deepEqual(configuredNames(again.initial), []);
});

Deno.test("OrchestratorNode refuses to remove the last admin", () => {
  const { d, alice } = withAlice();
  const { effects } = d.request(ALICE, alice, { type: "userRemove", name: "alice" });
  const error = errorTo(effects, ALICE);
  assert.equal(error.code, "conflict");
  assert.match(error.message, /last admin/);
  assert.equal(d.sm.users.get("alice")?.role, "admin");
});

// ---- a worker name is not taken over (issue 14, bug 5) ----

Deno.test("OrchestratorNode refuses a second worker with a live worker's name and keeps the first", () => {
  const { d } = withRunningTask();
  d.advance(HEARTBEAT_MS, ["w1"]);
  const effects = d.register(W1_AGAIN, "w1", { incarnation: "w1-impostor" });
  const error = errorTo(effects, W1_AGAIN);
  assert.equal(error.code, "conflict");
  assert.match(error.message, /a live worker already uses that name/);
  assert.ok(effects.close.includes(W1_AGAIN));
  assert.deepEqual(commandTypes(effects), []);
  assert.equal(d.sm.workers.get("w1")!.incarnation, "w1-i1");
  assert.equal(d.sm.tasks.get("t-1")!.attempt, 1, "the running attempt was not requeued");
  // The first worker is still the one that reports, and its result counts.
  one(d.finished(W1, "t-1"), W1, "finishedAck");
  assert.equal(d.sm.tasks.get("t-1")!.state, "succeeded");
});

Deno.test("OrchestratorNode accepts a new incarnation of a connected worker whose heartbeats stopped", () => {
  const { d } = withRunningTask();
  // Frozen (SIGSTOP) or cut off: the connection stays open but nothing arrives for a timeout.
  d.nowMs += TIMEOUT_MS;
  const effects = d.register(W1_AGAIN, "w1", { incarnation: "w1-i2" });
  assert.ok(commandTypes(effects).includes("workerJoined"));
  assert.equal(d.sm.workers.get("w1")!.incarnation, "w1-i2");
});

Deno.test("OrchestratorNode does not open a session checked against a password that changed meanwhile", () => {
  const { d, alice } = withAlice();
  const oldHash = d.sm.users.get("bob")!.passwordHash;
  d.step({
    type: "clientRequest",
    conn: ALICE,
    request: {
      type: "userPasswd",
      id: 98,
      token: alice,
      name: "bob",
      password: "irrelevant-here",
      v: 1,
      lamport: ++d.peerLamport,
    },
    tokenHash: hashOf(alice),
    passwordHash: "scrypt$1$1$1$AAAA$CHANGED",
    nowMs: d.nowMs,
  }, false);
  // The shell checked bob's old password while the change was on its way into the log.
  const effects = d.step({
    type: "loginChecked",
    conn: BOB,
    requestId: 99,
    lamport: ++d.peerLamport,
    user: "bob",
    session: { token: "t-bob", tokenHash: hashOf("t-bob"), expiresAtMs: 1e12 },
    checkedPasswordHash: oldHash,
    nowMs: d.nowMs,
  });
  const error = errorTo(effects, BOB);
  assert.equal(error.code, "unavailable");
  assert.equal(d.sm.sessions.has(hashOf("t-bob")), false);
});

// ---- per-user quotas (issue 13, hole 11) ----

Deno.test("OrchestratorNode refuses submissions beyond a user's quota of active tasks", () => {
  const d = new Driver({ node: { maxActiveTasksPerUser: 2 } });
  const alice = d.login(ALICE, "alice");
  d.submit(ALICE, alice);
  d.submit(ALICE, alice);
  const { effects } = d.request(ALICE, alice, {
    type: "submit",
    idempotencyKey: "third",
    task: SLEEP,
  });
  const error = errorTo(effects, ALICE);
  assert.equal(error.code, "rate_limited");
  assert.match(error.message, /Quota: user alice has 2 tasks queued or running/);
  // Another user is not affected; a finished task makes room.
  const bob = d.login(BOB, "bob");
  d.submit(BOB, bob);
  d.request(ALICE, alice, { type: "cancel", taskId: "t-1" });
  d.submit(ALICE, alice, { key: "third" });
});

Deno.test("OrchestratorNode counts submissions on their way into the log against the quota", () => {
  const d = new Driver({ node: { maxActiveTasksPerUser: 3 } });
  const alice = d.login(ALICE, "alice");
  d.request(ALICE, alice, { type: "submit", idempotencyKey: "a", task: SLEEP }, { persist: false });
  const batch = d.request(ALICE, alice, {
    type: "submitBatch",
    tasks: [{ idempotencyKey: "b", task: SLEEP }, { idempotencyKey: "c", task: SLEEP }, {
      idempotencyKey: "d",
      task: SLEEP,
    }],
  }, { persist: false });
  assert.equal(errorTo(batch.effects, ALICE).code, "rate_limited");
});

Deno.test("OrchestratorNode refuses submissions beyond a user's quota of retained tasks", () => {
  const d = new Driver({ node: { maxRetainedTasksPerUser: 1 } });
  const alice = d.login(ALICE, "alice");
  d.submit(ALICE, alice);
  d.request(ALICE, alice, { type: "cancel", taskId: "t-1" });
  const { effects } = d.request(ALICE, alice, { type: "submit", idempotencyKey: "x", task: SLEEP });
  assert.match(errorTo(effects, ALICE).message, /maxRetainedTasksPerUser/);
});

Deno.test("OrchestratorNode lets a flood of far-ahead frames move its clock only within a budget", () => {
  const d = new Driver();
  const start = d.node.lamport;
  // 1,000 unauthenticated hellos in one second, each stamped at the largest Lamport time.
  for (let i = 0; i < 1000; i++) {
    d.step({
      type: "hello",
      conn: 100 + i,
      hello: { v: 1, lamport: LAMPORT_MAX, type: "hello", role: "client" },
      nowMs: d.nowMs,
    });
  }
  const advanced = d.node.lamport - start;
  // Without the budget: 1,000 × 2^20. With it: the burst (2^21), plus one tick per frame.
  assert.ok(advanced <= 2 ** 21 + 2 * 1000, `advanced ${advanced}`);
  // The node still works: a login and a submission are stamped and applied.
  const alice = d.login(ALICE, "alice");
  d.submit(ALICE, alice);
});

Deno.test("OrchestratorNode asks its shell to announce it as leader on a tick: at once, then every 250 ms", () => {
  const d = new Driver();
  assert.equal(d.node.isLeader, true, "a one-voter group leads from the start");
  const announced: number[] = [];
  for (let t = TICK_MS; t <= 7 * TICK_MS; t += TICK_MS) {
    d.nowMs = t;
    const effects = d.raw({ type: "tick", nowMs: t });
    if (effects.announce !== null) {
      assert.equal(effects.announce.term, d.node.term);
      announced.push(t);
    }
  }
  assert.deepEqual(announced, [100, 400, 700]);
  const other = d.raw({ type: "connectionClosed", conn: ALICE, nowMs: 10 * TICK_MS });
  assert.equal(other.announce, null, "only a tick announces");
});

Deno.test("OrchestratorNode asks for a local snapshot once enough entries are durable and applied since the last", () => {
  const d = new Driver({ node: { snapshotEveryEntries: 10 } });
  const alice = d.login(ALICE, "alice");
  const asked = () => d.history.flatMap((e) => e.snapshotDue === null ? [] : [e.snapshotDue]);
  while (asked().length === 0) {
    assert.ok(d.sm.appliedIndex < 20, "a snapshot should be due after 10 applied entries");
    d.submit(ALICE, alice);
  }
  const due = asked()[0]!;
  assert.ok(due.index >= 10, `due at ${due.index}, before 10 entries were applied`);
  assert.equal(due.state, d.sm, "the live state, captured by the shell at once");
  d.node.snapshotTaken({
    index: due.index,
    term: due.term,
    source: bytesSnapshotSource(new Uint8Array()),
  });
  const before = asked().length;
  d.submit(ALICE, alice);
  assert.equal(asked().length, before, "not again right after a snapshot was taken");
});

Deno.test("OrchestratorNode asks its shell to check a login's password against the account's current hash", () => {
  const d = new Driver();
  d.login(ALICE, "alice");
  assert.equal(d.node.canServeClients, true);
  const loginAs = (user: string, id: number): Extract<ClientToOrchestrator, { type: "login" }> => ({
    type: "login",
    id,
    v: 1,
    lamport: ++d.peerLamport,
    user,
    password: "pw",
  });
  const request = loginAs("alice", 901);
  const asked = d.raw({ type: "login", conn: ALICE, request, source: "10.0.0.9", nowMs: d.nowMs });
  const passwordHash = d.sm.users.get("alice")?.passwordHash ?? null;
  assert.notEqual(passwordHash, null);
  assert.deepEqual(asked.loginWork, [{ conn: ALICE, request, source: "10.0.0.9", passwordHash }]);
  assert.deepEqual(asked.send, [], "no reply before the check is back");
  const unknown = d.raw({
    type: "login",
    conn: ALICE,
    request: loginAs("nobody", 902),
    source: "10.0.0.9",
    nowMs: d.nowMs,
  });
  assert.equal(unknown.loginWork[0]?.passwordHash, null, "no account: checked against no hash");
});

Deno.test("OrchestratorNode steps inputs that arrived together as one batch: one persist, the same outcome", () => {
  const { d, alice } = withAlice();
  const submit = (key: string, id: number): NodeInput => ({
    type: "clientRequest",
    conn: ALICE,
    request: {
      type: "submit",
      idempotencyKey: key,
      task: SLEEP,
      id,
      token: alice,
      v: 1,
      lamport: ++d.peerLamport,
    } as Request,
    tokenHash: hashOf(alice),
    nowMs: d.nowMs,
  });
  const effects = d.node.stepAll([submit("a", 901), submit("b", 902)]);
  assert.deepEqual(
    effects.persist.entries.map((e) => e.command.type),
    ["taskSubmitted", "taskSubmitted"],
    "both proposals in one step's persistence",
  );
  const last = effects.persist.entries.at(-1)!;
  const acks = d.node.step({ type: "persisted", index: last.index, term: last.term, nowMs: 0 });
  const oks = acks.send.filter((s) => s.message.type === "submitOk").map((s) => s.message);
  assert.deepEqual(oks.map((m) => m.type === "submitOk" && [m.re, m.taskId]), [
    [901, "t-1"],
    [902, "t-2"],
  ]);
});

Deno.test("OrchestratorNode never re-sends an attempt whose result is pending, after a dispatch was refused (review finding)", () => {
  // Found in review: a cancel raced a dispatch sent before its commit; the refused dispatch's
  // result was counted as freeing the slot, which over-filled the worker; a refused assignment
  // was then re-sent while the worker still held its unacknowledged result (it took the re-send
  // for a duplicate), the result was refused as stale, and the task stayed running for ever on
  // a worker that had nothing for it. Replayed here against the real WorkerCore.
  const { d, alice } = withAlice();
  const [t1, t2, t3] = [d.submit(ALICE, alice), d.submit(ALICE, alice), d.submit(ALICE, alice)];
  const toW1: Message[] = [];
  const keep = (e: NodeEffects) =>
    toW1.push(...e.send.filter((o) => o.conn === W1).map((o) => o.message));
  const indexOf = (type: string, taskId: string) =>
    d.entries.find((e) =>
      e.command.type === type && "taskId" in e.command && e.command.taskId === taskId
    )!.index;
  keep(d.register(W1, "w1", { slots: 1, persist: false }));
  const joined = d.entries.at(-1)!.index;
  d.request(ALICE, alice, { type: "cancel", taskId: t1 }, { persist: false });
  keep(d.persistUpTo(joined)); // w1 joins; t-1 is dispatched before the cancel applies
  keep(d.finished(W1, t1, { persist: false })); // w1 ran it at once
  keep(d.persistUpTo(indexOf("taskAssigned", t1))); // cancel applies; t-1's assignment is refused
  keep(d.finished(W1, t2, { persist: false }));
  if (
    d.entries.some((e) =>
      e.command.type === "taskAssigned" && "taskId" in e.command && e.command.taskId === t3
    )
  ) {
    keep(d.finished(W1, t3, { persist: false }));
    keep(d.persistUpTo(indexOf("taskAssigned", t3)));
  }
  keep(d.persist());
  keep(d.persist());

  const core = new WorkerCore({
    info: { name: "w1", incarnation: "w1-i1", slots: 1, canExec: false },
    heartbeatIntervalMs: HEARTBEAT_MS,
    drainTimeoutMs: 10_000,
  });
  core.step({ type: "connected", nowMs: 0 });
  const ran: string[] = [];
  for (const message of toW1) {
    const effects = core.step({
      type: "message",
      message: message as OrchestratorToWorker,
      nowMs: 0,
    });
    const queue = [...effects.start];
    while (queue.length > 0) {
      const s = queue.shift()!;
      ran.push(s.taskId);
      const ended = core.step({
        type: "taskExited",
        taskId: s.taskId,
        attempt: s.attempt,
        outcome: outcome(),
        nowMs: 0,
      });
      queue.push(...ended.start);
    }
  }
  for (const id of [t2, t3]) {
    const task = d.sm.tasks.get(id)!;
    const held = core.runningCount + core.waitingCount + core.unackedCount;
    assert.ok(
      task.state !== "running" || held > 0,
      `${id} is running on w1 while w1 holds nothing for it (ran: ${ran.join(", ")})`,
    );
  }
});

// ---- live output (logs) ----

function logsOf(d: Driver, token: string, taskId: string, extra: Record<string, number> = {}) {
  const { effects } = d.request(ALICE, token, { type: "logs", taskId, ...extra });
  return one(effects, ALICE, "logs");
}

function output(d: Driver, conn: ConnId, text: string, offset: number, attempt = 1) {
  return d.fromWorker(conn, {
    type: "output",
    taskId: "t-1",
    attempt,
    stream: "stdout",
    offset,
    text,
  });
}

Deno.test("OrchestratorNode serves a running attempt's live output from an offset, and records none of it", () => {
  const { d, alice } = withRunningTask();
  d.started(W1, "t-1");
  const before = logsOf(d, alice, "t-1");
  assert.deepEqual([before.isFinal, before.stdout.text, before.stdout.next], [false, "", 0]);
  const effects = output(d, W1, "step 1\n", 0);
  assert.deepEqual(effects.persist.entries, [], "live output is not replicated");
  output(d, W1, "step 2\n", 7);
  const all = logsOf(d, alice, "t-1");
  assert.deepEqual(all.stdout, { offset: 0, text: "step 1\nstep 2\n", next: 14 });
  assert.equal(all.attempt, 1);
  const rest = logsOf(d, alice, "t-1", { attempt: 1, stdoutOffset: 7 });
  assert.deepEqual(rest.stdout, { offset: 7, text: "step 2\n", next: 14 });
  // Offsets of another attempt do not apply.
  assert.equal(logsOf(d, alice, "t-1", { attempt: 9, stdoutOffset: 7 }).stdout.offset, 0);
});

Deno.test("OrchestratorNode ignores output of a stale attempt or another worker's connection", () => {
  const { d, alice } = withRunningTask();
  d.register(W2, "w2");
  output(d, W1, "old attempt\n", 0, 2);
  output(d, W2, "not its task\n", 0);
  assert.equal(logsOf(d, alice, "t-1").stdout.text, "");
});

Deno.test("OrchestratorNode drops live output when the attempt ends and serves the final output", () => {
  const { d, alice } = withRunningTask();
  d.started(W1, "t-1");
  output(d, W1, "live\n", 0);
  d.finished(W1, "t-1", { outcome: outcome({ stdout: "live\nlast\n", stderr: "warn\n" }) });
  const final = logsOf(d, alice, "t-1");
  assert.equal(final.isFinal, true);
  assert.equal(final.state, "succeeded");
  assert.deepEqual(final.stdout, { offset: 0, text: "live\nlast\n", next: null });
  assert.deepEqual(final.stderr, { offset: 0, text: "warn\n", next: null });
  // The view is gone: output arriving late is of no current attempt.
  output(d, W1, "late\n", 5);
  assert.equal(logsOf(d, alice, "t-1").stdout.text, "live\nlast\n");
});

Deno.test("OrchestratorNode answers logs of another user's task as not found", () => {
  const { d } = withRunningTask();
  const bob = d.login(BOB, "bob");
  const { effects } = d.request(BOB, bob, { type: "logs", taskId: "t-1" });
  const error = one(effects, BOB, "error");
  assert.equal(error.code, "not_found");
});

Deno.test("OrchestratorNode drops a lost worker's live output; the next attempt's starts afresh", () => {
  const { d, alice } = withAlice();
  d.register(W1, "w1");
  d.register(W2, "w2");
  d.submit(ALICE, alice); // to w1, first in id order
  d.started(W1, "t-1");
  output(d, W1, "on w1\n", 0);
  assert.equal(logsOf(d, alice, "t-1").stdout.text, "on w1\n");
  d.close(W1);
  d.tick(0);
  d.advance(TIMEOUT_MS + TICK_MS, ["w2"]);
  const task = d.sm.tasks.get("t-1")!;
  assert.deepEqual([task.attempt, task.workerId], [2, "w2"]);
  const after = logsOf(d, alice, "t-1", { attempt: 1, stdoutOffset: 6 });
  assert.deepEqual([after.attempt, after.stdout.text, after.stdout.offset], [2, "", 0]);
  output(d, W2, "on w2\n", 0, 2);
  assert.equal(logsOf(d, alice, "t-1", { attempt: 2 }).stdout.text, "on w2\n");
});

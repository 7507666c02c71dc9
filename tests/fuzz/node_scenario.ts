/**
 * Plays the orchestrator's shell, its clients, workers and peers against a {@link NodeHarness}:
 * draws frames (valid, aimed at what exists, or mutated), decodes them exactly as
 * orchestrator_server.ts does, and feeds the node what the shell would — hello, clientRequest
 * (token hashed), loginChecked (password checked here), workerMessage, heartbeat, peerMessage,
 * protocolError, connectionClosed, tick — plus restarts from disk.
 * @module
 */
import type { ConnId, CurrentPasswordCheck, NodeInput } from "../../orchestrator/core/mod.ts";
import { hashToken } from "../../shared/auth/mod.ts";
import {
  DEFAULT_MAX_FRAME_BYTES,
  LAMPORT_CLIENT_JUMP_MAX,
  LAMPORT_MAX,
  LIMITS,
} from "../../shared/limits.ts";
import type { Rng } from "../../shared/prng.ts";
import { decodeMessage, DIRECTIONS, ProtocolError } from "../../shared/protocol/codec.ts";
import { mutateBytes } from "./byte_mutator.ts";
import { stringifyJson } from "./hostile_values.ts";
import { mutateJson } from "./json_mutator.ts";
import { charsFrom, generateMessage, type Json, type Pools } from "./message_generators.ts";
import { FIRST_WORKER_CONN, NodeHarness, type NodeHarnessOptions } from "./node_harness.ts";
import { RAFT_VOTERS, RaftPeers } from "./raft_peers.ts";

const encoder = new TextEncoder();

/** Client request types, weighted: the ones that reach deep paths come up most. */
const CLIENT_TYPES = [
  ..."login login login submit submit submit submit submitBatch status status wait wait cancel"
    .split(" "),
  ..."cancel list list workers logout nodeStatus userAdd userPasswd userRemove userList".split(" "),
  ..."tokenList tokenRevoke".split(" "),
];
const WORKER_TYPES = "register register started started finished finished handBack drain".split(
  " ",
);
const USER_NAMES = ["alice", "bob", "carol", "dave"];
const WORKER_NAMES = ["w1", "w2", "w3", "w4"];
const INCARNATIONS = ["i1", "i2", "i3"];
const PEER_IDS = ["o2", "o3", "o1", "x"];

/** What a step of the scenario does. */
export const STEP_KINDS = [
  "restart",
  "bulk",
  "client",
  "worker",
  "heartbeat",
  "peer",
  "tick",
  "close",
  "hello",
  "datagram",
] as const;
export type StepKind = typeof STEP_KINDS[number];

/** Step weights with one voter: mostly clients and workers; peers only move the clock. */
export const DEFAULT_WEIGHTS: Readonly<Record<StepKind, number>> = {
  restart: 0.002,
  bulk: 0.0015,
  client: 0.44,
  worker: 0.23,
  heartbeat: 0.08,
  peer: 0.04,
  tick: 0.12,
  close: 0.04,
  hello: 0.02,
  datagram: 0.02,
};

/**
 * With three voters: many more peer messages, and no restarts (a restarted follower applies
 * nothing until a leader says what is committed, so its state cannot be compared at once).
 */
export const RAFT_WEIGHTS: Readonly<Record<StepKind, number>> = {
  ...DEFAULT_WEIGHTS,
  restart: 0,
  peer: 0.16,
  tick: 0.06,
};

/** An input's kind for the summary: its type, and the message type it carries. */
function inputKind(input: NodeInput): string {
  switch (input.type) {
    case "clientRequest":
      return `clientRequest:${input.request.type}`;
    case "workerMessage":
      return `workerMessage:${input.message.type}`;
    case "protocolError":
      return `protocolError:${input.error.code}`;
    case "loginChecked":
      return `loginChecked:${input.session === null ? "refused" : "ok"}`;
    default:
      return input.type;
  }
}

/** What a worker connection said it is. */
interface WorkerIdentity {
  name: string;
  incarnation: string;
}

export interface ScenarioOptions extends NodeHarnessOptions {
  /** Told what is about to be fed, before it is (failure reports show the last few). */
  note?: (text: string) => void;
  /** Counts inputs and replies, for the summary. */
  tally?: (outcome: string) => void;
  /** Probability that a frame is mutated (structurally or bytewise) before it is sent. */
  mutationRate?: number;
  /** How often each kind of step comes, relative to the others (defaults: DEFAULT_WEIGHTS). */
  weights?: Partial<Record<StepKind, number>>;
  /**
   * Three voters, with o2 and o3 played by {@link RaftPeers}, instead of one voter that ignores
   * peer messages. Restarts are off (a restarted follower waits for a leader to commit) and so
   * is the "every request answered at once" check (a leader without acknowledgements holds
   * reads until it steps down).
   */
  raftPeers?: boolean;
  /** Draw account names from a fixed set only, so the replicated state stays bounded. */
  boundedNames?: boolean;
}

export class NodeScenario {
  readonly harness: NodeHarness;
  readonly rng: Rng;
  readonly #options: ScenarioOptions;
  readonly #clients: ConnId[] = [];
  readonly #workers = new Map<ConnId, WorkerIdentity | null>();
  #nextClientConn = 1;
  #nextWorkerConn = FIRST_WORKER_CONN;
  /** Passwords the simulated shell checks logins against. */
  readonly #passwords = new Map<string, string>([["alice", "pw-alice"], ["bob", "pw-bob"]]);
  /** Tokens issued by successful logins (the pool clients draw from). */
  readonly #tokens: string[] = [];
  /** The clients' and workers' Lamport clock: past everything the node sent. */
  #peerLamport = 0;
  #requestCounter = 0;
  readonly pools: Pools;

  readonly #raft: RaftPeers | null;
  readonly #weights: Record<StepKind, number>;
  readonly #totalWeight: number;

  constructor(rng: Rng, options: ScenarioOptions = {}) {
    this.rng = rng;
    this.#options = options.raftPeers ? { ...options, voters: RAFT_VOTERS } : options;
    this.#weights = {
      ...(options.raftPeers ? RAFT_WEIGHTS : DEFAULT_WEIGHTS),
      ...options.weights,
    };
    this.#totalWeight = Object.values(this.#weights).reduce((a, b) => a + b, 0);
    this.harness = new NodeHarness(this.#options);
    this.pools = this.#makePools();
    this.#raft = options.raftPeers ? new RaftPeers(rng, this.harness, this.pools) : null;
  }

  #settle(): void {
    this.harness.persistAll();
    while (this.harness.passwordWork.length > 0) {
      this.#doPasswordWork();
      this.harness.persistAll();
    }
    if (this.#raft === null) this.harness.checkQuiescent();
  }

  /** True while setting up: frames go out unmutated. */
  #settingUp = false;

  /** Logs in alice and bob, registers workers, submits a few tasks: deep paths need them. */
  setUp(): void {
    this.#settingUp = true;
    this.harness.persistAll();
    const alice = this.#openClient();
    const bob = this.#openClient();
    this.#clientFrame(alice, this.#login("alice", "pw-alice"));
    this.#clientFrame(bob, this.#login("bob", "pw-bob"));
    this.harness.persistAll(); // the sessions exist once their entries are applied
    for (const [name, slots] of [["w1", 2], ["w2", 3]] as const) {
      const conn = this.#openWorker();
      this.#workerFrame(conn, {
        v: 1,
        lamport: this.#lamport(),
        type: "register",
        worker: { name, incarnation: "i1", slots, canExec: name === "w2" },
        running: [],
      });
    }
    for (let i = 0; i < 3; i++) {
      const message = generateMessage(this.rng, "clientToOrchestrator", {
        type: "submit",
        pools: this.pools,
      });
      this.#clientFrame(alice, { ...message, token: this.#tokens[0] ?? "none" });
    }
    this.#settingUp = false;
    this.#settle();
  }

  /** Draws and feeds one step; returns a description of it for failure reports. */
  step(): string {
    const rng = this.rng;
    const kind = this.#drawKind();
    let what: string;
    switch (kind) {
      case "restart":
        this.#options.note?.("restart from disk");
        this.#restart();
        what = "restart from disk";
        break;
      case "bulk":
        what = this.#bulkStep();
        break;
      case "client":
        what = this.#clientStep();
        break;
      case "worker":
        what = this.#workerStep();
        break;
      case "heartbeat":
        what = this.#heartbeatStep();
        break;
      case "peer":
        what = this.#peerStep();
        break;
      case "tick":
        what = this.#tickStep();
        break;
      case "close":
        what = this.#closeStep();
        break;
      case "hello":
        what = this.#helloStep();
        break;
      case "datagram": {
        const reason = rng.pick(["malformed", "forged", "stale", "replayed"] as const);
        this.#feed({ type: "datagramRejected", reason, nowMs: this.harness.nowMs });
        what = `datagram rejected (${reason})`;
        break;
      }
    }
    if (rng.chance(0.9)) this.#settle();
    return what;
  }

  #drawKind(): StepKind {
    const weights = this.#weights;
    let roll = this.rng.next() * this.#totalWeight;
    for (const kind of STEP_KINDS) {
      roll -= weights[kind];
      if (roll < 0) return kind;
    }
    return "tick";
  }

  // ---- clients ----

  #openClient(): ConnId {
    const conn = this.#nextClientConn++;
    this.#clients.push(conn);
    this.#feed({
      type: "hello",
      conn,
      hello: { v: 1, type: "hello", role: "client", lamport: this.#lamport() },
      nowMs: this.harness.nowMs,
    });
    return conn;
  }

  #clientStep(): string {
    const rng = this.rng;
    if (this.#clients.length < 2 || rng.chance(0.02)) this.#openClient();
    const conn = rng.pick(this.#clients);
    const type = this.#validTokens().length === 0 && rng.chance(0.5)
      ? "login"
      : rng.pick(CLIENT_TYPES);
    let message = generateMessage(rng, "clientToOrchestrator", { type, pools: this.pools });
    if (type === "login") {
      const user = rng.pick([...USER_NAMES, "alice", "bob", "mallory"]);
      const password = rng.chance(0.7) ? this.#passwords.get(user) ?? "?" : "wrong";
      message = { ...message, user, password };
    }
    if (type === "wait") message.timeoutMs = rng.chance(0.8) ? rng.int(1, 5000) : message.timeoutMs;
    return `client ${conn}: ${this.#clientFrame(conn, message)}`;
  }

  /**
   * A batch of tasks with the longest descriptions of characters JSON escapes to six bytes,
   * as many as fit in one frame: replies that list or show them must still fit in one.
   */
  #bulkStep(): string {
    const rng = this.rng;
    const conn = this.#clients[0] ?? this.#openClient();
    const wide = rng.pick(["\u0000", "\u001f", "\ud800"]).repeat(LIMITS.descriptionChars);
    const count = Math.floor(DEFAULT_MAX_FRAME_BYTES / (wide.length * 6 + 200));
    const message = {
      v: 1,
      lamport: this.#lamport(),
      type: "submitBatch",
      id: this.#requestId(),
      token: this.pools.token(rng),
      tasks: Array.from({ length: count }, () => ({
        idempotencyKey: `bulk-${rng.int(1, 100)}`,
        task: { kind: "sleep", description: wide, durationMs: rng.int(0, 60_000) },
      })),
    };
    return `client ${conn}: bulk ${this.#clientFrame(conn, message)}`;
  }

  #login(user: string, password: string): Json {
    return {
      v: 1,
      lamport: this.#lamport(),
      type: "login",
      id: this.#requestId(),
      user,
      password,
    };
  }

  /** Sends a client frame through the shell's decoding; returns what was sent. */
  #clientFrame(conn: ConnId, message: Json): string {
    const { payload, description } = this.#encode(message);
    if (this.#refuseOversized(conn, payload, description)) return `${description} (too large)`;
    const decoded = decodeMessage(payload, DIRECTIONS.clientToOrchestrator);
    const nowMs = this.harness.nowMs;
    if (!decoded.ok) {
      this.#feed({ type: "protocolError", conn, error: decoded.error, nowMs }, description);
      return `${description} -> ${decoded.error.code}`;
    }
    const request = decoded.message;
    if (request.type === "login") {
      this.#feed(this.#checkLogin(conn, request), `client ${conn}: ${description}`);
      return `${description} (login ${request.user})`;
    }
    // Like the shell: password requests go in unhashed; the node asks for scrypt (passwordWork)
    // only once they are authorized, and #feed carries that out.
    this.#feed({
      type: "clientRequest",
      conn,
      request,
      tokenHash: hashToken(request.token),
      nowMs,
    }, `client ${conn}: ${description}`);
    return description;
  }

  /** What the shell's LoginChecker decides, without scrypt: the scenario knows the passwords. */
  #checkLogin(
    conn: ConnId,
    request: { id: number; lamport: number; user: string; password: string },
  ): NodeInput {
    const rng = this.rng;
    const base = {
      type: "loginChecked" as const,
      conn,
      requestId: request.id,
      lamport: request.lamport,
      user: request.user,
      source: "127.0.0.1",
      nowMs: this.harness.nowMs,
    };
    if (rng.chance(0.03)) return { ...base, session: null, retryAfterMs: rng.int(1, 60_000) };
    const known = this.harness.node.sm.users.has(request.user);
    if (!known || this.#passwords.get(request.user) !== request.password) {
      return { ...base, session: null };
    }
    // A small pool of tokens per user, so sessions stay bounded however long the run.
    const token = `tok-${request.user}-${rng.int(1, 3)}`;
    if (!this.#tokens.includes(token)) this.#tokens.push(token);
    const ttlMs = rng.chance(0.9) ? 86_400_000 : rng.int(1, 5000);
    return {
      ...base,
      session: { token, tokenHash: hashToken(token), expiresAtMs: this.harness.nowMs + ttlMs },
    };
  }

  // ---- workers ----

  #openWorker(): ConnId {
    const conn = this.#nextWorkerConn++;
    this.#workers.set(conn, null);
    this.#feed({
      type: "hello",
      conn,
      hello: { v: 1, type: "hello", role: "worker", lamport: this.#lamport() },
      nowMs: this.harness.nowMs,
    });
    return conn;
  }

  #workerStep(): string {
    const rng = this.rng;
    if (this.#workers.size < 2 || rng.chance(0.03)) this.#openWorker();
    const conn = rng.pick([...this.#workers.keys()]);
    const identity = this.#workers.get(conn) ?? null;
    const type = identity === null && rng.chance(0.8) ? "register" : rng.pick(WORKER_TYPES);
    const message = generateMessage(rng, "workerToOrchestrator", { type, pools: this.pools });
    if (type === "register" && rng.chance(0.8)) {
      // Mostly an ordinary worker: few slots, the name it had on this connection, and sometimes
      // reporting what the state says it runs (a reconnect).
      const worker = message.worker as Json;
      worker.slots = rng.int(1, 4);
      if (identity !== null && rng.chance(0.8)) worker.name = identity.name;
      const record = this.harness.node.sm.workers.get(String(worker.name));
      if (record !== undefined && rng.chance(0.5)) {
        worker.incarnation = record.incarnation;
        message.running = [...record.running].map((taskId) => ({
          taskId,
          attempt: this.harness.node.sm.tasks.get(taskId)!.attempt,
        }));
      }
    }
    if (type !== "register" && type !== "drain" && identity !== null && rng.chance(0.75)) {
      this.#aimAtRunningTask(message, identity.name);
    }
    return `worker ${conn}: ${this.#workerFrame(conn, message)}`;
  }

  /** Points a worker report at a task the state says this worker runs, with its attempt. */
  #aimAtRunningTask(message: Json, workerName: string): void {
    const running = [...this.harness.node.sm.workers.get(workerName)?.running ?? []];
    if (running.length === 0) return;
    const taskId = this.rng.pick(running);
    message.taskId = taskId;
    const attempt = this.harness.node.sm.tasks.get(taskId)!.attempt;
    message.attempt = this.rng.chance(0.85) ? attempt : Math.max(1, attempt + this.rng.int(-1, 1));
  }

  #workerFrame(conn: ConnId, message: Json): string {
    const { payload, description } = this.#encode(message);
    if (this.#refuseOversized(conn, payload, description)) return `${description} (too large)`;
    const decoded = decodeMessage(payload, DIRECTIONS.workerToOrchestrator);
    const nowMs = this.harness.nowMs;
    if (!decoded.ok) {
      this.#feed({ type: "protocolError", conn, error: decoded.error, nowMs }, description);
      return `${description} -> ${decoded.error.code}`;
    }
    if (decoded.message.type === "register") {
      const { name, incarnation } = decoded.message.worker;
      this.#workers.set(conn, { name, incarnation });
    }
    this.#feed(
      { type: "workerMessage", conn, message: decoded.message, nowMs },
      `worker ${conn}: ${description}`,
    );
    return description;
  }

  // ---- datagrams, peers, time, connections ----

  #heartbeatStep(): string {
    const rng = this.rng;
    const message = generateMessage(rng, "heartbeat", { pools: this.pools });
    const live = [...this.harness.node.sm.workers.values()];
    if (live.length > 0 && rng.chance(0.8)) {
      const worker = rng.pick(live);
      message.workerId = worker.id;
      message.incarnation = worker.incarnation;
    }
    const { payload, description } = this.#encode(message);
    const decoded = decodeMessage(payload, DIRECTIONS.heartbeat);
    const nowMs = this.harness.nowMs;
    this.#feed(
      decoded.ok
        ? { type: "heartbeat", heartbeat: decoded.message, nowMs }
        : { type: "datagramRejected", reason: "malformed", nowMs },
      `heartbeat ${description}`,
    );
    return `heartbeat ${description}`;
  }

  /** Connected workers send their heartbeats, as real ones do every interval. */
  #honestHeartbeats(): void {
    const sm = this.harness.node.sm;
    for (const identity of this.#workers.values()) {
      const worker = identity === null ? undefined : sm.workers.get(identity.name);
      if (worker === undefined || worker.incarnation !== identity!.incarnation) continue;
      if (!this.rng.chance(0.9)) continue;
      this.#feed({
        type: "heartbeat",
        heartbeat: {
          v: 1,
          type: "heartbeat",
          lamport: this.#lamport(),
          workerId: worker.id,
          incarnation: worker.incarnation,
          seq: 0,
          running: worker.running.size,
          slots: worker.slots,
          sentAtMs: this.harness.nowMs,
        },
        nowMs: this.harness.nowMs,
      }, `heartbeat from ${worker.id}`);
    }
  }

  #peerStep(): string {
    const rng = this.rng;
    const { from, message, what } = this.#raft?.draw() ?? {
      from: rng.pick(PEER_IDS),
      message: generateMessage(rng, "peer", { pools: this.pools }),
      what: "random",
    };
    const { payload, description } = this.#encode(message);
    const decoded = decodeMessage(payload, DIRECTIONS.peer);
    const said = `peer ${from} (${what}): ${description}`;
    // The shell logs and drops a peer frame that does not decode.
    if (decoded.ok) {
      this.#feed(
        { type: "peerMessage", from, message: decoded.message, nowMs: this.harness.nowMs },
        `${said} ${JSON.stringify(decoded.message).slice(0, 300)}`,
      );
    }
    return said;
  }

  #tickStep(): string {
    const rng = this.rng;
    const roll = rng.next();
    // Reads and proposals are settled before time moves, as a shell's fsync is quick.
    this.harness.persistAll();
    this.#honestHeartbeats();
    const advanceMs = roll < 0.5
      ? 100
      : roll < 0.8
      ? rng.int(0, 1000)
      : roll < 0.93
      ? rng.int(1000, 6000)
      : roll < 0.965
      ? 600_000
      : roll < 0.97
      ? 86_400_000
      : -rng.int(1, 5000); // a clock stepped back: the node must not go back with it
    const nowMs = this.harness.nowMs + advanceMs;
    this.#feed({ type: "tick", nowMs }, `tick ${advanceMs} ms`);
    return `tick ${advanceMs >= 0 ? "+" : ""}${advanceMs} ms`;
  }

  #closeStep(): string {
    const rng = this.rng;
    const workers = [...this.#workers.keys()];
    const conn = rng.chance(0.5) && workers.length > 0
      ? rng.pick(workers)
      : rng.pick(this.#clients);
    if (conn === undefined) return "close (nothing open)";
    this.#close(conn);
    return `close ${conn}`;
  }

  #helloStep(): string {
    const rng = this.rng;
    const message = generateMessage(rng, "hello", { type: "hello", pools: this.pools });
    const { payload, description } = this.#encode(message);
    const decoded = decodeMessage(payload, DIRECTIONS.hello);
    const conn = this.#nextClientConn++;
    const nowMs = this.harness.nowMs;
    if (decoded.ok && decoded.message.type === "hello") {
      this.#feed({ type: "hello", conn, hello: decoded.message, nowMs });
      this.#clients.push(conn);
    } else {
      // The shell answers a bad first frame with an error, then closes the connection.
      const error = decoded.ok ? null : decoded.error;
      if (error !== null) this.#feed({ type: "protocolError", conn, error, nowMs });
      this.#feed({ type: "connectionClosed", conn, nowMs });
    }
    return `hello on new connection ${conn}: ${description}`;
  }

  /**
   * What the shell does with a frame over maxFrameBytes: frame_too_large, then a close.
   * Returns true when it did.
   */
  #refuseOversized(conn: ConnId, payload: Uint8Array, description: string): boolean {
    if (payload.length <= DEFAULT_MAX_FRAME_BYTES) return false;
    const nowMs = this.harness.nowMs;
    const error = new ProtocolError(
      "frame_too_large",
      `Frame of ${payload.length} bytes exceeds the ${DEFAULT_MAX_FRAME_BYTES}-byte limit`,
    );
    this.#feed({ type: "protocolError", conn, error, nowMs }, `${description} (too large)`);
    this.#close(conn);
    return true;
  }

  #close(conn: ConnId): void {
    this.#feed({ type: "connectionClosed", conn, nowMs: this.harness.nowMs }, `close ${conn}`);
    this.#workers.delete(conn);
    const index = this.#clients.indexOf(conn);
    if (index >= 0) this.#clients.splice(index, 1);
  }

  #restart(): void {
    this.harness.restart();
    // Every connection died with the process; clients and workers reconnect.
    this.#clients.length = 0;
    this.#workers.clear();
  }

  // ---- helpers ----

  #feed(input: NodeInput, what: string = input.type): void {
    this.#options.note?.(what);
    const effects = this.harness.step(input);
    this.#options.tally?.(`in:${inputKind(input)}`);
    for (const { message } of effects.send) {
      this.#peerLamport = Math.max(this.#peerLamport, message.lamport);
    }
    this.#doPasswordWork();
  }

  /**
   * Carries out the scrypt work the node asked for, as the shell would, without scrypt: the
   * scenario knows the passwords.
   */
  #doPasswordWork(): void {
    const work = this.harness.passwordWork.shift();
    if (work === undefined) return;
    const { request } = work;
    let currentPasswordCheck: CurrentPasswordCheck | undefined;
    if (work.verifyCurrentOf !== null) {
      const hash = this.harness.node.sm.users.get(work.verifyCurrentOf)?.passwordHash ?? null;
      const current = request.type === "userPasswd" ? request.currentPassword : undefined;
      currentPasswordCheck = this.rng.chance(0.03)
        ? { verdict: "throttled", retryAfterMs: this.rng.int(1, 60_000) }
        : hash !== null && current === this.#passwords.get(work.verifyCurrentOf)
        ? { verdict: "ok", checkedPasswordHash: hash }
        : { verdict: "wrong", checkedPasswordHash: hash };
    }
    const hashed = currentPasswordCheck === undefined || currentPasswordCheck.verdict === "ok";
    if (hashed) this.#passwords.set(request.name, request.password);
    this.#feed({
      type: "clientRequest",
      conn: work.conn,
      request,
      tokenHash: work.tokenHash,
      ...(hashed ? { passwordHash: `scrypt$fuzz$${request.name}` } : {}),
      ...(currentPasswordCheck === undefined ? {} : { currentPasswordCheck }),
      nowMs: this.harness.nowMs,
    }, `password work for ${request.type} ${request.name}`);
  }

  /** Encodes a message, mutated with the scenario's mutation rate. */
  #encode(message: Json): { payload: Uint8Array; description: string } {
    const rng = this.rng;
    this.#options.tally?.("frames");
    const rate = this.#options.mutationRate ?? 0.25;
    const type = String(message.type);
    if (this.#settingUp || !rng.chance(rate)) {
      // Generated messages hold no raw JSON: the plain (fast) JSON.stringify will do.
      return { payload: encoder.encode(JSON.stringify(message)), description: type };
    }
    if (rng.chance(0.6)) {
      const { value, did } = mutateJson(rng, message);
      return {
        payload: encoder.encode(stringifyJson(value)),
        description: `${type} with ${did.join("; ")}`,
      };
    }
    const { bytes, did } = mutateBytes(rng, encoder.encode(stringifyJson(message)));
    return { payload: bytes, description: `${type} bytes ${did.join("; ")}` };
  }

  /** An honest client's Lamport time, or sometimes one at or past the bounds. */
  #lamport(): number {
    const rng = this.rng;
    if (rng.chance(0.99)) return ++this.#peerLamport;
    return rng.pick([
      0,
      this.#peerLamport + LAMPORT_CLIENT_JUMP_MAX,
      this.#peerLamport + LAMPORT_CLIENT_JUMP_MAX + 1,
      LAMPORT_MAX,
    ]);
  }

  /** A fresh request id; sometimes a recent one again (a hostile client reusing ids). */
  #requestId(): number {
    if (this.rng.chance(0.02) && this.#requestCounter > 0) {
      return this.#requestCounter - this.rng.int(0, Math.min(5, this.#requestCounter - 1));
    }
    return ++this.#requestCounter;
  }

  /** Issued tokens whose session exists and has not expired. */
  #validTokens(): string[] {
    const { sessions } = this.harness.node.sm;
    return this.#tokens.filter((token) => {
      const session = sessions.get(hashToken(token));
      return session !== undefined && session.expiresAtMs > this.harness.nowMs;
    });
  }

  #makePools(): Pools {
    const sm = () => this.harness.node.sm;
    return {
      token: (r) => {
        const roll = r.next();
        const valid = this.#validTokens();
        if (roll < 0.8 && valid.length > 0) return r.pick(valid);
        if (roll < 0.9 && this.#tokens.length > 0) return r.pick(this.#tokens);
        if (roll < 0.95) return `tok-${r.pick(USER_NAMES)}-${r.int(1, 4)}`;
        return charsFrom(r, "abcdef0123456789", r.int(1, 64));
      },
      taskId: (r) => {
        const next = sm().nextTaskSeq;
        if (next > 1 && r.chance(0.85)) return `t-${r.int(1, next - 1)}`;
        return r.pick(["t-0", `t-${next}`, "t-999999", "x"]);
      },
      // Mostly accounts other than the bootstrap ones: removing alice ends admin paths.
      userName: (r) =>
        r.chance(0.1)
          ? r.pick(USER_NAMES)
          : r.chance(0.85) || this.#options.boundedNames
          ? r.pick(["carol", "dave"])
          : charsFrom(r, "abcxyz._-@0", 6),
      workerName: (r) => r.chance(0.9) ? r.pick(WORKER_NAMES) : `w${r.int(5, 9)}`,
      incarnation: (r) => r.chance(0.9) ? r.pick(INCARNATIONS) : `i${r.int(4, 9)}`,
      idempotencyKey: (r) => `k-${r.int(1, 40)}`,
      attempt: (r) => r.chance(0.9) ? r.int(1, 4) : r.int(1, 2 ** 40),
      requestId: () => this.#requestId(),
      lamport: () => this.#lamport(),
    };
  }
}

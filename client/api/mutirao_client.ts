/**
 * The client library: connects to the cluster, sends requests and returns
 * their replies. It follows "not leader" hints, tries the next orchestrator
 * when one is unreachable, and retries with exponential backoff and jitter
 * within a time budget. Every request it retries is safe to repeat: reads are
 * idempotent, and submissions carry an idempotency key.
 * @module
 */
import { ArrivalWindow } from "../../shared/arrival_window.ts";
import { addressOf, type OrchestratorAddress } from "../../shared/config/mod.ts";
import { RemoteError } from "../../shared/errors.ts";
import { LamportClock } from "../../shared/lamport_clock.ts";
import { MAX_REPLY_FRAME_BYTES, PROTOCOL_VERSION } from "../../shared/limits.ts";
import { FramedConnection } from "../../shared/net/framed_connection.ts";
import { FrameTooLargeError } from "../../shared/protocol/frame.ts";
import { connectTo, type TlsClientOptions } from "../../shared/net/connect.ts";
import { CLIENT_RETRY, isClusterDown, retryPauseMs } from "../../shared/net/retry_policy.ts";
import { decodeMessage, DIRECTIONS } from "../../shared/protocol/codec.ts";
import type {
  ClientToOrchestrator,
  OrchestratorToClient,
  Unstamped,
} from "../../shared/protocol/messages.ts";

/** No orchestrator could be reached (or none could serve) within the time budget. */
export class UnreachableError extends Error {
  override name = "UnreachableError";
}

/**
 * An orchestrator's welcome named another cluster than the one the client is bound to; nothing
 * was sent on that connection after the hello. Not retried: the address list is wrong.
 */
export class WrongClusterError extends Error {
  override name = "WrongClusterError";
  /** The cluster the client is bound to, and the one the orchestrator named. */
  readonly expected: string;
  readonly actual: string;

  constructor(address: string, expected: string, actual: string) {
    super(
      `${address} belongs to cluster "${actual}", not "${expected}": refusing to send it ` +
        `requests or credentials`,
    );
    this.expected = expected;
    this.actual = actual;
  }
}

export interface ClientOptions {
  orchestrators: readonly OrchestratorAddress[];
  /** Total time a request may take, retries included (default 10 s). */
  timeoutMs?: number;
  /** Largest frame accepted from orchestrators (default MAX_REPLY_FRAME_BYTES). */
  maxFrameBytes?: number;
  /** The Lamport clock to stamp requests with and advance on replies (persisted by the CLI). */
  clock?: LamportClock;
  /** TLS: the CA to verify orchestrators with; null or absent for plain TCP. */
  tls?: TlsClientOptions | null;
  /**
   * The cluster to talk to: a connection whose welcome names another cluster id is closed before
   * any request (and so any token or password) is sent on it, with WrongClusterError. Absent: the
   * first welcome's cluster id is adopted and every later connection must match it.
   */
  clusterId?: string;
}

type Request = Unstamped<ClientToOrchestrator> extends infer R
  ? R extends { id: number } ? Omit<R, "id"> : never
  : never;
type Reply = Exclude<OrchestratorToClient, { type: "welcome" }>;

/** The reply type for a request type. */
export type ReplyTo<T extends Request["type"]> = T extends "login"
  ? Extract<Reply, { type: "loginOk" }>
  : T extends "logout" ? Extract<Reply, { type: "logoutOk" }>
  : T extends "submit" ? Extract<Reply, { type: "submitOk" }>
  : T extends "submitBatch" ? Extract<Reply, { type: "submitBatchOk" }>
  : T extends "list" ? Extract<Reply, { type: "taskList" }>
  : T extends "workers" ? Extract<Reply, { type: "workerList" }>
  : T extends "nodeStatus" ? Extract<Reply, { type: "nodeStatusReply" }>
  : T extends "userAdd" | "userPasswd" | "userRemove" | "tokenRevoke"
    ? Extract<Reply, { type: "done" }>
  : T extends "userList" ? Extract<Reply, { type: "userList" }>
  : T extends "tokenList" ? Extract<Reply, { type: "tokenList" }>
  : T extends "purge" ? Extract<Reply, { type: "purged" }>
  : T extends "scheduleAdd" | "scheduleRemove" | "schedulePause" ? Extract<Reply, { type: "done" }>
  : T extends "scheduleList" ? Extract<Reply, { type: "scheduleList" }>
  : T extends "logs" ? Extract<Reply, { type: "logs" }>
  : Extract<Reply, { type: "task" }>;

/**
 * How long an orchestrator that went silent during a request is passed over (not tried, hints to
 * it not followed) before it is tried again.
 */
const SILENCE_FORGOTTEN_MS = 3000;

/** Error codes that mean "try elsewhere or later", not "your request is wrong". */
const RETRYABLE = new Set(["not_leader", "unavailable"]);

/**
 * An orchestrator sends every client a keepalive each heartbeat interval (500 ms by default).
 * Silence while a reply is owed means it is frozen or cut off (a connection that never closes),
 * and the request is retried elsewhere (safe: submissions are idempotent). How much silence is
 * too much is learnt from the keepalives' observed gaps (phi accrual: about the interval plus
 * half a second when they are steady, more when they vary); until KEEPALIVE_GAPS_MIN gaps are
 * known, SILENCE_DEFAULT_MS (three default intervals) applies.
 */
const SILENCE_DEFAULT_MS = 1500;
const KEEPALIVE_GAPS_MIN = 3;
/** A live orchestrator is this silent once in 10^8 (the threshold Akka's detector defaults to). */
const SILENCE_PHI = 8;
/** Never below one and a half observed intervals, however steady the keepalives were. */
const SILENCE_MIN_INTERVALS = 1.5;
/** What to check when a plaintext hello gets no welcome: the usual cause is a TLS port. */
const TLS_HINT =
  "if the cluster uses TLS, give its CA (tls.caFile in the cluster file, or --tls-ca FILE)";

interface Connection {
  address: string;
  conn: FramedConnection;
  /** When a frame last arrived on it. */
  lastFrameMs: number;
  /** The keepalives' arrivals: how much silence is normal for this orchestrator. */
  keepalives: ArrivalWindow;
  pending: Map<number, PromiseWithResolvers<Reply>>;
}

export class MutiraoClient {
  readonly #orchestrators: OrchestratorAddress[];
  readonly #timeoutMs: number;
  readonly #maxFrameBytes: number;
  readonly clock: LamportClock;
  readonly #tls: TlsClientOptions | null;
  #clusterId: string | null;
  #preferred = 0;
  #connection: Connection | null = null;
  #nextId = 1;

  constructor(options: ClientOptions) {
    if (options.orchestrators.length === 0) {
      throw new TypeError("Client needs at least one orchestrator");
    }
    this.#orchestrators = [...options.orchestrators];
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxFrameBytes = options.maxFrameBytes ?? MAX_REPLY_FRAME_BYTES;
    this.clock = options.clock ?? new LamportClock();
    this.#tls = options.tls ?? null;
    this.#clusterId = options.clusterId ?? null;
  }

  /** The cluster id the client is bound to: given, or adopted from the first welcome. */
  get clusterId(): string | null {
    return this.#clusterId;
  }

  /** The orchestrator currently connected to, as "host:port", if any. */
  get connectedTo(): string | null {
    return this.#connection?.address ?? null;
  }

  /**
   * Sends a request and returns its reply.
   * @throws {RemoteError} for an error reply that retrying cannot fix.
   * @throws {UnreachableError} when no orchestrator answered within the time budget.
   * @throws {WrongClusterError} when an orchestrator's welcome names another cluster.
   */
  async request<R extends Request>(request: R): Promise<ReplyTo<R["type"]>> {
    const deadline = Date.now() + this.#timeoutMs;
    let lastProblem = "no attempt made";
    // Orchestrators that definitely cannot serve now (refused the connection, or said
    // "unavailable"), since any attempt got further: when that is all of them, say so at once.
    const down = new Set<string>();
    let downSinceMs = 0;
    let refusals = 0;
    // Orchestrators that went silent during this request (frozen or cut off): not tried again,
    // nor followed to by a hint (a follower names the frozen leader until it times out), while
    // another one may answer.
    const silent = new Map<string, number>();
    // What an orchestrator said (e.g. "No quorum") explains more than a refused connection,
    // and a definite local failure (a close before the welcome, with its TLS hint) explains more
    // than the time budget running out during a later attempt.
    let lastRemoteProblem: string | null = null;
    let lastDefiniteProblem: string | null = null;
    for (let attempt = 0;; attempt++) {
      const target = this.#connection?.address ?? this.#preferredAddress();
      try {
        const reply = await this.#once(request, deadline);
        return reply as ReplyTo<R["type"]>;
      } catch (error) {
        if (error instanceof RemoteError && !RETRYABLE.has(error.code)) throw error;
        if (error instanceof WrongClusterError) throw error;
        lastProblem = (error as Error).message;
        if (error instanceof RemoteError) lastRemoteProblem = error.message;
        else if (!(error instanceof TimeoutError)) lastDefiniteProblem = lastProblem;
        const refused = isRefusal(error);
        if (refused || (error instanceof RemoteError && error.code === "unavailable")) {
          if (down.size === 0) downSinceMs = Date.now();
          down.add(target);
          if (refused) refusals += 1;
        } else {
          down.clear();
          refusals = 0;
        }
        const downForMs = Date.now() - downSinceMs;
        const orchestrators = this.#orchestrators.length;
        if (down.size > 0 && isClusterDown({ downCount: down.size, orchestrators, downForMs })) {
          this.#disconnect();
          throw new UnreachableError(
            lastRemoteProblem ??
              (refusals >= down.size
                ? `No orchestrator accepts connections (${
                  this.#orchestrators.map(addressOf).join(", ")
                } refused): is the cluster running, and are these its addresses?`
                : lastProblem),
          );
        }
        if (error instanceof TimeoutError) silent.set(target, Date.now());
        // Silence is forgotten after a while: a loaded leader that missed one welcome answers the
        // next, and followers keep pointing at it (shunned for the whole budget, the request
        // circled the followers until it ran out).
        for (const [address, sinceMs] of silent) {
          if (Date.now() - sinceMs >= SILENCE_FORGOTTEN_MS) silent.delete(address);
        }
        const tried = this.#preferred;
        if (error instanceof RemoteError && error.leaderHint !== undefined) {
          this.#preferLeader(error.leaderHint);
          // A hint back to a silent orchestrator is stale: try the next one instead.
          if (silent.has(this.#preferredAddress())) this.#preferred = tried + 1;
        } else {
          this.#preferred += 1;
        }
        this.#skipSilent(silent);
        this.#disconnect();
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      // Cycle once through every orchestrator quickly before backing off further.
      const policy = { ...CLIENT_RETRY, quickFailures: this.#orchestrators.length };
      const pause = Math.min(
        remaining,
        retryPauseMs(policy, { failures: attempt, random: Math.random() }),
      );
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
    throw new UnreachableError(
      `Cannot reach the cluster (${this.#orchestrators.map(addressOf).join(", ")}) within ${
        this.#timeoutMs / 1000
      } s: ${
        describeProblems(lastRemoteProblem ?? lastDefiniteProblem ?? lastProblem, lastProblem)
      }`,
    );
  }

  /** Closes the connection. */
  close(): void {
    this.#disconnect();
  }

  async #once(request: Request, deadline: number): Promise<Reply> {
    const connection = this.#connection ?? await this.#connect(deadline);
    const id = this.#nextId++;
    const waiter = Promise.withResolvers<Reply>();
    connection.pending.set(id, waiter);
    connection.conn.send({ ...request, id, v: PROTOCOL_VERSION, lamport: this.clock.tick() });
    // A `wait` request may legitimately take until its own timeout; give it a little more.
    const waitMs = request.type === "wait" ? request.timeoutMs + 5000 : deadline - Date.now();
    const reply = await awaitReply(connection, waiter.promise, Math.max(1, waitMs))
      .finally(() => connection.pending.delete(id));
    if (reply.type === "error") {
      throw new RemoteError(reply.code, reply.message, { leaderHint: reply.leaderHint });
    }
    return reply;
  }

  async #connect(deadline: number): Promise<Connection> {
    const target = this.#orchestrators[this.#preferred % this.#orchestrators.length];
    const address = addressOf(target);
    const raw = await withTimeout(
      connectTo(target, this.#tls),
      Math.max(1, Math.min(CLIENT_RETRY.connectTimeoutMs, deadline - Date.now())),
      `Connecting to ${address} timed out`,
    );
    const conn = new FramedConnection(raw, { maxFrameBytes: this.#maxFrameBytes });
    const pending = new Map<number, PromiseWithResolvers<Reply>>();
    const welcome = Promise.withResolvers<void>();
    const connection: Connection = {
      address,
      conn,
      pending,
      lastFrameMs: Date.now(),
      keepalives: new ArrivalWindow({
        expectedGapMs: SILENCE_DEFAULT_MS / 3,
        // Timer and scheduling noise of a healthy orchestrator, whatever its interval.
        minStdDevMs: 100,
      }),
    };
    // It settles every pending reply itself when the connection ends; nothing awaits it.
    void this.#readLoop(connection, welcome);
    conn.send({ v: PROTOCOL_VERSION, type: "hello", role: "client", lamport: this.clock.tick() });
    // A live orchestrator answers hello at once; a frozen one accepted the TCP connection (the
    // kernel does that) but will never answer: try another soon rather than wait out the budget.
    try {
      await withTimeout(
        welcome.promise,
        Math.max(1, Math.min(CLIENT_RETRY.welcomeTimeoutMs, deadline - Date.now())),
        `No welcome from ${address}` + (this.#tls === null ? `; ${TLS_HINT}` : ""),
      );
    } catch (error) {
      conn.close(); // not ours yet: #disconnect() would not close it, and it would stay open
      throw error;
    }
    this.#connection = connection;
    return connection;
  }

  async #readLoop(connection: Connection, welcome: PromiseWithResolvers<void>): Promise<void> {
    const { conn, address, pending } = connection;
    let welcomed = false;
    let failure: Error = new Error(`Connection to ${address} closed`);
    try {
      for await (const payload of conn.frames()) {
        connection.lastFrameMs = Date.now();
        const decoded = decodeMessage(payload, DIRECTIONS.orchestratorToClient);
        if (!decoded.ok) {
          failure = new Error(`Bad reply from ${address}: ${decoded.error.message}`);
          break;
        }
        const message = decoded.message;
        this.clock.receive(message.lamport);
        if (message.type === "keepalive") {
          connection.keepalives.record(connection.lastFrameMs);
          continue; // its arrival is the message
        } else if (message.type === "welcome") {
          // Requests are sent only once the welcome resolves: a wrong cluster never sees one.
          this.#clusterId ??= message.clusterId;
          if (message.clusterId !== this.#clusterId) {
            failure = new WrongClusterError(address, this.#clusterId, message.clusterId);
            break;
          }
          welcomed = true;
          welcome.resolve();
        } else if (message.type === "error" && message.re === null) {
          failure = new RemoteError(message.code, message.message, {
            leaderHint: message.leaderHint,
          });
          welcome.reject(failure);
        } else if (message.re !== null) {
          pending.get(message.re)?.resolve(message);
        }
      }
    } catch (error) {
      failure = error instanceof FrameTooLargeError && looksLikeTls(error.announcedBytes)
        ? new Error(
          `${address} answered with TLS: the cluster uses TLS; give its CA ` +
            `(tls.caFile in the cluster file, or --tls-ca FILE)`,
          { cause: error },
        )
        : new Error(`Connection to ${address} failed: ${(error as Error).message}`, {
          cause: error,
        });
    } finally {
      conn.close();
      if (!welcomed && failure.message === `Connection to ${address} closed`) {
        // A TLS orchestrator drops a plaintext hello without a word: say what to check.
        failure = new Error(
          `Connection to ${address} closed before the welcome` +
            (this.#tls === null ? `; ${TLS_HINT}` : ""),
        );
      }
      welcome.reject(failure);
      for (const waiter of pending.values()) waiter.reject(failure);
      pending.clear();
      if (this.#connection?.conn === conn) this.#connection = null;
    }
  }

  #preferLeader(hint: string): void {
    let index = this.#orchestrators.findIndex((o) => o.id === hint || addressOf(o) === hint);
    const match = /^(.+):(\d{1,5})$/.exec(hint);
    if (index < 0 && match !== null) {
      // A leader we did not know of (e.g. we started from one announced address): learn it.
      this.#orchestrators.push({ id: hint, host: match[1], port: Number(match[2]) });
      index = this.#orchestrators.length - 1;
    }
    this.#preferred = index >= 0 ? index : this.#preferred + 1;
  }

  #preferredAddress(): string {
    return addressOf(this.#orchestrators[this.#preferred % this.#orchestrators.length]);
  }

  /** Moves past orchestrators that went silent, unless every one did. */
  #skipSilent(silent: ReadonlyMap<string, number>): void {
    for (let i = 0; i < this.#orchestrators.length; i++) {
      if (!silent.has(this.#preferredAddress())) return;
      this.#preferred += 1;
    }
  }

  #disconnect(): void {
    this.#connection?.conn.close();
    this.#connection = null;
  }
}

/** True when a "frame length" is really the start of a TLS record (content type, version 3.x). */
function looksLikeTls(announcedBytes: number): boolean {
  const contentType = announcedBytes >>> 24;
  const major = (announcedBytes >>> 16) & 0xff;
  return contentType >= 0x14 && contentType <= 0x17 && major === 0x03;
}

/** How long `connection` may stay silent before it counts as frozen or cut off. */
export function silenceLimitMs(keepalives: ArrivalWindow): number {
  if (keepalives.size < KEEPALIVE_GAPS_MIN) return SILENCE_DEFAULT_MS;
  return Math.round(Math.max(
    keepalives.silenceLimitMs(SILENCE_PHI),
    SILENCE_MIN_INTERVALS * keepalives.meanGapMs(),
  ));
}

/**
 * Where silence is counted from: the last keepalive once their gaps are known (the limit is about
 * them, and they keep coming on a schedule however busy the connection is), else the last frame.
 */
function silentSinceMs(connection: Connection): number {
  const lastKeepaliveMs = connection.keepalives.lastMs;
  return connection.keepalives.size >= KEEPALIVE_GAPS_MIN && lastKeepaliveMs !== null
    ? lastKeepaliveMs
    : connection.lastFrameMs;
}

/** Resolves with the reply, unless `ms` pass or the connection falls silent (silenceLimitMs). */
function awaitReply(connection: Connection, reply: Promise<Reply>, ms: number): Promise<Reply> {
  let watch: ReturnType<typeof setInterval> | undefined;
  const watchdog = new Promise<never>((_, reject) => {
    const giveUpAt = Date.now() + ms;
    watch = setInterval(() => {
      const now = Date.now();
      if (now >= giveUpAt) {
        reject(new TimeoutError(`No reply from ${connection.address}`));
      } else if (now - silentSinceMs(connection) > silenceLimitMs(connection.keepalives)) {
        reject(
          new TimeoutError(
            `No keepalive from ${connection.address} for ${
              now - silentSinceMs(connection)
            } ms (frozen or cut off?)`,
          ),
        );
      }
    }, Math.min(50, ms));
  });
  return Promise.race([reply, watchdog]).finally(() => clearInterval(watch));
}

/** True when nothing listens at the address (a definite "down", unlike a timeout). */
function isRefusal(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e instanceof Deno.errors.ConnectionRefused) return true;
  }
  return false;
}

/** A wait that ran out of time: says less about the cluster than a refusal or a close. */
class TimeoutError extends Error {}

/** The most telling problem, and the last attempt's own when that differs. */
function describeProblems(telling: string, last: string): string {
  return telling === last ? telling : `${telling} (last attempt: ${last})`;
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

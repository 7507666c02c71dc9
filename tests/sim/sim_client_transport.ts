/**
 * The client library's request loop (client/api/mutirao_client.ts) on the
 * simulated network and clock: one connection at a time, hello then welcome,
 * follow "not leader" hints or try the next orchestrator, retry
 * `not_leader`/`unavailable`/lost connections/timeouts with capped
 * exponential backoff and jitter, within a time budget per request.
 * @module
 */
import { LamportClock } from "../../shared/lamport_clock.ts";
import { PROTOCOL_VERSION } from "../../shared/limits.ts";
import { CLIENT_RETRY, isClusterDown, retryPauseMs } from "../../shared/net/retry_policy.ts";
import type { OrchestratorToClient } from "../../shared/protocol/messages.ts";
import { describeMessage } from "./describe.ts";
import type { SimConnection } from "./network.ts";
import { type Direction, DIRECTIONS, overTheWire } from "./wire.ts";
import type { World } from "./world.ts";

/** MutiraoClient's retryable codes (its timing comes from the shared CLIENT_RETRY policy). */
const RETRYABLE = new Set(["not_leader", "unavailable"]);

/** A request without what the transport fills in (id, version, Lamport time). */
export type RequestBody = { type: string } & Record<string, unknown>;
export type Reply = Exclude<OrchestratorToClient, { type: "welcome" }>;

/**
 * How a request ended. `attemptId` is the id of the attempt that was answered (each retry is a
 * new request id), so the history can match it with what the orchestrator saw; `isRetry` says
 * an earlier attempt may have taken effect (so "not found" may mean "done before").
 */
export type RequestResult =
  | { ok: true; reply: Reply; from: string; attemptId?: number; isRetry?: boolean }
  | { ok: false; code: string | null; message: string; attemptId?: number; isRetry?: boolean };

interface Failure {
  code: string | null;
  message: string;
  leaderHint?: string;
  /** Nothing listened at the address (a definite "down", unlike a timeout). */
  refused?: boolean;
}

interface Established {
  conn: SimConnection;
  server: string;
  pending: Map<number, (reply: Reply | Failure) => void>;
}

interface Attempt {
  body: RequestBody;
  deadlineMs: number;
  attempt: number;
  /** Orchestrators definitely down (refused, or "unavailable") since any attempt got further. */
  down: Set<string>;
  downSinceMs: number;
  done: (result: RequestResult) => void;
}

/** One client process's connection and request loop. */
export class ClientTransport {
  readonly #world: World;
  readonly #name: string;
  readonly #timeoutMs: number;
  readonly clock = new LamportClock();
  #preferred = 0;
  #established: Established | null = null;
  #nextId = 1;

  constructor(world: World, name: string, timeoutMs: number) {
    this.#world = world;
    this.#name = name;
    this.#timeoutMs = timeoutMs;
  }

  /** The orchestrator of the open connection, if any. */
  get connectedTo(): string | null {
    return this.#established?.server ?? null;
  }

  /** Sends a request, retrying as MutiraoClient#request does; `done` runs once. */
  request(body: RequestBody, done: (result: RequestResult) => void): void {
    this.#try({
      body,
      deadlineMs: this.#world.nowMs + this.#timeoutMs,
      attempt: 0,
      down: new Set(),
      downSinceMs: 0,
      done,
    });
  }

  /** Connects to orchestrator `id` for the next request (as a client given that address). */
  preferServer(id: string): void {
    const index = this.#world.orchestrators.findIndex((o) => o.id === id);
    if (index < 0) throw new RangeError(`Cannot prefer orchestrator "${id}": no such orchestrator`);
    this.#preferred = index;
    this.#disconnect();
  }

  /** Closes the connection (the process exits). */
  close(): void {
    this.#disconnect();
  }

  #try(a: Attempt): void {
    this.#once(a, (outcome, server, attemptId) => {
      const isRetry = a.attempt > 0;
      if ("type" in outcome) {
        return a.done({ ok: true, reply: outcome, from: server, attemptId, isRetry });
      }
      if (outcome.code !== null && !RETRYABLE.has(outcome.code)) {
        const { code, message } = outcome;
        return a.done({ ok: false, code, message, attemptId, isRetry });
      }
      const orchestrators = this.#world.orchestrators;
      const world = this.#world;
      if (outcome.refused === true || outcome.code === "unavailable") {
        if (a.down.size === 0) a.downSinceMs = world.nowMs;
        a.down.add(
          server === "" ? orchestrators[this.#preferred % orchestrators.length].id : server,
        );
      } else {
        a.down.clear();
      }
      const downForMs = world.nowMs - a.downSinceMs;
      if (
        a.down.size > 0 &&
        isClusterDown({ downCount: a.down.size, orchestrators: orchestrators.length, downForMs })
      ) {
        this.#disconnect();
        return a.done({ ok: false, code: null, message: `cluster down: ${outcome.message}` });
      }
      if (outcome.leaderHint !== undefined) {
        const index = orchestrators.findIndex((o) =>
          o.id === outcome.leaderHint || o.address === outcome.leaderHint
        );
        this.#preferred = index >= 0 ? index : this.#preferred + 1;
      } else {
        this.#preferred += 1;
      }
      this.#disconnect();
      const remaining = a.deadlineMs - world.nowMs;
      if (remaining <= 0) {
        return a.done({ ok: false, code: null, message: `unreachable: ${outcome.message}` });
      }
      // Cycle once through every orchestrator quickly before backing off further.
      const policy = { ...CLIENT_RETRY, quickFailures: orchestrators.length };
      const pause = Math.min(
        remaining,
        retryPauseMs(policy, { failures: a.attempt, random: world.rng.next() }),
      );
      world.schedule(pause, this.#name, () => {
        a.attempt += 1;
        this.#try(a);
      });
    });
  }

  /** One attempt: connect if needed, send, await the reply (MutiraoClient#once). */
  #once(
    a: Attempt,
    settle: (outcome: Reply | Failure, server: string, attemptId?: number) => void,
  ): void {
    const send = (est: Established) => {
      const world = this.#world;
      const id = this.#nextId++;
      let isSettled = false;
      const finish = (outcome: Reply | Failure) => {
        if (isSettled) return;
        isSettled = true;
        est.pending.delete(id);
        settle(outcome, est.server, id);
      };
      est.pending.set(id, (reply) => {
        if ("type" in reply && reply.type === "error") {
          return finish({ code: reply.code, message: reply.message, leaderHint: reply.leaderHint });
        }
        finish(reply);
      });
      this.#sendRaw(est.conn, {
        ...a.body,
        id,
        v: PROTOCOL_VERSION,
        lamport: this.clock.tick(),
      }, DIRECTIONS.clientToOrchestrator);
      // A `wait` may take until its own timeout; other requests get what is left of the budget.
      const waitMs = a.body.type === "wait"
        ? (a.body.timeoutMs as number) + 5000
        : a.deadlineMs - world.nowMs;
      world.schedule(Math.max(1, waitMs), this.#name, () => {
        finish({ code: null, message: `No reply from ${est.server}` });
      });
    };
    if (this.#established !== null) return send(this.#established);
    this.#connect(a.deadlineMs, (est) => ("conn" in est ? send(est) : settle(est, "")));
  }

  #connect(deadlineMs: number, settle: (result: Established | Failure) => void): void {
    const world = this.#world;
    const orchestrators = world.orchestrators;
    const target = orchestrators[this.#preferred % orchestrators.length];
    let isSettled = false;
    let isWelcomed = false;
    let isOpen = false;
    const est: Established = { conn: null!, server: target.id, pending: new Map() };
    const fail = (failure: Failure) => {
      if (isSettled) return;
      isSettled = true;
      est.conn.closeByRemote();
      settle(failure);
    };
    est.conn = world.network.connect(this.#name, target, {
      deliver: (raw) => {
        const message = overTheWire(raw, DIRECTIONS.orchestratorToClient, {
          validate: false, // validated by the sender
          sender: target.id,
        });
        this.clock.receive(message.lamport);
        if (message.type === "keepalive") {
          return; // MutiraoClient times silence with these; the simulated client times replies
        } else if (message.type === "welcome") {
          if (isSettled) return;
          isSettled = isWelcomed = true;
          this.#established = est;
          settle(est);
        } else if (message.type === "error" && message.re === null) {
          if (!isWelcomed) {
            fail({ code: message.code, message: message.message, leaderHint: message.leaderHint });
          }
        } else if (message.re !== null) {
          est.pending.get(message.re)?.(message);
        }
      },
      closed: () => {
        const failure = { code: null, message: `Connection to ${target.id} closed` };
        if (!isWelcomed) fail(failure);
        for (const waiter of [...est.pending.values()]) waiter(failure);
        est.pending.clear();
        if (this.#established === est) this.#established = null;
      },
    }, {
      onOpen: (conn) => {
        if (isSettled) return conn.closeByRemote();
        isOpen = true;
        this.#sendRaw(conn, {
          v: PROTOCOL_VERSION,
          type: "hello",
          role: "client",
          lamport: this.clock.tick(),
        }, DIRECTIONS.hello);
        const welcomeMs = Math.min(CLIENT_RETRY.welcomeTimeoutMs, deadlineMs - world.nowMs);
        world.schedule(Math.max(1, welcomeMs), this.#name, () => {
          if (!isWelcomed) fail({ code: null, message: `No welcome from ${target.id}` });
        });
      },
      onFail: (reason) =>
        fail({
          code: null,
          message: `Cannot connect to ${target.id}: ${reason}`,
          refused: reason === "connection refused",
        }),
    });
    // Deno.connect's own time limit, within the request's budget.
    world.schedule(
      Math.max(1, Math.min(CLIENT_RETRY.connectTimeoutMs, deadlineMs - world.nowMs)),
      this.#name,
      () => {
        if (!isSettled && !isOpen) {
          fail({ code: null, message: `Connecting to ${target.id} timed out` });
        }
      },
    );
  }

  #sendRaw(conn: SimConnection, message: unknown, direction: Direction<unknown>): void {
    const world = this.#world;
    const copy = overTheWire(message, direction, {
      validate: world.params.validateWire,
      sender: this.#name,
    });
    world.note(
      `${this.#name} -> ${conn.server} ${describeMessage(copy as unknown as RequestBody)}`,
    );
    world.observeWire(this.#name, conn.server, copy as unknown as RequestBody);
    conn.sendToServer(copy);
  }

  #disconnect(): void {
    this.#established?.conn.closeByRemote();
    this.#established = null;
  }
}

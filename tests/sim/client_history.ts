/**
 * The history of a run as the clients saw it: every request with when it was
 * sent, when (and whether) it was answered and what it was told, plus which
 * answers came from a deposed leader (one that still believed it led while a
 * later term had a leader) and the account changes nobody asked for (a
 * bootstrap account re-created after its removal). history_check.ts judges it
 * with the linearizability checker at the end of a run.
 * @module
 */
import type { RequestBody, RequestResult } from "./sim_client_transport.ts";
import type { World } from "./world.ts";

/** One request, from the first attempt to the answer. */
export interface RecordedOp {
  seq: number;
  client: string;
  /** The user the client acts as (the session's user). */
  user: string;
  /** The session token sent (null for a login). */
  token: string | null;
  body: RequestBody;
  callMs: number;
  /** Null while in flight, and for an indeterminate outcome (no answer). */
  returnMs: number | null;
  /** Null while in flight. */
  result: RequestResult | null;
  /** The answer came from a leader deposed by a later term (known bug staleLeaderRefusal). */
  isStaleAnswer: boolean;
  /** Not a client's request: an account the system re-created on its own (known bug). */
  isSynthetic: boolean;
}

/** Answers remembered per client until the client reads them (a client has one request in flight). */
const ANSWERS_REMEMBERED_MAX = 64;

export class ClientHistory {
  readonly ops: RecordedOp[] = [];
  /** Per client, per request id (one attempt): whether a deposed leader answered it. */
  readonly #staleAnswers = new Map<string, Map<number, boolean>>();
  /** The password each session's login was checked with, by token hash. */
  readonly passwordOfSession = new Map<string, string>();
  /** Tokens (hashes) of sessions opened after a revocation that should have covered them. */
  readonly lateSessions = new Set<string>();
  /** Bootstrap passwords of the accounts, by user (what a re-created account gets). */
  readonly bootstrapPasswords = new Map<string, string>();

  /** A request is sent. */
  begin(
    world: World,
    op: { client: string; user: string; token: string | null; body: RequestBody },
  ): RecordedOp {
    const recorded: RecordedOp = {
      seq: this.ops.length,
      ...op,
      callMs: world.nowMs,
      returnMs: null,
      result: null,
      isStaleAnswer: false,
      isSynthetic: false,
    };
    this.ops.push(recorded);
    return recorded;
  }

  /** The request ended (answered, or given up: then its outcome is unknown). */
  end(world: World, op: RecordedOp, result: RequestResult): void {
    op.result = result;
    const isAnswered = result.ok || result.code !== null;
    op.returnMs = isAnswered ? world.nowMs : null;
    if (isAnswered && result.attemptId !== undefined) {
      op.isStaleAnswer = this.#staleAnswers.get(op.client)?.get(result.attemptId) ?? false;
    }
  }

  /** An orchestrator answers attempt `requestId` of `client` (called as the reply is sent). */
  noteAnswer(client: string, requestId: number, isStale: boolean): void {
    let answers = this.#staleAnswers.get(client);
    if (answers === undefined) {
      answers = new Map();
      this.#staleAnswers.set(client, answers);
    }
    answers.set(requestId, isStale);
    if (answers.size > ANSWERS_REMEMBERED_MAX) answers.delete(answers.keys().next().value!);
  }

  /** The system re-created `user`'s account from the bootstrap configuration (known bug). */
  recordResurrection(
    world: World,
    options: { user: string; password: string; proposedAtMs: number },
  ): void {
    this.ops.push({
      seq: this.ops.length,
      client: "bootstrap",
      user: options.user,
      token: null,
      body: { type: "userAdd", name: options.user, role: "user", password: options.password },
      callMs: Math.min(options.proposedAtMs, world.nowMs),
      returnMs: world.nowMs,
      result: {
        ok: true,
        reply: { type: "done", re: 0, message: "re-created" } as never,
        from: "",
      },
      isStaleAnswer: false,
      isSynthetic: true,
    });
  }
}

const histories = new WeakMap<World, ClientHistory>();

/** The history of `world` (one per world, made on first use). */
export function historyOf(world: World): ClientHistory {
  let history = histories.get(world);
  if (history === undefined) {
    history = new ClientHistory();
    histories.set(world, history);
  }
  return history;
}

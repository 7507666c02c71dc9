/**
 * Linearizable answers (ReadIndex, Raft dissertation section 6.4): each client request or login
 * result is handled as one *turn*. A read, and any refusal that rests on this node's own state
 * ("unknown session", "not found", "wrong password"), must not be sent before a read barrier
 * confirms that this node still led when the request arrived and has applied everything
 * committed then: a deposed leader that does not know it yet must never assert that something
 * acknowledged elsewhere is absent. Such a turn is marked deferred, and the whole request is
 * handled again, confirmed, once its barrier holds.
 * @module
 */
import { assert } from "../../shared/assert.ts";
import type { ReadyRead } from "../raft/mod.ts";
import type { ConnId } from "./node_io.ts";
import { type Barrier, ReadBarriers } from "./read_barriers.ts";

/** The request being handled. */
export interface RequestTurn {
  /** Its read barrier holds: refusals and reads may be sent. */
  confirmed: boolean;
  /** Something waited for the barrier: handle the request again once it holds. */
  deferred: boolean;
}

export class RequestTurns {
  readonly #barriers = new ReadBarriers();
  /** Asks the consensus log to confirm leadership for the read with this id. */
  readonly #requestRead: (id: number) => void;
  /** Set while a client request or login result is handled. */
  #turn: RequestTurn | null = null;
  #barriersRequested = 0;

  constructor(requestRead: (id: number) => void) {
    this.#requestRead = requestRead;
  }

  /** Barriers asked for so far (a count: the node drains the log again after new ones). */
  get barriersRequested(): number {
    return this.#barriersRequested;
  }

  /** Requests waiting for their barrier. */
  get waiting(): number {
    return this.#barriers.size;
  }

  /** The turn being handled; only called from inside one (see {@link run}). */
  current(): RequestTurn {
    const turn = this.#turn;
    assert(turn !== null, "a request handler ran outside its turn");
    return turn;
  }

  /**
   * True when a refusal must wait: inside a turn whose barrier does not hold yet, which is then
   * marked deferred. Outside any turn (a worker message, a tick) refusals go out at once.
   */
  defers(): boolean {
    const turn = this.#turn;
    if (turn === null || turn.confirmed) return false;
    turn.deferred = true;
    return true;
  }

  /** Runs `handle` as one turn; when it deferred something, runs it again after a barrier. */
  run(conn: ConnId, requestId: number | null, confirmed: boolean, handle: () => void): void {
    const turn: RequestTurn = { confirmed, deferred: false };
    const outer = this.#turn;
    this.#turn = turn;
    try {
      handle();
    } finally {
      this.#turn = outer;
    }
    if (turn.deferred) {
      this.#barriersRequested += 1;
      this.#requestRead(this.#barriers.add({
        conn,
        requestId,
        run: () => this.run(conn, requestId, true, handle),
      }));
    }
  }

  /**
   * Takes the consensus log's verdicts: the failed barriers are returned (their requests must
   * be told "not leader"), and the confirmed ones are recorded.
   */
  settle(ready: readonly ReadyRead[], failed: readonly number[]): Barrier[] {
    const refused = this.#barriers.fail(failed);
    this.#barriers.confirm(ready);
    return refused;
  }

  /** Handles again, confirmed, every request whose barrier holds at `appliedIndex`. */
  serveHolding(appliedIndex: number): void {
    for (const barrier of this.#barriers.takeHolding(appliedIndex)) barrier.run();
  }
}

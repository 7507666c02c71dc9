/**
 * Requests waiting for a linearizable point before they are answered (ReadIndex,
 * Raft dissertation section 6.4): each runs once the consensus log has
 * confirmed that this node still led when the request arrived, and the state
 * machine has applied everything committed at that moment. Reads wait here,
 * and so does every refusal that rests on the node's own state ("unknown
 * session", "not found", "wrong password"): a deposed leader that does not yet
 * know it must never assert that something acknowledged elsewhere is absent.
 * @module
 */
import { assert } from "../../shared/assert.ts";
import type { ReadyRead } from "../raft/mod.ts";
import type { ConnId } from "./node_io.ts";

/** What to do once the barrier holds, and whom to tell when it cannot. */
export interface Barrier {
  conn: ConnId;
  /** The request to answer "not leader" when the barrier fails; null for a worker's report. */
  requestId: number | null;
  /** Answers the request from the (now linearizable) applied state. */
  run: () => void;
}

interface Waiting extends Barrier {
  /** Set once leadership was confirmed; the barrier holds when applied >= it. */
  readIndex: number | null;
}

export class ReadBarriers {
  #nextId = 1;
  readonly #waiting = new Map<number, Waiting>();

  /** Requests waiting, for bounds and status. */
  get size(): number {
    return this.#waiting.size;
  }

  /** Registers a barrier; returns the read id to pass to `ConsensusLog.requestRead`. */
  add(barrier: Barrier): number {
    const id = this.#nextId++;
    this.#waiting.set(id, { ...barrier, readIndex: null });
    return id;
  }

  /** Records the read indexes the consensus log confirmed. */
  confirm(ready: readonly ReadyRead[]): void {
    for (const { id, readIndex } of ready) {
      const waiting = this.#waiting.get(id);
      if (waiting === undefined) continue;
      assert(waiting.readIndex === null, `read ${id} confirmed twice`);
      waiting.readIndex = readIndex;
    }
  }

  /** Removes and returns the barriers the consensus log could not confirm (not the leader). */
  fail(ids: readonly number[]): Barrier[] {
    const failed: Barrier[] = [];
    for (const id of ids) {
      const waiting = this.#waiting.get(id);
      if (waiting === undefined) continue;
      this.#waiting.delete(id);
      failed.push(waiting);
    }
    return failed;
  }

  /** Removes and returns, in arrival order, the barriers that hold at `appliedIndex`. */
  takeHolding(appliedIndex: number): Barrier[] {
    const holding: Barrier[] = [];
    for (const [id, waiting] of this.#waiting) {
      if (waiting.readIndex === null || waiting.readIndex > appliedIndex) continue;
      this.#waiting.delete(id);
      holding.push(waiting);
    }
    return holding;
  }
}

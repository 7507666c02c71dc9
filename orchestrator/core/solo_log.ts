/**
 * The consensus log of a one-orchestrator cluster: the node is always leader,
 * and an entry is committed as soon as it is durable on its own disk. It has
 * the same interface as the Raft log, so the node is unchanged between them.
 * @module
 */
import { assert } from "../../shared/assert.ts";
import type { Command, LogEntry } from "../tasks/commands.ts";
import type { ConsensusLog, ConsensusOutput, HardState } from "./consensus_log.ts";

export interface SoloLogOptions {
  nodeId: string;
  /** Hard state recovered from disk ({term: 0} on a fresh node). */
  hardState: HardState;
  /** Index and term of the snapshot the state machine was restored from (0, 0 without one). */
  snapshotIndex: number;
  snapshotTerm: number;
  /** Durable entries after the snapshot. With no one else to ask, all of them are committed. */
  recovered: readonly LogEntry[];
}

export class SoloLog implements ConsensusLog {
  readonly nodeId: string;
  readonly isLeader = true;
  #term: number;
  #lastIndex: number;
  #commitIndex: number;
  #unstable: LogEntry[] = [];
  #toPersist: LogEntry[] = [];
  #committed: LogEntry[];
  #hardState: HardState | null;
  #roleChanged = true;

  constructor(options: SoloLogOptions) {
    this.nodeId = options.nodeId;
    const last = options.recovered[options.recovered.length - 1];
    const lastTerm = last?.term ?? options.snapshotTerm;
    // Each start is a new term, like a Raft election that this node alone wins.
    this.#term = Math.max(options.hardState.term, lastTerm) + 1;
    this.#hardState = { term: this.#term, votedFor: options.nodeId };
    this.#lastIndex = last?.index ?? options.snapshotIndex;
    this.#commitIndex = this.#lastIndex;
    this.#committed = [...options.recovered];
  }

  get leaderId(): string {
    return this.nodeId;
  }

  get term(): number {
    return this.#term;
  }

  get lastIndex(): number {
    return this.#lastIndex;
  }

  get commitIndex(): number {
    return this.#commitIndex;
  }

  propose(commands: readonly Command[]): number {
    assert(commands.length > 0, "propose() needs at least one command");
    const first = this.#lastIndex + 1;
    for (const command of commands) {
      const entry = { index: ++this.#lastIndex, term: this.#term, command };
      this.#unstable.push(entry);
      this.#toPersist.push(entry);
    }
    return first;
  }

  persisted(index: number): void {
    assert(index <= this.#lastIndex, `persisted ${index} beyond last index ${this.#lastIndex}`);
    let count = 0;
    while (count < this.#unstable.length && this.#unstable[count].index <= index) {
      const entry = this.#unstable[count++];
      assert(entry.index === this.#commitIndex + 1, `commit gap at ${entry.index}`);
      this.#commitIndex = entry.index;
      this.#committed.push(entry);
    }
    this.#unstable.splice(0, count);
  }

  tick(_nowMs: number): void {}

  drain(): ConsensusOutput {
    const out: ConsensusOutput = {
      entries: this.#toPersist,
      hardState: this.#hardState,
      committed: this.#committed,
      roleChanged: this.#roleChanged,
    };
    this.#toPersist = [];
    this.#committed = [];
    this.#hardState = null;
    this.#roleChanged = false;
    return out;
  }
}

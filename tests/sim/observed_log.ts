/**
 * A {@link ConsensusLog} that forwards to the real Raft log and records what
 * the node is handed to apply (committed entries and installed snapshots), so
 * the checkers see each node's applied sequence exactly as the node does.
 * @module
 */
import type {
  ConsensusLog,
  ConsensusOutput,
  ConsensusStatus,
  RaftLog,
  RaftMessage,
  SnapshotRef,
} from "../../orchestrator/raft/mod.ts";
import type { Command, LogEntry } from "../../orchestrator/tasks/mod.ts";

/** One thing a node applied, in order. */
export type Applied =
  | { kind: "entry"; entry: LogEntry }
  | { kind: "snapshot"; index: number; term: number; discardLog: boolean };

/** Forwards every call to `inner`; `drain()` also records what the node will apply. */
export class ObservedLog implements ConsensusLog<Command> {
  readonly #inner: RaftLog<Command>;
  #applied: Applied[] = [];
  #snapshotsInstalled = 0;

  constructor(inner: RaftLog<Command>) {
    this.#inner = inner;
  }

  get nodeId(): string {
    return this.#inner.nodeId;
  }

  get isLeader(): boolean {
    return this.#inner.isLeader;
  }

  get leaderId(): string | null {
    return this.#inner.leaderId;
  }

  get term(): number {
    return this.#inner.term;
  }

  get lastIndex(): number {
    return this.#inner.lastIndex;
  }

  get commitIndex(): number {
    return this.#inner.commitIndex;
  }

  /** Snapshots received from a leader and installed, over this node's life. */
  get snapshotsInstalled(): number {
    return this.#snapshotsInstalled;
  }

  /** Takes what was applied since the last call. */
  takeApplied(): Applied[] {
    const applied = this.#applied;
    this.#applied = [];
    return applied;
  }

  propose(commands: readonly Command[]): number | null {
    return this.#inner.propose(commands);
  }

  persisted(index: number, term: number): void {
    this.#inner.persisted(index, term);
  }

  tick(nowMs: number): void {
    this.#inner.tick(nowMs);
  }

  step(from: string, message: RaftMessage<Command>, nowMs: number): void {
    this.#inner.step(from, message, nowMs);
  }

  peerDisconnected(from: string, nowMs: number): void {
    this.#inner.peerDisconnected(from, nowMs);
  }

  requestRead(id: number): void {
    this.#inner.requestRead(id);
  }

  snapshotTaken(snapshot: SnapshotRef): void {
    this.#inner.snapshotTaken(snapshot);
  }

  status(nowMs: number): ConsensusStatus {
    return this.#inner.status(nowMs);
  }

  drain(): ConsensusOutput<Command> {
    const out = this.#inner.drain();
    // The node installs the snapshot first, then applies the committed entries (OrchestratorNode#pump).
    if (out.snapshot !== null) {
      this.#snapshotsInstalled += 1;
      const { index, term, discardLog } = out.snapshot;
      this.#applied.push({ kind: "snapshot", index, term, discardLog });
    }
    for (const entry of out.committed) this.#applied.push({ kind: "entry", entry });
    return out;
  }
}

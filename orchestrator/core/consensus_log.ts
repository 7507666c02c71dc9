/**
 * The seam between the orchestrator node and its replicated log. The node
 * proposes commands and applies what comes back committed; how entries become
 * committed (one node that commits once its disk has them, or a Raft group that
 * commits once a majority has them) is the implementation's business.
 *
 * Pattern (as in etcd/raft's Ready): calls accumulate work; `drain()` hands it
 * over as data, in the order the shell must carry it out.
 * @module
 */
import type { Command, LogEntry } from "../tasks/commands.ts";
import type { HardState } from "../storage/log_storage.ts";

export type { HardState };

/** Work handed to the node by {@link ConsensusLog.drain}. */
export interface ConsensusOutput {
  /** Append durably, in order; an entry whose index is <= the last one truncates the log there first. */
  entries: LogEntry[];
  /** Persist with the entries, when not null. */
  hardState: HardState | null;
  /** Newly committed entries, in log order: apply them. */
  committed: LogEntry[];
  /** True when leadership or term changed since the previous drain. */
  roleChanged: boolean;
}

export interface ConsensusLog {
  readonly nodeId: string;
  readonly isLeader: boolean;
  /** The current leader as far as this node knows; null during an election. */
  readonly leaderId: string | null;
  readonly term: number;
  readonly lastIndex: number;
  readonly commitIndex: number;
  /** Appends commands as new entries; returns the first one's index, or null when not leader. */
  propose(commands: readonly Command[]): number | null;
  /** Reports that every entry up to `index` (and the hard state staged with it) is durable. */
  persisted(index: number): void;
  /** Advances timers (elections, heartbeats). */
  tick(nowMs: number): void;
  /** Takes the accumulated work. */
  drain(): ConsensusOutput;
}

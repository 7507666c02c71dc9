// Builds RaftState values by hand for the tests of the modules RaftLog is made of; it holds no
// tests itself, so importing it registers none twice.
import { createPrng } from "../../shared/prng.ts";
import { bytesSnapshotRef } from "../storage/mod.ts";
import type { HardState, RaftEntry, StoredSnapshot } from "./consensus_log.ts";
import { resolveRaftOptions } from "./raft_options.ts";
import type { RaftOptions } from "./raft_options.ts";
import { freshProgress, RaftState } from "./raft_state.ts";

export const MIN_MS = 150;
export const MAX_MS = 300;
export const HEARTBEAT_MS = 50;

/** Commands in these tests are plain strings. */
export type Cmd = string;

export function entry(index: number, term: number): RaftEntry<Cmd> {
  return { index, term, command: `e${index}t${term}` };
}

/** Entries from index `from` on, one per term listed. */
export function entries(from: number, terms: readonly number[]): RaftEntry<Cmd>[] {
  return terms.map((term, i) => entry(from + i, term));
}

export interface StateSetup {
  nodeId?: string;
  voters?: readonly string[];
  options?: Partial<RaftOptions<Cmd>>;
  hardState?: HardState;
  snapshot?: StoredSnapshot | null;
  entries?: readonly RaftEntry<Cmd>[];
  nowMs?: number;
}

/** A follower's state as restored from storage, its election timer set. */
export function newState(setup: StateSetup = {}): RaftState<Cmd> {
  const state = new RaftState<Cmd>(
    resolveRaftOptions({
      nodeId: setup.nodeId ?? "n1",
      voters: setup.voters ?? ["n1", "n2", "n3"],
      electionTimeoutMinMs: MIN_MS,
      electionTimeoutMaxMs: MAX_MS,
      heartbeatIntervalMs: HEARTBEAT_MS,
      rng: createPrng(7),
      noopCommand: (atMs) => `noop@${atMs}`,
      ...setup.options,
    }),
    {
      hardState: setup.hardState ?? { term: 0, votedFor: null },
      snapshot: setup.snapshot == null ? null : bytesSnapshotRef(setup.snapshot),
      entries: setup.entries ?? [],
      nowMs: setup.nowMs ?? 0,
    },
  );
  state.resetElectionTimer();
  return state;
}

/**
 * A leader of `term` made by hand (no election): every follower is probed from the end of the
 * log, and nothing is staged yet.
 */
export function leaderState(term: number, setup: StateSetup = {}): RaftState<Cmd> {
  const state = newState({ ...setup, hardState: setup.hardState ?? { term, votedFor: "n1" } });
  state.role = "leader";
  state.leaderId = state.nodeId;
  for (const peer of state.peers) {
    state.progress.set(peer, freshProgress(state.log.lastIndex + 1));
  }
  return state;
}

/** The types of the messages staged so far, as `to:type` (after persist marked with `!`). */
export function sentTypes(state: RaftState<Cmd>): string[] {
  return [
    ...state.out.messages.map((m) => `${m.to}:${m.message.type}`),
    ...state.out.messagesAfterPersist.map((m) => `${m.to}:${m.message.type}!`),
  ];
}

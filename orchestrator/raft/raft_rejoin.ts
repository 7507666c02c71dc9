/**
 * Rejoining after a lost disk. A node whose log was lost may have voted, and acknowledged
 * entries, in terms it no longer remembers. Until it has durably caught up with the commit index
 * a leader of its current term L sent it, it neither campaigns nor grants a (pre-)vote
 * (raft_elections.ts); then it records a vote for that leader in L, so it votes again only in
 * terms above L. A `rejoining` flag in the hard state keeps this across crashes.
 * @module
 */
import { assert } from "../../shared/assert.ts";
import type { RaftRestore } from "./raft_options.ts";
import type { RaftState } from "./raft_state.ts";

/**
 * Whether a node may start rejoining (`RaftOptions.rejoin`) from what its storage recovered: only
 * from nothing at all (a new, empty data directory), or from a rejoin already under way.
 */
export function canRejoin(
  restore: Pick<RaftRestore<unknown>, "hardState" | "entries"> & { snapshot: object | null },
): boolean {
  const { hardState, snapshot, entries } = restore;
  if (hardState.rejoining === true) return true;
  return hardState.term === 0 && hardState.votedFor === null && snapshot === null &&
    entries.length === 0;
}

/**
 * At start: begins rejoining when asked to (`rejoin`), persisting that first, and checks that a
 * rejoining node has a leader to rejoin from.
 */
export function startRejoin<C>(
  state: RaftState<C>,
  options: { rejoin: boolean; restore: RaftRestore<C> },
): void {
  if (options.rejoin && !state.rejoining) {
    assert(canRejoin(options.restore), "a node can start rejoining only from an empty log");
    state.rejoining = true;
    state.persistHardState(); // first thing on disk: a crash from here on keeps rejoining
  }
  assert(
    !state.rejoining || state.options.voters.length > 1,
    "a lone voter has no leader to rejoin from",
  );
}

/** While rejoining: remembers the commit index the leader of this term first sent. */
export function noteRejoinTarget<C>(state: RaftState<C>, leaderCommit: number): void {
  if (state.rejoining && state.rejoinTargetIndex === null) {
    state.rejoinTargetIndex = leaderCommit;
  }
}

/**
 * Ends rejoining once this node holds durably, as committed, everything the leader of its term
 * had committed when first heard from: every entry it may have acknowledged before losing its
 * disk and that counted toward a commit is then back. It records a vote for that leader in this
 * term, so it votes again only in later terms (one it cast and lost in this term stays unique).
 */
export function maybeFinishRejoin<C>(state: RaftState<C>): void {
  const target = state.rejoinTargetIndex;
  if (!state.rejoining || target === null || state.leaderId === null) return;
  if (state.commitIndex < target || state.persistedIndex < target) return;
  // A new leader's commit index may lag what earlier terms committed until it has committed an
  // entry of its own term (Raft section 5.4.2): it first sends 0. Only a committed entry of this
  // term, held durably, proves this node holds everything committed before (soak seed 49126: a
  // rejoin that ended on a fresh leader's commit index 0 let an empty log vote, and the cluster
  // diverged).
  if (state.log.termAt(state.commitIndex) !== state.term) return;
  if (state.persistedIndex < state.commitIndex) return;
  state.rejoining = false;
  state.rejoinTargetIndex = null;
  if (state.votedFor === null) state.votedFor = state.leaderId;
  state.persistHardState();
}

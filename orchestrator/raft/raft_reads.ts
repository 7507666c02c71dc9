/**
 * ReadIndex (Ongaro's dissertation, 6.4): linearizable reads without writing to the log and
 * without trusting clocks (which a lease would). A leader numbers each read with a read context,
 * carries the latest context on its AppendEntries, and serves a read at its commit index once a
 * quorum (itself included) has acknowledged that context, and an entry of its own term has
 * committed (before that it may not know the true commit index).
 * @module
 */
import type { RaftState } from "./raft_state.ts";

/** Queues read `id`, or fails it at once when this node is not the leader. */
export function requestRead<C>(state: RaftState<C>, id: number): void {
  if (state.role !== "leader") {
    state.out.readsFailed.push(id);
    return;
  }
  state.readCtx += 1;
  state.pendingReads.push({ id, ctx: state.readCtx });
  if (state.peers.length > 0) state.readBroadcastNeeded = true;
  advanceReads(state);
}

/** Hands out, as ready at the commit index, every read a quorum has confirmed. */
export function advanceReads<C>(state: RaftState<C>): void {
  if (state.role !== "leader" || state.pendingReads.length === 0) return;
  // Before an entry of this term commits, the leader may not know the true commit index.
  if (state.log.termAt(state.commitIndex) !== state.term) return;
  const acked = [...state.progress.values()].map((p) => p.readCtxAcked).sort((a, b) => b - a);
  // With this node counted, the quorum-th highest acknowledgement confirms leadership up to it.
  const confirmed = state.quorum === 1 ? Infinity : acked[state.quorum - 2];
  while (state.pendingReads.length > 0 && state.pendingReads[0].ctx <= confirmed) {
    const read = state.pendingReads.shift()!;
    state.out.readsReady.push({ id: read.id, readIndex: state.commitIndex });
  }
}

/** Fails every pending read (a leader stepping down can no longer confirm them). */
export function failReads<C>(state: RaftState<C>): void {
  for (const read of state.pendingReads) state.out.readsFailed.push(read.id);
  state.pendingReads = [];
}

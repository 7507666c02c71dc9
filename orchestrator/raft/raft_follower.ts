/**
 * Replication, follower side: checking and taking in what a leader's AppendEntries carries,
 * answering with a match or with where to retry (fast conflict backtracking), and advancing the
 * commit index the leader reports.
 * @module
 */
import { assert } from "../../shared/assert.ts";
import type { RaftEntry, RaftMessageOf } from "./consensus_log.ts";
import { acceptLeader } from "./raft_elections.ts";
import { maybeFinishRejoin, noteRejoinTarget } from "./raft_rejoin.ts";
import type { RaftState } from "./raft_state.ts";

export function onAppendEntries<C>(
  state: RaftState<C>,
  from: string,
  m: RaftMessageOf<C, "appendEntries">,
): void {
  acceptLeader(state, from);
  noteRejoinTarget(state, m.leaderCommit);
  const reply = (success: boolean, matchIndex: number, conflictIndex: number) =>
    state.sendLater(from, {
      type: "appendResponse",
      term: state.term,
      success,
      matchIndex,
      conflictIndex,
      readCtx: m.readCtx,
    });
  if (!wellFormedEntries(m)) return reply(false, 0, 0); // a broken leader: ignore its entries
  let prevIndex = m.prevLogIndex;
  let entries = m.entries;
  const floor = state.log.firstIndex - 1; // entries up to here are compacted, hence committed
  if (prevIndex < floor) {
    entries = entries.filter((e) => e.index > floor);
    if (entries.length === 0) return reply(true, m.prevLogIndex + m.entries.length, 0);
    prevIndex = entries[0].index - 1;
  } else if (prevIndex > state.log.lastIndex) {
    return reply(false, 0, state.log.lastIndex + 1);
  } else if (state.log.termAt(prevIndex) !== m.prevLogTerm) {
    return reply(false, 0, conflictHint(state, prevIndex));
  }
  appendFromLeader(state, prevIndex, entries);
  const lastNew = prevIndex + entries.length;
  if (m.leaderCommit > state.commitIndex) {
    state.commitIndex = Math.max(state.commitIndex, Math.min(m.leaderCommit, lastNew));
    state.emitCommitted();
  }
  maybeFinishRejoin(state);
  reply(true, lastNew, 0);
}

/** Where the leader should retry: the start of our conflicting term's run (fast backtracking). */
export function conflictHint<C>(state: RaftState<C>, prevIndex: number): number {
  const conflictTerm = state.log.termAt(prevIndex);
  let index = prevIndex;
  while (
    index - 1 > state.commitIndex && index - 1 >= state.log.firstIndex &&
    state.log.termAt(index - 1) === conflictTerm
  ) {
    index -= 1;
  }
  return Math.max(index, state.commitIndex + 1);
}

function appendFromLeader<C>(
  state: RaftState<C>,
  prevIndex: number,
  entries: readonly RaftEntry<C>[],
): void {
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    assert(entry.index === prevIndex + 1 + i, "leader sent non-contiguous entries");
    if (entry.index <= state.log.lastIndex) {
      if (state.log.termAt(entry.index) === entry.term) continue;
      // A correct leader never contradicts a committed entry: refuse rather than corrupt
      // (and rather than stop, which would let a forged peer take nodes down).
      if (entry.index <= state.commitIndex) return;
      state.log.truncateFrom(entry.index);
      state.persistedIndex = Math.min(state.persistedIndex, entry.index - 1);
    }
    state.log.append(entry);
    state.out.entries.push(entry);
  }
}

/**
 * Checks what a leader sent before any of it is used: indexes contiguous after prevLogIndex,
 * terms never going backwards, none before prevLogTerm nor after the leader's own term.
 */
export function wellFormedEntries<C>(m: RaftMessageOf<C, "appendEntries">): boolean {
  let term = m.prevLogTerm;
  for (let i = 0; i < m.entries.length; i++) {
    const entry = m.entries[i];
    if (entry.index !== m.prevLogIndex + 1 + i || entry.term < term || entry.term > m.term) {
      return false;
    }
    term = entry.term;
  }
  return m.prevLogTerm <= m.term;
}

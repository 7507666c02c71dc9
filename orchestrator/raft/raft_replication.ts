/**
 * Replication, leader side: appending proposals, sending each follower what it needs next
 * within its flow-control window (pipelined, batched AppendEntries; a probe at a time after a
 * rejection; InstallSnapshot chunks when the entries it needs are compacted), learning from the
 * answers, heartbeats, and commitment by counting matches (the leader's own fsync counts in
 * parallel with the followers', dissertation 10.2.1).
 *
 * A snapshot is sent from its SnapshotSource, one chunk read per InstallSnapshot message: the
 * only reads this core makes, of data its store handed it (see storage/snapshot_source.ts). A
 * read that fails (the file was removed, a short read) is an operating error, not a bug: the
 * transfer is dropped with a warning and starts again, from the newest snapshot, at the next
 * heartbeat.
 * @module
 */
import { Buffer } from "node:buffer";
import { assert } from "../../shared/assert.ts";
import type { RaftEntry, RaftMessageOf } from "./consensus_log.ts";
import { advanceReads } from "./raft_reads.ts";
import type { Progress, RaftState } from "./raft_state.ts";

/** Appends commands as entries of the leader's term and sends them; returns the first index. */
export function appendCommands<C>(state: RaftState<C>, commands: readonly C[]): number {
  assert(commands.length > 0, "propose() needs at least one command");
  const first = state.log.lastIndex + 1;
  for (const command of commands) {
    const entry: RaftEntry<C> = { index: state.log.lastIndex + 1, term: state.term, command };
    state.log.append(entry);
    state.out.entries.push(entry);
  }
  // Sent at the next drain: proposals made in one step share one AppendEntries per follower.
  state.appendPending = true;
  return first;
}

/** Sends the entries proposed since the last drain to every follower whose window allows. */
export function flushProposals<C>(state: RaftState<C>): void {
  if (!state.appendPending) return;
  state.appendPending = false;
  if (state.role !== "leader") return;
  for (const peer of state.peers) {
    // Fill the window: more than one message only when a message's entry cap splits them.
    for (let sent = 0; sent < state.options.maxInflightMessages; sent++) {
      const next = state.progress.get(peer)!.next;
      sendAppend(state, peer, false);
      if (state.progress.get(peer)!.next === next) break;
    }
  }
}

export function onAppendResponse<C>(
  state: RaftState<C>,
  from: string,
  m: RaftMessageOf<C, "appendResponse">,
): void {
  if (state.role !== "leader") return;
  const p = state.progress.get(from)!;
  heardFrom(state, p);
  p.readCtxAcked = Math.max(p.readCtxAcked, m.readCtx);
  if (m.success) {
    // A follower cannot hold entries this leader never had: such an answer is bogus.
    if (m.matchIndex > state.log.lastIndex) return;
    if (m.matchIndex > p.match) p.match = m.matchIndex;
    p.next = Math.max(p.next, p.match + 1);
    p.probing = false;
    acknowledgeInflight(p);
    maybeCommit(state);
  } else if (m.conflictIndex > 0) {
    // A follower lacking entries it acknowledged lost its disk and rejoins (or this refusal is
    // older than its acknowledgement: then a resend restores the match). Keeping the old match
    // would pin `next` above the follower's log forever; a lower one only delays commits.
    if (m.conflictIndex <= p.match) p.match = m.conflictIndex - 1;
    p.next = Math.max(p.match + 1, Math.min(m.conflictIndex, p.next));
    p.probing = true;
    clearInflight(p);
  }
  advanceReads(state);
  sendAppend(state, from, false);
}

export function onSnapshotResponse<C>(
  state: RaftState<C>,
  from: string,
  m: RaftMessageOf<C, "snapshotResponse">,
): void {
  if (state.role !== "leader") return;
  const p = state.progress.get(from)!;
  heardFrom(state, p);
  if (m.done) {
    if (m.snapshotIndex > state.log.lastIndex) return; // bogus: past anything we ever sent
    p.match = Math.max(p.match, m.snapshotIndex);
    p.next = Math.max(p.next, p.match + 1);
    p.sending = null;
    p.probing = false;
    clearInflight(p);
    maybeCommit(state);
    sendAppend(state, from, false);
    return;
  }
  const sending = p.sending;
  if (sending === null || m.snapshotIndex !== sending.snapshot.index) return; // about another transfer
  // Only a change of position sends a chunk: duplicated or repeated answers must not start
  // parallel chunk streams (lost chunks are re-sent by the heartbeat).
  if (m.received === sending.offset) return;
  sending.offset = m.received;
  sendSnapshotChunk(state, from, p);
}

/** Nothing is in flight any more (a rejection, a snapshot done, a probe presumed lost). */
function clearInflight(p: Progress): void {
  p.inflight = 0;
  p.inflightEnds = [];
}

/**
 * After a success: every message whose entries the follower now holds is answered, however many
 * answers that took (a follower answers once per sync; an answer may be lost).
 */
function acknowledgeInflight(p: Progress): void {
  const ends = p.inflightEnds;
  let answered = 0;
  while (answered < ends.length && ends[answered] <= p.match) answered += 1;
  if (answered > 0) p.inflightEnds = ends.slice(answered);
  // A match at the end of what was sent answers everything, a probe's message included.
  if (p.match >= p.next - 1) p.inflightEnds = [];
  p.inflight = p.inflightEnds.length;
}

function heardFrom<C>(state: RaftState<C>, p: Progress): void {
  p.recentActive = true;
  p.lastContactMs = state.nowMs;
}

/** Sends what a follower needs next, within its flow-control window. */
export function sendAppend<C>(state: RaftState<C>, peer: string, heartbeat: boolean): void {
  const p = state.progress.get(peer)!;
  if (p.sending !== null || p.next < state.log.firstIndex) {
    if (p.sending === null) {
      assert(
        state.snapshot !== null,
        `follower ${peer} needs compacted entries but there is no snapshot`,
      );
      p.sending = { snapshot: state.snapshot, offset: 0 };
      sendSnapshotChunk(state, peer, p);
    } else if (heartbeat) {
      sendSnapshotChunk(state, peer, p); // the chunk in flight may have been lost
    }
    return;
  }
  const hasEntries = p.next <= state.log.lastIndex;
  const windowFull = p.probing ? p.inflight > 0 : p.inflight >= state.options.maxInflightMessages;
  if (!heartbeat && (!hasEntries || windowFull)) return;
  const entries = hasEntries && !windowFull
    ? state.log.slice(p.next, state.options.maxEntriesPerMessage)
    : [];
  const prevLogIndex = p.next - 1;
  state.sendNow(peer, {
    type: "appendEntries",
    term: state.term,
    prevLogIndex,
    prevLogTerm: state.log.termAt(prevLogIndex)!,
    entries,
    leaderCommit: state.commitIndex,
    readCtx: state.readCtx,
  });
  if (entries.length > 0) {
    p.inflightEnds.push(entries[entries.length - 1].index);
    p.inflight = p.inflightEnds.length;
    // Optimistic in the pipelined state; a probe waits for its answer first.
    if (!p.probing) p.next = entries[entries.length - 1].index + 1;
  }
}

function sendSnapshotChunk<C>(state: RaftState<C>, peer: string, p: Progress): void {
  const { snapshot, offset } = p.sending!;
  const { source } = snapshot;
  const end = Math.min(source.byteLength, offset + state.options.snapshotChunkBytes);
  let chunk: Uint8Array;
  try {
    chunk = source.read(offset, end - offset);
    if (chunk.length !== end - offset) {
      throw new RangeError(`short read: ${chunk.length} of ${end - offset} bytes`);
    }
  } catch (error) {
    // Stop this transfer; the next heartbeat starts one from the newest snapshot.
    p.sending = null;
    state.out.warnings.push(
      `Cannot send snapshot ${snapshot.index} to ${peer}: reading ${end - offset} bytes at ` +
        `offset ${offset} failed (${(error as Error).message}); retrying at the next heartbeat`,
    );
    return;
  }
  state.sendNow(peer, {
    type: "installSnapshot",
    term: state.term,
    snapshotIndex: snapshot.index,
    snapshotTerm: snapshot.term,
    offset,
    data: Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).toString("base64"),
    done: end === source.byteLength,
    ...(end === source.byteLength && source.crc32 !== undefined ? { crc32: source.crc32 } : {}),
  });
}

export function broadcastHeartbeat<C>(state: RaftState<C>): void {
  state.heartbeatDueMs = state.nowMs + state.options.heartbeatIntervalMs;
  state.readBroadcastNeeded = false;
  for (const peer of state.peers) {
    const p = state.progress.get(peer)!;
    // An unanswered probe is presumed lost: the heartbeat carries it again.
    if (p.probing) clearInflight(p);
    sendAppend(state, peer, true);
  }
}

/** Commits the highest entry of this term a quorum holds durably (this node's fsync included). */
export function maybeCommit<C>(state: RaftState<C>): void {
  const matches = [state.persistedIndex, ...[...state.progress.values()].map((p) => p.match)]
    .sort((a, b) => b - a);
  const candidate = matches[state.quorum - 1];
  // Only entries of the current term are committed by counting (Raft section 5.4.2).
  if (candidate > state.commitIndex && state.log.termAt(candidate) === state.term) {
    state.commitIndex = candidate;
    state.emitCommitted();
    advanceReads(state);
  }
}

/**
 * Snapshots and log compaction (Raft section 7), follower side of InstallSnapshot: compacting
 * the log behind a snapshot the owner took (keeping a tail for slightly lagging followers),
 * joining chunks a leader sends, checking that the bytes cover the entry their header names,
 * and installing the result. The leader side (sending chunks) is in raft_replication.ts.
 *
 * The log refers to its snapshot by a SnapshotRef and never keeps the bytes: a snapshot received
 * here is joined in memory until installed, handed to the owner to persist, and held as bytes
 * only until the owner, once it is saved, hands the store's source for it (snapshotTaken of the
 * same index and term).
 * @module
 */
import { Buffer } from "node:buffer";
import { crc32 } from "node:zlib";
import { assert } from "../../shared/assert.ts";
import { concatBytes } from "../../shared/protocol/frame.ts";
import { bytesSnapshotRef } from "../storage/mod.ts";
import type { RaftMessageOf, SnapshotRef, StoredSnapshot } from "./consensus_log.ts";
import { acceptLeader } from "./raft_elections.ts";
import type { RaftState } from "./raft_state.ts";

/** The owner took `snapshot`: compact the log behind it, keeping a catch-up tail. */
export function compactToSnapshot<C>(state: RaftState<C>, snapshot: SnapshotRef): void {
  assert(snapshot.index <= state.emittedIndex, "snapshot of entries not yet applied");
  const held = state.snapshot;
  if (held !== null && snapshot.index === held.index && snapshot.term === held.term) {
    // The same snapshot from the store (e.g. one installed from the leader, now saved): read it
    // from there. A transfer under way keeps the source it pinned.
    state.snapshot = snapshot;
    return;
  }
  if (held !== null && snapshot.index <= held.index) return;
  state.snapshot = snapshot;
  // Keep a tail so followers a little behind catch up from the log, not a whole snapshot.
  let compactTo = snapshot.index - state.options.catchUpEntries;
  if (state.role === "leader") {
    const slowest = Math.min(...[...state.progress.values()].map((p) => p.match));
    compactTo = Math.max(compactTo, Math.min(snapshot.index, slowest));
  }
  if (compactTo > state.log.firstIndex - 1) state.log.compactTo(compactTo);
}

export function onInstallSnapshot<C>(
  state: RaftState<C>,
  from: string,
  m: RaftMessageOf<C, "installSnapshot">,
): void {
  acceptLeader(state, from);
  const reply = (received: number, done: boolean, later: boolean) => {
    const message = {
      type: "snapshotResponse" as const,
      term: state.term,
      snapshotIndex: m.snapshotIndex,
      received,
      done,
    };
    if (later) state.sendLater(from, message);
    else state.sendNow(from, message);
  };
  // Nothing new in it; but acknowledging it promises those entries are durable here.
  if (m.snapshotIndex <= state.commitIndex) return reply(0, true, true);
  let incoming = state.incoming;
  // Chunks are only joined when they come from the same leader in the same term.
  if (
    incoming === null || incoming.index !== m.snapshotIndex || incoming.term !== m.snapshotTerm ||
    incoming.from !== from || incoming.leaderTerm !== state.term
  ) {
    if (m.offset !== 0) return reply(0, false, false); // start over from the first chunk
    incoming = state.incoming = {
      index: m.snapshotIndex,
      term: m.snapshotTerm,
      from,
      leaderTerm: state.term,
      chunks: [],
      received: 0,
    };
  }
  if (m.offset !== incoming.received) return reply(incoming.received, false, false);
  const chunk = new Uint8Array(Buffer.from(m.data, "base64"));
  incoming.chunks.push(chunk);
  incoming.received += chunk.length;
  if (!m.done) return reply(incoming.received, false, false);
  state.incoming = null;
  const snapshot = {
    index: incoming.index,
    term: incoming.term,
    data: concatBytes(incoming.chunks),
  };
  const damaged = m.crc32 !== undefined && crc32(snapshot.data) !== m.crc32;
  if (damaged || !isInstallable(state, snapshot)) {
    state.refusedSnapshots += 1;
    return reply(0, false, false); // corrupt or mislabelled: start over
  }
  installSnapshot(state, snapshot);
  reply(incoming.received, true, true);
}

/** True when a received snapshot's bytes cover exactly the entry its header names. */
export function isInstallable<C>(state: RaftState<C>, snapshot: StoredSnapshot): boolean {
  const read = state.options.snapshotPosition;
  if (read === undefined) return true;
  const position = read(snapshot.data);
  return position !== null && position.index === snapshot.index &&
    position.term === snapshot.term;
}

function installSnapshot<C>(state: RaftState<C>, snapshot: StoredSnapshot): void {
  // Keep the log after the snapshot only if it agrees with it at its index (Raft section 7).
  const hadEntryThere = snapshot.index <= state.log.lastIndex;
  const keep = hadEntryThere && snapshot.index >= state.log.firstIndex - 1 &&
    state.log.termAt(snapshot.index) === snapshot.term;
  if (keep) {
    state.log.compactTo(snapshot.index);
  } else {
    state.log.reset(snapshot.index, snapshot.term);
    state.persistedIndex = snapshot.index;
  }
  state.persistedIndex = Math.max(state.persistedIndex, snapshot.index);
  // Held as bytes only until the owner has saved it and hands the store's source (snapshotTaken).
  state.snapshot = bytesSnapshotRef(snapshot);
  state.commitIndex = Math.max(state.commitIndex, snapshot.index);
  state.emittedIndex = snapshot.index;
  // Only a log that reaches the snapshot's index has disagreeing entries after it to drop.
  state.out.snapshot = { ...snapshot, discardLog: !keep && hadEntryThere };
  // Entries staged earlier in this drain are covered by (or conflict with) the snapshot.
  state.out.entries = keep ? state.out.entries.filter((e) => e.index > snapshot.index) : [];
  // Entries emitted earlier in this drain are covered by the snapshot: the state machine is replaced.
  state.out.committed = state.out.committed.filter((e) => e.index > snapshot.index);
  state.emitCommitted();
}

/**
 * Messages between orchestrators: Raft's vote, replication and snapshot
 * messages (orchestrator/raft). Kept apart from messages.ts only because they
 * carry log entries, whose schema (commands.ts) builds on messages.ts.
 * @module
 */
import { z } from "npm:zod@4.6.7";
import { LAMPORT_MAX, PROTOCOL_VERSION } from "../limits.ts";
import { LogEntrySchema } from "./commands.ts";

const nonNegInt = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const envelope = {
  v: z.literal(PROTOCOL_VERSION),
  lamport: z.number().int().nonnegative().max(LAMPORT_MAX),
};

/**
 * Terms and indexes stay below 2^52: a node adds 1 to them, and a hostile frame near 2^53 would
 * otherwise push it past the integers JavaScript counts exactly.
 */
const RAFT_NUMBER_MAX = 2 ** 52;
const term = z.number().int().nonnegative().max(RAFT_NUMBER_MAX);
const logIndex = z.number().int().nonnegative().max(RAFT_NUMBER_MAX);

/** A vote request; with `preVote` it asks "would you vote for me?" without disturbing anyone. */
export const RequestVoteSchema = z.object({
  ...envelope,
  type: z.literal("requestVote"),
  term,
  lastLogIndex: logIndex,
  lastLogTerm: term,
  preVote: z.boolean(),
}).strict();

export const VoteResponseSchema = z.object({
  ...envelope,
  type: z.literal("voteResponse"),
  term,
  granted: z.boolean(),
  preVote: z.boolean(),
}).strict();

/** Log replication and heartbeat. `readCtx` confirms leadership for linearizable reads (ReadIndex). */
export const AppendEntriesSchema = z.object({
  ...envelope,
  type: z.literal("appendEntries"),
  term,
  prevLogIndex: logIndex,
  prevLogTerm: term,
  entries: z.array(LogEntrySchema),
  leaderCommit: logIndex,
  readCtx: nonNegInt,
}).strict();

export const AppendResponseSchema = z.object({
  ...envelope,
  type: z.literal("appendResponse"),
  term,
  success: z.boolean(),
  /** On success: the last index now matching the leader's log. */
  matchIndex: logIndex,
  /** On failure: where the leader should retry from (fast log backtracking). */
  conflictIndex: logIndex,
  readCtx: nonNegInt,
}).strict();

/** One chunk of a snapshot for a follower too far behind for the log (Raft section 7). */
export const InstallSnapshotSchema = z.object({
  ...envelope,
  type: z.literal("installSnapshot"),
  term,
  snapshotIndex: logIndex,
  snapshotTerm: term,
  offset: nonNegInt,
  /** Base64 of this chunk of the snapshot bytes. */
  data: z.string(),
  done: z.boolean(),
  /**
   * With the last chunk: CRC-32 of the whole snapshot, as its file recorded it when it was
   * written. The follower refuses bytes that do not match (damaged on the leader's disk or on the
   * way). Absent from leaders that predate it.
   */
  crc32: z.number().int().min(0).max(0xffff_ffff).optional(),
}).strict();

export const SnapshotResponseSchema = z.object({
  ...envelope,
  type: z.literal("snapshotResponse"),
  term,
  snapshotIndex: logIndex,
  /** Bytes received so far (the next chunk's offset); with `done`, the snapshot is durable. */
  received: nonNegInt,
  done: z.boolean(),
}).strict();

export const PeerMessageSchema = z.discriminatedUnion("type", [
  RequestVoteSchema,
  VoteResponseSchema,
  AppendEntriesSchema,
  AppendResponseSchema,
  InstallSnapshotSchema,
  SnapshotResponseSchema,
]);
export type PeerMessage = z.infer<typeof PeerMessageSchema>;

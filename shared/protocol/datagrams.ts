/**
 * UDP datagrams: worker heartbeats ({@link Heartbeat}), sent on the orchestrator's port number, and
 * the leader's multicast announcements ({@link LeaderAnnouncement}).
 * @module
 */
import { z } from "npm:zod@4.6.7";
import { envelope, nonNegInt, positiveInt } from "./_fields.ts";
import { WorkerIdSchema } from "./task_schemas.ts";

/** Worker liveness, sent every heartbeat interval to every orchestrator. */
export const HeartbeatSchema = z.object({
  ...envelope,
  type: z.literal("heartbeat"),
  workerId: WorkerIdSchema,
  incarnation: z.string().min(1).max(64),
  seq: nonNegInt,
  running: nonNegInt,
  slots: positiveInt,
  /** The worker's wall clock when sending: old datagrams are dropped (replay defence). */
  sentAtMs: nonNegInt,
  /** HMAC-SHA-256 of the fields, present when the cluster has a secret. */
  mac: z.string().max(64).optional(),
}).strict();
export type Heartbeat = z.infer<typeof HeartbeatSchema>;

export const HeartbeatDatagramSchema = z.discriminatedUnion("type", [HeartbeatSchema]);

/**
 * Sent by the leader to the multicast group (when configured), so workers and clients find the
 * cluster and follow leader changes without a static list. Receivers ignore other clusters and
 * terms older than the newest they have seen.
 */
export const LeaderAnnouncementSchema = z.object({
  ...envelope,
  type: z.literal("leaderAnnouncement"),
  clusterId: z.string().min(1).max(64),
  nodeId: z.string().min(1).max(64),
  term: nonNegInt,
  /** Where clients and workers connect: "host:port". */
  address: z.string().min(3).max(300),
  seq: nonNegInt,
  sentAtMs: nonNegInt,
  /** HMAC-SHA-256 of the fields, present when the cluster has a secret. */
  mac: z.string().max(64).optional(),
}).strict();
export type LeaderAnnouncement = z.infer<typeof LeaderAnnouncementSchema>;

export const AnnouncementDatagramSchema = z.discriminatedUnion("type", [LeaderAnnouncementSchema]);

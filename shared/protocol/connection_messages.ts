/**
 * Frames that open and keep a TCP connection, whoever is on the other end: the hello (and, with a
 * cluster secret, the authenticate proof) from the connecting side, the orchestrator's welcome,
 * and the keepalive that tells a frozen orchestrator from a quiet one.
 * @module
 */
import { z } from "npm:zod@4.6.7";
import { envelope } from "./_fields.ts";

/** First frame on every TCP connection: says who is speaking (orchestrators also say which one). */
export const HelloSchema = z.object({
  ...envelope,
  type: z.literal("hello"),
  role: z.enum(["client", "worker", "peer"]),
  /** For role "peer": the connecting orchestrator's id and cluster. */
  nodeId: z.string().min(1).max(64).optional(),
  clusterId: z.string().min(1).max(64).optional(),
  /** Workers and peers: a fresh nonce, the first half of the challenge-response (node_auth.ts). */
  nonce: z.string().min(16).max(128).optional(),
}).strict();
export type Hello = z.infer<typeof HelloSchema>;

/** Second frame of a worker or peer connection when the cluster has a secret: the client's proof. */
export const AuthenticateSchema = z.object({
  ...envelope,
  type: z.literal("authenticate"),
  proof: z.string().min(16).max(128),
}).strict();

export const WelcomeSchema = z.object({
  ...envelope,
  type: z.literal("welcome"),
  nodeId: z.string(),
  clusterId: z.string(),
  /** With a cluster secret: the orchestrator's nonce and its proof of holding the secret. */
  nonce: z.string().min(16).max(128).optional(),
  proof: z.string().min(16).max(128).optional(),
}).strict();
export type Welcome = z.infer<typeof WelcomeSchema>;

/**
 * Sent each heartbeat interval to every client connection, and by the leader to every worker
 * connection: a peer that hears nothing for several intervals takes the orchestrator for frozen
 * or cut off (its connection never closes) and goes elsewhere.
 */
export const KeepaliveSchema = z.object({
  ...envelope,
  type: z.literal("keepalive"),
}).strict();

/** Messages the orchestrator can receive as the first frame of a connection. */
export const HelloDirectionSchema = z.discriminatedUnion("type", [HelloSchema, AuthenticateSchema]);

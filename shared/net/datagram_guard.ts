/**
 * Checks UDP datagrams (heartbeats, leader announcements) before anyone acts
 * on them: with a cluster secret, each must carry a valid HMAC over its fields,
 * a send time within the allowed clock skew, and a sequence number above the
 * last one accepted from that sender. Forged, stale and replayed datagrams are
 * dropped and counted. Pure: time comes in as an argument.
 * @module
 */
import { type ClusterKeys, datagramMac, macEquals } from "../auth/mod.ts";
import type { Heartbeat, LeaderAnnouncement } from "../protocol/messages.ts";

export type DatagramVerdict = "ok" | "forged" | "stale" | "replayed";

/** Senders whose last sequence number is remembered; the oldest are forgotten first. */
const SENDERS_MAX = 100_000;

/** The exact text a heartbeat's MAC covers. */
export function canonicalHeartbeat(hb: Omit<Heartbeat, "mac">): string {
  return ["hb", hb.workerId, hb.incarnation, hb.seq, hb.sentAtMs, hb.running, hb.slots, hb.lamport]
    .join("|");
}

/** The exact text an announcement's MAC covers. */
export function canonicalAnnouncement(a: Omit<LeaderAnnouncement, "mac">): string {
  return ["leader", a.clusterId, a.nodeId, a.term, a.address, a.seq, a.sentAtMs, a.lamport].join(
    "|",
  );
}

/** Adds a MAC (when keys are configured). */
export function signDatagram<T extends object>(
  keys: ClusterKeys | null,
  message: T,
  canonical: string,
): T {
  return keys === null ? message : { ...message, mac: datagramMac(keys, canonical) };
}

export class DatagramGuard {
  readonly #keys: ClusterKeys | null;
  readonly #maxSkewMs: number;
  readonly #lastSeq = new Map<string, number>();

  constructor(keys: ClusterKeys | null, options: { maxSkewMs: number }) {
    this.#keys = keys;
    this.#maxSkewMs = options.maxSkewMs;
  }

  /** True when datagrams must be signed (a cluster secret is configured). */
  get isEnforcing(): boolean {
    return this.#keys !== null;
  }

  /**
   * Judges one datagram from `sender` (e.g. "worker|incarnation"). Only an "ok" datagram
   * advances the sender's sequence number.
   */
  check(
    datagram: { seq: number; sentAtMs: number; mac?: string },
    sender: string,
    canonical: string,
    nowMs: number,
  ): DatagramVerdict {
    if (this.#keys === null) return "ok"; // no secret: nothing to verify against (demo mode)
    if (
      datagram.mac === undefined || !macEquals(datagramMac(this.#keys, canonical), datagram.mac)
    ) {
      return "forged";
    }
    if (Math.abs(nowMs - datagram.sentAtMs) > this.#maxSkewMs) return "stale";
    const last = this.#lastSeq.get(sender);
    if (last !== undefined && datagram.seq <= last) return "replayed";
    this.#lastSeq.delete(sender);
    this.#lastSeq.set(sender, datagram.seq);
    if (this.#lastSeq.size > SENDERS_MAX) this.#lastSeq.delete(this.#lastSeq.keys().next().value!);
    return "ok";
  }
}

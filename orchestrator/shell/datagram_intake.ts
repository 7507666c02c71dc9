/**
 * The UDP side of the server: reads worker heartbeats, drops the oversized, malformed, forged,
 * stale and replayed ones (telling the node, and logging a bounded sample), and steps the node
 * with the rest.
 * @module
 */
import type { ClusterKeys } from "../../shared/auth/mod.ts";
import { MAX_DATAGRAM_BYTES } from "../../shared/limits.ts";
import type { Logger } from "../../shared/log.ts";
import { canonicalHeartbeat, DatagramGuard } from "../../shared/net/datagram_guard.ts";
import { decodeMessage, DIRECTIONS } from "../../shared/protocol/codec.ts";
import type { NodeInput } from "../core/mod.ts";

/** Datagrams sent further in the past (or future) than this are stale: replays, or a broken clock. */
const DATAGRAM_MAX_SKEW_MS = 10_000;

/** What the intake needs from the server. */
export interface DatagramPorts {
  keys: ClusterKeys | null;
  logger: Logger;
  step(input: NodeInput): void;
}

export class DatagramIntake {
  readonly #ports: DatagramPorts;
  readonly #guard: DatagramGuard;
  #rejected = 0;

  constructor(ports: DatagramPorts) {
    this.#ports = ports;
    this.#guard = new DatagramGuard(ports.keys, { maxSkewMs: DATAGRAM_MAX_SKEW_MS });
  }

  /** Reads `udp` until it closes; a read error rejects (the server decides whether it matters). */
  async run(udp: Deno.DatagramConn): Promise<void> {
    for await (const [data] of udp) this.#receive(data, Date.now());
  }

  #receive(data: Uint8Array, nowMs: number): void {
    if (data.length > MAX_DATAGRAM_BYTES) {
      this.#reject("malformed", "oversized datagram", nowMs);
      return;
    }
    const decoded = decodeMessage(data, DIRECTIONS.heartbeat);
    if (!decoded.ok) {
      this.#reject("malformed", decoded.error.message, nowMs);
      return;
    }
    const hb = decoded.message;
    const verdict = this.#guard.check(
      hb,
      `${hb.workerId}|${hb.incarnation}`,
      canonicalHeartbeat(hb),
      nowMs,
    );
    if (verdict !== "ok") {
      this.#reject(verdict, `${verdict} heartbeat claiming to be from ${hb.workerId}`, nowMs);
      return;
    }
    this.#ports.step({ type: "heartbeat", heartbeat: hb, nowMs });
  }

  #reject(
    verdict: "malformed" | "forged" | "stale" | "replayed",
    reason: string,
    nowMs: number,
  ): void {
    this.#ports.step({ type: "datagramRejected", reason: verdict, nowMs });
    this.#rejected += 1;
    // Log the first few and then every 1000th, so a flood cannot flood the log too.
    if (this.#rejected <= 10 || this.#rejected % 1000 === 0) {
      this.#ports.logger.warn(`Dropped datagram #${this.#rejected}: ${reason}`);
    }
  }
}

/**
 * Outbound links to the other orchestrators: one TCP connection per peer,
 * opened on demand and re-opened with backoff. Raft tolerates lost messages
 * (it retries), so a message for a peer that is not connected is dropped
 * rather than queued without bound.
 * @module
 */
import { addressOf, type OrchestratorAddress } from "../../shared/config/mod.ts";
import type { Logger } from "../../shared/log.ts";
import { PROTOCOL_VERSION } from "../../shared/limits.ts";
import { FramedConnection } from "../../shared/net/framed_connection.ts";
import type { PeerMessage } from "../../shared/protocol/peer_messages.ts";

/** Frames between orchestrators carry batches of entries and snapshot chunks. */
export const PEER_MAX_FRAME_BYTES = 64 * 1024 * 1024;
const RECONNECT_MIN_MS = 50;
const RECONNECT_MAX_MS = 1000;
/** Messages held for a peer while its connection opens; older ones are dropped beyond this. */
const CONNECTING_BUFFER_MAX = 256;

interface Link {
  peer: OrchestratorAddress;
  conn: FramedConnection | null;
  connecting: boolean;
  buffer: PeerMessage[];
  nextAttemptMs: number;
  backoffMs: number;
}

export class PeerLinks {
  readonly #selfId: string;
  readonly #clusterId: string;
  readonly #logger: Logger;
  readonly #links = new Map<string, Link>();
  #closed = false;

  constructor(options: {
    selfId: string;
    clusterId: string;
    peers: readonly OrchestratorAddress[];
    logger: Logger;
  }) {
    this.#selfId = options.selfId;
    this.#clusterId = options.clusterId;
    this.#logger = options.logger;
    for (const peer of options.peers) {
      if (peer.id === options.selfId) continue;
      this.#links.set(peer.id, {
        peer,
        conn: null,
        connecting: false,
        buffer: [],
        nextAttemptMs: 0,
        backoffMs: RECONNECT_MIN_MS,
      });
    }
  }

  /** Sends a message to a peer, connecting first if needed. */
  send(to: string, message: PeerMessage): void {
    const link = this.#links.get(to);
    if (link === undefined || this.#closed) return;
    if (link.conn !== null && !link.conn.isClosed) {
      link.conn.send(message);
      return;
    }
    link.buffer.push(message);
    if (link.buffer.length > CONNECTING_BUFFER_MAX) link.buffer.shift();
    this.#connect(link);
  }

  close(): void {
    this.#closed = true;
    for (const link of this.#links.values()) link.conn?.close();
  }

  #connect(link: Link): void {
    if (link.connecting || Date.now() < link.nextAttemptMs) return;
    link.connecting = true;
    void this.#open(link).finally(() => {
      link.connecting = false;
    });
  }

  async #open(link: Link): Promise<void> {
    const { peer } = link;
    let raw: Deno.Conn;
    try {
      raw = await Deno.connect({ hostname: peer.host, port: peer.port });
    } catch (error) {
      link.nextAttemptMs = Date.now() + link.backoffMs;
      link.backoffMs = Math.min(RECONNECT_MAX_MS, link.backoffMs * 2);
      link.buffer = [];
      this.#logger.debug(
        `Cannot reach peer ${peer.id} at ${addressOf(peer)}: ${(error as Error).message}`,
      );
      return;
    }
    if (this.#closed) {
      raw.close();
      return;
    }
    const conn = new FramedConnection(raw, { maxFrameBytes: PEER_MAX_FRAME_BYTES });
    conn.send({
      v: PROTOCOL_VERSION,
      type: "hello",
      role: "peer",
      nodeId: this.#selfId,
      clusterId: this.#clusterId,
      lamport: 0,
    });
    link.conn = conn;
    link.backoffMs = RECONNECT_MIN_MS;
    for (const message of link.buffer) conn.send(message);
    link.buffer = [];
    // Peers never write back on this connection (replies come on their own link); reading
    // only tells us when it closes, so the next send reconnects.
    void this.#watch(link, conn);
  }

  async #watch(link: Link, conn: FramedConnection): Promise<void> {
    try {
      for await (const _frame of conn.frames()) {
        // An error frame from the peer (e.g. it refused our hello) ends the link.
        break;
      }
    } catch (error) {
      this.#logger.debug(`Link to peer ${link.peer.id} failed: ${(error as Error).message}`);
    } finally {
      conn.close();
      if (link.conn === conn) link.conn = null;
    }
  }
}

/**
 * Outbound links to the other orchestrators: one TCP (or TLS) connection per
 * peer, opened on demand, authenticated with the cluster secret when there is
 * one, and re-opened with backoff. Raft tolerates lost messages (it retries),
 * so a message for a peer that is not connected is dropped beyond a small
 * buffer rather than queued without bound.
 * @module
 */
import type { ClusterKeys } from "../../shared/auth/mod.ts";
import { addressOf, type OrchestratorAddress } from "../../shared/config/mod.ts";
import type { Logger } from "../../shared/log.ts";
import { connectTo, type TlsClientOptions } from "../../shared/net/connect.ts";
import { FramedConnection } from "../../shared/net/framed_connection.ts";
import { backoffMs, PEER_RECONNECT } from "../../shared/net/retry_policy.ts";
import { answerWelcome, nodeHello } from "../../shared/net/node_handshake.ts";
import { decodeMessage, DIRECTIONS } from "../../shared/protocol/codec.ts";
import type { PeerMessage } from "../../shared/protocol/peer_messages.ts";

/** Frames between orchestrators carry batches of entries and snapshot chunks. */
export const PEER_MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** Messages held for a peer while its connection opens; older ones are dropped beyond this. */
const CONNECTING_BUFFER_MAX = 256;

interface Link {
  peer: OrchestratorAddress;
  conn: FramedConnection | null;
  /** True once the peer welcomed us (and, with a secret, we proved ourselves). */
  ready: boolean;
  connecting: boolean;
  buffer: PeerMessage[];
  nextAttemptMs: number;
  /** Failed attempts since the link was last ready: sets the backoff (PEER_RECONNECT). */
  failures: number;
}

export interface PeerLinksOptions {
  selfId: string;
  clusterId: string;
  peers: readonly OrchestratorAddress[];
  logger: Logger;
  keys: ClusterKeys | null;
  tls: TlsClientOptions | null;
}

export class PeerLinks {
  readonly #options: PeerLinksOptions;
  readonly #links = new Map<string, Link>();
  #closed = false;

  constructor(options: PeerLinksOptions) {
    this.#options = options;
    for (const peer of options.peers) {
      if (peer.id === options.selfId) continue;
      this.#links.set(peer.id, {
        peer,
        conn: null,
        ready: false,
        connecting: false,
        buffer: [],
        nextAttemptMs: 0,
        failures: 0,
      });
    }
  }

  /** Sends a message to a peer, connecting first if needed. */
  send(to: string, message: PeerMessage): void {
    const link = this.#links.get(to);
    if (link === undefined || this.#closed) return;
    if (link.ready && link.conn !== null && !link.conn.isClosed) {
      link.conn.send(message);
      return;
    }
    link.buffer.push(message);
    if (link.buffer.length > CONNECTING_BUFFER_MAX) link.buffer.shift();
    if (link.conn === null) this.#connect(link);
  }

  close(): void {
    this.#closed = true;
    for (const link of this.#links.values()) link.conn?.close();
  }

  #connect(link: Link): void {
    if (link.connecting || Date.now() < link.nextAttemptMs) return;
    link.connecting = true;
    void this.#run(link).finally(() => {
      link.connecting = false;
    });
  }

  /** One connection's life: connect, handshake, then watch for its end. */
  async #run(link: Link): Promise<void> {
    const { peer } = link;
    let raw: Deno.Conn;
    try {
      raw = await connectTo(peer, this.#options.tls, PEER_RECONNECT.connectTimeoutMs);
    } catch (error) {
      this.#failed(link, `Cannot reach peer ${peer.id}: ${(error as Error).message}`);
      return;
    }
    if (this.#closed) {
      raw.close();
      return;
    }
    const conn = new FramedConnection(raw, { maxFrameBytes: PEER_MAX_FRAME_BYTES });
    const hello = nodeHello("peer", {
      nodeId: this.#options.selfId,
      clusterId: this.#options.clusterId,
    });
    conn.send(hello.message);
    link.conn = conn;
    try {
      for await (const payload of conn.frames()) {
        if (link.ready) break; // peers never write on this link after the welcome but to refuse us
        if (!this.#onWelcome(link, conn, hello.nonce, payload)) break;
      }
    } catch (error) {
      this.#options.logger.debug(`Link to peer ${peer.id} failed: ${(error as Error).message}`);
    } finally {
      conn.close();
      if (link.conn === conn) {
        link.conn = null;
        link.ready = false;
      }
    }
  }

  /** Handles the peer's first frame; true when the link is ready. */
  #onWelcome(link: Link, conn: FramedConnection, nonce: string, payload: Uint8Array): boolean {
    const decoded = decodeMessage(payload, DIRECTIONS.orchestratorToWorker);
    if (!decoded.ok || decoded.message.type !== "welcome") {
      const why = decoded.ok && decoded.message.type === "error"
        ? decoded.message.message
        : "no welcome";
      this.#failed(link, `Peer ${link.peer.id} refused the link: ${why}`, "warn");
      return false;
    }
    const answer = answerWelcome(this.#options.keys, "peer", nonce, decoded.message);
    if (!answer.ok) {
      this.#failed(
        link,
        `Refusing peer ${link.peer.id} at ${addressOf(link.peer)}: ${answer.reason}`,
        "warn",
      );
      return false;
    }
    if (answer.authenticate !== null) conn.send(answer.authenticate);
    link.ready = true;
    link.failures = 0;
    for (const message of link.buffer) conn.send(message);
    link.buffer = [];
    return true;
  }

  #failed(link: Link, message: string, level: "debug" | "warn" = "debug"): void {
    // No jitter: one orchestrator re-dials each peer on its own schedule, nothing to spread.
    link.nextAttemptMs = Date.now() + backoffMs(PEER_RECONNECT, link.failures);
    link.failures += 1;
    link.buffer = [];
    this.#options.logger.log(level, message);
  }
}

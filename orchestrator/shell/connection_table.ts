/**
 * The server's open TCP connections: their ids, how many each source holds, whether each said
 * hello, and how many of its client requests await replies. It also closes the connections that
 * never said hello or trickle a frame in too slowly (the watchdog's sweep).
 * @module
 */
import type { Logger } from "../../shared/log.ts";
import { FramedConnection } from "../../shared/net/framed_connection.ts";
import type { ConnId, Outbound } from "../core/mod.ts";

/** Per connection: when it opened, whether it said hello, and requests awaiting replies. */
export interface ConnectionMeta {
  openedMs: number;
  greeted: boolean;
  inflight: number;
}

/** A connection just accepted, and how many (itself included) its source now holds. */
export interface OpenedConnection {
  connId: ConnId;
  conn: FramedConnection;
  meta: ConnectionMeta;
  source: string;
  fromSource: number;
}

/** The limits the sweep enforces. */
export interface SweepLimits {
  helloTimeoutMs: number;
  partialFrameTimeoutMs: number;
}

export class ConnectionTable {
  readonly #conns = new Map<ConnId, FramedConnection>();
  readonly #meta = new Map<ConnId, ConnectionMeta>();
  readonly #perSource = new Map<string, number>();
  #nextConnId = 1;

  /** Registers an accepted socket, framed with at most `maxFrameBytes` per frame. */
  open(raw: Deno.Conn, maxFrameBytes: number, nowMs: number): OpenedConnection {
    const connId = this.#nextConnId++;
    const conn = new FramedConnection(raw, { maxFrameBytes });
    const source = conn.remoteHost;
    this.#conns.set(connId, conn);
    const meta = { openedMs: nowMs, greeted: false, inflight: 0 };
    this.#meta.set(connId, meta);
    const fromSource = (this.#perSource.get(source) ?? 0) + 1;
    this.#perSource.set(source, fromSource);
    return { connId, conn, meta, source, fromSource };
  }

  /** Forgets a connection that has closed. */
  release(connId: ConnId, source: string): void {
    this.#conns.delete(connId);
    this.#meta.delete(connId);
    const left = (this.#perSource.get(source) ?? 1) - 1;
    if (left === 0) this.#perSource.delete(source);
    else this.#perSource.set(source, left);
  }

  /** The remote host of a connection, or "unknown" once it has closed. */
  remoteHost(connId: ConnId): string {
    return this.#conns.get(connId)?.remoteHost ?? "unknown";
  }

  /**
   * Counts a client request that will get a reply naming its id; false when that takes the
   * connection over `maxInflight`. The reply uncounts it (see {@link send}).
   */
  admitRequest(connId: ConnId, maxInflight: number): boolean {
    const meta = this.#meta.get(connId);
    if (meta === undefined) return true;
    meta.inflight += 1;
    return meta.inflight <= maxInflight;
  }

  send({ conn, message }: Outbound): void {
    const meta = this.#meta.get(conn);
    if (meta !== undefined && "re" in message && message.re !== null && meta.inflight > 0) {
      meta.inflight -= 1; // every client request gets exactly one reply
    }
    this.#conns.get(conn)?.send(message);
  }

  close(connId: ConnId): void {
    void this.#conns.get(connId)?.closeAfterFlush();
  }

  closeAll(): void {
    for (const conn of this.#conns.values()) conn.close();
    this.#conns.clear();
  }

  /** Closes connections that never said hello, or trickle a frame in too slowly (slowloris). */
  sweep(limits: SweepLimits, logger: Logger, nowMs: number): void {
    for (const [connId, conn] of this.#conns) {
      const meta = this.#meta.get(connId);
      if (meta === undefined) continue;
      const silent = !meta.greeted && nowMs - meta.openedMs > limits.helloTimeoutMs;
      const trickling = conn.partialFrameAgeMs(nowMs) > limits.partialFrameTimeoutMs;
      if (!silent && !trickling) continue;
      logger.warn(
        `Closing connection ${connId} from ${conn.remoteAddress}: ${
          silent ? "no hello" : "a frame still incomplete"
        } after ${(silent ? limits.helloTimeoutMs : limits.partialFrameTimeoutMs) / 1000} s`,
      );
      conn.close();
    }
  }
}

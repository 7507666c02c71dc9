/**
 * Keepalives: once per heartbeat interval the node tells its clients, and as leader its
 * workers, that it is alive, so that they notice a silent orchestrator and move on.
 * @module
 */
import type { ConnId } from "./node_io.ts";

export class Keepalives {
  /** Connections that said hello as clients. */
  readonly #clients = new Set<ConnId>();
  /** When keepalives last went out. */
  #sentMs = -Infinity;

  addClient(conn: ConnId): void {
    this.#clients.add(conn);
  }

  dropClient(conn: ConnId): void {
    this.#clients.delete(conn);
  }

  /**
   * The connections owed a keepalive at `nowMs`: every client, then `workers`, once per
   * `intervalMs` (none in between).
   */
  due(nowMs: number, intervalMs: number, workers: Iterable<ConnId>): ConnId[] {
    if (nowMs - this.#sentMs < intervalMs) return [];
    this.#sentMs = nowMs;
    return [...this.#clients, ...workers];
  }
}

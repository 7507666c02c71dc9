/**
 * The simulated network: datagrams (Raft messages between orchestrators, UDP
 * heartbeats) that may be delayed, dropped, duplicated and reordered; TCP-like
 * connections (clients and workers to an orchestrator) that deliver in order
 * while up and break as a whole; and partitions, symmetric or one-way.
 * @module
 */
import type { Rng } from "../../shared/prng.ts";
import type { NetworkParams } from "./sim_params.ts";

/** What the network needs from the world. */
export interface NetworkHost {
  readonly rng: Rng;
  readonly nowMs: number;
  /** Runs `run` `delayMs` from now on behalf of `owner` (deferred while the owner is paused). */
  schedule(delayMs: number, owner: string | null, run: () => void): void;
  note(text: string): void;
}

/** One side of a connection, as the network calls it. */
export interface ConnEnd {
  deliver(message: unknown): void;
  /** The connection is gone (closed by the other side, or broken). Called at most once. */
  closed(): void;
}

/** A server that accepts connections (an orchestrator). */
export interface Listener {
  readonly id: string;
  readonly isListening: boolean;
  /** Accepts a connection; returns the server's end. */
  accept(conn: SimConnection): ConnEnd;
}

/** Datagram fault rates in force (the chaos phase's, or none once healed). */
export interface DatagramRates {
  dropRate: number;
  duplicateRate: number;
  reorderRate: number;
}

/** Counters for the summary. */
export interface NetworkStats {
  datagramsSent: number;
  datagramsDropped: number;
  datagramsDuplicated: number;
  datagramsBlocked: number;
  connectionsOpened: number;
  connectionsBroken: number;
}

export class Network {
  readonly #host: NetworkHost;
  readonly #params: NetworkParams;
  /** Blocked directions, `from>to`, counted so overlapping partitions heal independently. */
  readonly #blocked = new Map<string, number>();
  readonly #conns = new Set<SimConnection>();
  #nextSerial = 1;
  rates: DatagramRates;
  readonly stats: NetworkStats = {
    datagramsSent: 0,
    datagramsDropped: 0,
    datagramsDuplicated: 0,
    datagramsBlocked: 0,
    connectionsOpened: 0,
    connectionsBroken: 0,
  };

  constructor(host: NetworkHost, params: NetworkParams) {
    this.#host = host;
    this.#params = params;
    this.rates = {
      dropRate: params.dropRate,
      duplicateRate: params.duplicateRate,
      reorderRate: params.reorderRate,
    };
  }

  get host(): NetworkHost {
    return this.#host;
  }

  get params(): NetworkParams {
    return this.#params;
  }

  /** Open connections, oldest first. */
  get connections(): SimConnection[] {
    return [...this.#conns];
  }

  /** Whether a packet from `from` reaches `to` now. */
  canReach(from: string, to: string): boolean {
    return !this.#blocked.has(`${from}>${to}`);
  }

  /** A one-way latency draw, integer milliseconds. */
  latency(): number {
    return this.#host.rng.int(this.#params.latencyMinMs, this.#params.latencyMaxMs);
  }

  /**
   * Blocks each `[from, to]` direction until the returned function is called;
   * connections that can no longer carry both ways break.
   */
  block(directions: ReadonlyArray<readonly [string, string]>): () => void {
    for (const [from, to] of directions) {
      const key = `${from}>${to}`;
      this.#blocked.set(key, (this.#blocked.get(key) ?? 0) + 1);
    }
    for (const conn of this.#conns) {
      if (!this.canReach(conn.remote, conn.server) || !this.canReach(conn.server, conn.remote)) {
        conn.break("partition");
      }
    }
    let healed = false;
    return () => {
      if (healed) return;
      healed = true;
      for (const [from, to] of directions) {
        const key = `${from}>${to}`;
        const count = (this.#blocked.get(key) ?? 0) - 1;
        if (count <= 0) this.#blocked.delete(key);
        else this.#blocked.set(key, count);
      }
    };
  }

  /** Lifts every block. */
  healAll(): void {
    this.#blocked.clear();
  }

  /** Sends a datagram; `deliver` runs at the receiver, zero, one or two times. */
  sendDatagram(from: string, to: string, deliver: () => void): void {
    const rng = this.#host.rng;
    this.stats.datagramsSent += 1;
    if (!this.canReach(from, to)) {
      this.stats.datagramsBlocked += 1;
      return;
    }
    if (rng.chance(this.rates.dropRate)) {
      this.stats.datagramsDropped += 1;
      return;
    }
    const copies = rng.chance(this.rates.duplicateRate) ? 2 : 1;
    if (copies === 2) this.stats.datagramsDuplicated += 1;
    for (let i = 0; i < copies; i++) {
      const extra = rng.chance(this.rates.reorderRate)
        ? rng.int(1, this.#params.reorderDelayMaxMs)
        : 0;
      this.#host.schedule(this.latency() + extra, to, () => {
        // A partition that started meanwhile also drops what was on the way.
        if (this.canReach(from, to)) deliver();
      });
    }
  }

  /**
   * Opens a connection from `remote` to `listener`: `onOpen` runs at the remote once the
   * server accepted it, `onFail` when the server is down (refused) or unreachable (timed out).
   */
  connect(
    remote: string,
    listener: Listener,
    remoteEnd: ConnEnd,
    handlers: { onOpen: (conn: SimConnection) => void; onFail: (reason: string) => void },
  ): SimConnection {
    const conn = new SimConnection(this, this.#nextSerial++, remote, listener.id, remoteEnd);
    const reachable = () =>
      this.canReach(remote, listener.id) && this.canReach(listener.id, remote);
    if (!reachable()) {
      this.#host.schedule(this.#params.connectTimeoutMs, remote, () => {
        if (!conn.isAbandoned) handlers.onFail("connection timed out");
      });
      return conn;
    }
    this.#host.schedule(this.latency(), listener.id, () => {
      if (conn.isAbandoned) return;
      if (!listener.isListening || !reachable()) {
        this.#host.schedule(this.latency(), remote, () => {
          if (!conn.isAbandoned) handlers.onFail("connection refused");
        });
        return;
      }
      this.stats.connectionsOpened += 1;
      this.#conns.add(conn);
      conn.attachServer(listener.accept(conn));
      this.#host.schedule(this.latency(), remote, () => {
        if (conn.isUsableByRemote) handlers.onOpen(conn);
      });
    });
    return conn;
  }

  /** @internal Called by a connection once both ends are done with it. */
  forget(conn: SimConnection): void {
    this.#conns.delete(conn);
  }
}

/**
 * A TCP-like connection between a remote (client or worker) and a server
 * (orchestrator): in order in each direction while up; a break loses what is
 * in flight and tells both ends, each after its own detection delay.
 */
export class SimConnection {
  readonly serial: number;
  readonly remote: string;
  readonly server: string;
  readonly #net: Network;
  readonly #remoteEnd: ConnEnd;
  #serverEnd: ConnEnd | null = null;
  #isBroken = false;
  #isClosedByRemote = false;
  #isClosedByServer = false;
  #remoteNotified = false;
  #serverNotified = false;
  #lastToServerAt = 0;
  #lastToRemoteAt = 0;

  constructor(net: Network, serial: number, remote: string, server: string, remoteEnd: ConnEnd) {
    this.#net = net;
    this.serial = serial;
    this.remote = remote;
    this.server = server;
    this.#remoteEnd = remoteEnd;
  }

  /** The remote gave up before the connection opened, or closed it since. */
  get isAbandoned(): boolean {
    return this.#isClosedByRemote || this.#isBroken;
  }

  /** The remote may still use it. */
  get isUsableByRemote(): boolean {
    return !this.#isBroken && !this.#isClosedByRemote && !this.#isClosedByServer;
  }

  /** @internal The listener accepted it. */
  attachServer(end: ConnEnd): void {
    this.#serverEnd = end;
  }

  sendToServer(message: unknown): void {
    if (!this.isUsableByRemote || this.#serverEnd === null) return;
    const host = this.#net.host;
    const at = Math.max(this.#lastToServerAt, host.nowMs + this.#net.latency());
    this.#lastToServerAt = at;
    host.schedule(at - host.nowMs, this.server, () => {
      if (!this.#isBroken && !this.#isClosedByServer) this.#serverEnd!.deliver(message);
    });
  }

  sendToRemote(message: unknown): void {
    if (this.#isBroken || this.#isClosedByServer || this.#isClosedByRemote) return;
    const host = this.#net.host;
    const at = Math.max(this.#lastToRemoteAt, host.nowMs + this.#net.latency());
    this.#lastToRemoteAt = at;
    host.schedule(at - host.nowMs, this.remote, () => {
      if (!this.#isBroken && !this.#isClosedByRemote) this.#remoteEnd.deliver(message);
    });
  }

  /** The remote closes its end; what it sent before still arrives, then the server sees the close. */
  closeByRemote(): void {
    if (this.#isClosedByRemote || this.#isBroken) return;
    this.#isClosedByRemote = true;
    this.#remoteNotified = true;
    if (this.#serverEnd === null) return;
    const host = this.#net.host;
    const at = Math.max(this.#lastToServerAt, host.nowMs + this.#net.latency());
    host.schedule(at - host.nowMs, this.server, () => this.#notifyServer());
  }

  /** The server closes after writing what is queued; the remote sees that, then the close. */
  closeByServer(): void {
    if (this.#isClosedByServer || this.#isBroken) return;
    this.#isClosedByServer = true;
    const host = this.#net.host;
    const at = Math.max(this.#lastToRemoteAt, host.nowMs + this.#net.latency());
    host.schedule(at - host.nowMs, this.remote, () => this.#notifyRemote());
    host.schedule(0, this.server, () => this.#notifyServer());
  }

  /** Breaks the connection: what is in flight is lost; each end notices after a while. */
  break(reason: string): void {
    if (this.#isBroken) return;
    this.#isBroken = true;
    const host = this.#net.host;
    this.#net.stats.connectionsBroken += 1;
    host.note(`net: connection #${this.serial} ${this.remote}<->${this.server} broke (${reason})`);
    const detect = () => host.rng.int(0, this.#net.params.breakDetectMsMax);
    host.schedule(detect(), this.remote, () => this.#notifyRemote());
    if (this.#serverEnd !== null) host.schedule(detect(), this.server, () => this.#notifyServer());
    else this.#serverNotified = true;
  }

  #notifyRemote(): void {
    if (this.#remoteNotified) return;
    this.#remoteNotified = true;
    this.#remoteEnd.closed();
    this.#maybeForget();
  }

  #notifyServer(): void {
    if (this.#serverNotified || this.#serverEnd === null) return;
    this.#serverNotified = true;
    this.#serverEnd.closed();
    this.#maybeForget();
  }

  #maybeForget(): void {
    if (this.#remoteNotified && this.#serverNotified) this.#net.forget(this);
  }
}

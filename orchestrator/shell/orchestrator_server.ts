/**
 * The orchestrator's shell: wires the pure node to TCP (clients, workers and
 * other orchestrators on one port, told apart by their hello frame), UDP
 * (heartbeats on the same port number), the durable log, snapshots and timers.
 * It decides nothing: it turns I/O into node inputs and carries out the node's
 * effects. Each kind of work lives in its own module; this class owns their
 * lifetimes and the one `step` through which every input reaches the node:
 * - connection_table.ts: open connections, per-source counts, replies awaited, the watchdog
 * - handshake.ts: hello and cluster-secret proof on a new connection
 * - frame_router.ts: later frames decoded by role and handed to the node
 * - datagram_intake.ts: heartbeats over UDP
 * - durable_log.ts, recover_node.ts, group_commit.ts: the log on disk and the node built from it
 * - password_checks.ts: scrypt work for logins and password changes
 * - snapshot_taker.ts: local snapshots, when the node asks for them
 * - leader_announcer.ts: multicast announcements, when the node asks for them
 * - ../http/: the HTTP port (REST API and /metrics), when the cluster file gives one
 * @module
 */
import type { ClusterConfig, OrchestratorAddress } from "../../shared/config/mod.ts";
import { createLogger, type Logger } from "../../shared/log.ts";
import type { MulticastGroup } from "../../shared/net/multicast.ts";
import type { TlsClientOptions } from "../../shared/net/connect.ts";
import type { ClusterKeys } from "../../shared/auth/mod.ts";
import { ProtocolError } from "../../shared/protocol/codec.ts";
import { FrameTooLargeError } from "../../shared/protocol/frame.ts";
import { HttpServer } from "../http/mod.ts";
import { Histogram, LATENCY_BOUNDS_SECONDS } from "../../shared/histogram.ts";
import type { NodeEffects, NodeInput, OrchestratorNode } from "../core/mod.ts";
import type { LogStorage } from "../storage/mod.ts";
import { ConnectionTable } from "./connection_table.ts";
import { DatagramIntake } from "./datagram_intake.ts";
import { openDurableLog } from "./durable_log.ts";
import { runEffects } from "./effect_runner.ts";
import { type FramePorts, routeFrame } from "./frame_router.ts";
import { GroupCommit } from "./group_commit.ts";
import { acceptHello, acceptProof, type HandshakePorts, type Role } from "./handshake.ts";
import { LeaderAnnouncer } from "./leader_announcer.ts";
import { PasswordChecks } from "./password_checks.ts";
import { PeerLinks } from "./peer_links.ts";
import { recoverNode } from "./recover_node.ts";
import { SnapshotTaker } from "./snapshot_taker.ts";

export interface ServerOptions {
  config: ClusterConfig;
  self: OrchestratorAddress;
  dataDir: string;
  logger?: Logger;
  /** Where the leader announces itself; null (the default) for no multicast. */
  multicast?: MulticastGroup | null;
  /** A bootstrap admin (from $MUTIRAO_ADMIN_PASSWORD or a 0600 file), created if missing. */
  bootstrapAdmin?: { name: string; passwordHash: string } | null;
  /** Keys from the cluster secret: workers and peers must prove them, datagrams carry MACs. */
  clusterKeys?: ClusterKeys | null;
  /** TLS: this orchestrator's certificate and key, and the CA it verifies peers with. */
  tls?: { cert: string; key: string; client: TlsClientOptions } | null;
  /** Rejoin after a lost disk (`--rejoin`; see rejoin_check.ts and RaftOptions.rejoin). */
  rejoin?: boolean;
}

/** What the server reports once it listens. */
export interface ServerAddress {
  nodeId: string;
  host: string;
  port: number;
  /** The HTTP port (API and /metrics), or null when the cluster file gives it none. */
  httpPort: number | null;
}

/** How often the watchdog looks for silent or trickling connections. */
const WATCHDOG_INTERVAL_MS = 1000;

export class OrchestratorServer {
  readonly #options: ServerOptions;
  readonly #logger: Logger;
  readonly #connections = new ConnectionTable();
  readonly #handshake: HandshakePorts;
  readonly #frames: FramePorts;
  readonly #datagrams: DatagramIntake;
  readonly #passwords: PasswordChecks;
  readonly #snapshots: SnapshotTaker;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #node!: OrchestratorNode;
  #storage!: LogStorage;
  #commit!: GroupCommit;
  #peers!: PeerLinks;
  #listener: Deno.Listener | null = null;
  #udp: Deno.DatagramConn | null = null;
  #tickTimer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;
  /** Inputs of this turn of the event loop, stepped together at its end. */
  #inputs: NodeInput[] = [];
  #fatal: ((error: unknown) => void) | null = null;
  #announcer: LeaderAnnouncer | null = null;
  #http: HttpServer | null = null;
  /** Client requests read from TCP connections (for /metrics). */
  #tcpRequests = 0;
  /** Durations of the log's fsyncs (group_commit.ts), for /metrics. */
  readonly #fsyncSeconds = new Histogram(LATENCY_BOUNDS_SECONDS);

  constructor(options: ServerOptions) {
    this.#options = options;
    this.#logger = options.logger ?? createLogger(`orchestrator ${options.self.id}`);
    const keys = options.clusterKeys ?? null;
    const step = (input: NodeInput) => this.#step(input);
    this.#handshake = {
      config: options.config,
      self: options.self,
      keys,
      logger: this.#logger,
      step,
    };
    this.#frames = {
      connections: this.#connections,
      maxInflightPerConnection: options.config.maxInflightPerConnection,
      logger: this.#logger,
      step,
    };
    this.#datagrams = new DatagramIntake({ keys, logger: this.#logger, step });
    this.#passwords = new PasswordChecks({
      tokenTtlMs: options.config.tokenTtlMs,
      remoteHost: (conn) =>
        this.#http?.owns(conn) ? this.#http.sourceOf(conn) : this.#connections.remoteHost(conn),
      isStopped: () => this.#stopped,
      step,
    });
    this.#snapshots = new SnapshotTaker({
      logger: this.#logger,
      node: () => this.#node,
      commit: () => this.#commit,
      storage: () => this.#storage,
      isStopped: () => this.#stopped,
      die: (error) => this.#die(error),
    });
  }

  /** The node, for tests and status views. */
  get node(): OrchestratorNode {
    return this.#node;
  }

  /**
   * Recovers state from disk, then listens. Resolves with the bound address.
   * @throws {Error} when the data directory or the port cannot be used.
   */
  async start(onFatal: (error: unknown) => void): Promise<ServerAddress> {
    this.#fatal = onFatal;
    const { config, self } = this.#options;
    const rejoin = this.#options.rejoin === true;
    const opened = await openDurableLog(this.#options.dataDir, {
      rejoin,
      voters: config.orchestrators.length,
      logger: this.#logger,
    });
    this.#storage = opened.storage;
    this.#snapshots.noteSnapshot(opened.recovered.snapshot?.index ?? 0);
    this.#commit = new GroupCommit(this.#storage, {
      onDurable: (index, term) => this.#step({ type: "persisted", index, term, nowMs: Date.now() }),
      onError: (error) => this.#die(new Error("Cannot write the log to disk", { cause: error })),
      sendPeers: (messages) => {
        for (const { to, message } of messages) this.#peers.send(to, message);
      },
      onSync: (seconds) => this.#fsyncSeconds.observe(seconds),
    });
    this.#peers = new PeerLinks({
      selfId: self.id,
      clusterId: config.clusterId,
      peers: config.orchestrators,
      logger: this.#logger,
      keys: this.#options.clusterKeys ?? null,
      tls: this.#options.tls?.client ?? null,
    });
    this.#node = recoverNode(opened.recovered, {
      config,
      self,
      bootstrapAdmin: this.#options.bootstrapAdmin ?? null,
      rejoin,
      logger: this.#logger,
      snapshotSource: opened.storage.newestSnapshot?.source,
      diskUse: () => opened.storage.diskUse(),
    });
    // The recovered snapshot's bytes are in the state machine now: let them go.
    opened.recovered.snapshot = null;
    this.#execute(this.#node.takeEffects());
    const port = this.#listen(self);
    const tickMs = Math.max(
      5,
      Math.min(
        50,
        Math.floor(config.heartbeatIntervalMs / 5),
        Math.floor(config.raftHeartbeatIntervalMs / 2),
      ),
    );
    const multicast = this.#options.multicast;
    if (multicast) {
      this.#announcer = new LeaderAnnouncer(multicast, {
        keys: this.#options.clusterKeys ?? null,
        identity: { clusterId: config.clusterId, nodeId: self.id, address: `${self.host}:${port}` },
      });
      this.#logger.info(
        `Leader announcements go to multicast ${multicast.group}:${multicast.port}`,
      );
    }
    this.#watchdog = setInterval(() => this.#sweepConnections(), WATCHDOG_INTERVAL_MS);
    this.#tickTimer = setInterval(() => {
      this.#step({ type: "tick", nowMs: Date.now() });
    }, tickMs);
    const httpPort = await this.#serveHttp();
    this.#logger.info(
      `Listening on ${self.host}:${port} (TCP for clients, workers and peers; UDP for heartbeats); ` +
        `${config.orchestrators.length} orchestrator(s) in cluster ${config.clusterId}; ` +
        `log up to index ${this.#node.lastLogIndex}, ${this.#node.sm.tasks.size} task(s) in the snapshot`,
    );
    return { nodeId: self.id, host: self.host, port, httpPort };
  }

  /** Starts the HTTP port when the cluster file gives one; its bound port, else null. */
  async #serveHttp(): Promise<number | null> {
    const { config, self, tls } = this.#options;
    if (self.httpPort === undefined) return null;
    this.#http = new HttpServer({
      clusterId: config.clusterId,
      self,
      orchestrators: config.orchestrators,
      maxBodyBytes: config.maxFrameBytes,
      bodyTimeoutMs: config.partialFrameTimeoutMs,
      maxRequestsPerSource: config.maxConnectionsPerSource,
      tls: tls ? { cert: tls.cert, key: tls.key, caCerts: tls.client.caCerts } : null,
      logger: this.#logger,
      step: (input) => this.#step(input),
      node: () => this.#node,
      tcpRequests: () => this.#tcpRequests,
      fsyncSeconds: this.#fsyncSeconds,
      metricsToken: config.metricsToken ?? null,
    });
    const port = await this.#http.start();
    this.#logger.info(
      `Serving HTTP on ${tls ? "https" : "http"}://${self.host}:${port} ` +
        `(dashboard at /, API under /api/v1, Prometheus metrics at /metrics)`,
    );
    return port;
  }

  /** Stops listening, closes every connection and the log. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#tickTimer);
    clearInterval(this.#watchdog);
    this.#listener?.close();
    this.#udp?.close();
    this.#peers?.close();
    this.#announcer?.close();
    this.#connections.closeAll();
    await this.#http?.stop();
    await this.#storage?.close();
  }

  /** Binds TCP and UDP on one port number, starts reading both, and returns the port. */
  #listen(self: OrchestratorAddress): number {
    // The UDP socket must share the TCP port number; with port 0 retry until both bind.
    for (let attempt = 0;; attempt++) {
      const tls = this.#options.tls;
      const listener: Deno.Listener = tls
        ? Deno.listenTls({ hostname: self.host, port: self.port, cert: tls.cert, key: tls.key })
        : Deno.listen({ hostname: self.host, port: self.port, transport: "tcp" });
      const port = (listener.addr as Deno.NetAddr).port;
      let udp: Deno.DatagramConn;
      try {
        udp = Deno.listenDatagram({ hostname: self.host, port, transport: "udp" });
      } catch (error) {
        listener.close();
        if (self.port !== 0 || attempt >= 20) {
          throw new Error(`Cannot listen for heartbeats on UDP ${self.host}:${port}`, {
            cause: error,
          });
        }
        continue;
      }
      this.#listener = listener;
      this.#udp = udp;
      void this.#acceptLoop(listener);
      void this.#datagrams.run(udp).catch((error) => {
        if (!this.#stopped) this.#die(new Error("UDP listener failed", { cause: error }));
      });
      return port;
    }
  }

  async #acceptLoop(listener: Deno.Listener): Promise<void> {
    try {
      for await (const conn of listener) void this.#serve(conn);
    } catch (error) {
      if (!this.#stopped) this.#die(new Error("TCP listener failed", { cause: error }));
    }
  }

  async #serve(raw: Deno.Conn): Promise<void> {
    const { maxFrameBytes, maxConnectionsPerSource } = this.#options.config;
    const { connId, conn, meta, source, fromSource } = this.#connections.open(
      raw,
      maxFrameBytes,
      Date.now(),
    );
    let role: Role | null = null;
    try {
      if (fromSource > maxConnectionsPerSource) {
        this.#logger.warn(`Refused a connection from ${source}: ${fromSource - 1} already open`);
        const error = new ProtocolError(
          "rate_limited",
          `Too many connections from ${source} (at most ${maxConnectionsPerSource}); close some and retry`,
        );
        this.#step({ type: "protocolError", conn: connId, error, nowMs: Date.now() });
        return;
      }
      reading: for await (const batch of conn.frameBatches()) {
        const nowMs = Date.now();
        for (const payload of batch) {
          const frame = { connId, conn, payload, nowMs };
          if (role === null) {
            role = acceptHello(this.#handshake, frame);
            meta.greeted = role !== null;
            if (role === null) break reading;
          } else if (role.kind === "awaitingProof") {
            role = acceptProof(this.#handshake, role, frame);
            if (role === null) break reading;
          } else {
            if (role.kind === "client") this.#tcpRequests++;
            routeFrame(this.#frames, { connId, role, payload, nowMs });
          }
        }
      }
    } catch (error) {
      if (error instanceof FrameTooLargeError) {
        this.#step({
          type: "protocolError",
          conn: connId,
          error: new ProtocolError("frame_too_large", error.message),
          nowMs: Date.now(),
        });
      } else {
        this.#logger.debug(`Connection ${connId} from ${conn.remoteAddress} failed: ${error}`);
      }
    } finally {
      // Step what this connection queued (a refusal's error reply) before flushing and closing.
      this.#stepQueued();
      await conn.closeAfterFlush();
      this.#connections.release(connId, source);
      if (!this.#stopped && role?.kind === "peer") {
        this.#step({ type: "peerDisconnected", from: role.nodeId, nowMs: Date.now() });
      } else if (!this.#stopped) {
        this.#step({ type: "connectionClosed", conn: connId, nowMs: Date.now() });
      }
    }
  }

  /**
   * Queues an input for the node; everything queued in one turn of the event loop (a read
   * chunk's frames, a sync's completion) is stepped together at the turn's end, so its
   * proposals, peer messages and replies go out batched.
   */
  #step(input: NodeInput): void {
    if (this.#stopped) return;
    this.#inputs.push(input);
    if (this.#inputs.length === 1) queueMicrotask(() => this.#stepQueued());
  }

  #stepQueued(): void {
    const inputs = this.#inputs;
    this.#inputs = [];
    if (this.#stopped || inputs.length === 0) return;
    let effects: NodeEffects;
    try {
      effects = this.#node.stepAll(inputs);
    } catch (error) {
      this.#die(error);
      return;
    }
    this.#execute(effects);
  }

  #execute(effects: NodeEffects): void {
    runEffects(effects, {
      log: (line) => this.#logger.log(line.level, line.message),
      sendPeer: (to, message) => this.#peers.send(to, message),
      snapshotInstalled: (index) => this.#snapshots.noteSnapshot(index),
      enqueue: (persist, peerMessages) =>
        this.#commit.enqueue({
          persist,
          // A snapshot from the leader, once saved, is read from its file: its bytes leave memory.
          afterDurable: persist.snapshot === null ? null : () => this.#handOverSnapshot(),
          peerMessages,
        }),
      send: (outbound) => {
        if (this.#http?.owns(outbound.conn)) this.#http.deliver(outbound);
        else this.#connections.send(outbound);
      },
      // An HTTP request's "connection" ends with its answer: nothing to close.
      close: (conn) => this.#http?.owns(conn) || this.#connections.close(conn),
      passwordWork: (work) =>
        void this.#passwords.doPasswordWork(work).catch((error) => this.#die(error)),
      loginWork: (work) => void this.#passwords.login(work).catch((error) => this.#die(error)),
      snapshotDue: (due) => this.#snapshots.take(due),
      announce: (due) => this.#announcer?.announce(due, Date.now()),
    });
  }

  /** Hands the node the store's source of its newest snapshot (see OrchestratorNode). */
  #handOverSnapshot(): void {
    const newest = this.#storage.newestSnapshot;
    if (newest !== null && !this.#stopped) this.#node.snapshotTaken(newest);
  }

  #sweepConnections(): void {
    this.#connections.sweep(this.#options.config, this.#logger, Date.now());
  }

  #die(error: unknown): void {
    if (this.#stopped) return;
    this.#logger.error(
      `Stopping: ${error instanceof Error ? error.stack ?? error.message : error}`,
    );
    void this.stop().finally(() => this.#fatal?.(error));
  }
}

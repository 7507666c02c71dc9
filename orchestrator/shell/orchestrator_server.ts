/**
 * The orchestrator's shell: wires the pure node to TCP (clients, workers and
 * other orchestrators on one port, told apart by their hello frame), UDP
 * (heartbeats on the same port number), the durable log, snapshots and timers.
 * It decides nothing: it turns I/O into node inputs and carries out the node's
 * effects.
 * @module
 */
import { hashPassword, hashToken } from "../../shared/auth/mod.ts";
import {
  type ClusterKeys,
  type HandshakeContext,
  handshakeProof,
  newNonce,
  verifyHandshakeProof,
} from "../../shared/auth/mod.ts";
import type { ClusterConfig, OrchestratorAddress } from "../../shared/config/mod.ts";
import { createLogger, type Logger } from "../../shared/log.ts";
import { MAX_DATAGRAM_BYTES } from "../../shared/limits.ts";
import { FramedConnection } from "../../shared/net/framed_connection.ts";
import { createPrng } from "../../shared/prng.ts";
import { ensurePrivateDirectory } from "../../shared/secret_file.ts";
import { Announcer, type MulticastGroup } from "../../shared/net/multicast.ts";
import type { TlsClientOptions } from "../../shared/net/connect.ts";
import { canonicalHeartbeat, DatagramGuard } from "../../shared/net/datagram_guard.ts";
import { decodeMessage, DIRECTIONS, ProtocolError } from "../../shared/protocol/codec.ts";
import { FrameTooLargeError } from "../../shared/protocol/frame.ts";
import type { ClientToOrchestrator, Hello } from "../../shared/protocol/messages.ts";
import {
  buildNode,
  type ConnId,
  type CurrentPasswordCheck,
  type NodeEffects,
  type NodeInput,
  type OrchestratorNode,
  type PasswordWork,
} from "../core/mod.ts";
import { type LogStorage, openFileLogStorage, type RecoveredLog } from "../storage/mod.ts";
import { encodeSnapshotInSteps, isSnapshotDue, type TaskStateMachine } from "../tasks/mod.ts";
import { runEffects } from "./effect_runner.ts";
import { GroupCommit } from "./group_commit.ts";
import { HashGate } from "./hash_gate.ts";
import { LoginChecker } from "./login_checker.ts";
import { PEER_MAX_FRAME_BYTES, PeerLinks } from "./peer_links.ts";
import { rejoinRefusal } from "./rejoin_check.ts";

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

/** Datagrams sent further in the past (or future) than this are stale: replays, or a broken clock. */
const DATAGRAM_MAX_SKEW_MS = 10_000;

/** How often a leader repeats its multicast announcement. */
const ANNOUNCE_INTERVAL_MS = 250;

/** What the server reports once it listens. */
export interface ServerAddress {
  nodeId: string;
  host: string;
  port: number;
}

/** Who is on the other end of a TCP connection, from its hello (and proof, for nodes). */
type Role =
  | { kind: "client" }
  | { kind: "worker" }
  | { kind: "peer"; nodeId: string }
  /** A worker or peer that was challenged and must now send its proof. */
  | {
    kind: "awaitingProof";
    becomes: { kind: "worker" } | { kind: "peer"; nodeId: string };
    context: HandshakeContext;
  };

export class OrchestratorServer {
  readonly #options: ServerOptions;
  readonly #logger: Logger;
  readonly #conns = new Map<ConnId, FramedConnection>();
  /** Per connection: when it opened, whether it said hello, and requests awaiting replies. */
  readonly #connMeta = new Map<ConnId, { openedMs: number; greeted: boolean; inflight: number }>();
  readonly #perSource = new Map<string, number>();
  #watchdog: ReturnType<typeof setInterval> | undefined;
  readonly #loginChecker: LoginChecker;
  /** Bounds scrypt work: logins, current-password checks and new password hashes share it. */
  readonly #hashGate = new HashGate();
  #nextConnId = 1;
  #node!: OrchestratorNode;
  #storage!: LogStorage;
  #commit!: GroupCommit;
  #peers!: PeerLinks;
  #listener: Deno.Listener | null = null;
  #udp: Deno.DatagramConn | null = null;
  #tickTimer: ReturnType<typeof setInterval> | undefined;
  #lastSnapshotIndex = 0;
  #snapshotting = false;
  #stopped = false;
  #fatal: ((error: unknown) => void) | null = null;
  #rejectedDatagrams = 0;
  #announcer: Announcer | null = null;
  #datagramGuard!: DatagramGuard;
  #announcedAtMs = 0;
  #announcedTerm = -1;
  #announceSeq = 0;

  constructor(options: ServerOptions) {
    this.#options = options;
    this.#logger = options.logger ?? createLogger(`orchestrator ${options.self.id}`);
    this.#datagramGuard = new DatagramGuard(options.clusterKeys ?? null, {
      maxSkewMs: DATAGRAM_MAX_SKEW_MS,
    });
    this.#loginChecker = new LoginChecker(() => this.#node.sm.users, {
      tokenTtlMs: options.config.tokenTtlMs,
      gate: this.#hashGate,
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
    await ensurePrivateDirectory(this.#options.dataDir, {
      what: "data directory",
      onWarning: (message) => this.#logger.warn(message),
    });
    const opened = await openFileLogStorage(this.#options.dataDir, {
      onWarning: (message: string) => this.#logger.warn(message),
    });
    this.#storage = opened.storage;
    const { dataDir, rejoin } = this.#options;
    const voters = config.orchestrators.length;
    const refusal = rejoin ? rejoinRefusal(opened.recovered, { dataDir, voters }) : null;
    if (refusal !== null) {
      await this.#storage.close();
      throw new Error(refusal);
    }
    if (opened.recovered.repairedBytes > 0) {
      this.#logger.warn(
        `Recovered log after cutting a torn tail of ${opened.recovered.repairedBytes} byte(s)`,
      );
    }
    this.#lastSnapshotIndex = opened.recovered.snapshot?.index ?? 0;
    this.#commit = new GroupCommit(this.#storage, {
      onDurable: (index, term) => this.#step({ type: "persisted", index, term, nowMs: Date.now() }),
      onError: (error) => this.#die(new Error("Cannot write the log to disk", { cause: error })),
    });
    this.#peers = new PeerLinks({
      selfId: self.id,
      clusterId: config.clusterId,
      peers: config.orchestrators,
      logger: this.#logger,
      keys: this.#options.clusterKeys ?? null,
      tls: this.#options.tls?.client ?? null,
    });
    this.#node = this.#recover(opened.recovered);
    this.#execute(this.#node.takeEffects());
    this.#listen(self);
    const port = (this.#listener!.addr as Deno.NetAddr).port;
    const tickMs = Math.max(
      5,
      Math.min(
        50,
        Math.floor(config.heartbeatIntervalMs / 5),
        Math.floor(config.raftHeartbeatIntervalMs / 2),
      ),
    );
    if (this.#options.multicast) {
      this.#announcer = new Announcer(this.#options.multicast, this.#options.clusterKeys ?? null);
      this.#logger.info(
        `Leader announcements go to multicast ${this.#options.multicast.group}:${this.#options.multicast.port}`,
      );
    }
    this.#watchdog = setInterval(() => this.#checkConnections(), 1000);
    this.#tickTimer = setInterval(() => {
      this.#step({ type: "tick", nowMs: Date.now() });
      this.#maybeAnnounce(port);
    }, tickMs);
    this.#logger.info(
      `Listening on ${self.host}:${port} (TCP for clients, workers and peers; UDP for heartbeats); ` +
        `${config.orchestrators.length} orchestrator(s) in cluster ${config.clusterId}; ` +
        `log up to index ${this.#node.lastLogIndex}, ${this.#node.sm.tasks.size} task(s) in the snapshot`,
    );
    return { nodeId: self.id, host: self.host, port };
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
    for (const conn of this.#conns.values()) conn.close();
    this.#conns.clear();
    await this.#storage?.close();
  }

  #recover(recovered: RecoveredLog): OrchestratorNode {
    const { config, self } = this.#options;
    const { node, raft } = buildNode({
      node: {
        nodeId: self.id,
        clusterId: config.clusterId,
        heartbeatIntervalMs: config.heartbeatIntervalMs,
        missedHeartbeats: config.missedHeartbeats,
        schedulerPolicy: config.scheduler,
        defaultMaxAttempts: config.defaultMaxAttempts,
        peers: config.orchestrators.map((o) => ({ id: o.id, address: `${o.host}:${o.port}` })),
        submitRatePerUser: config.submitRatePerUser,
        submitBurstPerUser: config.submitBurstPerUser,
        maxActiveTasksPerUser: config.maxActiveTasksPerUser,
        maxRetainedTasksPerUser: config.maxRetainedTasksPerUser,
        bootstrapUsers: [
          ...config.users,
          ...(this.#options.bootstrapAdmin
            ? [{ ...this.#options.bootstrapAdmin, role: "admin" as const }]
            : []),
        ],
      },
      raft: {
        nodeId: self.id,
        voters: config.orchestrators.map((o) => o.id),
        electionTimeoutMinMs: config.electionTimeoutMinMs,
        electionTimeoutMaxMs: config.electionTimeoutMaxMs,
        heartbeatIntervalMs: config.raftHeartbeatIntervalMs,
        catchUpEntries: config.snapshotCatchUpEntries,
        rejoin: this.#options.rejoin === true,
        // Election jitter must differ between nodes and runs; it need not be secret.
        rng: createPrng(crypto.getRandomValues(new Uint32Array(1))[0]),
      },
      recovered,
      nowMs: Date.now(),
    });
    if (raft.isRejoining) {
      this.#logger.info(
        "Rejoining after a lost disk: this orchestrator will not vote until it has caught up " +
          "with the leader",
      );
    }
    return node;
  }

  #listen(self: OrchestratorAddress): void {
    // The UDP socket must share the TCP port number; with port 0 retry until both bind.
    for (let attempt = 0;; attempt++) {
      const tls = this.#options.tls;
      const listener: Deno.Listener = tls
        ? Deno.listenTls({ hostname: self.host, port: self.port, cert: tls.cert, key: tls.key })
        : Deno.listen({ hostname: self.host, port: self.port, transport: "tcp" });
      const port = (listener.addr as Deno.NetAddr).port;
      try {
        this.#udp = Deno.listenDatagram({ hostname: self.host, port, transport: "udp" });
        this.#listener = listener;
        break;
      } catch (error) {
        listener.close();
        if (self.port !== 0 || attempt >= 20) {
          throw new Error(`Cannot listen for heartbeats on UDP ${self.host}:${port}`, {
            cause: error,
          });
        }
      }
    }
    void this.#acceptLoop(this.#listener!);
    void this.#datagramLoop(this.#udp!);
  }

  async #acceptLoop(listener: Deno.Listener): Promise<void> {
    try {
      for await (const conn of listener) void this.#serve(conn);
    } catch (error) {
      if (!this.#stopped) this.#die(new Error("TCP listener failed", { cause: error }));
    }
  }

  async #serve(raw: Deno.Conn): Promise<void> {
    const connId = this.#nextConnId++;
    const conn = new FramedConnection(raw, { maxFrameBytes: this.#options.config.maxFrameBytes });
    const source = conn.remoteHost;
    this.#conns.set(connId, conn);
    const meta = { openedMs: Date.now(), greeted: false, inflight: 0 };
    this.#connMeta.set(connId, meta);
    const fromSource = (this.#perSource.get(source) ?? 0) + 1;
    this.#perSource.set(source, fromSource);
    let role: Role | null = null;
    try {
      if (fromSource > this.#options.config.maxConnectionsPerSource) {
        this.#logger.warn(`Refused a connection from ${source}: ${fromSource - 1} already open`);
        const error = new ProtocolError(
          "rate_limited",
          `Too many connections from ${source} (at most ${this.#options.config.maxConnectionsPerSource}); close some and retry`,
        );
        this.#step({ type: "protocolError", conn: connId, error, nowMs: Date.now() });
        return;
      }
      for await (const payload of conn.frames()) {
        if (role === null) {
          role = this.#onHello(connId, conn, payload);
          meta.greeted = role !== null;
          if (role === null) break;
        } else if (role.kind === "awaitingProof") {
          role = this.#onProof(connId, conn, role, payload);
          if (role === null) break;
        } else {
          this.#onFrame(connId, role, payload);
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
      await conn.closeAfterFlush();
      this.#conns.delete(connId);
      this.#connMeta.delete(connId);
      const left = (this.#perSource.get(source) ?? 1) - 1;
      if (left === 0) this.#perSource.delete(source);
      else this.#perSource.set(source, left);
      if (!this.#stopped && role?.kind === "peer") {
        this.#step({ type: "peerDisconnected", from: role.nodeId, nowMs: Date.now() });
      } else if (!this.#stopped) {
        this.#step({ type: "connectionClosed", conn: connId, nowMs: Date.now() });
      }
    }
  }

  /** Handles the first frame; returns the peer's role, or null to close the connection. */
  #onHello(connId: ConnId, conn: FramedConnection, payload: Uint8Array): Role | null {
    const decoded = decodeMessage(payload, DIRECTIONS.hello);
    const nowMs = Date.now();
    if (!decoded.ok || decoded.message.type !== "hello") {
      const error = decoded.ok
        ? new ProtocolError("bad_request", "The first frame on a connection must be a hello")
        : new ProtocolError(
          decoded.error.code,
          `${decoded.error.message}; the first frame on a connection must be a hello`,
          decoded.error.requestId,
        );
      this.#step({ type: "protocolError", conn: connId, error, nowMs });
      return null;
    }
    const hello = decoded.message;
    this.#logger.debug(
      `Connection ${connId} from ${conn.remoteAddress} says it is a ${hello.role}`,
    );
    if (hello.role === "client") {
      this.#step({ type: "hello", conn: connId, hello, nowMs });
      return { kind: "client" };
    }
    let becomes: { kind: "worker" } | { kind: "peer"; nodeId: string } = { kind: "worker" };
    if (hello.role === "peer") {
      const peer = this.#peerIdentity(connId, hello);
      if (peer === null) return null;
      becomes = { kind: "peer", nodeId: peer };
    }
    const keys = this.#options.clusterKeys ?? null;
    if (keys === null) {
      // Without a secret there is nothing to prove: a peer is whoever says so.
      if (becomes.kind === "peer") conn.setMaxFrameBytes(PEER_MAX_FRAME_BYTES);
      this.#step({ type: "hello", conn: connId, hello, nowMs });
      return becomes;
    }
    if (hello.nonce === undefined) {
      const error = new ProtocolError(
        "unauthenticated",
        "This cluster requires node authentication: start the node with the cluster secret (--cluster-secret FILE)",
      );
      this.#logger.warn(
        `Refused a ${hello.role} from ${conn.remoteAddress}: no cluster-secret challenge`,
      );
      this.#step({ type: "protocolError", conn: connId, error, nowMs });
      return null;
    }
    const context: HandshakeContext = {
      role: hello.role,
      clientNonce: hello.nonce,
      serverNonce: newNonce(),
      serverId: this.#options.self.id,
    };
    const challenge = {
      nonce: context.serverNonce,
      proof: handshakeProof(keys, "server", context),
    };
    this.#step({ type: "hello", conn: connId, hello, challenge, nowMs });
    return { kind: "awaitingProof", becomes, context };
  }

  /** Checks a challenged node's proof; returns its role, or null to close the connection. */
  #onProof(
    connId: ConnId,
    conn: FramedConnection,
    role: Extract<Role, { kind: "awaitingProof" }>,
    payload: Uint8Array,
  ): Role | null {
    const decoded = decodeMessage(payload, DIRECTIONS.hello);
    const keys = this.#options.clusterKeys!;
    const valid = decoded.ok && decoded.message.type === "authenticate" &&
      verifyHandshakeProof(keys, "client", role.context, decoded.message.proof);
    if (!valid) {
      this.#logger.warn(
        `Node authentication failed for a ${role.context.role} from ${conn.remoteAddress}: ` +
          `wrong or missing proof of the cluster secret`,
      );
      const error = new ProtocolError(
        "unauthenticated",
        "Node authentication failed: this node does not hold the cluster's secret",
      );
      this.#step({ type: "protocolError", conn: connId, error, nowMs: Date.now() });
      return null;
    }
    this.#logger.debug(`Connection ${connId} from ${conn.remoteAddress} proved the cluster secret`);
    // Batches of entries and snapshot chunks are larger than client frames. Only now: a hello
    // claiming to be a peer proves nothing, and must not let a stranger send 64 MiB frames
    // (issue 13, hole 2).
    if (role.becomes.kind === "peer") conn.setMaxFrameBytes(PEER_MAX_FRAME_BYTES);
    return role.becomes;
  }

  /** The id of a connecting orchestrator if it is a member of this cluster; else replies and null. */
  #peerIdentity(connId: ConnId, hello: Hello): string | null {
    const { config, self } = this.#options;
    const member = config.orchestrators.some((o) => o.id === hello.nodeId && o.id !== self.id);
    if (!member || hello.clusterId !== config.clusterId) {
      const error = new ProtocolError(
        "bad_request",
        `Refused peer ${hello.nodeId ?? "(no id)"} of cluster ${hello.clusterId ?? "(none)"}: ` +
          `not a member of cluster ${config.clusterId}`,
      );
      this.#step({ type: "protocolError", conn: connId, error, nowMs: Date.now() });
      return null;
    }
    return hello.nodeId!;
  }

  #onFrame(connId: ConnId, role: Role, payload: Uint8Array): void {
    const nowMs = Date.now();
    switch (role.kind) {
      case "peer": {
        const decoded = decodeMessage(payload, DIRECTIONS.peer);
        if (!decoded.ok) {
          this.#logger.warn(`Bad message from peer ${role.nodeId}: ${decoded.error.message}`);
          return;
        }
        this.#step({ type: "peerMessage", from: role.nodeId, message: decoded.message, nowMs });
        return;
      }
      case "worker": {
        const decoded = decodeMessage(payload, DIRECTIONS.workerToOrchestrator);
        this.#step(
          decoded.ok
            ? { type: "workerMessage", conn: connId, message: decoded.message, nowMs }
            : { type: "protocolError", conn: connId, error: decoded.error, nowMs },
        );
        return;
      }
      case "client": {
        const decoded = decodeMessage(payload, DIRECTIONS.clientToOrchestrator);
        const meta = this.#connMeta.get(connId);
        // Count every frame that will get a reply naming its request id; the reply uncounts it.
        const requestId = decoded.ok ? decoded.message.id : decoded.error.requestId;
        if (requestId !== null && meta !== undefined) {
          meta.inflight += 1;
          if (meta.inflight > this.#options.config.maxInflightPerConnection) {
            const error = new ProtocolError(
              "rate_limited",
              `Too many requests awaiting replies on this connection (at most ${this.#options.config.maxInflightPerConnection}); wait for some`,
              requestId,
            );
            this.#step({ type: "protocolError", conn: connId, error, nowMs });
            return;
          }
        }
        if (!decoded.ok) {
          this.#step({ type: "protocolError", conn: connId, error: decoded.error, nowMs });
        } else if (decoded.message.type === "login") {
          void this.#login(connId, decoded.message);
        } else {
          this.#step({
            type: "clientRequest",
            conn: connId,
            request: decoded.message,
            tokenHash: hashToken(decoded.message.token),
            nowMs,
          });
        }
      }
    }
  }

  async #login(connId: ConnId, request: Extract<ClientToOrchestrator, { type: "login" }>) {
    const source = this.#conns.get(connId)?.remoteHost ?? "unknown";
    // Only a leader that has caught up checks passwords (and counts failures); others redirect.
    const outcome = this.#node.canServeClients
      ? await this.#loginChecker.check(request.user, request.password, source)
      : { kind: "wrong" as const };
    if (this.#stopped) return;
    if (outcome.kind === "busy") {
      this.#refuseBusy(connId, request.id);
      return;
    }
    this.#step({
      type: "loginChecked",
      conn: connId,
      requestId: request.id,
      lamport: request.lamport,
      user: request.user,
      session: outcome.kind === "ok" ? outcome.session : null,
      ...(outcome.kind === "throttled" ? { retryAfterMs: outcome.retryAfterMs } : {}),
      ...((outcome.kind === "wrong" || outcome.kind === "ok") &&
          outcome.checkedPasswordHash !== undefined
        ? { checkedPasswordHash: outcome.checkedPasswordHash }
        : {}),
      source,
      nowMs: Date.now(),
    });
  }

  /**
   * The scrypt work the node asked for, for a request it has already authenticated, routed and
   * authorized: the current password checked (throttled like a login), then the new one hashed
   * (only if the current one was right), both through the hash gate; then the request again.
   */
  async #doPasswordWork(work: PasswordWork): Promise<void> {
    const { conn, request, tokenHash } = work;
    let currentPasswordCheck: CurrentPasswordCheck | undefined;
    if (work.verifyCurrentOf !== null) {
      const source = this.#conns.get(conn)?.remoteHost ?? "unknown";
      const verdict = await this.#loginChecker.verify(
        work.verifyCurrentOf,
        request.type === "userPasswd" ? request.currentPassword ?? "" : "",
        source,
      );
      if (verdict.kind === "busy") return this.#refuseBusy(conn, request.id);
      currentPasswordCheck = verdict.kind === "throttled"
        ? { verdict: "throttled", retryAfterMs: verdict.retryAfterMs }
        : verdict.kind === "ok"
        ? { verdict: "ok", checkedPasswordHash: verdict.checkedPasswordHash }
        : { verdict: "wrong", checkedPasswordHash: verdict.checkedPasswordHash };
    }
    let passwordHash: string | undefined;
    if (currentPasswordCheck === undefined || currentPasswordCheck.verdict === "ok") {
      const hashed = await this.#hashGate.run(() => hashPassword(request.password));
      if (hashed === null) return this.#refuseBusy(conn, request.id);
      passwordHash = hashed.value;
    }
    if (this.#stopped) return;
    this.#step({
      type: "clientRequest",
      conn,
      request,
      tokenHash,
      ...(passwordHash === undefined ? {} : { passwordHash }),
      ...(currentPasswordCheck === undefined ? {} : { currentPasswordCheck }),
      nowMs: Date.now(),
    });
  }

  /** Refuses a request unchecked: the hash gate's queue is full (a flood of password checks). */
  #refuseBusy(conn: ConnId, requestId: number): void {
    const error = new ProtocolError(
      "rate_limited",
      "Too many password checks in progress on this orchestrator; retry in a moment",
      requestId,
    );
    this.#step({ type: "protocolError", conn, error, nowMs: Date.now() });
  }

  async #datagramLoop(udp: Deno.DatagramConn): Promise<void> {
    try {
      for await (const [data] of udp) {
        const nowMs = Date.now();
        if (data.length > MAX_DATAGRAM_BYTES) {
          this.#rejectDatagram("malformed", "oversized datagram", nowMs);
          continue;
        }
        const decoded = decodeMessage(data, DIRECTIONS.heartbeat);
        if (!decoded.ok) {
          this.#rejectDatagram("malformed", decoded.error.message, nowMs);
          continue;
        }
        const hb = decoded.message;
        const verdict = this.#datagramGuard.check(
          hb,
          `${hb.workerId}|${hb.incarnation}`,
          canonicalHeartbeat(hb),
          nowMs,
        );
        if (verdict !== "ok") {
          this.#rejectDatagram(
            verdict,
            `${verdict} heartbeat claiming to be from ${hb.workerId}`,
            nowMs,
          );
          continue;
        }
        this.#step({ type: "heartbeat", heartbeat: hb, nowMs });
      }
    } catch (error) {
      if (!this.#stopped) this.#die(new Error("UDP listener failed", { cause: error }));
    }
  }

  #rejectDatagram(
    verdict: "malformed" | "forged" | "stale" | "replayed",
    reason: string,
    nowMs: number,
  ): void {
    this.#step({ type: "datagramRejected", reason: verdict, nowMs });
    this.#rejectedDatagrams += 1;
    // Log the first few and then every 1000th, so a flood cannot flood the log too.
    if (this.#rejectedDatagrams <= 10 || this.#rejectedDatagrams % 1000 === 0) {
      this.#logger.warn(`Dropped datagram #${this.#rejectedDatagrams}: ${reason}`);
    }
  }

  #step(input: NodeInput): void {
    if (this.#stopped) return;
    let effects: NodeEffects;
    try {
      effects = this.#node.step(input);
    } catch (error) {
      this.#die(error);
      return;
    }
    this.#execute(effects);
    if (input.type === "persisted") this.#maybeSnapshot();
  }

  #execute(effects: NodeEffects): void {
    runEffects(effects, {
      log: (line) => this.#logger.log(line.level, line.message),
      sendPeer: (to, message) => this.#peers.send(to, message),
      snapshotInstalled: (index) => {
        this.#lastSnapshotIndex = Math.max(this.#lastSnapshotIndex, index);
      },
      enqueue: (persist, afterDurable) => this.#commit.enqueue({ persist, afterDurable }),
      send: ({ conn, message }) => {
        const meta = this.#connMeta.get(conn);
        if (meta !== undefined && "re" in message && message.re !== null && meta.inflight > 0) {
          meta.inflight -= 1; // every client request gets exactly one reply
        }
        this.#conns.get(conn)?.send(message);
      },
      close: (conn) => void this.#conns.get(conn)?.closeAfterFlush(),
      passwordWork: (work) => void this.#doPasswordWork(work).catch((error) => this.#die(error)),
    });
  }

  /** The leader tells the multicast group where it is: at once in a new term, then periodically. */
  #maybeAnnounce(port: number): void {
    if (this.#announcer === null || !this.#node.isLeader) return;
    const now = Date.now();
    const term = this.#node.term;
    if (term === this.#announcedTerm && now - this.#announcedAtMs < ANNOUNCE_INTERVAL_MS) return;
    this.#announcedTerm = term;
    this.#announcedAtMs = now;
    void this.#announcer.announce({
      clusterId: this.#options.config.clusterId,
      nodeId: this.#options.self.id,
      term,
      address: `${this.#options.self.host}:${port}`,
      seq: this.#announceSeq++,
      sentAtMs: now,
      lamport: this.#node.lamport,
    });
  }

  /** Closes connections that never said hello, or trickle a frame in too slowly (slowloris). */
  #checkConnections(): void {
    const now = Date.now();
    for (const [connId, conn] of this.#conns) {
      const meta = this.#connMeta.get(connId);
      if (meta === undefined) continue;
      const silent = !meta.greeted && now - meta.openedMs > this.#options.config.helloTimeoutMs;
      const trickling = conn.partialFrameAgeMs(now) > this.#options.config.partialFrameTimeoutMs;
      if (!silent && !trickling) continue;
      this.#logger.warn(
        `Closing connection ${connId} from ${conn.remoteAddress}: ${
          silent ? "no hello" : "a frame still incomplete"
        } after ${
          (silent
            ? this.#options.config.helloTimeoutMs
            : this.#options.config.partialFrameTimeoutMs) / 1000
        } s`,
      );
      conn.close();
    }
  }

  #maybeSnapshot(): void {
    const sm = this.#node.sm;
    if (this.#snapshotting) return;
    const state = { appliedIndex: sm.appliedIndex, retainedTasks: sm.tasks.size };
    if (!isSnapshotDue(state, this.#lastSnapshotIndex, this.#options.config.snapshotEveryEntries)) {
      return;
    }
    this.#snapshotting = true;
    void this.#takeSnapshot(sm).catch((error) => this.#die(error));
  }

  async #takeSnapshot(sm: TaskStateMachine): Promise<void> {
    const index = sm.appliedIndex;
    const term = sm.appliedTerm;
    // The state at `index`, encoded a line at a time between turns of the event loop, so that
    // heartbeats and requests go on meanwhile (a large state takes seconds to encode).
    let data: Uint8Array;
    try {
      data = await encodeSnapshotInSteps(sm, () => {
        if (this.#stopped) throw new SnapshotAbandoned();
        return yieldToEventLoop();
      });
    } catch (error) {
      this.#snapshotting = false;
      if (error instanceof SnapshotAbandoned) return;
      throw error;
    }
    if (this.#node.sm !== sm || this.#lastSnapshotIndex >= index) {
      // A newer snapshot from the leader replaced this state meanwhile: drop this one.
      this.#snapshotting = false;
      return;
    }
    // Through the persistence queue, so it is ordered with the log writes around it.
    this.#commit.enqueue({
      persist: { snapshot: { index, term, data, discardLog: false }, entries: [], hardState: null },
      afterDurable: () => {
        this.#snapshotting = false;
        this.#lastSnapshotIndex = index;
        this.#node.snapshotTaken({ index, term, data });
        this.#logger.info(`Snapshot at index ${index} (${data.length} bytes)`);
      },
    });
  }

  #die(error: unknown): void {
    if (this.#stopped) return;
    this.#logger.error(
      `Stopping: ${error instanceof Error ? error.stack ?? error.message : error}`,
    );
    void this.stop().finally(() => this.#fatal?.(error));
  }
}

/** Thrown into a snapshot being encoded when the server stops. */
class SnapshotAbandoned extends Error {}

/** Lets timers and I/O callbacks run before continuing. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * The simulated orchestrator shell: the real OrchestratorNode, RaftLog and
 * GroupCommit, driven exactly as orchestrator/shell/orchestrator_server.ts
 * drives them, over the simulated network, disk and clock. Like the real
 * shell it decides nothing; unlike it, it reports what the node applied to the
 * checkers after every step. It also plays the operator of README "Recovering
 * an orchestrator": a node that refused to start on damage gets its data
 * directory moved aside and is started empty with `--rejoin`.
 * @module
 */
import type {
  ConnId,
  CurrentPasswordCheck,
  LoginWork,
  NodeEffects,
  NodeInput,
  OrchestratorNode,
  Outbound,
  PasswordWork,
  SnapshotDue,
} from "../../orchestrator/core/mod.ts";
import type { RaftLog } from "../../orchestrator/raft/mod.ts";
import type { Command } from "../../orchestrator/tasks/mod.ts";
import { runEffects } from "../../orchestrator/shell/effect_runner.ts";
import { rejoinRefusal } from "../../orchestrator/shell/rejoin_check.ts";
import type { RecoveredLog } from "../../orchestrator/storage/mod.ts";
import { encodeSnapshot } from "../../orchestrator/tasks/mod.ts";
import { hashToken } from "../../shared/auth/mod.ts";
import { canonicalHeartbeat, DatagramGuard } from "../../shared/net/datagram_guard.ts";
import type { ClientToOrchestrator, Hello } from "../../shared/protocol/messages.ts";
import type { PeerMessage } from "../../shared/protocol/peer_messages.ts";
import { describeMessage, describePeer } from "./describe.ts";
import type { ConnEnd, Listener, SimConnection } from "./network.ts";
import type { ObservedLog } from "./observed_log.ts";
import { checkReply, contextOf, type RequestContext } from "./reply_checks.ts";
import type { CrashMode, SimStorage } from "./sim_disk.ts";
import { createSimStore, SIM_DATA_DIR, type SimStore } from "./sim_fs_store.ts";
import { type LoginVerdict, SimLoginChecker, simPasswordHash } from "./sim_login.ts";
import { buildNode } from "./sim_node_factory.ts";
import { SimPersistence } from "./sim_persistence.ts";
import { DIRECTIONS, overTheWire } from "./wire.ts";
import type { World } from "./world.ts";

/** OrchestratorServer's allowed clock skew for heartbeats. */
const DATAGRAM_MAX_SKEW_MS = 10_000;

interface ConnState {
  conn: SimConnection;
  role: "client" | "worker" | null;
  /** Client requests not yet answered, by id, for the reply checks. */
  requests: Map<number, RequestContext>;
}

/** Unanswered requests remembered per connection (a client has one in flight at a time). */
const REQUESTS_REMEMBERED_MAX = 64;

/** How long the operator takes to move a refused data directory aside and start with --rejoin. */
const REJOIN_DELAY_MIN_MS = 100;
const REJOIN_DELAY_MAX_MS = 4000;

/** One orchestrator: its durable store survives crashes; everything else is rebuilt at boot. */
export class SimOrchestrator implements Listener {
  readonly id: string;
  /** "host:port", what leader hints name. */
  readonly address: string;
  /** Stores moved aside after they refused to start, oldest first: the evidence, kept as it was. */
  readonly setAside: SimStore[] = [];
  readonly #world: World;
  /** The disk's contents, kept across crashes (replaced by an empty one at a rejoin). */
  #store: SimStore;
  /** Boots pass --rejoin: from moving a store aside until the node has caught up. */
  #isRejoinRequested = false;
  #raft: RaftLog<Command> | null = null;
  #incarnation = 0;
  /** Inputs of this simulated moment not yet stepped (with `batchInputs`). */
  #queuedInputs: NodeInput[] = [];
  #isAlive = false;
  #node: OrchestratorNode | null = null;
  #log: ObservedLog | null = null;
  #persistence: SimPersistence | null = null;
  #conns = new Map<ConnId, ConnState>();
  #nextConnId = 1;
  #login: SimLoginChecker;
  #datagramGuard: DatagramGuard;
  #lastSnapshotIndex = 0;
  #isSnapshotting = false;
  #isBooting = false;
  #role = "";
  #roleSinceMs = 0;
  crashes = 0;
  rejoins = 0;
  snapshotsTaken = 0;
  snapshotsInstalled = 0;

  constructor(world: World, id: string, address: string) {
    this.#world = world;
    this.id = id;
    this.address = address;
    this.#store = createSimStore(world, id);
    this.#datagramGuard = this.#newDatagramGuard();
    this.#login = new SimLoginChecker(world, id);
  }

  get isListening(): boolean {
    return this.#isAlive;
  }

  get isAlive(): boolean {
    return this.#isAlive;
  }

  /** The disk's contents, kept across crashes (a new, empty store after a rejoin). */
  get store(): SimStore {
    return this.#store;
  }

  /** True while the live node rejoins after a lost disk: it neither votes nor campaigns. */
  get isRejoining(): boolean {
    return this.#isAlive && this.#raft!.isRejoining;
  }

  /** The live node (throws when crashed). */
  get node(): OrchestratorNode {
    if (this.#node === null) throw new Error(`orchestrator ${this.id} is down`);
    return this.#node;
  }

  get isLeader(): boolean {
    return this.#isAlive && this.#log!.isLeader;
  }

  get term(): number {
    return this.#log?.term ?? 0;
  }

  /** Role as the node reports it ("leader", "follower", "candidate"), or "down". */
  get role(): string {
    return this.#isAlive ? this.#node!.consensusStatus().role : "down";
  }

  /** When this node's role or term last changed (or it booted). */
  get roleSinceMs(): number {
    return this.#roleSinceMs;
  }

  /** What the next boot starts from (what the disk recovered at the last crash). */
  get nextBoot(): RecoveredLog {
    return this.store.nextBoot;
  }

  /** Why this node refused to start (its storage found damage), or null: down until rejoined. */
  get refusal(): string | null {
    return this.store.refusal;
  }

  /** The simulated disk (for scenarios that crash at a chosen write). */
  get disk(): SimStorage | null {
    return this.#persistence?.disk ?? null;
  }

  /** Set while the node was told less than its disk holds (known bug groupCommitUnderReport). */
  get underReport(): string | null {
    return this.#isAlive ? this.#persistence!.underReport : null;
  }

  /** Persistence has nothing running outside the agenda (see SimPersistence.isQuiet). */
  get isQuiet(): boolean {
    if (this.#isBooting) return this.store.isQuiet;
    return !this.#isAlive || this.#persistence!.isQuiet;
  }

  /**
   * Starts the node from what its store recovers (at once from memory, after the simulated
   * reads from files). A node whose storage refused to start on damage stays down until, after a
   * delay drawn from the seed, the operator rejoins it (see {@link rejoin}), the safe way back.
   */
  boot(): void {
    if (this.#isAlive || this.#isBooting || this.#store.refusal !== null) return;
    this.#isBooting = true;
    this.#store.recover((outcome) => {
      this.#isBooting = false;
      if (outcome.kind === "recovered") {
        this.#start(outcome.recovered, outcome.storage);
        return;
      }
      const world = this.#world;
      world.note(`${this.id} CANNOT START: ${outcome.message}`);
      if (outcome.kind === "failed") {
        world.schedule(500, null, () => world.restartOrchestrator(this));
      } else {
        const delayMs = world.rng.int(REJOIN_DELAY_MIN_MS, REJOIN_DELAY_MAX_MS);
        world.schedule(delayMs, null, () => this.rejoin());
      }
    });
  }

  /**
   * What README "Recovering an orchestrator" tells the operator of a node that refused to start:
   * move its data directory aside (kept, as evidence) and start it on an empty one with
   * --rejoin, which its restarts keep passing until it has caught up. No-op unless it refused.
   */
  rejoin(): void {
    if (this.#isAlive || this.#isBooting || this.#store.refusal === null) return;
    const world = this.#world;
    this.setAside.push(this.#store);
    this.#store = createSimStore(world, this.id);
    this.#isRejoinRequested = true;
    this.rejoins += 1;
    world.checker.onDiskReplaced(this.id);
    world.note(
      `${this.id} REJOIN: its data directory is moved aside, it starts empty with --rejoin`,
    );
    world.restartOrchestrator(this);
  }

  #start(recovered: RecoveredLog, storage: SimStorage): void {
    const world = this.#world;
    const rejoin = this.#isRejoinRequested;
    if (rejoin) {
      // The real shell's check (OrchestratorServer#start): the operator model must never trip it.
      const voters = world.orchestrators.length;
      const refusal = rejoinRefusal(recovered, { dataDir: SIM_DATA_DIR, voters });
      if (refusal !== null) throw new Error(`simulator: ${this.id} restarted so: ${refusal}`);
    }
    world.checker.onBoot(this.id, recovered);
    const { node, log, raft } = buildNode(world, {
      nodeId: this.id,
      recovered,
      rejoin,
      snapshotSource: storage.newestSnapshot?.source,
    });
    this.#incarnation += 1;
    this.#queuedInputs = [];
    const incarnation = this.#incarnation;
    this.#isAlive = true;
    this.#log = log;
    this.#raft = raft;
    this.#persistence = new SimPersistence(world, {
      nodeId: this.id,
      storage,
      recovered,
      onDurable: (index, term) => {
        if (incarnation === this.#incarnation) {
          this.#step({ type: "persisted", index, term, nowMs: world.nowMs });
        }
      },
      sendPeers: (messages) => {
        if (incarnation !== this.#incarnation || !this.#isAlive) return;
        for (const { to, message } of messages) this.#sendPeer(to, message);
      },
      onDiskFailure: (error) => {
        if (incarnation !== this.#incarnation) return;
        // The real shell exits on a failed write or fsync; a supervisor restarts it.
        world.note(`${this.id} exits: ${error instanceof Error ? error.message : error}`);
        world.crashOrchestrator(this, "completed");
        world.schedule(world.rng.int(100, 1000), null, () => world.restartOrchestrator(this));
      },
    });
    this.#lastSnapshotIndex = recovered.snapshot?.index ?? 0;
    this.#isSnapshotting = false;
    this.#conns = new Map();
    this.#nextConnId = 1;
    this.#login = new SimLoginChecker(world, this.id);
    this.#datagramGuard = this.#newDatagramGuard();
    this.#role = "";
    world.note(
      `${this.id} boots: term ${recovered.hardState.term}, snapshot ${this.#lastSnapshotIndex}, ` +
        `${recovered.entries.length} entries` +
        (recovered.repairedBytes > 0
          ? `, cut a torn tail of ${recovered.repairedBytes} bytes`
          : "") +
        (raft.isRejoining ? ", rejoining: no vote until caught up" : ""),
    );
    this.#node = node;
    this.#afterStep();
    this.#execute(node.takeEffects());
    this.#scheduleTick(incarnation);
  }

  /** Kills the process: what the disk had in flight fares as `mode` says. */
  crash(mode: CrashMode, keepFraction: number): void {
    if (!this.#isAlive) return;
    this.#store.crash(this.#persistence!.disk, mode, keepFraction);
    this.#isAlive = false;
    this.#incarnation += 1;
    this.#queuedInputs = [];
    this.#node = null;
    this.crashes += 1;
    this.#world.note(`${this.id} CRASHES (write in flight: ${mode})`);
    for (const { conn } of this.#conns.values()) conn.break("orchestrator crashed");
    this.#conns.clear();
  }

  /** A Raft message arrived from `from`. */
  deliverPeer(from: string, message: PeerMessage): void {
    if (!this.#isAlive) return;
    const copy = overTheWire(message, DIRECTIONS.peer, {
      validate: this.#world.shouldValidatePeerMessage(),
      sender: from,
    });
    this.#world.note(`${this.id} <- ${from} ${describePeer(copy)}`);
    this.#step({ type: "peerMessage", from, message: copy, nowMs: this.#world.nowMs });
  }

  /** The connection from peer `from` closed (it died). */
  peerDisconnected(from: string): void {
    if (!this.#isAlive) return;
    this.#step({ type: "peerDisconnected", from, nowMs: this.#world.nowMs });
  }

  /** A heartbeat datagram arrived; like the real shell, the datagram guard judges it first. */
  deliverHeartbeat(heartbeat: unknown, sender: string): void {
    if (!this.#isAlive) return;
    const world = this.#world;
    const hb = overTheWire(heartbeat, DIRECTIONS.heartbeat, {
      validate: world.params.validateWire,
      sender,
    });
    const nowMs = world.clockMs(this.id);
    const verdict = this.#datagramGuard.check(
      hb,
      `${hb.workerId}|${hb.incarnation}`,
      canonicalHeartbeat(hb),
      nowMs,
    );
    if (verdict !== "ok") {
      world.note(`${this.id} drops a ${verdict} heartbeat from ${sender} (seq ${hb.seq})`);
      this.#step({ type: "datagramRejected", reason: verdict, nowMs });
      return;
    }
    this.#step({ type: "heartbeat", heartbeat: hb, nowMs });
  }

  accept(conn: SimConnection): ConnEnd {
    const connId = this.#nextConnId++;
    const incarnation = this.#incarnation;
    const state: ConnState = { conn, role: null, requests: new Map() };
    this.#conns.set(connId, state);
    return {
      deliver: (message) => {
        if (incarnation === this.#incarnation) this.#onFrame(connId, state, message);
      },
      closed: () => {
        if (incarnation !== this.#incarnation) return;
        this.#conns.delete(connId);
        this.#step({ type: "connectionClosed", conn: connId, nowMs: this.#world.nowMs });
      },
    };
  }

  #onFrame(connId: ConnId, state: ConnState, message: unknown): void {
    const nowMs = this.#world.nowMs;
    if (state.role === null) {
      const hello = message as Hello;
      state.role = hello.role === "worker" ? "worker" : "client";
      this.#step({ type: "hello", conn: connId, hello, nowMs });
      return;
    }
    if (state.role === "worker") {
      const workerMessage = message as Extract<NodeInput, { type: "workerMessage" }>["message"];
      this.#step({ type: "workerMessage", conn: connId, message: workerMessage, nowMs });
      return;
    }
    const request = message as ClientToOrchestrator;
    const tokenHash = request.type === "login" ? null : hashToken(request.token);
    state.requests.set(request.id, contextOf(request, tokenHash, this.#world, state.conn.remote));
    if (state.requests.size > REQUESTS_REMEMBERED_MAX) {
      state.requests.delete(state.requests.keys().next().value!);
    }
    if (request.type === "login") {
      this.#step({ type: "login", conn: connId, request, source: state.conn.remote, nowMs });
      return;
    }
    this.#step({
      type: "clientRequest",
      conn: connId,
      request,
      tokenHash: tokenHash!,
      nowMs,
    });
  }

  /** The password check the node asked for, as LoginChecker does it, then `loginChecked`. */
  #checkLogin(work: LoginWork): void {
    const { conn: connId, request, source, passwordHash } = work;
    const incarnation = this.#incarnation;
    const answer = ({ session, retryAfterMs, checkedPasswordHash }: LoginVerdict) => {
      if (incarnation !== this.#incarnation) return;
      this.#step({
        type: "loginChecked",
        conn: connId,
        requestId: request.id,
        lamport: request.lamport,
        user: request.user,
        session,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        ...(checkedPasswordHash === undefined ? {} : { checkedPasswordHash }),
        source,
        nowMs: this.#world.nowMs,
      });
    };
    // The node asks only as a leader that has caught up; others answer at once (a redirect).
    const context = this.#conns.get(connId)?.requests.get(request.id);
    if (context !== undefined) context.wasCheckedByLeaderWithAccount = passwordHash !== null;
    this.#login.check(
      { user: request.user, password: request.password, source, passwordHash },
      answer,
    );
  }

  #newDatagramGuard(): DatagramGuard {
    return new DatagramGuard(this.#world.clusterKeys, { maxSkewMs: DATAGRAM_MAX_SKEW_MS });
  }

  #scheduleTick(incarnation: number): void {
    const world = this.#world;
    const p = world.params;
    // The real shell's tick: a fifth of a heartbeat, half a Raft heartbeat, 5..50 ms.
    const tickMs = Math.max(
      5,
      Math.min(
        50,
        Math.floor(p.node.heartbeatIntervalMs / 5),
        Math.floor(p.raft.heartbeatIntervalMs / 2),
      ),
    );
    world.schedule(tickMs, this.id, () => {
      if (incarnation !== this.#incarnation) return;
      this.#step({ type: "tick", nowMs: world.nowMs });
      this.#scheduleTick(incarnation);
    });
  }

  #step(input: NodeInput): void {
    if (!this.#isAlive) return;
    // The node reads this machine's wall clock (skewed, drifting), not true simulated time.
    const stamped = { ...input, nowMs: this.#world.clockMs(this.id) };
    if (!this.#world.params.batchInputs) {
      this.#stepInputs([stamped]);
      return;
    }
    // Like the real shell's event-loop turn: what arrives at this moment is stepped together.
    this.#queuedInputs.push(stamped);
    if (this.#queuedInputs.length > 1) return;
    const incarnation = this.#incarnation;
    this.#world.schedule(0, this.id, () => {
      const inputs = this.#queuedInputs;
      this.#queuedInputs = [];
      if (incarnation === this.#incarnation) this.#stepInputs(inputs);
    });
  }

  #stepInputs(inputs: NodeInput[]): void {
    if (!this.#isAlive) return;
    const effects = this.#node!.stepAll(inputs);
    this.#afterStep();
    this.#execute(effects);
  }

  /** Checkers after every step: what was applied, and who leads which term. */
  #afterStep(): void {
    const world = this.#world;
    const log = this.#log!;
    const applied = log.takeApplied();
    if (applied.length > 0) {
      world.checker.onApplied(this.id, applied);
      this.#persistence!.noteApplied(applied);
      world.checker.checkState(this.id, this.#node!.sm);
      this.snapshotsInstalled = log.snapshotsInstalled;
    }
    if (log.isLeader) world.checker.onLeader(this.id, log.term);
    if (this.#isRejoinRequested && !this.#raft!.isRejoining) {
      // Caught up: later restarts go without --rejoin (the shell refuses it on a log like this).
      this.#isRejoinRequested = false;
      world.note(
        `${this.id} caught up after rejoining: it votes again, in terms after ${log.term}`,
      );
    }
    const role = `${log.isLeader ? "leader" : "not leader"} of term ${log.term}`;
    if (role !== this.#role) {
      if (log.isLeader) world.stats.leaderElections += 1;
      this.#role = role;
      this.#roleSinceMs = world.nowMs;
      world.note(`${this.id} is ${role}`);
    }
  }

  /** Carries out effects with the product's effect runner, on the simulated network and disk. */
  #execute(effects: NodeEffects): void {
    const world = this.#world;
    runEffects(effects, {
      log: (line) => world.note(`${this.id} log ${line.level}: ${line.message}`),
      sendPeer: (to, message) => this.#sendPeer(to, message),
      snapshotInstalled: (index) => {
        this.#lastSnapshotIndex = Math.max(this.#lastSnapshotIndex, index);
      },
      enqueue: (persist, peerMessages) =>
        this.#persistence!.enqueue(
          persist,
          // As the shell does: a snapshot from the leader, once saved, is read from the store.
          persist.snapshot === null ? null : this.#handOverLater(),
          peerMessages,
        ),
      send: (outbound) => this.#sendToConn(outbound),
      close: (conn) => this.#conns.get(conn)?.conn.closeByServer(),
      passwordWork: (work) => this.#doPasswordWork(work),
      loginWork: (work) => this.#checkLogin(work),
      // The simulated network has no multicast: clients and workers find the leader by redirects.
      snapshotDue: (due) => this.#takeSnapshot(due),
      announce: () => {},
    });
  }

  /** Sends one message over the simulated wire, checking a client's reply against the state. */
  #sendToConn({ conn, message }: Outbound): void {
    const world = this.#world;
    const state = this.#conns.get(conn);
    if (state === undefined) return;
    const direction = state.role === "worker"
      ? DIRECTIONS.orchestratorToWorker
      : DIRECTIONS.orchestratorToClient;
    const copy = overTheWire(message, direction as typeof DIRECTIONS.orchestratorToClient, {
      validate: world.params.validateWire,
      sender: this.id,
    });
    world.note(`${this.id} -> ${state.conn.remote} ${describeMessage(copy)}`);
    world.observeWire(this.id, state.conn.remote, copy);
    if (state.role === "client" && "re" in copy && copy.re !== null) {
      const request = state.requests.get(copy.re);
      state.requests.delete(copy.re);
      if (request !== undefined) {
        checkReply(
          world,
          { id: this.id, isLeader: this.isLeader, term: this.term, sm: this.#node!.sm },
          request,
          copy,
        );
      }
    }
    state.conn.sendToRemote(copy);
  }

  /**
   * The scrypt work the node asked for, as OrchestratorServer#doPasswordWork does it: after a
   * while, the current password checked against the account then, the new one "hashed", and the
   * request stepped again with the results.
   */
  #doPasswordWork(work: PasswordWork): void {
    const incarnation = this.#incarnation;
    const world = this.#world;
    world.schedule(world.rng.int(1, 30), this.id, () => {
      if (incarnation !== this.#incarnation || this.#node === null) return;
      const { request } = work;
      let currentPasswordCheck: CurrentPasswordCheck | undefined;
      if (work.verifyCurrentOf !== null) {
        // As the shell does: against the hash the node handed over when it asked.
        const checked = work.currentPasswordHash ?? null;
        const given = request.type === "userPasswd" ? request.currentPassword : undefined;
        currentPasswordCheck = checked !== null && given !== undefined &&
            checked === simPasswordHash(given)
          ? { verdict: "ok", checkedPasswordHash: checked }
          : { verdict: "wrong", checkedPasswordHash: checked };
      }
      const passwordHash = currentPasswordCheck?.verdict === "wrong"
        ? undefined
        : simPasswordHash(request.password);
      this.#step({
        type: "clientRequest",
        conn: work.conn,
        request,
        tokenHash: work.tokenHash,
        ...(passwordHash === undefined ? {} : { passwordHash }),
        ...(currentPasswordCheck === undefined ? {} : { currentPasswordCheck }),
        nowMs: world.nowMs,
      });
    });
  }

  #enqueue(persist: NodeEffects["persist"], afterDurable: (() => void) | null): void {
    this.#persistence!.enqueue(persist, afterDurable);
  }

  #sendPeer(to: string, message: PeerMessage): void {
    const world = this.#world;
    const target = world.orchestrators.find((o) => o.id === to)!;
    world.network.sendDatagram(this.id, to, () => target.deliverPeer(this.id, message));
  }

  /** Hands over the newest snapshot once a save is durable, if this process still runs. */
  #handOverLater(): () => void {
    const incarnation = this.#incarnation;
    return () => {
      if (incarnation === this.#incarnation) this.#handOverSnapshot();
    };
  }

  /** Hands the node the store's source of its newest snapshot, as OrchestratorServer does. */
  #handOverSnapshot(): void {
    const newest = this.#persistence!.disk.newestSnapshot;
    if (newest !== null && this.#node !== null) this.#node.snapshotTaken(newest);
  }

  /** Like SnapshotTaker#take: the snapshot the node asked for, one at a time (encoded at once). */
  #takeSnapshot(due: SnapshotDue): void {
    const world = this.#world;
    if (this.#isSnapshotting) return;
    this.#isSnapshotting = true;
    const { index, term } = due;
    const data = encodeSnapshot(due.state);
    const incarnation = this.#incarnation;
    this.#enqueue(
      { snapshot: { index, term, data, discardLog: false }, entries: [], hardState: null },
      () => {
        if (incarnation !== this.#incarnation) return;
        this.#isSnapshotting = false;
        this.#lastSnapshotIndex = index;
        this.#handOverSnapshot();
        this.snapshotsTaken += 1;
        world.note(`${this.id} snapshot at ${index} (${data.length} bytes)`);
      },
    );
  }
}

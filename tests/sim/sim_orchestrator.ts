/**
 * The simulated orchestrator shell: the real OrchestratorNode, RaftLog and
 * GroupCommit, driven exactly as orchestrator/shell/orchestrator_server.ts
 * drives them, over the simulated network, disk and clock. Like the real
 * shell it decides nothing; unlike it, it reports what the node applied to the
 * checkers after every step.
 * @module
 */
import {
  type ConnId,
  type NodeEffects,
  type NodeInput,
  type NodeOptions,
  OrchestratorNode,
} from "../../orchestrator/core/mod.ts";
import { LoginThrottle } from "../../orchestrator/core/login_throttle.ts";
import { RaftLog } from "../../orchestrator/raft/mod.ts";
// The real persistence queue (the shell has no mod.ts): the simulated shell uses it as is.
import { GroupCommit } from "../../orchestrator/shell/group_commit.ts";
import { MemoryLogStorage, type RecoveredLog } from "../../orchestrator/storage/mod.ts";
import {
  restoreSnapshot,
  type StateSnapshot,
  takeSnapshot,
  TaskStateMachine,
} from "../../orchestrator/tasks/mod.ts";
import { hashToken } from "../../shared/auth/mod.ts";
import { canonicalHeartbeat, DatagramGuard } from "../../shared/net/datagram_guard.ts";
import { createPrng } from "../../shared/prng.ts";
import type { ClientToOrchestrator, Hello } from "../../shared/protocol/messages.ts";
import type { PeerMessage } from "../../shared/protocol/peer_messages.ts";
import { describeMessage, describePeer } from "./describe.ts";
import type { ConnEnd, Listener, SimConnection } from "./network.ts";
import { ObservedLog } from "./observed_log.ts";
import { checkErrorReply, contextOf, type RequestContext } from "./reply_checks.ts";
import { type CrashMode, type LogPosition, SimDisk } from "./sim_disk.ts";
import { DIRECTIONS, overTheWire } from "./wire.ts";
import type { World } from "./world.ts";

/** OrchestratorServer's allowed clock skew for heartbeats. */
const DATAGRAM_MAX_SKEW_MS = 10_000;

/** A session lasts longer than any run: expiry is not what the simulation explores. */
const TOKEN_TTL_MS = 24 * 3600 * 1000;

/** Stands in for scrypt (slow, and salted at random): one password, one "hash". */
function simPasswordHash(password: string): string {
  return `scrypt$sim$${password}`;
}

interface ConnState {
  conn: SimConnection;
  role: "client" | "worker" | null;
  /** Client requests not yet answered, by id, for the reply checks. */
  requests: Map<number, RequestContext>;
}

/** Unanswered requests remembered per connection (a client has one in flight at a time). */
const REQUESTS_REMEMBERED_MAX = 64;

/** One orchestrator: its durable memory survives crashes; everything else is rebuilt at boot. */
export class SimOrchestrator implements Listener {
  readonly id: string;
  /** "host:port", what leader hints name. */
  readonly address: string;
  /** The disk's contents, kept across crashes. */
  readonly memory = new MemoryLogStorage();
  readonly #world: World;
  #incarnation = 0;
  #isAlive = false;
  #node: OrchestratorNode | null = null;
  #log: ObservedLog | null = null;
  #disk: SimDisk | null = null;
  #commit: GroupCommit | null = null;
  #jobsEnqueued = 0;
  #jobsDone = 0;
  #conns = new Map<ConnId, ConnState>();
  #nextConnId = 1;
  #throttle = new LoginThrottle();
  #datagramGuard: DatagramGuard;
  #lastSnapshotIndex = 0;
  #isSnapshotting = false;
  #recovered: RecoveredLog;
  #role = "";
  crashes = 0;
  snapshotsTaken = 0;
  /** Set while the node was told less than its disk holds (known bug groupCommitUnderReport). */
  underReport: string | null = null;
  snapshotsInstalled = 0;

  constructor(world: World, id: string, address: string) {
    this.#world = world;
    this.id = id;
    this.address = address;
    this.#recovered = this.memory.crash(); // a fresh store recovers empty
    this.#datagramGuard = this.#newDatagramGuard();
  }

  get isListening(): boolean {
    return this.#isAlive;
  }

  get isAlive(): boolean {
    return this.#isAlive;
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

  /** What the next boot starts from (what the disk recovered at the last crash). */
  get nextBoot(): RecoveredLog {
    return this.#recovered;
  }

  /** The simulated disk (for scenarios that crash at a chosen write). */
  get disk(): SimDisk | null {
    return this.#disk;
  }

  /**
   * True when persistence has nothing running outside the event queue: every
   * queued job is done, or the disk holds an operation that only a scheduled
   * event completes. The world drains microtasks until every node is quiet.
   */
  get isQuiet(): boolean {
    return !this.#isAlive || this.#jobsEnqueued === this.#jobsDone || this.#disk!.isBusy;
  }

  /** Starts the node from what the disk recovered. */
  boot(): void {
    const world = this.#world;
    const recovered = this.#recovered;
    const p = world.params;
    world.checker.onBoot(this.id, recovered);
    const sm = recovered.snapshot === null ? new TaskStateMachine() : restoreSnapshot(
      JSON.parse(new TextDecoder().decode(recovered.snapshot.data)) as StateSnapshot,
    );
    const raft = new RaftLog({
      nodeId: this.id,
      voters: world.orchestrators.map((o) => o.id),
      electionTimeoutMinMs: p.raft.electionTimeoutMinMs,
      electionTimeoutMaxMs: p.raft.electionTimeoutMaxMs,
      heartbeatIntervalMs: p.raft.heartbeatIntervalMs,
      maxEntriesPerMessage: p.raft.maxEntriesPerMessage,
      maxInflightMessages: p.raft.maxInflightMessages,
      snapshotChunkBytes: p.raft.snapshotChunkBytes,
      catchUpEntries: p.raft.catchUpEntries,
      rng: createPrng(world.rng.int(0, 0xffffffff)),
    }, {
      hardState: recovered.hardState,
      snapshot: recovered.snapshot,
      entries: recovered.entries,
      nowMs: world.nowMs,
    });
    this.#incarnation += 1;
    const incarnation = this.#incarnation;
    this.#isAlive = true;
    this.#log = new ObservedLog(raft);
    const lastEntry = recovered.entries.at(-1) ?? recovered.snapshot;
    const recoveredEnd = { index: lastEntry?.index ?? 0, term: lastEntry?.term ?? 0 };
    this.#disk = new SimDisk(this.memory, {
      later: (run) =>
        world.schedule(world.rng.int(p.disk.fsyncMinMs, p.disk.fsyncMaxMs), this.id, run),
    }, { end: recoveredEnd, onError: (error) => world.fail(error) });
    let toldEnd = recoveredEnd;
    this.#jobsEnqueued = 0;
    this.#jobsDone = 0;
    this.#commit = new GroupCommit(this.#disk, {
      onDurable: (index, term) => {
        if (incarnation !== this.#incarnation) return;
        world.note(`${this.id} durable: told up to ${index}/${term}`);
        toldEnd = this.#checkToldDurable({ index, term }, toldEnd);
        this.#step({ type: "persisted", index, term, nowMs: world.nowMs });
      },
      onError: (error) => world.fail(error),
    });
    this.#lastSnapshotIndex = recovered.snapshot?.index ?? 0;
    this.#isSnapshotting = false;
    this.#conns = new Map();
    this.#nextConnId = 1;
    this.underReport = null;
    this.#throttle = new LoginThrottle();
    this.#datagramGuard = this.#newDatagramGuard();
    this.#role = "";
    world.note(
      `${this.id} boots: term ${recovered.hardState.term}, snapshot ${this.#lastSnapshotIndex}, ` +
        `${recovered.entries.length} entries` +
        (recovered.repairedBytes > 0
          ? `, cut a torn tail of ${recovered.repairedBytes} bytes`
          : ""),
    );
    const options: NodeOptions = {
      nodeId: this.id,
      clusterId: "sim",
      heartbeatIntervalMs: p.node.heartbeatIntervalMs,
      missedHeartbeats: p.node.missedHeartbeats,
      schedulerPolicy: p.node.schedulerPolicy,
      defaultMaxAttempts: p.node.defaultMaxAttempts,
      peers: world.orchestrators.map((o) => ({ id: o.id, address: o.address })),
      // The cluster file's accounts, which a leader creates in the replicated state.
      bootstrapUsers: world.users.map(({ name, password }) => ({
        name,
        role: "user" as const,
        passwordHash: simPasswordHash(password),
      })),
    };
    this.#node = new OrchestratorNode(options, { sm, log: this.#log, nowMs: world.nowMs });
    this.#afterStep();
    this.#execute(this.#node.takeEffects());
    this.#scheduleTick(incarnation);
  }

  /**
   * The shell contract (NodeEffects): after a sync, report `persisted` with the last entry
   * written. The node must learn where its durable log now ends, unless it knew already.
   * @returns what the node now knows to be the durable end.
   */
  #checkToldDurable(told: LogPosition, known: LogPosition): LogPosition {
    const end = this.#disk!.durableEnd;
    const isEnd = (p: LogPosition) =>
      p.index === end.index && (p.term === end.term || end.term < 0);
    if (isEnd(told) || isEnd(known)) {
      this.underReport = null;
      return end;
    }
    this.underReport = `${this.id} was told its log is durable up to ${told.index}, but it is up ` +
      `to ${end.index}`;
    this.#world.knownBug(
      "groupCommitUnderReport",
      `${this.id}'s log is durable up to entry ${end.index} (term ${end.term}), but GroupCommit ` +
        `reported persisted(${told.index}, ${told.term}): the node never learns that the entries ` +
        `after ${told.index} are durable, so it neither applies nor counts them`,
    );
    return known;
  }

  /** Kills the process: what the disk had in flight fares as `mode` says. */
  crash(mode: CrashMode, keepFraction: number): void {
    if (!this.#isAlive) return;
    this.#recovered = this.#disk!.crash(mode, keepFraction);
    this.#isAlive = false;
    this.#incarnation += 1;
    this.#node = null;
    this.#commit = null;
    this.crashes += 1;
    this.#world.note(`${this.id} CRASHES (write in flight: ${mode})`);
    for (const { conn } of this.#conns.values()) conn.break("orchestrator crashed");
    this.#conns.clear();
  }

  /** A Raft message arrived from `from`. */
  deliverPeer(from: string, message: PeerMessage): void {
    if (!this.#isAlive) return;
    const copy = overTheWire(message, DIRECTIONS.peer, {
      validate: this.#world.params.validateWire,
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
    const nowMs = world.nowMs;
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
    state.requests.set(request.id, contextOf(request, tokenHash, this.#world));
    if (state.requests.size > REQUESTS_REMEMBERED_MAX) {
      state.requests.delete(state.requests.keys().next().value!);
    }
    if (request.type === "login") {
      this.#checkLogin(connId, request);
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

  /**
   * LoginChecker: throttled per user name and per source, then the password checked against
   * the accounts in this node's replicated state (read when the check starts, as the real
   * shell does), which takes a while (scrypt, off the event loop).
   */
  #checkLogin(connId: ConnId, request: Extract<ClientToOrchestrator, { type: "login" }>): void {
    const world = this.#world;
    const incarnation = this.#incarnation;
    const source = this.#conns.get(connId)?.conn.remote ?? "unknown";
    const keys = [`user:${request.user}`, `addr:${source}`];
    const step = (
      session: Extract<NodeInput, { type: "loginChecked" }>["session"],
      retryAfterMs?: number,
    ) =>
      this.#step({
        type: "loginChecked",
        conn: connId,
        requestId: request.id,
        lamport: request.lamport,
        user: request.user,
        session,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        source,
        nowMs: world.nowMs,
      });
    const waitMs = this.#throttle.waitMs(keys, world.nowMs);
    if (waitMs > 0) return step(null, waitMs);
    const account = this.#node!.sm.users.get(request.user);
    const context = this.#conns.get(connId)?.requests.get(request.id);
    if (context !== undefined) {
      context.wasCheckedByLeaderWithAccount = account !== undefined && this.isLeader;
    }
    world.schedule(world.rng.int(1, 30), this.id, () => {
      if (incarnation !== this.#incarnation) return;
      if (account?.passwordHash !== simPasswordHash(request.password)) {
        this.#throttle.recordFailure(keys, world.nowMs);
        return step(null);
      }
      this.#throttle.recordSuccess(keys);
      const token = world.newToken(this.id);
      step({ token, tokenHash: hashToken(token), expiresAtMs: world.nowMs + TOKEN_TTL_MS });
    });
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
    const effects = this.#node!.step(input);
    this.#afterStep();
    this.#execute(effects);
    if (input.type === "persisted") this.#maybeSnapshot();
  }

  /** Checkers after every step: what was applied, and who leads which term. */
  #afterStep(): void {
    const world = this.#world;
    const log = this.#log!;
    const applied = log.takeApplied();
    if (applied.length > 0) {
      world.checker.onApplied(this.id, applied);
      world.checker.checkState(this.id, this.#node!.sm);
      this.snapshotsInstalled = log.snapshotsInstalled;
    }
    if (log.isLeader) world.checker.onLeader(this.id, log.term);
    const role = `${log.isLeader ? "leader" : "not leader"} of term ${log.term}`;
    if (role !== this.#role) {
      if (log.isLeader) world.stats.leaderElections += 1;
      this.#role = role;
      world.note(`${this.id} is ${role}`);
    }
  }

  /** Carries out effects in the order NodeEffects documents, as OrchestratorServer#execute does. */
  #execute(effects: NodeEffects): void {
    const world = this.#world;
    for (const line of effects.log) world.note(`${this.id} log ${line.level}: ${line.message}`);
    for (const { to, message } of effects.peerSend) this.#sendPeer(to, message);
    const { persist } = effects;
    const after = effects.peerSendAfterPersist;
    if (persist.snapshot !== null) {
      this.#lastSnapshotIndex = Math.max(this.#lastSnapshotIndex, persist.snapshot.index);
    }
    const needsPersist = persist.entries.length > 0 || persist.hardState !== null ||
      persist.snapshot !== null;
    // "After persist" means after everything staged so far is durable, this step's and earlier
    // steps' still in the queue: such messages ride the queue even when this step staged nothing.
    if (needsPersist || after.length > 0) {
      this.#enqueue(
        persist,
        after.length === 0 ? null : () => {
          for (const { to, message } of after) this.#sendPeer(to, message);
        },
      );
    }
    for (const { conn, message } of effects.send) {
      const state = this.#conns.get(conn);
      if (state === undefined) continue;
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
        if (request !== undefined && copy.type === "error") {
          checkErrorReply(
            world,
            { id: this.id, isLeader: this.isLeader, sm: this.#node!.sm },
            request,
            copy,
          );
        }
      }
      state.conn.sendToRemote(copy);
    }
    for (const conn of effects.close) this.#conns.get(conn)?.conn.closeByServer();
  }

  #enqueue(persist: NodeEffects["persist"], afterDurable: (() => void) | null): void {
    this.#jobsEnqueued += 1;
    this.#commit!.enqueue({
      persist,
      afterDurable: () => {
        this.#jobsDone += 1;
        afterDurable?.();
      },
    });
  }

  #sendPeer(to: string, message: PeerMessage): void {
    const world = this.#world;
    const target = world.orchestrators.find((o) => o.id === to)!;
    world.network.sendDatagram(this.id, to, () => target.deliverPeer(this.id, message));
  }

  /** Like OrchestratorServer#maybeSnapshot: every `snapshotEveryEntries` applied entries. */
  #maybeSnapshot(): void {
    const sm = this.#node!.sm;
    const world = this.#world;
    if (this.#isSnapshotting) return;
    if (sm.appliedIndex - this.#lastSnapshotIndex < world.params.snapshotEveryEntries) return;
    this.#isSnapshotting = true;
    const index = sm.appliedIndex;
    const term = sm.appliedTerm;
    const data = new TextEncoder().encode(JSON.stringify(takeSnapshot(sm)));
    const incarnation = this.#incarnation;
    this.#enqueue(
      { snapshot: { index, term, data, discardLog: false }, entries: [], hardState: null },
      () => {
        if (incarnation !== this.#incarnation) return;
        this.#isSnapshotting = false;
        this.#lastSnapshotIndex = index;
        this.#node!.snapshotTaken({ index, term, data });
        this.snapshotsTaken += 1;
        world.note(`${this.id} snapshot at ${index} (${data.length} bytes)`);
      },
    );
  }
}

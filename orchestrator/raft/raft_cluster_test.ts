// Proves that RaftLogs on a seeded, faulty simulated network and disk (delay, drop, duplication,
// reordering, partitions including one-way ones; the simulator's disk, whose crashes lose, complete
// or tear the write in flight) keep Raft's safety properties after every step, serve only
// linearizable reads, and converge once healed.
//
// Replay one seed with: RAFT_SEED=123 deno test -A orchestrator/raft/raft_cluster_test.ts
import assert from "node:assert/strict";
import { createPrng } from "../../shared/prng.ts";
import type { Rng } from "../../shared/prng.ts";
import type { PeerMessage } from "../../shared/protocol/peer_messages.ts";
import type { ConsensusOutput, HardState, PeerEnvelope, StoredSnapshot } from "./consensus_log.ts";
import type { Command, LogEntry } from "../../shared/protocol/commands.ts";
import { EventQueue } from "../../tests/sim/event_queue.ts";
import { type CrashMode, SimDisk } from "../../tests/sim/sim_disk.ts";
import { bytesSnapshotRef, MemoryLogStorage, type RecoveredLog } from "../storage/mod.ts";
import { RaftLog } from "./raft_log.ts";

// ---- scenario ----

const TICK_MS = 10;
const ELECTION_MIN_MS = 150;
const ELECTION_MAX_MS = 300;
const HEARTBEAT_MS = 50;
/** After healing: time to elect a leader and catch everyone up before we insist on it. */
const CONVERGE_BUDGET_MS = 8_000;
/**
 * Messages in flight on one directed link before it drops more (a real peer link's buffer is
 * bounded too). Healthy runs stay far below it; reaching it means the cores amplify traffic.
 */
const LINK_IN_FLIGHT_MAX = 500;
/** Proposals are noops whose atMs starts here, so each one is unique and told from leader noops. */
const PROPOSAL_BASE = 1_000_000_000;

interface Scenario {
  seed: number;
  nodeCount: number;
  chaosMs: number;
  dropP: number;
  duplicateP: number;
  maxDelayMs: number;
  maxFsyncMs: number;
  /** Per chaos step (every ~10 ms). */
  crashP: number;
  /** Per chaos step: the leader crashes (the hardest moment for the log). */
  leaderCrashP: number;
  partitionP: number;
  /** Per chaos step: a node's connection to a live peer resets (peerDisconnected). */
  disconnectP: number;
  /** Per disk operation: the node crashes while it is still running. */
  tornFsyncP: number;
  proposeP: number;
  readP: number;
  /** Applied entries between two snapshots a node takes of its own state machine. */
  snapshotEvery: number;
  catchUpEntries: number;
  snapshotChunkBytes: number;
  maxEntriesPerMessage: number;
  maxInflightMessages: number;
}

/** The seed picks the cluster size and every fault rate (STYLE.md section 8). */
function scenarioFor(seed: number): Scenario {
  const rng = createPrng(seed ^ 0x5eed);
  return {
    seed,
    nodeCount: rng.pick([3, 3, 4, 5, 5]),
    chaosMs: rng.int(1_500, 3_000),
    dropP: rng.pick([0, 0.01, 0.05, 0.15]),
    duplicateP: rng.pick([0, 0.02, 0.1]),
    maxDelayMs: rng.pick([2, 10, 30, 80]),
    maxFsyncMs: rng.pick([1, 5, 20]),
    crashP: rng.pick([0, 0.003, 0.01, 0.03]),
    leaderCrashP: rng.pick([0, 0.005, 0.02]),
    partitionP: rng.pick([0, 0.005, 0.02]),
    tornFsyncP: rng.pick([0, 0, 0.002, 0.01]),
    disconnectP: rng.pick([0, 0.01, 0.05]),
    proposeP: rng.pick([0.1, 0.3, 0.6]),
    readP: rng.pick([0, 0.05, 0.2]),
    snapshotEvery: rng.pick([4, 10, 40, 1_000_000]),
    catchUpEntries: rng.pick([0, 2, 10]),
    snapshotChunkBytes: rng.pick([64, 300, 4096]),
    maxEntriesPerMessage: rng.pick([1, 3, 64]),
    maxInflightMessages: rng.pick([1, 2, 8]),
  };
}

// ---- the simulated world ----

/** What happens at a simulated instant; the shared event queue runs it in (time, order) order. */
type WorldEvent =
  | { type: "deliver"; from: string; to: string; message: PeerMessage }
  | { type: "disk"; node: string; incarnation: number; complete: () => void }
  | { type: "tick"; node: string; incarnation: number }
  | { type: "restart"; node: string }
  | { type: "crash"; node: string; incarnation: number }
  | { type: "disconnect"; node: string; peer: string }
  | { type: "chaos" };

/**
 * What the checkers hold durable on a node: what its completed syncs wrote, and after a crash what
 * the simulated disk recovered (which may add the write that was in flight).
 */
interface Disk {
  hardState: HardState;
  snapshot: StoredSnapshot | null;
  /** Contiguous, starting right after the snapshot. */
  entries: LogEntry[];
}

/** One drain's durable work, and the messages that wait for it. */
interface PersistJob {
  hardState: HardState | null;
  snapshot: (StoredSnapshot & { discardLog: boolean }) | null;
  entries: LogEntry[];
  /** With what each acknowledgement promises: the term its entry had when it was made. */
  after: Array<PeerEnvelope<Command> & { promisedTerm?: number }>;
}

/** A disk operation in flight: a sync that ends a job, a snapshot save, or an earlier sync. */
type DiskOp = { ends: PersistJob } | { savesSnapshotOf: PersistJob } | null;

/** The state machine: the committed sequence itself, serialised whole into snapshots. */
interface Applied {
  keys: string[];
  lastTerm: number;
}

class SimNode {
  readonly id: string;
  incarnation = 0;
  up = true;
  log!: RaftLog<Command>;
  disk: Disk = { hardState: { term: 0, votedFor: null }, snapshot: null, entries: [] };
  /** The durable bytes, kept across crashes (a new one when the disk is lost). */
  memory = new MemoryLogStorage();
  /** This incarnation's disk over `memory`. */
  storage!: SimDisk;
  /** One per disk operation started and not completed, in order: what its completion does. */
  ops: DiskOp[] = [];
  /**
   * Jobs waiting for a snapshot save to complete before they are staged (as GroupCommit awaits
   * it): the first is the job whose snapshot is being saved, still to stage its entries.
   */
  blocked: PersistJob[] = [];
  applied: Applied = { keys: [], lastTerm: 0 };
  /** The snapshot of its own state machine last handed to snapshotTaken(). */
  ownSnapshotIndex = 0;
  /** A copy of the RaftLog's in-memory log, rebuilt from its outputs. */
  mirror = new MirrorLog(0, 0);
  /** Read id -> the global commit length when it was asked. */
  reads = new Map<number, number>();
  leaderOfTerm = 0;
  /** Boot with RaftOptions.rejoin (after its disk was lost). */
  rejoin = false;

  constructor(id: string) {
    this.id = id;
  }
}

/** The entries a node holds in memory, after a compaction point; rebuilt from drain() outputs. */
class MirrorLog {
  baseIndex: number;
  baseTerm: number;
  entries: LogEntry[] = [];

  constructor(baseIndex: number, baseTerm: number) {
    this.baseIndex = baseIndex;
    this.baseTerm = baseTerm;
  }

  get lastIndex(): number {
    return this.baseIndex + this.entries.length;
  }

  at(index: number): LogEntry | undefined {
    return this.entries[index - this.baseIndex - 1];
  }

  termAt(index: number): number | undefined {
    if (index === this.baseIndex) return this.baseTerm;
    return this.at(index)?.term;
  }
}

function keyOf(entry: LogEntry): string {
  return `${entry.term}/${JSON.stringify(entry.command)}`;
}

function emptyOutput(out: ConsensusOutput<Command>): boolean {
  return out.snapshot === null && out.entries.length === 0 && out.hardState === null &&
    out.committed.length === 0 && !out.roleChanged && out.messages.length === 0 &&
    out.messagesAfterPersist.length === 0 && out.readsReady.length === 0 &&
    out.readsFailed.length === 0;
}

class World {
  readonly scenario: Scenario;
  readonly rng: Rng;
  readonly queue = new EventQueue();
  readonly nodes = new Map<string, SimNode>();
  readonly ids: string[];
  readonly quorum: number;
  nowMs = 0;
  /** Whether the network and disks misbehave (off once healed). */
  faulty = true;
  /**
   * Set once a disk was lost (wipe()): an entry committed on a bare majority is then durable on
   * fewer nodes, by definition, so that check is off; every other one must still hold.
   */
  disksLost = false;
  /** Directed links ("n1>n2") that drop every message. */
  cut = new Set<string>();
  /** Scripted scenarios rewrite (or, with null, drop) chosen messages as they are sent. */
  rewrite:
    | ((
      from: string,
      to: string,
      m: PeerEnvelope<Command>["message"],
    ) => PeerEnvelope<Command>["message"] | null)
    | null = null;
  // ---- global records the checkers compare against ----
  readonly leaders = new Map<number, string>();
  /** The one committed sequence: key and term of each index (1-based via index - 1). */
  readonly committed: Array<{ key: string; term: number; commitTermBound: number }> = [];
  /** (index, term) -> what the entry is and the term before it, as first seen in any log. */
  readonly seen = new Map<string, string>();
  nextCommand = 1;
  nextRead = 1;
  readsServed = 0;
  steps = 0;
  crashes = 0;
  snapshotsInstalled = 0;
  /** Messages in flight per directed link, and the links that ever overflowed. */
  readonly inFlight = new Map<string, number>();
  readonly overflows = new Set<string>();
  /** When a snapshot chunk or answer last went over each link. */
  readonly snapshotSentMs = new Map<string, number>();
  /**
   * Known bugs this run triggered (keys of KNOWN_BUGS). They are recorded, not thrown, so the
   * run goes on checking everything else; a later failure they can explain is blamed on them.
   */
  readonly known = new Set<KnownBug>();
  /** The last events, kept only when replaying one seed (RAFT_SEED), printed on failure. */
  readonly trace: string[] | null;
  readonly traceLength: number;

  constructor(scenario: Scenario, traceLength = 0) {
    this.traceLength = traceLength;
    this.scenario = scenario;
    this.rng = createPrng(scenario.seed);
    this.ids = Array.from({ length: scenario.nodeCount }, (_, i) => `n${i + 1}`);
    this.quorum = Math.floor(scenario.nodeCount / 2) + 1;
    this.trace = traceLength > 0 ? [] : null;
    for (const id of this.ids) {
      const node = new SimNode(id);
      this.nodes.set(id, node);
      this.#boot(node);
    }
  }

  // ---- running ----

  /** Processes events until `untilMs`, or until `done()` holds; returns whether it did. */
  runUntil(untilMs: number, done: () => boolean = () => false): boolean {
    for (let at = this.queue.peekTime(); at !== null && at <= untilMs; at = this.queue.peekTime()) {
      const event = this.queue.pop()!;
      this.nowMs = event.at;
      event.run();
      this.steps += 1;
      this.#checkStep();
      if (done()) return true;
    }
    this.nowMs = Math.max(this.nowMs, untilMs);
    return done();
  }

  startChaos(): void {
    this.#schedule(this.nowMs + 1, { type: "chaos" });
  }

  /** Stops every fault, restarts every crashed node and reconnects everyone. */
  heal(): void {
    this.faulty = false;
    this.cut.clear();
    for (const node of this.nodes.values()) if (!node.up) this.#restart(node);
  }

  /** Kills a node now; it stays down until heal(). */
  crash(id: string): void {
    this.#crash(this.nodes.get(id)!);
  }

  /** Brings a crashed node back from its disk. */
  restart(id: string): void {
    const node = this.nodes.get(id)!;
    if (!node.up) this.#restart(node);
  }

  /**
   * `id` loses its disk: it crashes and comes back empty, rejoining (RaftOptions.rejoin) or, to
   * show what that prevents, as a brand-new node.
   */
  wipe(id: string, options: { rejoin: boolean }): void {
    const node = this.nodes.get(id)!;
    if (node.up) this.#crash(node);
    this.disksLost = true;
    node.disk = { hardState: { term: 0, votedFor: null }, snapshot: null, entries: [] };
    node.memory = new MemoryLogStorage();
    node.rejoin = options.rejoin;
    this.#restart(node);
    node.rejoin = false; // a later restart recovers from its disk (and a rejoin marker on it)
  }

  /** `id`'s connection to `peer` closes (peer may well be alive). */
  disconnect(id: string, peer: string): void {
    this.#schedule(this.nowMs, { type: "disconnect", node: id, peer });
  }

  leader(): SimNode | null {
    const leaders = [...this.nodes.values()].filter((n) => n.up && n.log.isLeader);
    if (leaders.length === 0) return null;
    return leaders.reduce((a, b) => (a.log.term >= b.log.term ? a : b));
  }

  /** A leader that every node follows, in its term. */
  stableLeader(): SimNode | null {
    const leader = this.leader();
    if (leader === null) return null;
    for (const node of this.nodes.values()) {
      if (node.log.term !== leader.log.term || node.log.leaderId !== leader.id) return null;
    }
    return leader;
  }

  /** Proposes `count` unique commands to `node` (ignored unless it leads); returns them. */
  propose(node: SimNode, count: number): Command[] {
    const commands = Array.from(
      { length: count },
      () => ({ type: "noop" as const, atMs: PROPOSAL_BASE + this.nextCommand++ }),
    );
    node.log.propose(commands);
    this.#pump(node);
    return commands;
  }

  // ---- events ----

  #schedule(atMs: number, event: WorldEvent): void {
    const owner = event.type === "deliver" ? event.to : "node" in event ? event.node : null;
    this.queue.push({
      at: atMs,
      owner,
      run: () => {
        if (this.trace !== null) this.#trace(event);
        this.#handle(event);
      },
    });
  }

  #trace(event: WorldEvent): void {
    const { type, ...rest } = event;
    const line = type === "deliver"
      ? `${event.from}->${event.to} ${JSON.stringify({ ...event.message, v: undefined })}`
      : `${type} ${JSON.stringify(rest)}`;
    this.trace!.push(`${this.nowMs}ms ${line}`);
    if (this.trace!.length > this.traceLength) this.trace!.shift();
  }

  #handle(event: WorldEvent): void {
    switch (event.type) {
      case "deliver": {
        this.#linkLoad(event.from, event.to, -1, event.message);
        const node = this.nodes.get(event.to)!;
        if (!node.up || this.cut.has(`${event.from}>${event.to}`)) return;
        node.log.step(event.from, event.message, this.nowMs);
        this.#pump(node);
        return;
      }
      case "tick": {
        const node = this.nodes.get(event.node)!;
        if (!node.up || node.incarnation !== event.incarnation) return;
        node.log.tick(this.nowMs);
        this.#pump(node);
        this.#schedule(this.nowMs + TICK_MS, event);
        return;
      }
      case "disk": {
        const node = this.nodes.get(event.node)!;
        if (!node.up || node.incarnation !== event.incarnation) return;
        event.complete(); // the operation is durable; the disk starts the next one
        const op = node.ops.shift();
        assert.ok(op !== undefined, `${node.id}: a disk operation completed that was not started`);
        if (op === null) return;
        if ("ends" in op) return this.#complete(node, op.ends);
        // The snapshot is saved: stage the rest of its job, then the jobs that waited for it.
        assert.equal(
          node.blocked[0],
          op.savesSnapshotOf,
          `${node.id}: snapshot saves out of order`,
        );
        const [job, ...waiting] = node.blocked;
        node.blocked = [];
        this.#stageAfterSnapshot(node, job);
        for (const next of waiting) this.#persist(node, next);
        return;
      }
      case "disconnect": {
        const node = this.nodes.get(event.node)!;
        if (!node.up) return;
        node.log.peerDisconnected(event.peer, this.nowMs);
        this.#pump(node);
        return;
      }
      case "crash": {
        const node = this.nodes.get(event.node)!;
        if (node.up && node.incarnation === event.incarnation) this.#crashFor(node);
        return;
      }
      case "restart": {
        const node = this.nodes.get(event.node)!;
        if (!node.up) this.#restart(node);
        return;
      }
      case "chaos":
        if (!this.faulty) return;
        this.#chaos();
        this.#schedule(this.nowMs + this.rng.int(1, 2 * TICK_MS), event);
        return;
    }
  }

  #chaos(): void {
    const { rng, scenario } = this;
    if (rng.chance(scenario.proposeP)) {
      const leader = this.leader();
      if (leader !== null) this.propose(leader, rng.int(1, 3));
    }
    if (rng.chance(scenario.readP)) {
      const node = this.nodes.get(rng.pick(this.ids))!;
      if (node.up) {
        const id = this.nextRead++;
        node.reads.set(id, this.committed.length);
        node.log.requestRead(id);
        this.#pump(node);
      }
    }
    if (rng.chance(scenario.crashP)) this.#crashFor(this.nodes.get(rng.pick(this.ids))!);
    if (rng.chance(scenario.leaderCrashP)) {
      const leader = this.leader();
      if (leader !== null) this.#crashFor(leader);
    }
    if (rng.chance(scenario.partitionP)) this.#repartition();
    if (rng.chance(scenario.disconnectP)) {
      const node = rng.pick(this.ids);
      const peer = rng.pick(this.ids.filter((id) => id !== node));
      this.#schedule(this.nowMs + 1, { type: "disconnect", node, peer });
    }
  }

  #repartition(): void {
    const { rng, ids } = this;
    const cut = new Set<string>();
    const link = (a: string, b: string) => cut.add(`${a}>${b}`);
    switch (rng.int(0, 4)) {
      case 0: // heal
        break;
      case 1: { // two sides
        const side = new Set(ids.filter(() => rng.chance(0.5)));
        for (const a of ids) {
          for (const b of ids) if (side.has(a) !== side.has(b)) link(a, b);
        }
        break;
      }
      case 2: { // one node isolated
        const lone = rng.pick(ids);
        for (const other of ids) {
          if (other !== lone) link(lone, other), link(other, lone);
        }
        break;
      }
      case 3: { // one node deaf or mute (one-way)
        const lone = rng.pick(ids);
        const mute = rng.chance(0.5);
        for (const other of ids) {
          if (other !== lone) mute ? link(lone, other) : link(other, lone);
        }
        break;
      }
      case 4: // random one-way links
        for (const a of ids) {
          for (const b of ids) if (a !== b && rng.chance(0.25)) link(a, b);
        }
        break;
    }
    this.cut = cut;
  }

  // ---- nodes: boot, crash, restart ----

  #boot(node: SimNode): void {
    const s = this.scenario;
    const { disk } = node;
    const last = disk.entries.at(-1) ?? disk.snapshot;
    const incarnation = node.incarnation;
    node.storage = new SimDisk(node.memory, {
      later: (complete) => {
        const dueMs = this.nowMs + this.rng.int(0, s.maxFsyncMs);
        this.#schedule(dueMs, { type: "disk", node: node.id, incarnation, complete });
        if (this.faulty && this.rng.chance(s.tornFsyncP)) {
          // Crash while this operation runs: its write is lost, completed or torn.
          const atMs = this.rng.int(this.nowMs, Math.max(this.nowMs, dueMs - 1));
          this.#schedule(atMs, { type: "crash", node: node.id, incarnation });
        }
      },
    }, {
      end: last === null ? undefined : { index: last.index, term: last.term },
      hardState: disk.hardState,
      // A failure of the memory store under it is a bug: rethrown, it fails the test as uncaught.
      onError: (error) => {
        throw error;
      },
    });
    node.log = new RaftLog({
      nodeId: node.id,
      voters: this.ids,
      electionTimeoutMinMs: ELECTION_MIN_MS,
      electionTimeoutMaxMs: ELECTION_MAX_MS,
      heartbeatIntervalMs: HEARTBEAT_MS,
      rng: createPrng(s.seed * 7919 + Number(node.id.slice(1)) * 104_729 + node.incarnation),
      maxEntriesPerMessage: s.maxEntriesPerMessage,
      maxInflightMessages: s.maxInflightMessages,
      snapshotChunkBytes: s.snapshotChunkBytes,
      catchUpEntries: s.catchUpEntries,
      rejoin: node.rejoin,
      noopCommand: (atMs) => ({ type: "noop", atMs }),
    }, {
      hardState: { ...disk.hardState },
      snapshot: disk.snapshot === null ? null : bytesSnapshotRef(disk.snapshot),
      entries: disk.entries.slice(),
      nowMs: this.nowMs,
    });
    node.mirror = new MirrorLog(disk.snapshot?.index ?? 0, disk.snapshot?.term ?? 0);
    node.mirror.entries = disk.entries.slice();
    node.applied = disk.snapshot === null
      ? { keys: [], lastTerm: 0 }
      : this.#restoreState(node, disk.snapshot);
    node.ownSnapshotIndex = disk.snapshot?.index ?? 0;
    node.leaderOfTerm = 0;
    this.#schedule(this.nowMs + this.rng.int(1, TICK_MS), {
      type: "tick",
      node: node.id,
      incarnation: node.incarnation,
    });
    this.#pump(node);
  }

  #crashFor(node: SimNode): void {
    if (!node.up) return;
    this.#crash(node);
    this.crashes += 1;
    const downMs = this.rng.chance(0.5) ? this.rng.int(1, 50) : this.rng.int(50, 1_500);
    this.#schedule(this.nowMs + downMs, { type: "restart", node: node.id });
  }

  #crash(node: SimNode): void {
    // A killed process's sockets close: its peers notice soon (the shell's peerDisconnected).
    for (const peer of this.ids) {
      if (peer === node.id) continue;
      const atMs = this.nowMs + this.rng.int(1, 30);
      this.#schedule(atMs, { type: "disconnect", node: peer, peer: node.id });
    }
    node.up = false;
    node.incarnation += 1;
    node.ops = [];
    node.blocked = [];
    node.reads.clear();
    // The write in flight is lost, completes unbeknown to the node, or tears part-way.
    const mode = this.rng.pick<CrashMode>(["lost", "completed", "torn"]);
    this.#recover(node, node.storage.crash(mode, this.rng.next()));
  }

  /** Checks what the disk recovered against what was durable, and adopts it. */
  #recover(node: SimNode, recovered: RecoveredLog): void {
    const before = node.disk;
    assert.ok(
      recovered.hardState.term >= before.hardState.term,
      `${node.id}: recovered term ${recovered.hardState.term} < durable ${before.hardState.term}`,
    );
    assert.ok(
      (recovered.snapshot?.index ?? 0) >= (before.snapshot?.index ?? 0),
      `${node.id}: recovered an older snapshot than was durable`,
    );
    const base = recovered.snapshot?.index ?? 0;
    for (const entry of before.entries) {
      if (entry.index > this.committed.length || entry.index <= base) continue;
      assert.equal(
        recovered.entries[entry.index - base - 1]?.term,
        entry.term,
        `${node.id}: committed entry ${entry.index} durable before the crash was not recovered`,
      );
    }
    node.disk = {
      hardState: recovered.hardState,
      snapshot: recovered.snapshot,
      entries: recovered.entries,
    };
  }

  #restart(node: SimNode): void {
    node.up = true;
    node.incarnation += 1;
    this.#boot(node);
    this.#checkDurableQuorum(1);
  }

  // ---- a node's outputs ----

  #pump(node: SimNode): void {
    for (let round = 0;; round++) {
      assert.ok(round < 1_000, `${node.id} keeps producing output`);
      const out = node.log.drain();
      if (emptyOutput(out)) return;
      this.#take(node, out);
    }
  }

  #take(node: SimNode, out: ConsensusOutput<Command>): void {
    if (out.snapshot !== null) this.#mirrorSnapshot(node, out.snapshot);
    for (const entry of out.entries) this.#mirrorAppend(node, entry);
    assert.equal(
      node.mirror.lastIndex,
      node.log.lastIndex,
      `${node.id}: mirror of the log drifted`,
    );
    if (node.log.isLeader && node.leaderOfTerm !== node.log.term) {
      node.leaderOfTerm = node.log.term;
      this.#checkLeaderCompleteness(node);
    }
    for (const entry of out.committed) this.#apply(node, entry);
    this.#checkReads(node, out);
    for (const { to, message } of out.messages) this.#send(node.id, to, message);
    if (
      out.snapshot !== null || out.entries.length > 0 || out.hardState !== null ||
      out.messagesAfterPersist.length > 0
    ) {
      this.#persist(node, {
        hardState: out.hardState,
        snapshot: out.snapshot,
        entries: out.entries,
        after: out.messagesAfterPersist.map((e) => ({
          ...e,
          promisedTerm: e.message.type === "appendResponse" && e.message.success
            ? node.mirror.termAt(e.message.matchIndex)
            : undefined,
        })),
      });
    }
    this.#maybeSnapshot(node);
  }

  /**
   * Stages a job on the disk in the order the shell's GroupCommit does: a conflicting log is
   * truncated before the snapshot that replaces it is saved, what was staged before a snapshot is
   * synced before it, and nothing more is staged until the save completes; then the job's hard
   * state and entries, and a sync that completes the job.
   */
  #persist(node: SimNode, job: PersistJob): void {
    if (node.blocked.length > 0) {
      node.blocked.push(job);
      return;
    }
    if (job.snapshot === null) return this.#stageAfterSnapshot(node, job);
    const storage = node.storage;
    const { index, term, data } = job.snapshot;
    if (job.snapshot.discardLog) storage.truncateAfter(index);
    if (storage.pendingBytes > 0) this.#diskOp(node, storage.sync(), null);
    node.blocked.push(job);
    this.#diskOp(node, storage.saveSnapshot({ index, term, data }), { savesSnapshotOf: job });
  }

  #stageAfterSnapshot(node: SimNode, job: PersistJob): void {
    const storage = node.storage;
    if (job.hardState !== null) storage.setHardState(job.hardState);
    if (job.entries.length > 0) storage.append(job.entries);
    this.#diskOp(node, storage.sync(), { ends: job });
  }

  #diskOp(node: SimNode, done: Promise<void>, op: DiskOp): void {
    node.ops.push(op);
    done.catch(() => {}); // a crashed disk never settles; a closed one is not used here
  }

  #send(
    from: string,
    to: string,
    message: PeerEnvelope<Command>["message"],
    promisedTerm?: number,
  ): void {
    this.#checkPromise(this.nodes.get(from)!, to, message, promisedTerm);
    const rewritten = this.rewrite === null ? message : this.rewrite(from, to, message);
    if (rewritten === null) return;
    const stamped = { ...rewritten, v: 1, lamport: 0 } as PeerMessage;
    const { rng, scenario } = this;
    const copies = this.faulty && rng.chance(scenario.duplicateP) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      if (this.faulty && rng.chance(scenario.dropP)) continue;
      const load = this.#linkLoad(from, to, 0);
      if (load >= LINK_IN_FLIGHT_MAX) {
        // During a snapshot transfer on this link (either way): the amplification reported.
        const lastChunkMs = Math.max(
          this.snapshotSentMs.get(`${from}>${to}`) ?? -Infinity,
          this.snapshotSentMs.get(`${to}>${from}`) ?? -Infinity,
        );
        if (this.nowMs - lastChunkMs <= 1_000) this.known.add("snapshotStreams");
        else this.overflows.add(`${from}>${to}`);
        continue;
      }
      this.#linkLoad(from, to, +1, stamped);
      const delay = rng.int(1, this.faulty ? scenario.maxDelayMs : 2);
      this.#schedule(this.nowMs + delay, { type: "deliver", from, to, message: stamped });
    }
  }

  #linkLoad(from: string, to: string, delta: number, message?: PeerMessage): number {
    const link = `${from}>${to}`;
    const load = (this.inFlight.get(link) ?? 0) + delta;
    this.inFlight.set(link, load);
    if (message?.type === "installSnapshot" || message?.type === "snapshotResponse") {
      this.snapshotSentMs.set(link, this.nowMs);
    }
    return load;
  }

  /** The job's sync finished: it is durable; report it, then send what waited for it. */
  #complete(node: SimNode, job: PersistJob): void {
    const disk = node.disk;
    if (job.snapshot !== null) this.#diskSnapshot(node, job.snapshot, job.snapshot.discardLog);
    if (job.hardState !== null) disk.hardState = { ...job.hardState };
    for (const entry of job.entries) this.#diskAppend(node, entry);
    const last = disk.entries.at(-1) ?? disk.snapshot;
    if (last) node.log.persisted(last.index, last.term);
    for (const { to, message, promisedTerm } of job.after) {
      this.#send(node.id, to, message, promisedTerm);
    }
    this.#pump(node);
  }

  #diskSnapshot(node: SimNode, snapshot: StoredSnapshot, discardLog: boolean): void {
    const disk = node.disk;
    if (disk.snapshot !== null && snapshot.index <= disk.snapshot.index) return;
    const first = (disk.snapshot?.index ?? 0) + 1;
    if (discardLog) {
      this.#assertNotCommitted(node, disk.entries.slice(snapshot.index + 1 - first), "disk");
      disk.entries = disk.entries.slice(0, Math.max(0, snapshot.index + 1 - first));
    }
    disk.entries = disk.entries.slice(Math.max(0, snapshot.index + 1 - first));
    disk.snapshot = snapshot;
    if (disk.entries.length > 0) {
      assert.equal(disk.entries[0].index, snapshot.index + 1, `${node.id}: disk log has a gap`);
      assert.ok(disk.entries[0].term >= snapshot.term, `${node.id}: disk log term went back`);
    }
  }

  #diskAppend(node: SimNode, entry: LogEntry): void {
    const disk = node.disk;
    const first = (disk.snapshot?.index ?? 0) + 1;
    const offset = entry.index - first;
    assert.ok(offset >= 0, `${node.id}: disk append of ${entry.index} behind its snapshot`);
    assert.ok(
      offset <= disk.entries.length,
      `${node.id}: disk append of ${entry.index} leaves a gap`,
    );
    this.#assertNotCommitted(node, disk.entries.slice(offset), "disk");
    disk.entries.length = offset;
    disk.entries.push(entry);
  }

  #mirrorSnapshot(node: SimNode, snapshot: StoredSnapshot & { discardLog: boolean }): void {
    const mirror = node.mirror;
    const agrees = mirror.termAt(snapshot.index) === snapshot.term &&
      snapshot.index >= mirror.baseIndex;
    const reached = snapshot.index <= mirror.lastIndex;
    assert.equal(
      snapshot.discardLog,
      reached && !agrees,
      `${node.id}: discardLog must say whether the log reached ${snapshot.index} with another term`,
    );
    if (agrees) {
      mirror.entries = mirror.entries.slice(snapshot.index - mirror.baseIndex);
    } else {
      this.#assertNotCommitted(node, mirror.entries.filter((e) => e.index > snapshot.index), "log");
      mirror.entries = [];
    }
    mirror.baseIndex = snapshot.index;
    mirror.baseTerm = snapshot.term;
    this.snapshotsInstalled += 1;
    // The state machine is replaced by the snapshot's.
    assert.ok(
      snapshot.index > node.applied.keys.length,
      `${node.id}: snapshot ${snapshot.index} would move the state machine back`,
    );
    node.applied = this.#restoreState(node, snapshot);
  }

  #mirrorAppend(node: SimNode, entry: LogEntry): void {
    const mirror = node.mirror;
    assert.ok(
      entry.index > mirror.baseIndex,
      `${node.id}: appended compacted entry ${entry.index}`,
    );
    assert.ok(entry.index <= mirror.lastIndex + 1, `${node.id}: log gap at ${entry.index}`);
    const dropped = mirror.entries.slice(entry.index - mirror.baseIndex - 1);
    this.#assertNotCommitted(node, dropped, "log");
    mirror.entries.length = entry.index - mirror.baseIndex - 1;
    const prevTerm = mirror.termAt(entry.index - 1)!;
    assert.ok(entry.term >= prevTerm, `${node.id}: term went backwards at ${entry.index}`);
    mirror.entries.push(entry);
    // Log matching: one (index, term) names one entry, with one term before it.
    const id = `${entry.index}:${entry.term}`;
    const what = `${keyOf(entry)}|${prevTerm}`;
    const first = this.seen.get(id);
    if (first === undefined) this.seen.set(id, what);
    else assert.equal(what, first, `log matching: two different entries at ${id}`);
  }

  // ---- the state machine ----

  #apply(node: SimNode, entry: LogEntry): void {
    const applied = node.applied;
    assert.equal(entry.index, applied.keys.length + 1, `${node.id}: applied out of order`);
    applied.keys.push(keyOf(entry));
    applied.lastTerm = entry.term;
    this.#record(node, entry.index, keyOf(entry), entry.term);
  }

  /** Checks `index` against the one global sequence and records it there. */
  #record(node: SimNode, index: number, key: string, term: number): void {
    const known = this.committed[index - 1];
    const bound = node.log.term;
    if (known === undefined) {
      assert.equal(index, this.committed.length + 1, `${node.id}: committed ${index} past a gap`);
      this.committed.push({ key, term, commitTermBound: bound });
      this.#checkDurableQuorum(index);
      return;
    }
    assert.equal(key, known.key, `${node.id}: committed entry ${index} changed`);
    known.commitTermBound = Math.min(known.commitTermBound, bound);
  }

  #restoreState(node: SimNode, snapshot: StoredSnapshot): Applied {
    const keys = JSON.parse(new TextDecoder().decode(snapshot.data)) as string[];
    assert.equal(keys.length, snapshot.index, `${node.id}: snapshot size`);
    keys.forEach((key, i) => this.#record(node, i + 1, key, Number(key.split("/")[0])));
    return { keys, lastTerm: snapshot.term };
  }

  #maybeSnapshot(node: SimNode): void {
    const index = node.applied.keys.length;
    if (index - node.ownSnapshotIndex < this.scenario.snapshotEvery) return;
    const snapshot: StoredSnapshot = {
      index,
      term: node.applied.lastTerm,
      data: new TextEncoder().encode(JSON.stringify(node.applied.keys)),
    };
    node.ownSnapshotIndex = index;
    node.log.snapshotTaken(bytesSnapshotRef(snapshot));
    // Compaction of the in-memory log is RaftLog's business; saving it is the shell's.
    // RaftLog compacts its memory silently; the mirror keeps more, which the checks allow.
    this.#persist(node, {
      hardState: null,
      snapshot: { ...snapshot, discardLog: false },
      entries: [],
      after: [],
    });
  }

  // ---- checkers ----

  /** After every step: at most one leader per term, and what it counts on is durable. */
  #checkStep(): void {
    for (const node of this.nodes.values()) {
      if (!node.up || !node.log.isLeader) continue;
      const term = node.log.term;
      const known = this.leaders.get(term);
      if (known === undefined) this.leaders.set(term, node.id);
      else assert.equal(node.id, known, `two leaders in term ${term}`);
      this.#checkMatchDurable(node);
    }
    if (this.overflows.size > 0) {
      const link = [...this.overflows][0];
      assert.fail(
        `message storm: link ${link} reached ${LINK_IN_FLIGHT_MAX} (not snapshot chunks)`,
      );
    }
  }

  /**
   * A leader's matchIndex for a follower still in its term is durable on that follower: commit
   * counts it, and the leader never sends below it again (so a lost entry could not come back).
   */
  #checkMatchDurable(leader: SimNode): void {
    for (const { id, matchIndex } of leader.log.status(this.nowMs).followers) {
      const follower = this.nodes.get(id)!;
      if (matchIndex === 0 || follower.disk.hardState.term !== leader.log.term) continue;
      // A rejoining node lost what it had acknowledged: the leader learns so from its next refusal.
      if (follower.log.isRejoining) continue;
      const disk = follower.disk;
      const base = disk.snapshot?.index ?? 0;
      const durable: boolean = matchIndex <= base ||
        disk.entries[matchIndex - base - 1]?.term === leader.mirror.termAt(matchIndex);
      if (durable || this.known.has("earlySnapshotAck")) continue;
      assert.fail(
        `leader ${leader.id}'s matchIndex ${matchIndex} for ${id} is not durable on ${id}`,
      );
    }
  }

  /** A new leader holds every entry committed in an earlier term (Raft section 5.4.1). */
  #checkLeaderCompleteness(node: SimNode): void {
    const term = node.log.term;
    const mirror = node.mirror;
    for (let index = mirror.baseIndex + 1; index <= this.committed.length; index++) {
      const c = this.committed[index - 1];
      if (c.commitTermBound >= term) continue;
      assert.equal(
        mirror.at(index) && keyOf(mirror.at(index)!),
        c.key,
        `leader ${node.id} of term ${term} lacks committed entry ${index}`,
      );
    }
  }

  /** Entries committed so far are durable on a majority (on disk or inside a durable snapshot). */
  #checkDurableQuorum(from: number): void {
    if (this.disksLost) return;
    for (let index = from; index <= this.committed.length; index++) {
      const c = this.committed[index - 1];
      let holders = 0;
      for (const node of this.nodes.values()) {
        const disk = node.disk;
        const base = disk.snapshot?.index ?? 0;
        if (index <= base) holders += 1;
        else if (disk.entries[index - base - 1]?.term === c.term) holders += 1;
      }
      assert.ok(holders >= this.quorum, `committed entry ${index} is durable on ${holders} nodes`);
    }
  }

  /**
   * A message that promises durable state may only leave once that state is on disk: a vote
   * (or a candidate's own vote) in its term, an acknowledged log prefix, an installed snapshot.
   * Otherwise a crash could break the promise: vote twice, or lose an entry counted as stored.
   */
  /**
   * `promisedTerm`: for an acknowledgement sent once its job is durable, the term its entry had when
   * it was made. A newer leader's entry may have replaced that one in memory meanwhile, not yet on
   * disk: the acknowledgement (of the older term) is still true of what is durable.
   */
  #checkPromise(
    node: SimNode,
    to: string,
    m: PeerEnvelope<Command>["message"],
    promisedTerm?: number,
  ): void {
    const disk = node.disk;
    const voted = (term: number, votedFor: string) =>
      disk.hardState.term === term && disk.hardState.votedFor === votedFor;
    const holds = (index: number) => {
      const base = disk.snapshot?.index ?? 0;
      const term = disk.entries[index - base - 1]?.term;
      // A snapshot installed meanwhile may have replaced the log in memory: then any term will do.
      const expected = promisedTerm ?? node.mirror.termAt(index) ?? term;
      return index <= base || (term !== undefined && term === expected);
    };
    const what = `${node.id} -> ${to} ${m.type}`;
    if (m.type === "requestVote" && !m.preVote) {
      assert.ok(voted(m.term, node.id), `${what}: promised its own vote before it was durable`);
    } else if (m.type === "voteResponse" && m.granted && !m.preVote) {
      assert.ok(voted(m.term, to), `${what}: promised a vote before it was durable`);
    } else if (m.type === "appendResponse" && m.success) {
      assert.ok(holds(m.matchIndex), `${what}: promised ${m.matchIndex} before it was durable`);
    } else if (m.type === "snapshotResponse" && m.done && !holds(m.snapshotIndex)) {
      this.known.add("earlySnapshotAck");
    }
  }

  /** Nothing committed may be dropped from a log or a disk. */
  #assertNotCommitted(node: SimNode, dropped: readonly LogEntry[], where: string): void {
    for (const entry of dropped) {
      const c = this.committed[entry.index - 1];
      assert.ok(
        c === undefined || c.key !== keyOf(entry),
        `${node.id}: committed entry ${entry.index} dropped from its ${where}`,
      );
    }
  }

  /** A read may see nothing older than what was committed when it was asked (ReadIndex). */
  #checkReads(node: SimNode, out: ConsensusOutput<Command>): void {
    for (const { id, readIndex } of out.readsReady) {
      const floor = node.reads.get(id);
      assert.ok(floor !== undefined, `${node.id}: read ${id} answered twice or never asked`);
      node.reads.delete(id);
      assert.ok(node.log.isLeader, `${node.id}: read ${id} served by a non-leader`);
      assert.ok(
        readIndex >= floor,
        `${node.id}: read ${id} at ${readIndex} misses entries committed before it (${floor})`,
      );
      assert.ok(readIndex <= node.log.commitIndex, `${node.id}: read ${id} past commit`);
      this.readsServed += 1;
    }
    for (const id of out.readsFailed) {
      assert.ok(node.reads.delete(id), `${node.id}: failed read ${id} answered twice`);
    }
  }

  /** After healing: everyone applied the whole global sequence, and it has no duplicate. */
  checkConverged(): void {
    const keys = this.committed.map((c) => c.key);
    for (const node of this.nodes.values()) {
      assert.ok(node.up, `${node.id} is still down`);
      assert.deepEqual(node.applied.keys, keys, `${node.id} did not apply the committed sequence`);
    }
    // Raft never re-proposes: each proposal's command is committed at most once.
    const proposals = keys.map((k) => k.slice(k.indexOf("/") + 1))
      .filter((c) => (JSON.parse(c) as { atMs: number }).atMs >= PROPOSAL_BASE);
    assert.equal(new Set(proposals).size, proposals.length, "a proposal committed twice");
    this.#checkDurableQuorum(1);
  }
}

// ---- running a seed ----

interface SeedResult {
  committed: number;
  steps: number;
  reads: number;
  crashes: number;
  terms: number;
  snapshots: number;
}

interface SeedRun {
  result: SeedResult | null;
  error: string | null;
  known: KnownBug[];
}

function runSeed(seed: number, traceLength = 0): SeedRun {
  const world = new World(scenarioFor(seed), traceLength);
  try {
    const result = runWorld(world);
    return { result, error: null, known: [...world.known] };
  } catch (error) {
    if (world.trace !== null) {
      console.log(`scenario ${JSON.stringify(world.scenario)}`);
      console.log(`last events:\n${world.trace.join("\n")}`);
    }
    const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
    return { result: null, error: message, known: [...world.known] };
  }
}

function runWorld(world: World): SeedResult {
  world.startChaos();
  world.runUntil(world.scenario.chaosMs);
  world.heal();
  // Quiet period: a leader must emerge that everyone follows.
  const quietUntil = world.nowMs + CONVERGE_BUDGET_MS;
  assert.ok(
    world.runUntil(quietUntil, () => world.stableLeader() !== null),
    `no stable leader ${CONVERGE_BUDGET_MS} ms after healing`,
  );
  // A marker proposed now commits on every node, and with it everything before it. A leader may
  // still step down before committing it (check-quorum counts answers from before the healing),
  // and its successor may lack the marker, which was never committed: then the successor
  // proposes one in its own term.
  let marker: string | null = null;
  let markerTerm = 0;
  const everyoneHasIt = () => {
    const leader = world.stableLeader();
    if (leader !== null && leader.log.term !== markerTerm) {
      markerTerm = leader.log.term;
      marker = `/${JSON.stringify(world.propose(leader, 1)[0])}`;
    }
    return marker !== null &&
      [...world.nodes.values()].every((n) =>
        n.applied.keys.length === world.committed.length && n.applied.keys.at(-1)?.endsWith(marker!)
      );
  };
  assert.ok(
    everyoneHasIt() || world.runUntil(quietUntil + CONVERGE_BUDGET_MS, everyoneHasIt),
    `the cluster did not converge: applied ${
      [...world.nodes.values()].map((n) => `${n.id}=${n.applied.keys.length}`).join(" ")
    } of ${world.committed.length}`,
  );
  world.checkConverged();
  return {
    committed: world.committed.length,
    steps: world.steps,
    reads: world.readsServed,
    crashes: world.crashes,
    terms: world.leaders.size,
    snapshots: world.snapshotsInstalled,
  };
}

function env(name: string): string | undefined {
  return Deno.permissions.querySync({ name: "env", variable: name }).state === "granted"
    ? Deno.env.get(name)
    : undefined;
}

/** Seeds 1..800 by default; RAFT_SEEDS=n runs 1..n, RAFT_SEED=s replays one (with a trace). */
function seedsToRun(): number[] {
  const one = env("RAFT_SEED");
  if (one !== undefined) return [Number(one)];
  const count = Number(env("RAFT_SEEDS") ?? 800);
  return Array.from({ length: count }, (_, i) => i + 1);
}

/**
 * Bugs already reported (see the ignored tests in raft_log_test.ts). A run records when it
 * triggers one and goes on; the sweep fails only on what they cannot explain, and the strict
 * sweep below (ignored until they are fixed) fails on them too.
 */
const KNOWN_BUGS = {
  earlySnapshotAck: {
    what: "snapshotResponse done:true sent before the follower's log is durable",
    /** What it leads to: a leader counting, or never resending, entries the follower lost. */
    consequence: /matchIndex \d+ for n\d+ is not durable|did not converge|no stable leader/,
  },
  snapshotStreams: {
    what: "each snapshotResponse (duplicate, or to a heartbeat resend) starts another chunk stream",
    consequence: /did not converge|no stable leader/,
  },
};
type KnownBug = keyof typeof KNOWN_BUGS;

interface Sweep {
  seeds: number;
  ms: number;
  total: SeedResult;
  known: string[];
  unknown: string[];
}

function sweep(): Sweep {
  const total: SeedResult = {
    committed: 0,
    steps: 0,
    reads: 0,
    crashes: 0,
    terms: 0,
    snapshots: 0,
  };
  const known: string[] = [];
  const unknown: string[] = [];
  const seeds = seedsToRun();
  const traceLength = seeds.length === 1 ? Number(env("RAFT_TRACE") ?? 40) : 0;
  const started = performance.now();
  for (const seed of seeds) {
    const run = runSeed(seed, traceLength);
    const replay = `(replay: RAFT_SEED=${seed} deno test -A ${FILE})`;
    const bugs = run.known.map((key) => `[known bug: ${KNOWN_BUGS[key].what}]`).join(" ");
    if (run.result !== null) {
      for (const key of Object.keys(total) as Array<keyof SeedResult>) {
        total[key] += run.result[key];
      }
      if (run.known.length > 0) known.push(`seed ${seed}: passed, but ${bugs} ${replay}`);
      continue;
    }
    const explained = run.known.some((key) => KNOWN_BUGS[key].consequence.test(run.error!));
    if (explained) known.push(`seed ${seed}: ${run.error} ${bugs} ${replay}`);
    else unknown.push(`seed ${seed}: ${run.error} ${replay}`);
  }
  const ms = Math.round(performance.now() - started);
  console.log(
    `${seeds.length} seeds in ${ms} ms: ` +
      Object.entries(total).map(([k, v]) => `${v} ${k}`).join(", ") +
      `; ${known.length} hit a known bug, ${unknown.length} failed otherwise`,
  );
  for (const line of known) console.log(line);
  return { seeds: seeds.length, ms, total, known, unknown };
}

const FILE = "orchestrator/raft/raft_cluster_test.ts";

Deno.test("RaftLog cluster keeps Raft's safety properties under faults and converges once healed", () => {
  const result = sweep();
  assert.deepEqual(result.unknown, [], "failures not explained by a known bug");
  assert.ok(result.total.committed > result.seeds * 10, "the sweep hardly committed anything");
  assert.ok(result.total.crashes > 0 && result.total.snapshots > 0 && result.total.reads > 0);
});

Deno.test({
  name: "RaftLog cluster sweep passes with no known-bug failure either",
  fn: () => {
    const result = sweep();
    assert.deepEqual([...result.known, ...result.unknown], []);
  },
});

// ---- scripted scenarios on the same harness ----

/** A fault-free world (no chaos), for scripted scenarios. */
function quietWorld(nodeCount: number, seed = 1): World {
  const world = new World({
    ...scenarioFor(seed),
    nodeCount,
    dropP: 0,
    duplicateP: 0,
    crashP: 0,
    leaderCrashP: 0,
    partitionP: 0,
    tornFsyncP: 0,
    disconnectP: 0,
    snapshotEvery: 1_000_000,
  });
  world.faulty = false;
  return world;
}

function settleLeader(world: World): SimNode {
  assert.ok(world.runUntil(world.nowMs + 5_000, () => world.stableLeader() !== null));
  return world.stableLeader()!;
}

function isolate(world: World, id: string): void {
  for (const other of world.ids) {
    if (other !== id) world.cut.add(`${id}>${other}`).add(`${other}>${id}`);
  }
}

Deno.test("RaftLog cluster: an isolated follower rejoins without disturbing the leader", () => {
  const world = quietWorld(3);
  const leader = settleLeader(world);
  const term = leader.log.term;
  const follower = world.ids.find((id) => id !== leader.id)!;
  isolate(world, follower);
  world.runUntil(world.nowMs + 3_000);
  assert.equal(world.nodes.get(follower)!.log.term, term, "pre-vote kept its term");
  world.cut.clear();
  world.runUntil(world.nowMs + 1_000);
  assert.equal(world.stableLeader()?.id, leader.id);
  assert.equal(leader.log.term, term);
});

Deno.test("RaftLog cluster: a leader cut off in a minority commits nothing and loses its entries", () => {
  const world = quietWorld(5);
  const old = settleLeader(world);
  world.runUntil(world.nowMs + 500);
  const buddy = world.ids.find((id) => id !== old.id)!;
  const minority = new Set([old.id, buddy]);
  for (const a of world.ids) {
    for (const b of world.ids) if (minority.has(a) !== minority.has(b)) world.cut.add(`${a}>${b}`);
  }
  const before = old.log.commitIndex;
  const doomed = world.propose(old, 3);
  world.runUntil(world.nowMs + 2 * ELECTION_MAX_MS + 100);
  assert.equal(old.log.commitIndex, before, "nothing commits without a majority");
  assert.equal(old.log.isLeader, false, "check-quorum deposed it");
  const next = world.leader()!;
  assert.ok(!minority.has(next.id), "the majority elected its own leader");
  assert.ok(next.log.term > old.log.term);
  const kept = world.propose(next, 2);
  world.cut.clear();
  assert.ok(world.runUntil(world.nowMs + 3_000, () => {
    return [...world.nodes.values()].every((n) => n.applied.keys.length === world.committed.length);
  }));
  world.checkConverged();
  // (The majority's new leader committed its own noop meanwhile; that is fine.)
  const committed = new Set(world.committed.map((c) => c.key.slice(c.key.indexOf("/") + 1)));
  assert.ok(doomed.every((c) => !committed.has(JSON.stringify(c))), "the minority's are gone");
  assert.ok(kept.every((c) => committed.has(JSON.stringify(c))), "the majority's are everywhere");
});

Deno.test("RaftLog cluster: peers of a crashed leader elect a new one within an election timeout", () => {
  const world = quietWorld(3);
  const leader = settleLeader(world);
  const crashedAt = world.nowMs;
  world.crash(leader.id);
  assert.ok(world.runUntil(crashedAt + ELECTION_MIN_MS, () => world.leader() !== null));
  assert.notEqual(world.leader()!.id, leader.id);
});

Deno.test("RaftLog cluster: a follower's spurious disconnect from a live leader does not depose it", () => {
  const world = quietWorld(3);
  const leader = settleLeader(world);
  const term = leader.log.term;
  world.disconnect(world.ids.find((id) => id !== leader.id)!, leader.id);
  world.runUntil(world.nowMs + 2_000);
  assert.equal(world.stableLeader()?.id, leader.id, "the other follower, in lease, refused");
  assert.equal(leader.log.term, term);
});

/** Keeps only the entries below `index` (a suffix cut keeps the message valid). */
function withoutFrom(
  m: PeerEnvelope<Command>["message"],
  index: number,
): PeerEnvelope<Command>["message"] {
  if (m.type !== "appendEntries") return m;
  return { ...m, entries: m.entries.filter((e) => e.index < index) };
}

Deno.test("RaftLog cluster: the figure-8 history does not lose a committed entry", () => {
  // Raft paper figure 8, played with crashes and trimmed messages on five nodes.
  const world = quietWorld(5);
  const a = settleLeader(world);
  world.runUntil(world.nowMs + 300);
  const up = () => [...world.nodes.values()].filter((n) => n.up);
  const electAmong = (): SimNode => {
    assert.ok(world.runUntil(world.nowMs + 5_000, () => {
      const leader = world.leader();
      return leader !== null && up().every((n) => n.log.term === leader.log.term);
    }));
    return world.leader()!;
  };
  const lastOnDisk = (id: string) => world.nodes.get(id)!.disk.entries.at(-1)?.index;
  const [b, ...rest] = world.ids.filter((id) => id !== a.id);
  // (a) A leads term t1 and replicates a new index n to B only; then A and B crash.
  const n = a.log.lastIndex + 1;
  world.rewrite = (from, to, m) => (from === a.id && to !== b ? withoutFrom(m, n) : m);
  world.propose(a, 1);
  assert.ok(
    world.runUntil(world.nowMs + 1_000, () => lastOnDisk(a.id) === n && lastOnDisk(b) === n),
  );
  world.crash(a.id);
  world.crash(b);
  // (b) One of the other three (X) leads term t2 and writes its noop at n, on no one else.
  world.rewrite = (_from, _to, m) => withoutFrom(m, n);
  const x = electAmong();
  assert.equal(x.log.lastIndex, n);
  world.runUntil(world.nowMs + 50);
  world.crash(x.id);
  // (c) A and B come back; one of them (L) leads term t3 and replicates n, but not its noop.
  world.restart(a.id);
  world.restart(b);
  world.rewrite = (_from, _to, m) => withoutFrom(m, n + 1);
  const l = electAmong();
  assert.ok(l.id === a.id || l.id === b);
  const [y, z] = rest.filter((id) => id !== x.id);
  assert.ok(world.runUntil(world.nowMs + 1_000, () => lastOnDisk(y) === n && lastOnDisk(z) === n));
  world.runUntil(world.nowMs + 200);
  // n (term t1) is on A, B, Y and Z: a majority, but of an older term, so it is not committed.
  assert.ok(world.committed.length < n, "an older term's entry was committed by counting");
  // (d) A and B crash; X comes back, wins Y and Z with its later last term, and overwrites n.
  // Had n been committed, the checkers would stop here.
  world.crash(a.id);
  world.crash(b);
  world.restart(x.id);
  world.rewrite = null;
  assert.equal(electAmong().id, x.id);
  world.heal();
  assert.ok(world.runUntil(world.nowMs + 5_000, () => {
    return world.stableLeader() !== null && world.committed.length > n &&
      [...world.nodes.values()].every((node) =>
        node.applied.keys.length === world.committed.length
      );
  }));
  world.checkConverged();
  assert.ok(world.committed[n - 1].term > world.committed[n - 2].term, "X's entry won at n");
});

/**
 * Three nodes; a leader A commits an entry with B's acknowledgement only (C is cut off), then B
 * loses its disk and A crashes: only B, empty, and C, without the entry, are up. Returns the
 * world, the entry's index, and the three ids.
 */
function lostAcknowledgement(rejoin: boolean) {
  const world = quietWorld(3);
  const a = settleLeader(world);
  world.runUntil(world.nowMs + 200);
  const [b, c] = world.ids.filter((id) => id !== a.id);
  world.cut.add(`${a.id}>${c}`).add(`${c}>${a.id}`).add(`${b}>${c}`).add(`${c}>${b}`);
  world.propose(a, 1);
  const index = a.log.lastIndex;
  assert.ok(world.runUntil(world.nowMs + 1_000, () => world.committed.length >= index));
  world.crash(a.id);
  world.cut.clear();
  world.wipe(b, { rejoin });
  return { world, index, a: a.id, b, c };
}

Deno.test("RaftLog cluster: without rejoin, a node that lost its disk elects a leader missing a committed entry", () => {
  const { world } = lostAcknowledgement(false);
  // The checkers are strong enough to see what losing a disk does to a plain restart.
  assert.throws(
    () => world.runUntil(world.nowMs + 3_000, () => world.leader() !== null),
    /lacks committed entry/,
  );
});

Deno.test("RaftLog cluster: a rejoining node waits, and the cluster keeps every committed entry", () => {
  const { world, index, a, b, c } = lostAcknowledgement(true);
  world.runUntil(world.nowMs + 3_000);
  assert.equal(world.leader(), null, "C alone cannot win, and B does not vote");
  assert.equal(world.nodes.get(b)!.log.isRejoining, true);
  world.restart(a);
  const leader = settleLeader(world);
  assert.notEqual(leader.id, b);
  world.propose(leader, 2);
  // Waits for the two proposals too: every node may have applied all committed before they commit.
  assert.ok(world.runUntil(world.nowMs + 3_000, () => {
    return world.committed.length >= index + 2 &&
      [...world.nodes.values()].every((n) => n.applied.keys.length === world.committed.length);
  }));
  world.checkConverged();
  assert.equal(world.nodes.get(b)!.log.isRejoining, false, "caught up: a voter again");
  assert.equal(world.nodes.get(c)!.log.leaderId, leader.id);
});

Deno.test("RaftLog cluster: with one node of three rejoining, the other two elect and commit", () => {
  const world = quietWorld(3);
  const first = settleLeader(world);
  world.propose(first, 3);
  world.runUntil(world.nowMs + 300);
  const lost = world.ids.find((id) => id !== first.id)!;
  world.wipe(lost, { rejoin: true });
  world.crash(first.id); // the two survivors must elect without the rejoining node's vote
  world.restart(first.id);
  const leader = settleLeader(world);
  assert.notEqual(leader.id, lost);
  world.propose(leader, 3);
  assert.ok(world.runUntil(world.nowMs + 3_000, () => {
    return [...world.nodes.values()].every((n) => n.applied.keys.length === world.committed.length);
  }));
  world.checkConverged();
  assert.equal(world.nodes.get(lost)!.log.isRejoining, false);
  // Once caught up it is an ordinary voter: losing another node still leaves a majority.
  const now = world.stableLeader()!;
  world.crash(now.id);
  assert.ok(world.runUntil(world.nowMs + 3_000, () => world.leader() !== null));
});

Deno.test("RaftLog cluster: a follower that lost its disk catches up from the same leader, in the same term", () => {
  const world = quietWorld(3);
  const leader = settleLeader(world);
  world.propose(leader, 5);
  const everyoneApplied = () =>
    world.committed.length >= leader.log.lastIndex &&
    [...world.nodes.values()].every((n) => n.applied.keys.length === world.committed.length);
  assert.ok(world.runUntil(world.nowMs + 1_000, everyoneApplied));
  const term = leader.log.term;
  // The leader still remembers what the follower acknowledged; the follower, empty, holds none of it.
  const lost = world.ids.find((id) => id !== leader.id)!;
  world.wipe(lost, { rejoin: true });
  world.propose(leader, 2);
  assert.ok(
    world.runUntil(world.nowMs + 3_000, () => !world.nodes.get(lost)!.log.isRejoining),
    "the rejoining follower catches up from the leader it acknowledged entries to",
  );
  assert.ok(world.runUntil(world.nowMs + 1_000, everyoneApplied));
  world.checkConverged();
  assert.equal(world.stableLeader()?.id, leader.id, "no election was needed");
  assert.equal(leader.log.term, term);
});

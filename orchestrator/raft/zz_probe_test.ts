// Proves that RaftLogs on a seeded, faulty simulated network and disk (delay, drop, duplication,
// reordering, partitions including one-way ones, crashes that lose unsynced writes) keep Raft's
// safety properties after every step, serve only linearizable reads, and converge once healed.
//
// Replay one seed with: RAFT_SEED=123 deno test -A orchestrator/raft/raft_cluster_test.ts
import assert from "node:assert/strict";
import { createPrng } from "../../shared/prng.ts";
import type { Rng } from "../../shared/prng.ts";
import type { PeerMessage } from "../../shared/protocol/peer_messages.ts";
import type {
  ConsensusOutput,
  HardState,
  PeerEnvelope,
  StoredSnapshot,
} from "../core/consensus_log.ts";
import type { LogEntry } from "../tasks/commands.ts";
import { RaftLog } from "./raft_log.ts";

// ---- scenario ----

const TICK_MS = 10;
const ELECTION_MIN_MS = 150;
const ELECTION_MAX_MS = 300;
const HEARTBEAT_MS = 50;
/** After healing: time to elect a leader and catch everyone up before we insist on it. */
const CONVERGE_BUDGET_MS = 8_000;
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
  /** Per persist job: the node crashes while the job's fsync is still running. */
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
export function scenarioFor(seed: number): Scenario {
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

type SimEvent =
  | { type: "deliver"; from: string; to: string; message: PeerMessage }
  | { type: "fsync"; node: string; incarnation: number }
  | { type: "tick"; node: string; incarnation: number }
  | { type: "restart"; node: string }
  | { type: "crash"; node: string; incarnation: number }
  | { type: "chaos" };

interface Scheduled {
  atMs: number;
  seq: number;
  event: SimEvent;
}

/** A binary min-heap of events by time, then by scheduling order (so a seed replays exactly). */
class EventQueue {
  #heap: Scheduled[] = [];
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  peekMs(): number {
    return this.#heap.length === 0 ? Infinity : this.#heap[0].atMs;
  }

  push(atMs: number, event: SimEvent): void {
    const heap = this.#heap;
    heap.push({ atMs, seq: this.#seq++, event });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  pop(): Scheduled {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l], heap[m])) m = l;
        if (r < heap.length && before(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}

/** What survives a crash: only what a completed fsync wrote. */
interface Disk {
  hardState: HardState;
  snapshot: StoredSnapshot | null;
  /** Contiguous, starting right after the snapshot. */
  entries: LogEntry[];
}

/** One drain's durable work, and the messages that wait for it. */
interface PersistJob {
  dueMs: number;
  hardState: HardState | null;
  snapshot: (StoredSnapshot & { discardLog: boolean }) | null;
  entries: LogEntry[];
  after: PeerEnvelope[];
}

/** The state machine: the committed sequence itself, serialised whole into snapshots. */
interface Applied {
  keys: string[];
  lastTerm: number;
}

class SimNode {
  readonly id: string;
  incarnation = 0;
  up = true;
  log!: RaftLog;
  disk: Disk = { hardState: { term: 0, votedFor: null }, snapshot: null, entries: [] };
  jobs: PersistJob[] = [];
  applied: Applied = { keys: [], lastTerm: 0 };
  /** The snapshot of its own state machine last handed to snapshotTaken(). */
  ownSnapshotIndex = 0;
  /** A copy of the RaftLog's in-memory log, rebuilt from its outputs. */
  mirror = new MirrorLog(0, 0);
  /** Read id -> the global commit length when it was asked. */
  reads = new Map<number, number>();
  leaderOfTerm = 0;

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

function emptyOutput(out: ConsensusOutput): boolean {
  return out.snapshot === null && out.entries.length === 0 && out.hardState === null &&
    out.committed.length === 0 && !out.roleChanged && out.messages.length === 0 &&
    out.messagesAfterPersist.length === 0 && out.readsReady.length === 0 &&
    out.readsFailed.length === 0;
}

export class World {
  readonly scenario: Scenario;
  readonly rng: Rng;
  readonly queue = new EventQueue();
  readonly nodes = new Map<string, SimNode>();
  readonly ids: string[];
  readonly quorum: number;
  nowMs = 0;
  /** Whether the network and disks misbehave (off once healed). */
  faulty = true;
  /** Directed links ("n1>n2") that drop every message. */
  cut = new Set<string>();
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

  constructor(scenario: Scenario) {
    this.scenario = scenario;
    this.rng = createPrng(scenario.seed);
    this.ids = Array.from({ length: scenario.nodeCount }, (_, i) => `n${i + 1}`);
    this.quorum = Math.floor(scenario.nodeCount / 2) + 1;
    for (const id of this.ids) {
      const node = new SimNode(id);
      this.nodes.set(id, node);
      this.#boot(node);
    }
  }

  // ---- running ----

  /** Processes events until `untilMs`, or until `done()` holds; returns whether it did. */
  runUntil(untilMs: number, done: () => boolean = () => false): boolean {
    while (this.queue.peekMs() <= untilMs) {
      const { atMs, event } = this.queue.pop();
      this.nowMs = atMs;
      this.#handle(event);
      this.steps += 1;
      this.#checkStep();
      if (done()) return true;
    }
    this.nowMs = Math.max(this.nowMs, untilMs);
    return done();
  }

  startChaos(): void {
    this.queue.push(this.nowMs + 1, { type: "chaos" });
  }

  /** Stops every fault, restarts every crashed node and reconnects everyone. */
  heal(): void {
    this.faulty = false;
    this.cut.clear();
    for (const node of this.nodes.values()) if (!node.up) this.#restart(node);
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

  propose(node: SimNode, count: number): void {
    const commands = Array.from(
      { length: count },
      () => ({ type: "noop" as const, atMs: PROPOSAL_BASE + this.nextCommand++ }),
    );
    node.log.propose(commands);
    this.#pump(node);
  }

  // ---- events ----

  #handle(event: SimEvent): void {
    switch (event.type) {
      case "deliver": {
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
        this.queue.push(this.nowMs + TICK_MS, event);
        return;
      }
      case "fsync": {
        const node = this.nodes.get(event.node)!;
        if (!node.up || node.incarnation !== event.incarnation) return;
        while (node.jobs.length > 0 && node.jobs[0].dueMs <= this.nowMs) {
          this.#complete(node, node.jobs.shift()!);
        }
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
        this.queue.push(this.nowMs + this.rng.int(1, 2 * TICK_MS), event);
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
    }, {
      hardState: { ...disk.hardState },
      snapshot: disk.snapshot,
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
    this.queue.push(this.nowMs + this.rng.int(1, TICK_MS), {
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
    this.queue.push(this.nowMs + downMs, { type: "restart", node: node.id });
  }

  #crash(node: SimNode): void {
    node.up = false;
    node.incarnation += 1;
    node.jobs = []; // unsynced writes are lost
    node.reads.clear();
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

  #take(node: SimNode, out: ConsensusOutput): void {
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
      this.#enqueue(node, {
        dueMs: 0,
        hardState: out.hardState,
        snapshot: out.snapshot,
        entries: out.entries,
        after: out.messagesAfterPersist,
      });
    }
    this.#maybeSnapshot(node);
  }

  #enqueue(node: SimNode, job: PersistJob): void {
    const last = node.jobs.at(-1)?.dueMs ?? 0;
    job.dueMs = Math.max(last, this.nowMs + this.rng.int(0, this.scenario.maxFsyncMs));
    node.jobs.push(job);
    this.queue.push(job.dueMs, { type: "fsync", node: node.id, incarnation: node.incarnation });
    if (this.faulty && this.rng.chance(this.scenario.tornFsyncP)) {
      // Crash before this fsync completes: everything it (and anything staged after it) holds is lost.
      const atMs = this.rng.int(this.nowMs, Math.max(this.nowMs, job.dueMs - 1));
      this.queue.push(atMs, { type: "crash", node: node.id, incarnation: node.incarnation });
    }
  }

  #send(from: string, to: string, message: PeerEnvelope["message"]): void {
    const stamped = { ...message, v: 1, lamport: 0 } as PeerMessage;
    const { rng, scenario } = this;
    const copies = this.faulty && rng.chance(scenario.duplicateP) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      if (this.faulty && rng.chance(scenario.dropP)) continue;
      const delay = rng.int(1, this.faulty ? scenario.maxDelayMs : 2);
      this.queue.push(this.nowMs + delay, { type: "deliver", from, to, message: stamped });
    }
  }

  /** The fsync finished: the job is durable; report it, then send what waited for it. */
  #complete(node: SimNode, job: PersistJob): void {
    const disk = node.disk;
    if (job.snapshot !== null) this.#diskSnapshot(node, job.snapshot, job.snapshot.discardLog);
    if (job.hardState !== null) disk.hardState = { ...job.hardState };
    for (const entry of job.entries) this.#diskAppend(node, entry);
    const last = disk.entries.at(-1) ?? disk.snapshot;
    if (last) node.log.persisted(last.index, last.term);
    for (const { to, message } of job.after) this.#send(node.id, to, message);
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
    node.log.snapshotTaken(snapshot);
    // Compaction of the in-memory log is RaftLog's business; saving it is the shell's.
    // RaftLog compacts its memory silently; the mirror keeps more, which the checks allow.
    this.#enqueue(node, {
      dueMs: 0,
      hardState: null,
      snapshot: { ...snapshot, discardLog: false },
      entries: [],
      after: [],
    });
  }

  // ---- checkers ----

  /** After every step: at most one leader per term. */
  #checkStep(): void {
    for (const node of this.nodes.values()) {
      if (!node.up || !node.log.isLeader) continue;
      const term = node.log.term;
      const known = this.leaders.get(term);
      if (known === undefined) this.leaders.set(term, node.id);
      else assert.equal(node.id, known, `two leaders in term ${term}`);
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
  #checkReads(node: SimNode, out: ConsensusOutput): void {
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

export function runSeed(seed: number): SeedResult {
  const world = new World(scenarioFor(seed));
  world.startChaos();
  world.runUntil(world.scenario.chaosMs);
  world.heal();
  // Quiet period: a leader must emerge that everyone follows.
  const quietUntil = world.nowMs + CONVERGE_BUDGET_MS;
  assert.ok(
    world.runUntil(quietUntil, () => world.stableLeader() !== null),
    `no stable leader ${CONVERGE_BUDGET_MS} ms after healing`,
  );
  // A marker proposed now commits on every node, and with it everything before it.
  const leader = world.stableLeader()!;
  const marker = world.committed.length;
  world.propose(leader, 1);
  const everyoneHasIt = () =>
    [...world.nodes.values()].every((n) => n.applied.keys.length > marker) &&
    [...world.nodes.values()].every((n) => n.applied.keys.length === world.committed.length);
  assert.ok(
    world.runUntil(quietUntil + CONVERGE_BUDGET_MS, everyoneHasIt),
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

function seedsToRun(): number[] {
  const one = Deno.env.get("RAFT_SEED");
  if (one !== undefined) return [Number(one)];
  const count = Number(Deno.env.get("RAFT_SEEDS") ?? 300);
  return Array.from({ length: count }, (_, i) => i + 1);
}

Deno.test("RaftLog cluster keeps Raft's safety properties under faults and converges once healed", () => {
  const failures: string[] = [];
  const total: SeedResult = {
    committed: 0,
    steps: 0,
    reads: 0,
    crashes: 0,
    terms: 0,
    snapshots: 0,
  };
  const started = performance.now();
  for (const seed of seedsToRun()) {
    try {
      const result = runSeed(seed);
      for (const key of Object.keys(total) as Array<keyof SeedResult>) total[key] += result[key];
    } catch (error) {
      const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
      failures.push(`seed ${seed}: ${message} (RAFT_SEED=${seed} to replay)`);
    }
  }
  console.log(
    `${seedsToRun().length} seeds, ${Math.round(performance.now() - started)} ms: ` +
      Object.entries(total).map(([k, v]) => `${v} ${k}`).join(", "),
  );
  assert.deepEqual(failures, []);
});
Deno.test("probe", () => {
  console.log(scenarioFor(199));
  const world = new World(scenarioFor(199));
  const counts = new Map<string, number>();
  const orig = (world as any).queue.push.bind((world as any).queue);
  let bucket = 0;
  (world as any).queue.push = (at: number, ev: any) => {
    const k = `${Math.floor(at / 500) * 500}:${ev.type}:${ev.message?.type ?? ""}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
    orig(at, ev);
  };
  world.startChaos();
  world.runUntil(world.scenario.chaosMs);
  world.heal();
  world.runUntil(world.nowMs + 3000);
  console.log([...counts.entries()].filter(([, v]) => v > 2000));
  for (const n of world.nodes.values()) console.log(n.id, n.up, n.log.status(world.nowMs), n.jobs.length);
});

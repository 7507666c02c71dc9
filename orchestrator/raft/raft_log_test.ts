// Proves single behaviours of RaftLog (elections with pre-vote, vote rules, replication, commit,
// flow control, check-quorum, ReadIndex and snapshots) by driving one or a few instances by hand.
import assert from "node:assert/strict";
import { bytesSnapshotRef, bytesSnapshotSource } from "../storage/mod.ts";
import { createPrng } from "../../shared/prng.ts";
import type { Unstamped } from "../../shared/protocol/messages.ts";
import type { Command, LogEntry } from "../../shared/protocol/commands.ts";
import type { PeerMessage } from "../../shared/protocol/peer_messages.ts";
import type {
  ConsensusOutput,
  HardState,
  RaftEntry,
  RaftMessage,
  SnapshotRef,
  StoredSnapshot,
} from "./consensus_log.ts";
import { canRejoin, RaftLog } from "./raft_log.ts";
import type { RaftOptions } from "./raft_log.ts";

// ---- fixtures ----

const MIN_MS = 150;
const MAX_MS = 300;
const HEARTBEAT_MS = 50;

type Message = Unstamped<PeerMessage>;
type Of<T extends PeerMessage["type"]> = Extract<Message, { type: T }>;

function ids(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `n${i + 1}`);
}

function entry(index: number, term: number): LogEntry {
  return { index, term, command: { type: "noop", atMs: index * 1000 + term } };
}

function entries(from: number, terms: readonly number[]): LogEntry[] {
  return terms.map((term, i) => entry(from + i, term));
}

interface LogSetup {
  voters?: readonly string[];
  options?: Partial<RaftOptions<Command>>;
  hardState?: HardState;
  snapshot?: StoredSnapshot | null;
  entries?: readonly LogEntry[];
  nowMs?: number;
  seed?: number;
}

function newLog(nodeId: string, setup: LogSetup = {}): RaftLog<Command> {
  return new RaftLog({
    nodeId,
    voters: setup.voters ?? ids(3),
    electionTimeoutMinMs: MIN_MS,
    electionTimeoutMaxMs: MAX_MS,
    heartbeatIntervalMs: HEARTBEAT_MS,
    rng: createPrng(setup.seed ?? nodeId.charCodeAt(1)),
    noopCommand: (atMs) => ({ type: "noop", atMs }),
    ...setup.options,
  }, {
    hardState: setup.hardState ?? { term: 0, votedFor: null },
    snapshot: setup.snapshot == null ? null : bytesSnapshotRef(setup.snapshot),
    entries: setup.entries ?? [],
    nowMs: setup.nowMs ?? 0,
  });
}

/** What the node would put on the wire (it stamps `v` and `lamport`). */
function wire(message: Message): PeerMessage {
  return { ...message, v: 1, lamport: 0 } as PeerMessage;
}

function appendEntries(
  term: number,
  prev: [index: number, term: number],
  list: LogEntry[],
  more: { leaderCommit?: number; readCtx?: number } = {},
): PeerMessage {
  return wire({
    type: "appendEntries",
    term,
    prevLogIndex: prev[0],
    prevLogTerm: prev[1],
    entries: list,
    leaderCommit: more.leaderCommit ?? 0,
    readCtx: more.readCtx ?? 0,
  });
}

function appendOk(term: number, matchIndex: number, readCtx = 0): PeerMessage {
  return wire({
    type: "appendResponse",
    term,
    success: true,
    matchIndex,
    conflictIndex: 0,
    readCtx,
  });
}

function appendRejected(term: number, conflictIndex: number, readCtx = 0): PeerMessage {
  return wire({
    type: "appendResponse",
    term,
    success: false,
    matchIndex: 0,
    conflictIndex,
    readCtx,
  });
}

function requestVote(term: number, last: [index: number, term: number], preVote = false) {
  return wire({
    type: "requestVote",
    term,
    lastLogIndex: last[0],
    lastLogTerm: last[1],
    preVote,
  });
}

function voteResponse(term: number, granted: boolean, preVote = false): PeerMessage {
  return wire({ type: "voteResponse", term, granted, preVote });
}

function chunk(
  term: number,
  snapshot: [index: number, term: number],
  offset: number,
  bytes: string,
  done: boolean,
): PeerMessage {
  return wire({
    type: "installSnapshot",
    term,
    snapshotIndex: snapshot[0],
    snapshotTerm: snapshot[1],
    offset,
    data: btoa(bytes),
    done,
  });
}

/** The messages of `type` in `list`, with their destination. */
function sent<T extends PeerMessage["type"]>(
  list: ConsensusOutput<Command>["messages"],
  type: T,
  to?: string,
): Array<Of<T> & { to: string }> {
  return list
    .filter((e) => e.message.type === type && (to === undefined || e.to === to))
    .map((e) => ({ ...(e.message as Of<T>), to: e.to }));
}

function indexes(list: readonly LogEntry[]): number[] {
  return list.map((e) => e.index);
}

// ---- a tiny synchronous network: persistence completes at once, messages are delivered in order ----

interface Envelope {
  from: string;
  to: string;
  message: PeerMessage;
  sentMs: number;
}

/** Nodes `n1..nN` whose outputs are persisted at once and whose messages wait in `inFlight`. */
class Bench {
  readonly logs = new Map<string, RaftLog<Command>>();
  inFlight: Envelope[] = [];
  readonly committed = new Map<string, LogEntry[]>();
  readonly readsReady = new Map<string, number[]>();
  readonly readsFailed = new Map<string, number[]>();
  /** Directed links ("n1>n2") whose messages are dropped. */
  readonly cut = new Set<string>();
  /** Every output drained, and every message delivered, per node. */
  readonly outputs = new Map<string, ConsensusOutput<Command>[]>();
  readonly delivered = new Map<string, Envelope[]>();
  nowMs = 0;

  constructor(n: number, options: Partial<RaftOptions<Command>> = {}) {
    for (const id of ids(n)) {
      this.logs.set(id, newLog(id, { voters: ids(n), options }));
      this.committed.set(id, []);
      this.readsReady.set(id, []);
      this.readsFailed.set(id, []);
      this.outputs.set(id, []);
      this.delivered.set(id, []);
    }
  }

  log(id: string): RaftLog<Command> {
    return this.logs.get(id)!;
  }

  /** Drains `id` until it has nothing more, persisting each output before its late messages. */
  flush(id: string): void {
    const log = this.log(id);
    for (let round = 0; round < 100; round++) {
      const out = log.drain();
      this.outputs.get(id)!.push(out);
      this.committed.get(id)!.push(...out.committed);
      this.readsReady.get(id)!.push(...out.readsReady.map((r) => r.id));
      this.readsFailed.get(id)!.push(...out.readsFailed);
      this.#send(id, out.messages);
      const last = out.entries.at(-1) ?? out.snapshot;
      if (last) log.persisted(last.index, last.term);
      this.#send(id, out.messagesAfterPersist);
      if (!last && out.committed.length === 0 && out.hardState === null) return;
    }
    throw new Error(`node ${id} never stopped producing output`);
  }

  flushAll(): void {
    for (const id of this.logs.keys()) this.flush(id);
  }

  /** Delivers everything in flight (and what that causes) until the network is quiet. */
  settle(maxDeliveries = 10_000): void {
    this.flushAll();
    for (let i = 0; this.inFlight.length > 0; i++) {
      assert.ok(i < maxDeliveries, "the bench did not settle");
      const envelope = this.inFlight.shift()!;
      const { from, to, message } = envelope;
      this.delivered.get(to)!.push(envelope);
      this.log(to).step(from, message, this.nowMs);
      this.flush(to);
    }
  }

  tick(id: string, nowMs: number): void {
    this.nowMs = Math.max(this.nowMs, nowMs);
    this.log(id).tick(this.nowMs);
    this.flush(id);
  }

  /** Advances every node to `nowMs` in heartbeat-sized steps, settling after each. */
  run(untilMs: number): void {
    while (this.nowMs < untilMs) {
      this.nowMs = Math.min(untilMs, this.nowMs + 10);
      for (const id of this.logs.keys()) this.tick(id, this.nowMs);
      this.settle();
    }
  }

  /** Like run(), but every message takes `latencyMs` to arrive (so several are in flight). */
  runSlow(untilMs: number, latencyMs: number): void {
    for (; this.nowMs < untilMs; this.nowMs += 1) {
      if (this.nowMs % 10 === 0) { for (const id of this.logs.keys()) this.tick(id, this.nowMs); }
      while (this.inFlight.length > 0 && this.inFlight[0].sentMs + latencyMs <= this.nowMs) {
        const envelope = this.inFlight.shift()!;
        this.delivered.get(envelope.to)!.push(envelope);
        this.log(envelope.to).step(envelope.from, envelope.message, this.nowMs);
        this.flush(envelope.to);
      }
    }
  }

  /** Makes `id` leader by letting only its election timer fire. */
  elect(id: string): void {
    this.tick(id, this.nowMs + MAX_MS);
    this.settle();
    assert.ok(this.log(id).isLeader, `${id} should have won the election`);
  }

  #send(from: string, list: ConsensusOutput<Command>["messages"]): void {
    for (const { to, message } of list) {
      if (this.cut.has(`${from}>${to}`)) continue;
      this.inFlight.push({ from, to, message: wire(message), sentMs: this.nowMs });
    }
  }
}

// ---- a single voter ----

Deno.test("RaftLog with one voter elects itself at construction and commits after persisted()", () => {
  const log = newLog("n1", { voters: ["n1"] });
  assert.equal(log.isLeader, true);
  assert.equal(log.leaderId, "n1");
  assert.equal(log.term, 1);
  const out = log.drain();
  assert.deepEqual(out.hardState, { term: 1, votedFor: "n1" });
  assert.deepEqual(out.entries.map((e) => [e.index, e.term, e.command.type]), [[1, 1, "noop"]]);
  assert.equal(out.roleChanged, true);
  assert.deepEqual(out.committed, [], "nothing commits before it is durable");
  assert.equal(log.commitIndex, 0);
  log.persisted(1, 1);
  assert.equal(log.commitIndex, 1);
  assert.deepEqual(indexes(log.drain().committed), [1]);
  assert.equal(log.propose([{ type: "noop", atMs: 5 }]), 2);
  assert.deepEqual(indexes(log.drain().entries), [2]);
  log.persisted(2, 1);
  assert.deepEqual(indexes(log.drain().committed), [2]);
});

Deno.test("RaftLog with one voter restarts into a new term and recommits its durable log", () => {
  const log = newLog("n1", {
    voters: ["n1"],
    hardState: { term: 4, votedFor: "n1" },
    entries: entries(1, [1, 2, 4]),
  });
  assert.equal(log.term, 5);
  const out = log.drain();
  assert.deepEqual(out.hardState, { term: 5, votedFor: "n1" });
  assert.deepEqual(out.entries.map((e) => [e.index, e.term]), [[4, 5]]);
  log.persisted(4, 5);
  assert.deepEqual(indexes(log.drain().committed), [1, 2, 3, 4]);
});

// ---- elections ----

Deno.test("RaftLog follower times out into a pre-vote that changes no term and persists nothing", () => {
  const log = newLog("n1");
  log.tick(MIN_MS - 1);
  assert.deepEqual(log.drain().messages, [], "no timeout before electionTimeoutMinMs");
  log.tick(MAX_MS);
  const out = log.drain();
  assert.equal(log.term, 0, "a pre-vote does not change the term");
  assert.equal(out.hardState, null);
  assert.deepEqual(out.messagesAfterPersist, []);
  const requests = sent(out.messages, "requestVote");
  assert.deepEqual(requests.map((r) => r.to).sort(), ["n2", "n3"]);
  for (const r of requests) {
    assert.deepEqual(r, {
      to: r.to,
      type: "requestVote",
      term: 1,
      lastLogIndex: 0,
      lastLogTerm: 0,
      preVote: true,
    });
  }
  assert.equal(log.status(MAX_MS).role, "candidate");
  assert.equal(log.isLeader, false);
});

Deno.test("RaftLog becomes candidate on a majority of pre-votes, then leader on a majority of votes", () => {
  const log = newLog("n1", { voters: ids(5) });
  log.tick(MAX_MS);
  log.drain();
  log.step("n2", voteResponse(1, true, true), MAX_MS);
  assert.equal(log.term, 0, "two of five pre-votes are not a majority");
  assert.deepEqual(log.drain().messages, []);
  log.step("n3", voteResponse(1, true, true), MAX_MS);
  assert.equal(log.term, 1, "candidate: term + 1");
  let out = log.drain();
  assert.deepEqual(out.hardState, { term: 1, votedFor: "n1" }, "votes for itself, durably");
  assert.deepEqual(out.messages, [], "RequestVote waits for the vote to be durable");
  const requests = sent(out.messagesAfterPersist, "requestVote");
  assert.deepEqual(requests.map((r) => r.to).sort(), ["n2", "n3", "n4", "n5"]);
  assert.ok(requests.every((r) => r.term === 1 && !r.preVote));
  assert.equal(out.roleChanged, true);

  log.step("n2", voteResponse(1, true), MAX_MS);
  log.step("n2", voteResponse(1, true), MAX_MS); // a duplicate vote counts once
  log.step("n4", voteResponse(1, false), MAX_MS);
  assert.equal(log.isLeader, false, "one granted vote plus its own is not a majority of five");
  log.step("n5", voteResponse(1, true), MAX_MS);
  assert.equal(log.isLeader, true);
  assert.equal(log.leaderId, "n1");
  out = log.drain();
  assert.equal(out.roleChanged, true);
  assert.deepEqual(out.entries.map((e) => [e.index, e.term, e.command.type]), [[1, 1, "noop"]]);
  const appends = sent(out.messages, "appendEntries");
  assert.deepEqual([...new Set(appends.map((a) => a.to))].sort(), ["n2", "n3", "n4", "n5"]);
  for (const a of appends) {
    assert.equal(a.term, 1);
    assert.equal(a.prevLogIndex, 0);
    assert.deepEqual(indexes(a.entries), [1], "the noop goes out with the first heartbeat");
  }
});

Deno.test("RaftLog pre-candidate ignores stale and refused pre-votes", () => {
  const log = newLog("n1", { hardState: { term: 3, votedFor: null } });
  log.tick(MAX_MS);
  log.drain();
  log.step("n2", voteResponse(3, true, true), MAX_MS); // for a round of an older term
  log.step("n3", voteResponse(3, false, true), MAX_MS);
  assert.equal(log.term, 3);
  assert.equal(log.status(MAX_MS).role, "candidate");
  log.step("n2", voteResponse(6, false, true), MAX_MS);
  assert.equal(log.term, 6, "a refusal from a later term teaches that term");
  assert.equal(log.status(MAX_MS).role, "follower");
  assert.deepEqual(log.drain().hardState, { term: 6, votedFor: null });
});

Deno.test("RaftLog candidate that hears from the leader of its term becomes its follower", () => {
  const log = newLog("n1");
  log.tick(MAX_MS);
  log.step("n2", voteResponse(1, true, true), MAX_MS);
  assert.equal(log.term, 1);
  log.step("n3", appendEntries(1, [0, 0], []), MAX_MS);
  assert.equal(log.status(MAX_MS).role, "follower");
  assert.equal(log.leaderId, "n3");
  assert.equal(log.term, 1);
});

Deno.test("RaftLog candidate that times out runs a new pre-vote for the following term", () => {
  const log = newLog("n1");
  log.tick(MAX_MS);
  log.step("n2", voteResponse(1, true, true), MAX_MS);
  log.drain();
  log.tick(3 * MAX_MS);
  const requests = sent(log.drain().messages, "requestVote");
  assert.equal(requests.length, 2);
  assert.ok(requests.every((r) => r.preVote && r.term === 2));
  assert.equal(log.term, 1);
});

// ---- vote rules ----

Deno.test("RaftLog grants at most one vote per term, durably, and repeats it to the same candidate", () => {
  const log = newLog("n1");
  log.step("n2", requestVote(1, [0, 0]), 0);
  let out = log.drain();
  assert.deepEqual(out.hardState, { term: 1, votedFor: "n2" });
  assert.deepEqual(out.messages, [], "a vote is only sent once it is durable");
  assert.deepEqual(sent(out.messagesAfterPersist, "voteResponse"), [
    { to: "n2", type: "voteResponse", term: 1, granted: true, preVote: false },
  ]);
  log.step("n3", requestVote(1, [5, 1]), 0);
  out = log.drain();
  assert.deepEqual(sent(out.messagesAfterPersist, "voteResponse", "n3").map((r) => r.granted), [
    false,
  ]);
  log.step("n2", requestVote(1, [0, 0]), 0);
  out = log.drain();
  assert.equal(out.hardState, null, "re-granting changes nothing durable");
  assert.deepEqual(sent(out.messagesAfterPersist, "voteResponse", "n2").map((r) => r.granted), [
    true,
  ]);
  log.step("n3", requestVote(2, [0, 0]), 0);
  out = log.drain();
  assert.deepEqual(out.hardState, { term: 2, votedFor: "n3" }, "a new term, a new vote");
});

Deno.test("RaftLog restored with a vote keeps it", () => {
  const log = newLog("n1", { hardState: { term: 4, votedFor: "n2" } });
  log.step("n3", requestVote(4, [9, 4]), 0);
  const out = log.drain();
  assert.deepEqual(sent(out.messagesAfterPersist, "voteResponse").map((r) => r.granted), [false]);
});

Deno.test("RaftLog votes only for a candidate whose log is at least as up to date", () => {
  const log = newLog("n1", {
    hardState: { term: 2, votedFor: null },
    entries: entries(1, [1, 2, 2]),
  });
  log.step("n2", requestVote(3, [2, 2]), 0); // same last term, shorter
  let out = log.drain();
  assert.equal(log.term, 3, "the term is adopted even when the vote is refused");
  assert.deepEqual(out.hardState, { term: 3, votedFor: null });
  assert.deepEqual(sent(out.messagesAfterPersist, "voteResponse").map((r) => r.granted), [false]);
  log.step("n2", requestVote(3, [9, 1]), 0); // longer, but an older last term
  out = log.drain();
  assert.deepEqual(sent(out.messagesAfterPersist, "voteResponse").map((r) => r.granted), [false]);
  log.step("n3", requestVote(3, [1, 3]), 0); // shorter, but a later last term
  out = log.drain();
  assert.deepEqual(sent(out.messagesAfterPersist, "voteResponse").map((r) => r.granted), [true]);
  assert.deepEqual(out.hardState, { term: 3, votedFor: "n3" });

  const other = newLog("n1", {
    hardState: { term: 2, votedFor: null },
    entries: entries(1, [1, 2]),
  });
  other.step("n2", requestVote(3, [2, 2]), 0); // identical logs
  out = other.drain();
  assert.deepEqual(sent(out.messagesAfterPersist, "voteResponse").map((r) => r.granted), [true]);
});

Deno.test("RaftLog grants a pre-vote without changing its term or vote, and refuses stale ones", () => {
  const log = newLog("n1", { hardState: { term: 2, votedFor: "n1" }, entries: entries(1, [2]) });
  log.step("n2", requestVote(3, [1, 2], true), 0);
  let out = log.drain();
  assert.equal(log.term, 2);
  assert.equal(out.hardState, null);
  assert.deepEqual(out.messagesAfterPersist, [], "a pre-vote answer promises nothing durable");
  assert.deepEqual(sent(out.messages, "voteResponse"), [
    { to: "n2", type: "voteResponse", term: 3, granted: true, preVote: true },
  ]);
  log.step("n2", requestVote(2, [1, 2], true), 0);
  out = log.drain();
  assert.deepEqual(sent(out.messages, "voteResponse"), [
    { to: "n2", type: "voteResponse", term: 2, granted: false, preVote: true },
  ]);
  log.step("n3", requestVote(3, [0, 0], true), 0);
  out = log.drain();
  assert.deepEqual(sent(out.messages, "voteResponse").map((r) => r.granted), [false], "log behind");
});

Deno.test("RaftLog in lease ignores a higher-term vote request and refuses pre-votes", () => {
  const log = newLog("n1", { hardState: { term: 1, votedFor: null } });
  log.step("n2", appendEntries(1, [0, 0], []), 1000);
  log.drain();
  log.step("n3", requestVote(2, [5, 1]), 1000 + MIN_MS - 1);
  let out = log.drain();
  assert.equal(log.term, 1, "vote stickiness: a live leader exists");
  assert.equal(log.leaderId, "n2");
  assert.equal(out.hardState, null);
  assert.deepEqual([...out.messages, ...out.messagesAfterPersist], [], "not even a refusal");
  log.step("n3", requestVote(2, [5, 1], true), 1000 + MIN_MS - 1);
  out = log.drain();
  assert.deepEqual(sent(out.messages, "voteResponse").map((r) => [r.granted, r.term]), [[
    false,
    1,
  ]]);

  log.step("n3", requestVote(2, [5, 1], true), 1000 + MIN_MS);
  out = log.drain();
  assert.deepEqual(sent(out.messages, "voteResponse").map((r) => r.granted), [true], "lease over");
  log.step("n3", requestVote(2, [5, 1]), 1000 + MIN_MS);
  out = log.drain();
  assert.equal(log.term, 2);
  assert.deepEqual(sent(out.messagesAfterPersist, "voteResponse").map((r) => r.granted), [true]);
});

Deno.test("RaftLog leader ignores higher-term vote requests but steps down on a higher-term append", () => {
  const bench = new Bench(3);
  bench.elect("n1");
  const leader = bench.log("n1");
  leader.step("n3", requestVote(5, [9, 4]), bench.nowMs);
  assert.equal(leader.isLeader, true, "a leader is always in lease");
  assert.equal(leader.term, 1);
  leader.step("n2", requestVote(5, [9, 4], true), bench.nowMs);
  const out = leader.drain();
  assert.deepEqual(sent(out.messages, "voteResponse").map((r) => r.granted), [false]);

  leader.step("n3", appendEntries(2, [1, 1], []), bench.nowMs);
  assert.equal(leader.isLeader, false);
  assert.equal(leader.term, 2);
  assert.equal(leader.leaderId, "n3");
  const after = leader.drain();
  assert.equal(after.roleChanged, true);
  assert.deepEqual(after.hardState, { term: 2, votedFor: null });
  assert.equal(leader.propose([{ type: "noop", atMs: 1 }]), null, "a follower proposes nothing");
});

Deno.test("RaftLog leader steps down on a higher-term append response", () => {
  const bench = new Bench(3);
  bench.elect("n1");
  const leader = bench.log("n1");
  leader.step("n2", appendRejected(4, 0), bench.nowMs);
  assert.equal(leader.isLeader, false);
  assert.equal(leader.term, 4);
  assert.equal(leader.leaderId, null);
});

Deno.test("RaftLog follower whose leader disconnects campaigns early, staggered by rank", () => {
  const follower = (id: string) => {
    const log = newLog(id, { hardState: { term: 1, votedFor: null } });
    log.step("n1", appendEntries(1, [0, 0], []), 1000);
    log.drain();
    log.peerDisconnected("n1", 1000);
    return log;
  };
  const n2 = follower("n2");
  n2.tick(1000 + HEARTBEAT_MS / 2 + HEARTBEAT_MS / 4);
  const requests = sent(n2.drain().messages, "requestVote");
  assert.deepEqual(requests.map((r) => [r.preVote, r.term]), [[true, 2], [true, 2]]);
  const n3 = follower("n3");
  n3.tick(1000 + HEARTBEAT_MS - 1);
  assert.deepEqual(n3.drain().messages, [], "the second in rank waits half a heartbeat more");
  n3.tick(1000 + HEARTBEAT_MS + HEARTBEAT_MS / 4);
  assert.equal(sent(n3.drain().messages, "requestVote").length, 2);
});

Deno.test("RaftLog follower whose leader disconnects gives up its lease at once", () => {
  const log = newLog("n3", { hardState: { term: 1, votedFor: null } });
  log.step("n1", appendEntries(1, [0, 0], []), 1000);
  log.peerDisconnected("n1", 1001);
  log.step("n2", requestVote(2, [0, 0], true), 1002);
  assert.deepEqual(sent(log.drain().messages, "voteResponse").map((r) => r.granted), [true]);
});

Deno.test("RaftLog ignores the disconnect of a peer that is not its leader", () => {
  const log = newLog("n2", { hardState: { term: 1, votedFor: null } });
  log.step("n1", appendEntries(1, [0, 0], []), 1000);
  log.drain();
  log.peerDisconnected("n3", 1000);
  log.tick(1000 + MIN_MS - 1);
  assert.deepEqual(log.drain().messages, []);
  log.step("n3", requestVote(2, [0, 0], true), 1000 + MIN_MS - 1);
  assert.deepEqual(sent(log.drain().messages, "voteResponse").map((r) => r.granted), [false]);
});

Deno.test("RaftLog follower that hears its leader again after a disconnect does not campaign", () => {
  const log = newLog("n3", { hardState: { term: 1, votedFor: null } });
  log.step("n1", appendEntries(1, [0, 0], []), 1000);
  log.peerDisconnected("n1", 1000);
  log.step("n1", appendEntries(1, [0, 0], []), 1010); // reconnected
  log.drain();
  log.tick(1010 + MIN_MS - 1);
  assert.deepEqual(log.drain().messages, []);
});

Deno.test("RaftLog answers a stale-term message with its term, and ignores stale responses", () => {
  const log = newLog("n1", { hardState: { term: 5, votedFor: null } });
  log.step("n2", appendEntries(3, [0, 0], [entry(1, 3)]), 0);
  log.step("n3", requestVote(4, [9, 4]), 0);
  log.step("n2", chunk(3, [9, 3], 0, "abc", true), 0);
  const out = log.drain();
  assert.equal(log.term, 5);
  assert.equal(log.lastIndex, 0, "a stale leader's entries are not appended");
  assert.deepEqual(out.messagesAfterPersist.map((e) => [e.to, e.message.type, e.message.term]), [
    ["n2", "appendResponse", 5],
    ["n3", "voteResponse", 5],
    ["n2", "snapshotResponse", 5],
  ]);
  assert.equal(sent(out.messagesAfterPersist, "appendResponse")[0].success, false);
  assert.equal(sent(out.messagesAfterPersist, "voteResponse")[0].granted, false);
  log.step("n3", appendOk(2, 7), 0);
  log.step("n3", voteResponse(2, true), 0);
  assert.deepEqual(log.drain().messages, []);
});

Deno.test("RaftLog ignores messages from itself and from non-members", () => {
  const log = newLog("n1");
  log.step("n1", appendEntries(3, [0, 0], [entry(1, 3)]), 0);
  log.step("n9", appendEntries(3, [0, 0], [entry(1, 3)]), 0);
  assert.equal(log.term, 0);
  assert.equal(log.lastIndex, 0);
  assert.equal(log.leaderId, null);
});

// ---- replication: follower side ----

Deno.test("RaftLog follower appends, acknowledges after persisting, and commits up to leaderCommit", () => {
  const log = newLog("n2", { hardState: { term: 1, votedFor: "n1" } });
  log.step("n1", appendEntries(1, [0, 0], entries(1, [1, 1, 1]), { leaderCommit: 2 }), 0);
  const out = log.drain();
  assert.equal(log.leaderId, "n1");
  assert.deepEqual(indexes(out.entries), [1, 2, 3]);
  assert.deepEqual(out.messages, []);
  assert.deepEqual(sent(out.messagesAfterPersist, "appendResponse"), [
    {
      to: "n1",
      type: "appendResponse",
      term: 1,
      success: true,
      matchIndex: 3,
      conflictIndex: 0,
      readCtx: 0,
    },
  ]);
  assert.equal(log.commitIndex, 2);
  assert.deepEqual(out.committed, [], "nothing is applied before it is durable here");
  log.persisted(3, 1);
  assert.deepEqual(indexes(log.drain().committed), [1, 2]);
});

Deno.test("RaftLog follower commits only up to the last entry the leader's message proved", () => {
  // The stale suffix 2..3 (term 1) may differ from the leader's: a heartbeat that only proves
  // index 1 must not commit past it, whatever leaderCommit says.
  const log = newLog("n2", {
    hardState: { term: 1, votedFor: null },
    entries: entries(1, [1, 1, 1]),
  });
  log.step("n1", appendEntries(2, [1, 1], [], { leaderCommit: 3 }), 0);
  assert.equal(log.commitIndex, 1);
  assert.deepEqual(indexes(log.drain().committed), [1]);
  log.step("n1", appendEntries(2, [1, 1], [entry(2, 2)], { leaderCommit: 3 }), 0);
  assert.equal(log.commitIndex, 2);
  assert.equal(log.lastIndex, 2, "the conflicting suffix is gone");
});

Deno.test("RaftLog follower rejects a mismatched append with a useful conflictIndex", () => {
  const log = newLog("n2", {
    hardState: { term: 2, votedFor: null },
    entries: entries(1, [1, 2, 2, 2]),
  });
  log.step("n1", appendEntries(3, [9, 3], []), 0);
  let reply = sent(log.drain().messagesAfterPersist, "appendResponse")[0];
  assert.equal(reply.success, false);
  assert.equal(reply.conflictIndex, 5, "a log too short: retry from its end");
  log.step("n1", appendEntries(3, [4, 3], [entry(5, 3)]), 0);
  reply = sent(log.drain().messagesAfterPersist, "appendResponse")[0];
  assert.equal(reply.success, false);
  assert.equal(reply.conflictIndex, 2, "skip the whole conflicting term-2 run");
  assert.equal(log.lastIndex, 4, "a rejected append changes nothing");
});

Deno.test("RaftLog follower's conflictIndex never points into its committed prefix", () => {
  const log = newLog("n2", {
    hardState: { term: 2, votedFor: null },
    entries: entries(1, [2, 2, 2, 2]),
  });
  log.step("n1", appendEntries(2, [2, 2], [], { leaderCommit: 2 }), 0);
  assert.equal(log.commitIndex, 2);
  log.step("n3", appendEntries(3, [4, 3], []), 0);
  const reply = sent(log.drain().messagesAfterPersist, "appendResponse", "n3")[0];
  assert.equal(reply.conflictIndex, 3);
});

Deno.test("RaftLog follower truncates a conflicting uncommitted suffix", () => {
  const log = newLog("n2", {
    hardState: { term: 1, votedFor: null },
    entries: entries(1, [1, 1, 1, 1]),
  });
  log.step("n1", appendEntries(2, [1, 1], entries(2, [2, 2])), 0);
  const out = log.drain();
  assert.equal(log.lastIndex, 3);
  assert.deepEqual(out.entries.map((e) => [e.index, e.term]), [[2, 2], [3, 2]]);
  assert.equal(sent(out.messagesAfterPersist, "appendResponse")[0].matchIndex, 3);
});

Deno.test("RaftLog follower keeps entries a reordered, older append already delivered", () => {
  const log = newLog("n2", { hardState: { term: 1, votedFor: null } });
  log.step("n1", appendEntries(1, [0, 0], entries(1, [1, 1, 1, 1])), 0);
  log.drain();
  log.step("n1", appendEntries(1, [1, 1], entries(2, [1])), 0);
  const out = log.drain();
  assert.equal(log.lastIndex, 4, "a matching older append never truncates");
  assert.deepEqual(out.entries, []);
  assert.equal(sent(out.messagesAfterPersist, "appendResponse")[0].matchIndex, 2);
});

Deno.test("RaftLog follower refuses to overwrite a committed entry (and does not stop)", () => {
  const log = newLog("n2", { hardState: { term: 1, votedFor: null } });
  log.step("n1", appendEntries(1, [0, 0], entries(1, [1, 1, 1]), { leaderCommit: 3 }), 0);
  assert.equal(log.commitIndex, 3);
  log.drain();
  log.step("n3", appendEntries(2, [1, 1], [entry(2, 2)]), 0);
  assert.equal(log.lastIndex, 3, "the committed entries stay");
  assert.deepEqual(log.drain().entries, [], "nothing is written over them");
});

Deno.test("RaftLog follower ignores malformed entries from a leader", () => {
  const log = newLog("n2", { hardState: { term: 1, votedFor: null } });
  // Indexes that skip, and a term above the leader's own: both ignored, and answered as failures.
  log.step("n1", appendEntries(1, [0, 0], [entry(1, 1), entry(3, 1)]), 0);
  log.step("n1", appendEntries(1, [0, 0], [entry(1, 5)]), 0);
  assert.equal(log.lastIndex, 0);
  const replies = log.drain().messagesAfterPersist.map((m) => m.message);
  assert.ok(
    replies.length === 2 && replies.every((m) => m.type === "appendResponse" && !m.success),
  );
});

// ---- replication and commit: leader side ----

Deno.test("RaftLog leader counts its own entries only after persisted()", () => {
  const bench = new Bench(3);
  bench.elect("n1");
  const leader = bench.log("n1");
  leader.propose([{ type: "noop", atMs: 1 }]);
  const out = leader.drain();
  assert.deepEqual(indexes(out.entries), [2]);
  const now = bench.nowMs;
  leader.step("n2", appendOk(1, 2), now);
  leader.step("n3", appendOk(1, 2), now);
  assert.equal(leader.commitIndex, 2, "two followers are a majority without the leader");
  const leader2 = (() => {
    const b = new Bench(3);
    b.elect("n1");
    return b;
  })();
  const l = leader2.log("n1");
  l.propose([{ type: "noop", atMs: 1 }]);
  l.drain(); // staged, not yet durable
  l.step("n2", appendOk(1, 2), leader2.nowMs);
  assert.equal(l.commitIndex, 1, "one follower plus an unpersisted leader is not a majority");
  l.persisted(2, 1);
  assert.equal(l.commitIndex, 2);
  assert.deepEqual(indexes(l.drain().committed), [2]);
});

Deno.test("RaftLog does not commit an older term's entry by counting replicas (figure 8)", () => {
  // Raft paper figure 8 (c): S1 leads term 4 with [1:t1, 2:t2]; S5 holds 2:t3. Even once 2:t2
  // is on S1, S2 and S3 (a majority of five), it must not commit: S5 could still be elected
  // and overwrite it. It commits only with an entry of term 4 stored on a majority.
  const s1 = newLog("n1", {
    voters: ids(5),
    hardState: { term: 3, votedFor: null },
    entries: entries(1, [1, 2]),
  });
  s1.tick(MAX_MS);
  s1.step("n2", voteResponse(4, true, true), MAX_MS);
  s1.step("n3", voteResponse(4, true, true), MAX_MS);
  s1.step("n2", voteResponse(4, true), MAX_MS);
  s1.step("n3", voteResponse(4, true), MAX_MS);
  assert.ok(s1.isLeader);
  assert.equal(s1.term, 4);
  const out = s1.drain();
  assert.deepEqual(out.entries.map((e) => [e.index, e.term]), [[3, 4]], "the term's noop");
  s1.step("n2", appendOk(4, 2), MAX_MS);
  s1.step("n3", appendOk(4, 2), MAX_MS);
  assert.equal(s1.commitIndex, 0, "2:t2 is on a majority but is not of the current term");
  assert.deepEqual(s1.drain().committed, []);
  s1.step("n2", appendOk(4, 3), MAX_MS);
  s1.persisted(3, 4);
  assert.equal(s1.commitIndex, 0, "3:t4 is on two of five");
  s1.step("n3", appendOk(4, 3), MAX_MS);
  assert.equal(s1.commitIndex, 3, "3:t4 on a majority commits it and, with it, 2:t2");
  assert.deepEqual(indexes(s1.drain().committed), [1, 2, 3]);
});

Deno.test("RaftLog ignores a stale persisted() for an entry truncated meanwhile", () => {
  const bench = new Bench(3);
  bench.elect("n1");
  bench.settle();
  const old = bench.log("n1");
  assert.equal(old.commitIndex, 1);
  old.propose([{ type: "noop", atMs: 1 }, { type: "noop", atMs: 2 }]); // 2:t1, 3:t1, unpersisted
  old.drain();
  // A new leader of term 2 replaces index 2 before the old fsync reports.
  old.step("n2", appendEntries(2, [1, 1], [entry(2, 2)], { leaderCommit: 2 }), bench.nowMs);
  assert.equal(old.isLeader, false);
  assert.equal(old.lastIndex, 2);
  assert.equal(old.commitIndex, 2);
  assert.deepEqual(old.drain().committed, [], "2:t2 is not durable here yet");
  old.persisted(3, 1);
  old.persisted(2, 1);
  assert.deepEqual(old.drain().committed, [], "durable 2:t1 is not 2:t2");
  old.persisted(2, 2);
  assert.deepEqual(old.drain().committed.map((e) => [e.index, e.term]), [[2, 2]]);
});

Deno.test("RaftLog leader with a majority of matches commits and tells followers", () => {
  const bench = new Bench(3);
  bench.elect("n1");
  bench.log("n1").propose([{ type: "noop", atMs: 7 }]);
  bench.settle();
  assert.equal(bench.log("n1").commitIndex, 2);
  bench.run(bench.nowMs + HEARTBEAT_MS);
  for (const id of ["n1", "n2", "n3"]) {
    assert.deepEqual(indexes(bench.committed.get(id)!), [1, 2], `${id} applied both`);
  }
});

// ---- flow control ----

Deno.test("RaftLog sends a probing follower one append at a time", () => {
  const leader = newLog("n1");
  leader.tick(MAX_MS);
  leader.step("n2", voteResponse(1, true, true), MAX_MS);
  leader.step("n2", voteResponse(1, true), MAX_MS);
  assert.ok(leader.isLeader);
  leader.drain();
  for (let i = 0; i < 3; i++) leader.propose([{ type: "noop", atMs: i }]);
  const out = leader.drain();
  assert.deepEqual(sent(out.messages, "appendEntries"), [], "the probe is still unanswered");
  leader.step("n2", appendRejected(1, 1), MAX_MS);
  const probes = sent(leader.drain().messages, "appendEntries", "n2");
  assert.equal(probes.length, 1, "one probe per answer");
  assert.equal(probes[0].prevLogIndex, 0);
  assert.deepEqual(indexes(probes[0].entries), [1, 2, 3, 4]);
});

Deno.test("RaftLog pipelines up to maxInflightMessages appends to a follower that matched", () => {
  const leader = newLog("n1", { options: { maxInflightMessages: 3, maxEntriesPerMessage: 1 } });
  leader.tick(MAX_MS);
  leader.step("n2", voteResponse(1, true, true), MAX_MS);
  leader.step("n2", voteResponse(1, true), MAX_MS);
  leader.drain();
  leader.step("n2", appendOk(1, 1), MAX_MS);
  leader.drain();
  for (let i = 0; i < 5; i++) leader.propose([{ type: "noop", atMs: i }]);
  let appends = sent(leader.drain().messages, "appendEntries", "n2");
  assert.deepEqual(appends.map((a) => indexes(a.entries)), [[2], [3], [4]], "window of three");
  leader.step("n2", appendOk(1, 2), MAX_MS);
  appends = sent(leader.drain().messages, "appendEntries", "n2");
  assert.deepEqual(appends.map((a) => indexes(a.entries)), [[5]], "one answer frees one slot");
  leader.step("n2", appendOk(1, 5), MAX_MS);
  appends = sent(leader.drain().messages, "appendEntries", "n2");
  assert.deepEqual(appends.map((a) => indexes(a.entries)), [[6]]);
});

Deno.test("RaftLog recovers a lost pipelined append with the next heartbeat", () => {
  const bench = new Bench(3, { maxEntriesPerMessage: 1 });
  bench.elect("n1");
  bench.settle();
  const leader = bench.log("n1");
  leader.propose([{ type: "noop", atMs: 1 }]);
  leader.propose([{ type: "noop", atMs: 2 }]);
  bench.flush("n1");
  const lost = bench.inFlight.filter((e) => e.to === "n2" && e.message.type === "appendEntries");
  assert.equal(lost.length, 2);
  bench.inFlight = bench.inFlight.filter((e) => e !== lost[0]); // 2 is lost, 3 arrives
  bench.settle();
  assert.equal(bench.log("n2").lastIndex, 3, "the gap was noticed and refilled at once");

  leader.propose([{ type: "noop", atMs: 3 }]);
  bench.flush("n1");
  bench.inFlight = bench.inFlight.filter((e) => e.to !== "n2"); // the last append is lost
  bench.settle();
  assert.equal(bench.log("n2").lastIndex, 3);
  bench.run(bench.nowMs + HEARTBEAT_MS);
  assert.equal(bench.log("n2").lastIndex, 4, "the heartbeat found the hole");
  assert.equal(bench.log("n2").commitIndex, 4);
});

// ---- check-quorum ----

Deno.test("RaftLog leader that hears from no one steps down and fails its pending reads", () => {
  const bench = new Bench(3);
  bench.elect("n1");
  bench.settle();
  const leader = bench.log("n1");
  const since = bench.nowMs;
  bench.cut.add("n2>n1").add("n3>n1");
  leader.requestRead(42);
  // A check covers a whole period, so the step-down comes within two of them.
  for (let t = since; t <= since + 2 * MAX_MS && leader.isLeader; t += 10) {
    leader.tick(t);
  }
  assert.equal(leader.isLeader, false);
  assert.equal(leader.leaderId, null);
  assert.equal(leader.term, 1, "stepping down does not change the term");
  assert.deepEqual(leader.drain().readsFailed, [42]);
});

Deno.test("RaftLog leader that keeps hearing from a majority stays leader", () => {
  const bench = new Bench(3);
  bench.elect("n1");
  bench.cut.add("n3>n1");
  bench.run(bench.nowMs + 5 * MAX_MS);
  assert.equal(bench.log("n1").isLeader, true);
  assert.equal(bench.log("n1").term, 1);
});

Deno.test({
  name: "RaftLog newly elected leader that hears from no one steps down after one election timeout",
  fn: () => {
    const leader = newLog("n1");
    leader.tick(MAX_MS);
    leader.step("n2", voteResponse(1, true, true), MAX_MS);
    leader.step("n2", voteResponse(1, true), MAX_MS);
    assert.ok(leader.isLeader);
    for (let t = MAX_MS; t <= 2 * MAX_MS; t += 10) leader.tick(t);
    assert.equal(leader.isLeader, false);
  },
});

// ---- ReadIndex ----

Deno.test("RaftLog read waits for the term's noop to commit", () => {
  const leader = newLog("n1");
  leader.tick(MAX_MS);
  leader.step("n2", voteResponse(1, true, true), MAX_MS);
  leader.step("n2", voteResponse(1, true), MAX_MS);
  leader.drain();
  leader.requestRead(7);
  let out = leader.drain();
  const heartbeats = sent(out.messages, "appendEntries");
  assert.ok(heartbeats.length >= 2, "the read context goes out at once");
  assert.ok(heartbeats.every((h) => h.readCtx === 1));
  leader.step("n2", appendOk(1, 0, 1), MAX_MS);
  assert.deepEqual(leader.drain().readsReady, [], "leadership confirmed, but commit unknown");
  leader.step("n2", appendOk(1, 1, 1), MAX_MS);
  leader.persisted(1, 1);
  out = leader.drain();
  assert.deepEqual(out.readsReady, [{ id: 7, readIndex: 1 }]);
});

Deno.test("RaftLog read completes only once a majority acknowledged its read context", () => {
  const bench = new Bench(5);
  bench.elect("n1");
  bench.settle();
  const leader = bench.log("n1");
  assert.equal(leader.commitIndex, 1);
  leader.requestRead(1);
  leader.requestRead(2);
  const out = leader.drain();
  assert.deepEqual(out.readsReady, []);
  const ctx = sent(out.messages, "appendEntries", "n2")[0].readCtx;
  const now = bench.nowMs;
  leader.step("n2", appendOk(1, 1, ctx - 1), now);
  leader.step("n3", appendOk(1, 1, ctx), now);
  assert.deepEqual(leader.drain().readsReady, [{ id: 1, readIndex: 1 }], "n2 and n3 confirmed 1");
  leader.step("n4", appendRejected(1, 2, ctx), now); // a rejection still confirms the term
  assert.deepEqual(leader.drain().readsReady, [{ id: 2, readIndex: 1 }]);
});

Deno.test("RaftLog read on one voter completes at once after the noop commits", () => {
  const log = newLog("n1", { voters: ["n1"] });
  log.requestRead(1);
  assert.deepEqual(log.drain().readsReady, []);
  log.persisted(1, 1);
  assert.deepEqual(log.drain().readsReady, [{ id: 1, readIndex: 1 }]);
  log.requestRead(2);
  const out = log.drain();
  assert.deepEqual(out.readsReady, [{ id: 2, readIndex: 1 }]);
  assert.deepEqual(out.messages, []);
});

Deno.test("RaftLog fails reads asked of a follower or of a deposed leader", () => {
  const bench = new Bench(3);
  bench.elect("n1");
  bench.settle();
  bench.log("n2").requestRead(9);
  assert.deepEqual(bench.log("n2").drain().readsFailed, [9]);
  const leader = bench.log("n1");
  leader.requestRead(10);
  leader.drain();
  leader.step("n3", appendEntries(2, [1, 1], []), bench.nowMs);
  const out = leader.drain();
  assert.deepEqual(out.readsFailed, [10]);
  assert.deepEqual(out.readsReady, []);
});

// ---- snapshots ----

const SNAPSHOT_BYTES = "0123456789"; // three chunks of four bytes at most

/** A bench where n1 leads, `laggards` are cut off from it, and `count` entries follow its noop. */
function benchWithLaggards(
  n: number,
  laggards: readonly string[],
  count: number,
  options: Partial<RaftOptions<Command>>,
): Bench {
  const bench = new Bench(n, { snapshotChunkBytes: 4, ...options });
  for (const id of laggards) bench.cut.add(`n1>${id}`);
  bench.elect("n1");
  for (let i = 0; i < count; i++) bench.log("n1").propose([{ type: "noop", atMs: i }]);
  bench.settle();
  assert.equal(bench.log("n1").commitIndex, count + 1);
  return bench;
}

function snapshotOf(log: RaftLog<Command>, index: number): SnapshotRef {
  const data = new TextEncoder().encode(SNAPSHOT_BYTES);
  return { index, term: log.term, source: bytesSnapshotSource(data) };
}

Deno.test("RaftLog snapshotTaken() compacts but keeps catchUpEntries for lagging followers", () => {
  const bench = benchWithLaggards(5, ["n4", "n5"], 9, { catchUpEntries: 3 });
  const leader = bench.log("n1");
  leader.snapshotTaken(snapshotOf(leader, 10)); // compacts up to 10 - 3 = 7
  leader.step("n4", appendOk(1, 7), bench.nowMs);
  leader.step("n5", appendOk(1, 6), bench.nowMs);
  const out = leader.drain();
  const append = sent(out.messages, "appendEntries", "n4")[0];
  assert.deepEqual([append.prevLogIndex, append.prevLogTerm], [7, 1], "7 is the compaction point");
  assert.deepEqual(indexes(append.entries), [8, 9, 10]);
  assert.deepEqual(sent(out.messages, "installSnapshot", "n4"), []);
  assert.deepEqual(sent(out.messages, "appendEntries", "n5"), []);
  const chunks = sent(out.messages, "installSnapshot", "n5");
  assert.deepEqual(chunks.map((c) => [c.snapshotIndex, c.snapshotTerm, c.offset]), [[10, 1, 0]]);
});

Deno.test("RaftLog snapshotTaken() asserts it covers only applied entries and ignores older ones", () => {
  const log = newLog("n1", { voters: ["n1"] });
  assert.throws(() =>
    log.snapshotTaken({ index: 1, term: 1, source: bytesSnapshotSource(new Uint8Array()) })
  );
  log.persisted(1, 1);
  log.drain();
  log.snapshotTaken({ index: 1, term: 1, source: bytesSnapshotSource(new Uint8Array([1])) });
  log.snapshotTaken({ index: 1, term: 1, source: bytesSnapshotSource(new Uint8Array([2])) });
  log.propose([{ type: "noop", atMs: 1 }]);
  log.persisted(2, 1);
  assert.deepEqual(indexes(log.drain().committed), [2], "the log goes on after compaction");
});

Deno.test("RaftLog sends a snapshot in chunks and resumes appends after it", () => {
  const bench = benchWithLaggards(3, ["n3"], 4, { catchUpEntries: 0 });
  const leader = bench.log("n1");
  leader.snapshotTaken(snapshotOf(leader, 5));
  leader.propose([{ type: "noop", atMs: 99 }]); // 6, still in the log
  bench.settle();
  bench.cut.delete("n1>n3");
  bench.run(bench.nowMs + 3 * HEARTBEAT_MS);

  const chunks = bench.delivered.get("n3")!
    .map((e) => e.message)
    .filter((m): m is Extract<PeerMessage, { type: "installSnapshot" }> =>
      m.type === "installSnapshot"
    );
  assert.deepEqual(chunks.map((c) => [c.offset, atob(c.data), c.done]), [
    [0, "0123", false],
    [4, "4567", false],
    [8, "89", true],
  ]);
  const outs = bench.outputs.get("n3")!;
  const installed = outs.filter((o) => o.snapshot !== null);
  assert.equal(installed.length, 1);
  const out = installed[0];
  assert.equal(new TextDecoder().decode(out.snapshot!.data), SNAPSHOT_BYTES);
  assert.deepEqual([out.snapshot!.index, out.snapshot!.term, out.snapshot!.discardLog], [
    5,
    1,
    false,
  ]);
  assert.deepEqual(
    sent(out.messages, "snapshotResponse").filter((r) => r.done),
    [],
    "the final acknowledgement waits for the snapshot to be durable",
  );
  assert.deepEqual(
    sent(out.messagesAfterPersist, "snapshotResponse").map((r) => [r.done, r.received]),
    [[true, 10]],
  );
  const follower = bench.log("n3");
  assert.equal(follower.lastIndex, 6, "appends resumed from snapshot.index + 1");
  const appended = outs.flatMap((o) => o.entries);
  assert.deepEqual(indexes(appended), [6]);
  assert.deepEqual(indexes(bench.committed.get("n3")!), [6], "the snapshot covers 1..5");
  const progress = leader.status(bench.nowMs).followers.find((f) => f.id === "n3")!;
  assert.equal(progress.matchIndex, 6);
});

Deno.test("RaftLog follower outputs discardLog only when its log reached the snapshot with another term", () => {
  const data = new TextEncoder().encode("snap");
  const install = (log: RaftLog<Command>) => {
    log.step("n1", chunk(3, [4, 3], 0, "snap", true), 0);
    return log.drain();
  };
  const shorter = newLog("n2", {
    hardState: { term: 3, votedFor: null },
    entries: entries(1, [1, 1]),
  });
  let out = install(shorter);
  assert.deepEqual(out.snapshot, { index: 4, term: 3, data, discardLog: false });
  assert.equal(shorter.lastIndex, 4);

  const conflicting = newLog("n2", {
    hardState: { term: 3, votedFor: null },
    entries: entries(1, [1, 1, 2, 2, 2]),
  });
  out = install(conflicting);
  assert.deepEqual(out.snapshot, { index: 4, term: 3, data, discardLog: true });
  assert.equal(conflicting.lastIndex, 4, "the disagreeing suffix is dropped");

  const agreeing = newLog("n2", {
    hardState: { term: 3, votedFor: null },
    entries: entries(1, [1, 1, 3, 3, 3]),
  });
  out = install(agreeing);
  assert.deepEqual(out.snapshot, { index: 4, term: 3, data, discardLog: false });
  assert.equal(agreeing.lastIndex, 5, "the agreeing suffix is kept");
  assert.equal(agreeing.commitIndex, 4);
  agreeing.step("n1", appendEntries(3, [5, 3], [], { leaderCommit: 5 }), 0);
  assert.equal(agreeing.commitIndex, 5);
  assert.deepEqual(indexes(agreeing.drain().committed), [5], "only what follows the snapshot");
});

Deno.test("RaftLog follower asks to resume a snapshot from what it has", () => {
  const log = newLog("n2", { hardState: { term: 1, votedFor: null } });
  log.step("n1", chunk(1, [9, 1], 4, "4567", false), 0);
  let replies = sent(log.drain().messages, "snapshotResponse");
  assert.deepEqual(replies.map((r) => [r.received, r.done]), [[0, false]], "start from 0");
  log.step("n1", chunk(1, [9, 1], 0, "0123", false), 0);
  replies = sent(log.drain().messages, "snapshotResponse");
  assert.deepEqual(replies.map((r) => [r.received, r.done]), [[4, false]]);
  log.step("n1", chunk(1, [9, 1], 8, "89", true), 0);
  let out = log.drain();
  assert.equal(out.snapshot, null);
  assert.deepEqual(sent(out.messages, "snapshotResponse").map((r) => r.received), [4]);
  log.step("n1", chunk(1, [9, 1], 0, "0123", false), 0); // a duplicate is not appended twice
  assert.deepEqual(sent(log.drain().messages, "snapshotResponse").map((r) => r.received), [4]);
  log.step("n1", chunk(1, [9, 1], 4, "4567", false), 0);
  log.step("n1", chunk(1, [9, 1], 8, "89", true), 0);
  out = log.drain();
  assert.equal(new TextDecoder().decode(out.snapshot!.data), SNAPSHOT_BYTES);
  assert.equal(log.commitIndex, 9);
});

Deno.test("RaftLog leader resends the chunk a follower asks for", () => {
  const bench = benchWithLaggards(3, ["n3"], 4, { catchUpEntries: 0 });
  const leader = bench.log("n1");
  leader.snapshotTaken(snapshotOf(leader, 5));
  leader.step("n3", appendRejected(1, 1), bench.nowMs);
  leader.drain();
  leader.step(
    "n3",
    wire({ type: "snapshotResponse", term: 1, snapshotIndex: 5, received: 8, done: false }),
    bench.nowMs,
  );
  const chunks = sent(leader.drain().messages, "installSnapshot", "n3");
  assert.deepEqual(chunks.map((c) => [c.offset, atob(c.data), c.done]), [[8, "89", true]]);
});

Deno.test({
  name: "RaftLog follower acknowledges a snapshot it already covers only once that is durable",
  fn: () => {
    const log = newLog("n2", { hardState: { term: 1, votedFor: "n1" } });
    log.step("n1", appendEntries(1, [0, 0], entries(1, [1, 1, 1, 1, 1]), { leaderCommit: 5 }), 0);
    log.step("n1", chunk(1, [3, 1], 0, "abc", true), 0); // delayed, from before n2 caught up
    const out = log.drain();
    assert.deepEqual(indexes(out.entries), [1, 2, 3, 4, 5], "staged, not yet durable");
    assert.deepEqual(
      sent(out.messages, "snapshotResponse").filter((r) => r.done),
      [],
      "no durability promise may leave before the fsync",
    );
    // The common trigger (found by raft_cluster_test, e.g. seed 60): a duplicate of the final
    // chunk arrives while the snapshot it completed is still being saved.
    const other = newLog("n3", { hardState: { term: 1, votedFor: "n1" } });
    other.step("n1", chunk(1, [3, 1], 0, "abc", true), 0);
    assert.ok(other.drain().snapshot !== null, "installed; saving it is in progress");
    other.step("n1", chunk(1, [3, 1], 0, "abc", true), 0);
    assert.deepEqual(
      sent(other.drain().messages, "snapshotResponse").filter((r) => r.done),
      [],
      "the snapshot is not durable yet",
    );
  },
});

Deno.test({
  name: "RaftLog follower that crashed after an early snapshot acknowledgement still catches up",
  fn: () => {
    const bench = benchWithLaggards(3, ["n3"], 4, { catchUpEntries: 0 });
    const leader = bench.log("n1");
    leader.snapshotTaken(snapshotOf(leader, 5));
    // n3 gets the log 1..5 (commit 5) but has not persisted it when the chunk for 5 arrives.
    const n3 = newLog("n3", { hardState: { term: 1, votedFor: "n1" } });
    n3.step("n1", appendEntries(1, [0, 0], entries(1, [1, 1, 1, 1, 1]), { leaderCommit: 5 }), 0);
    n3.step("n1", chunk(1, [5, 1], 0, SNAPSHOT_BYTES, true), 0);
    const early = sent(n3.drain().messages, "snapshotResponse");
    leader.step("n3", wire(early[0]), bench.nowMs);
    // n3 crashes before its fsync and restarts empty, in the same term.
    bench.logs.set(
      "n3",
      newLog("n3", { hardState: { term: 1, votedFor: "n1" }, nowMs: bench.nowMs }),
    );
    bench.cut.delete("n1>n3");
    bench.run(bench.nowMs + 10 * HEARTBEAT_MS);
    assert.equal(bench.log("n1").isLeader, true);
    assert.equal(bench.log("n3").lastIndex, 5, "n3 should have been sent the snapshot again");
  },
});

Deno.test({
  name: "RaftLog drops entries a snapshot installed later in the same drain supersedes",
  fn: () => {
    const log = newLog("n2", { hardState: { term: 1, votedFor: "n1" } });
    log.step("n1", appendEntries(1, [0, 0], entries(1, [1, 1])), 0);
    log.step("n1", chunk(1, [5, 1], 0, "abc", true), 0);
    const out = log.drain();
    assert.equal(out.snapshot?.index, 5);
    assert.deepEqual(out.entries.filter((e) => e.index <= 5), []);
  },
});

Deno.test({
  name: "RaftLog leader keeps one snapshot chunk stream per follower",
  fn: () => {
    const bench = benchWithLaggards(3, ["n3"], 4, { catchUpEntries: 0 });
    const leader = bench.log("n1");
    leader.snapshotTaken(snapshotOf(leader, 5));
    leader.step("n3", appendRejected(1, 1), bench.nowMs);
    leader.drain();
    const response = wire({
      type: "snapshotResponse",
      term: 1,
      snapshotIndex: 5,
      received: 4,
      done: false,
    });
    leader.step("n3", response, bench.nowMs);
    leader.step("n3", response, bench.nowMs); // the network duplicated it
    assert.equal(sent(leader.drain().messages, "installSnapshot").length, 1);

    const slow = benchWithLaggards(3, ["n3"], 4, { catchUpEntries: 0, snapshotChunkBytes: 1 });
    const l = slow.log("n1");
    const bytes = new Uint8Array(100);
    l.snapshotTaken({ index: 5, term: l.term, source: bytesSnapshotSource(bytes) });
    slow.settle();
    slow.cut.delete("n1>n3");
    slow.runSlow(slow.nowMs + 6_000, 20);
    assert.equal(slow.log("n3").commitIndex, 5);
    const chunks = slow.delivered.get("n3")!.filter((e) => e.message.type === "installSnapshot");
    assert.ok(chunks.length <= 2 * bytes.length, `${chunks.length} chunks for ${bytes.length}`);
  },
});

Deno.test({
  name: "RaftLog follower catching up by snapshot finishes while the leader keeps snapshotting",
  fn: () => {
    const leader = newLog("n1", { options: { snapshotChunkBytes: 4, catchUpEntries: 0 } });
    leader.tick(MAX_MS);
    leader.step("n2", voteResponse(1, true, true), MAX_MS);
    leader.step("n2", voteResponse(1, true), MAX_MS);
    const commitAll = () => {
      leader.persisted(leader.lastIndex, 1);
      leader.step("n2", appendOk(1, leader.lastIndex), MAX_MS);
      leader.drain();
    };
    const snapshotNow = () => {
      const bytes = new TextEncoder().encode(`state@${String(leader.commitIndex).padStart(6)}`);
      leader.snapshotTaken({
        index: leader.commitIndex,
        term: 1,
        source: bytesSnapshotSource(bytes),
      }); // 3 chunks
    };
    for (let i = 0; i < 4; i++) leader.propose([{ type: "noop", atMs: i }]);
    commitAll();
    snapshotNow();
    const follower = newLog("n3", { hardState: { term: 1, votedFor: "n1" } });
    leader.step("n3", appendRejected(1, 1), MAX_MS);
    let toFollower = sent(leader.drain().messages, "installSnapshot", "n3");
    let installed = false;
    for (let round = 0; round < 20 && !installed && toFollower.length > 0; round++) {
      follower.step("n1", wire(toFollower[0]), MAX_MS);
      const out = follower.drain();
      installed = out.snapshot !== null;
      const answer = sent([...out.messages, ...out.messagesAfterPersist], "snapshotResponse");
      // The leader snapshots again (a busy log) before the answer reaches it.
      leader.propose([{ type: "noop", atMs: 100 + round }]);
      commitAll();
      snapshotNow();
      leader.step("n3", wire(answer[0]), MAX_MS);
      toFollower = sent(leader.drain().messages, "installSnapshot", "n3");
    }
    assert.ok(installed, "the follower never completed a snapshot");
  },
});

Deno.test({
  name: "RaftLog follower refuses a snapshot whose bytes cover another entry than its header names",
  fn: () => {
    // Test snapshots say what they cover as "index:term"; the fuzzers found a header at index
    // 604799999 over bytes at 44, which stopped the node when entry 604800000 applied.
    const snapshotPosition = (data: Uint8Array) => {
      const [index, term] = new TextDecoder().decode(data).split(":").map(Number);
      return Number.isSafeInteger(index) && Number.isSafeInteger(term) ? { index, term } : null;
    };
    const log = newLog("n2", {
      hardState: { term: 3, votedFor: null },
      options: { snapshotPosition },
    });
    for (const bytes of ["44:2", "9:2", "not a snapshot"]) {
      log.step("n1", chunk(3, [9, 3], 0, bytes, true), 0);
      const out = log.drain();
      assert.equal(out.snapshot, null, `"${bytes}" must not be installed (nor saved)`);
      const replies = sent([...out.messages, ...out.messagesAfterPersist], "snapshotResponse");
      assert.deepEqual(replies.map((r) => [r.received, r.done]), [[0, false]], "start over");
    }
    assert.equal(log.refusedSnapshots, 3);
    assert.equal(log.commitIndex, 0);
    log.step("n1", chunk(3, [9, 3], 0, "9:3", true), 0);
    assert.equal(log.drain().snapshot?.index, 9, "a snapshot that covers its header is installed");
    assert.equal(log.refusedSnapshots, 3);
  },
});

// ---- rejoining after a lost disk ----

Deno.test("RaftLog rejoining persists its marker first, and neither campaigns nor votes", () => {
  const log = newLog("n2", { options: { rejoin: true } });
  assert.equal(log.isRejoining, true);
  assert.deepEqual(log.drain().hardState, { term: 0, votedFor: null, rejoining: true });
  log.tick(10 * MAX_MS);
  let out = log.drain();
  assert.deepEqual(sent(out.messages, "requestVote"), [], "no pre-vote");
  assert.equal(log.isLeader, false);
  log.step("n3", requestVote(1, [0, 0], true), 10 * MAX_MS);
  log.step("n3", requestVote(1, [0, 0]), 10 * MAX_MS);
  out = log.drain();
  const answers = sent([...out.messages, ...out.messagesAfterPersist], "voteResponse");
  assert.deepEqual(answers.map((a) => [a.preVote, a.granted]), [[true, false], [false, false]]);
  assert.deepEqual(out.hardState, { term: 1, votedFor: null, rejoining: true }, "term only");
});

Deno.test("RaftLog rejoining becomes a voter once durably caught up, only in later terms", () => {
  const log = newLog("n2", { options: { rejoin: true } });
  log.drain();
  log.step("n1", appendEntries(3, [0, 0], entries(1, [1, 2, 3]), { leaderCommit: 3 }), 0);
  let out = log.drain();
  assert.equal(log.isRejoining, true, "the entries are not durable yet");
  assert.deepEqual(out.hardState, { term: 3, votedFor: null, rejoining: true });
  log.persisted(3, 3);
  out = log.drain();
  assert.equal(log.isRejoining, false);
  assert.deepEqual(out.hardState, { term: 3, votedFor: "n1" }, "a vote for the leader in term 3");
  // A vote it cast in term 3 before its disk was lost may exist: it never votes in term 3 again.
  log.step("n3", requestVote(3, [3, 3]), 1_000);
  log.step("n3", requestVote(4, [3, 3]), 1_000);
  out = log.drain();
  const answers = sent(out.messagesAfterPersist, "voteResponse");
  assert.deepEqual(answers.map((a) => [a.term, a.granted]), [[3, false], [4, true]]);
});

Deno.test("RaftLog rejoining catches up with the leader of its latest term", () => {
  const log = newLog("n2", { options: { rejoin: true } });
  log.step("n1", appendEntries(2, [0, 0], entries(1, [1, 2]), { leaderCommit: 1 }), 0);
  // A newer term begins before n2 has caught up: its leader's commit index is the target now.
  log.step("n3", appendEntries(3, [2, 2], entries(3, [3, 3]), { leaderCommit: 4 }), 0);
  log.persisted(2, 2);
  log.drain();
  assert.equal(log.isRejoining, true, "entry 4, committed in term 3, is not here yet");
  log.persisted(4, 3);
  assert.deepEqual(log.drain().hardState, { term: 3, votedFor: "n3" });
});

Deno.test("RaftLog restored mid-rejoin keeps rejoining with or without the option", () => {
  const restored = {
    hardState: { term: 5, votedFor: null, rejoining: true },
    entries: entries(1, [4, 5]),
  };
  for (const options of [{}, { rejoin: true }]) {
    const log = newLog("n2", { ...restored, options });
    assert.equal(log.isRejoining, true);
    log.tick(10 * MAX_MS);
    assert.deepEqual(sent(log.drain().messages, "requestVote"), []);
  }
});

Deno.test("canRejoin() allows an empty log or a rejoin under way, nothing else", () => {
  const empty = { hardState: { term: 0, votedFor: null }, snapshot: null, entries: [] };
  assert.equal(canRejoin(empty), true);
  assert.equal(canRejoin({ ...empty, hardState: { term: 4, votedFor: "n1" } }), false);
  assert.equal(canRejoin({ ...empty, entries: entries(1, [1]) }), false);
  const rejoining = { term: 4, votedFor: null, rejoining: true };
  assert.equal(canRejoin({ ...empty, hardState: rejoining, entries: entries(1, [1]) }), true);
  assert.throws(
    () => newLog("n2", { hardState: { term: 4, votedFor: "n1" }, options: { rejoin: true } }),
    /only from an empty log/,
  );
});

// ---- opaque commands ----

Deno.test("RaftLog replicates commands it never reads and hands each back as proposed", () => {
  // Bytes, as the log will carry pre-encoded commands: any type will do, and only the leader's
  // no-op is made by the log, through noopCommand.
  const voters = ["n1", "n2", "n3"];
  const logs = new Map(voters.map((id) => [
    id,
    new RaftLog<Uint8Array>({
      nodeId: id,
      voters,
      electionTimeoutMinMs: MIN_MS,
      electionTimeoutMaxMs: MAX_MS,
      heartbeatIntervalMs: HEARTBEAT_MS,
      rng: createPrng(id.charCodeAt(1)),
      noopCommand: (atMs) => Uint8Array.of(0, atMs % 256),
    }, { hardState: { term: 0, votedFor: null }, snapshot: null, entries: [], nowMs: 0 }),
  ]));
  const committed = new Map<string, RaftEntry<Uint8Array>[]>(voters.map((id) => [id, []]));
  const inFlight: Array<{ from: string; to: string; message: RaftMessage<Uint8Array> }> = [];
  const proposed = [Uint8Array.of(1, 2, 3), Uint8Array.of(4), new Uint8Array(0)];
  let proposedAt: number | null = null;
  for (let nowMs = 0; nowMs <= 3_000; nowMs += 10) {
    for (const [id, log] of logs) {
      log.tick(nowMs);
      if (log.isLeader && log.commitIndex > 0 && proposedAt === null) {
        proposedAt = log.propose(proposed);
      }
      const out = log.drain();
      const last = out.entries.at(-1);
      if (last !== undefined) log.persisted(last.index, last.term);
      committed.get(id)!.push(...out.committed);
      for (const e of [...out.messages, ...out.messagesAfterPersist]) {
        inFlight.push({ from: id, to: e.to, message: e.message });
      }
    }
    for (const m of inFlight.splice(0)) logs.get(m.to)!.step(m.from, m.message, nowMs);
  }
  assert.notEqual(proposedAt, null, "a leader was elected and proposed");
  for (const id of voters) {
    const mine = committed.get(id)!.filter((e) => e.index >= proposedAt!);
    assert.deepEqual(mine.map((e) => e.command), proposed, `${id} got the commands back`);
    assert.equal(committed.get(id)![0].command[0], 0, `${id} first commits the leader's no-op`);
  }
  const leader = [...logs.keys()].find((id) => logs.get(id)!.isLeader)!;
  const onLeader = committed.get(leader)!.filter((e) => e.index >= proposedAt!);
  assert.ok(onLeader.every((e, i) => e.command === proposed[i]), "the very values, not copies");
});

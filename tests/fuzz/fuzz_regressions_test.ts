// Proves that the bugs the fuzzers found and that are fixed stay fixed: each test is the minimal
// reproduction of one (known_bugs.ts lists any still open).
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { parseBatchFile } from "../../client/cli/batch_file.ts";
import {
  encodeSnapshot,
  findInvariantViolations,
  type LogEntry,
  TaskStateMachine,
} from "../../orchestrator/tasks/mod.ts";
import { hashToken } from "../../shared/auth/mod.ts";
import { UsageError } from "../../shared/cli_args.ts";
import { LAMPORT_MAX, LIMITS } from "../../shared/limits.ts";
import { decodeMessage, DIRECTIONS, encodeMessage } from "../../shared/protocol/codec.ts";
import {
  decodesAsPeerMessage,
  largestAccepted,
  leaderOfThree,
  peerInput,
} from "./_peer_fixtures.ts";
import { heapUsedAfterGc } from "./heap_used.ts";
import { FIRST_WORKER_CONN, NodeHarness, REPLY_FRAME_LIMIT } from "./node_harness.ts";
import { RAFT_VOTERS } from "./raft_peers.ts";

const encoder = new TextEncoder();

// Found as versionEchoedWhole: the unsupported_version error quoted the whole `v` value, so a
// 1 MiB `v` became a 1 MiB error reply and log line per frame.
Deno.test("decodeMessage() bounds the unsupported_version message whatever `v` holds", () => {
  for (const v of ["x".repeat(1_000_000), Array.from({ length: 100_000 }, () => 1)]) {
    const payload = encoder.encode(JSON.stringify({ v, type: "login" }));
    const decoded = decodeMessage(payload, DIRECTIONS.clientToOrchestrator);
    assert.ok(!decoded.ok && decoded.error.code === "unsupported_version");
    assert.ok(decoded.error.message.length <= 2048, `${decoded.error.message.length} characters`);
  }
});

// Found as peerLamportUnbounded: a peer message's Lamport time was received without bound, so
// one frame at LAMPORT_MAX pushed the clock past it and every reply failed the clients' codec.
Deno.test("OrchestratorNode keeps its Lamport clock valid after a peer message at LAMPORT_MAX", () => {
  const harness = new NodeHarness();
  harness.persistAll();
  const node = harness.node;
  const vote = { type: "requestVote", term: 1, lastLogIndex: 0, lastLogTerm: 0, preVote: true };
  node.step(peerInput("o2", { lamport: LAMPORT_MAX, ...vote }, harness.nowMs));
  const effects = node.step({
    type: "hello",
    conn: 1,
    hello: { v: 1, type: "hello", role: "client", lamport: 0 },
    nowMs: harness.nowMs,
  });
  const welcome = effects.send[0].message;
  assert.ok(welcome.lamport <= LAMPORT_MAX, `welcome at Lamport ${welcome.lamport}`);
});

// Found as replyOverFrameLimit: a default `list` of 45 tasks with 4096-character descriptions
// that JSON escapes to 6 bytes each was a 1.1 MB reply, over the 1 MiB its client accepted.
Deno.test("OrchestratorNode's list reply fits in a reply frame whatever the descriptions hold", () => {
  const harness = new NodeHarness();
  harness.persistAll();
  harness.step({
    type: "loginChecked",
    conn: 1,
    requestId: 1,
    lamport: 1,
    user: "bob",
    session: { token: "t", tokenHash: hashToken("t"), expiresAtMs: 1e13 },
    nowMs: harness.nowMs,
  });
  harness.persistAll();
  const description = "\u0000".repeat(LIMITS.descriptionChars);
  for (let i = 0; i < 45; i++) {
    harness.step({
      type: "clientRequest",
      conn: 1,
      request: {
        v: 1,
        lamport: 2 + i,
        type: "submit",
        id: 10 + i,
        token: "t",
        idempotencyKey: `k${i}`,
        task: { kind: "sleep", description, durationMs: 1 },
      },
      tokenHash: hashToken("t"),
      nowMs: harness.nowMs,
    });
    harness.persistAll();
  }
  const effects = harness.node.step({
    type: "clientRequest",
    conn: 1,
    request: { v: 1, lamport: 100, type: "list", id: 99, token: "t" },
    tokenHash: hashToken("t"),
    nowMs: harness.nowMs,
  });
  const reply = effects.send.find((o) => o.message.type === "taskList");
  assert.ok(reply !== undefined, JSON.stringify(effects.send).slice(0, 300));
  const bytes = encodeMessage(reply.message).length;
  assert.ok(bytes <= REPLY_FRAME_LIMIT, `a list reply of ${bytes} bytes`);
});

// Found as batchExecJoin: a line's `exec` array was joined before it was validated, so a nested
// array threw RangeError and an object with its own toString TypeError (CLI exit 1, not 2).
Deno.test("parseBatchFile() refuses exec arrays of nested arrays or objects with a UsageError", () => {
  const deep = "[".repeat(10_000) + "]".repeat(10_000);
  for (const line of [`{"exec":[${deep}]}`, `{"exec":[{"toString":1}]}`]) {
    assert.throws(() => parseBatchFile(line, "p"), UsageError, line.slice(0, 30));
  }
});

// Found as peerSnapshotUnchecked: the bytes of a peer's snapshot were parsed unchecked, so one
// installSnapshot with done: true and other base64 threw out of node.step.
Deno.test("OrchestratorNode refuses a corrupt snapshot from a peer without throwing", () => {
  const harness = new NodeHarness({ voters: RAFT_VOTERS });
  harness.persistAll();
  const snapshot = {
    type: "installSnapshot",
    term: 1,
    snapshotIndex: 5,
    snapshotTerm: 1,
    offset: 0,
    data: "bm90IGEgc25hcHNob3Q=",
    done: true,
  };
  const input = peerInput("o2", { lamport: 1, ...snapshot }, harness.nowMs);
  assert.doesNotThrow(() => harness.node.step(input));
  assert.equal(harness.node.sm.appliedIndex, 0, "nothing installed");
});

// Fixed: a follower accepted an installSnapshot whose header (index 604799999) named another entry
// than its bytes covered (44): RaftLog's check saw only the bytes, so the node saved it and then
// threw "apply out of order" at the next entry, and again at every restart.
// Replay: deno task fuzz --target raft --seed 700789 --iteration 35421 --strict
Deno.test("OrchestratorNode refuses a peer's snapshot whose header does not match its bytes", () => {
  const harness = new NodeHarness({ voters: RAFT_VOTERS });
  harness.persistAll();
  const bytes = encodeSnapshot(new TaskStateMachine()); // covers entry 0
  const snapshot = {
    type: "installSnapshot",
    term: 1,
    snapshotIndex: 1_000,
    snapshotTerm: 1,
    offset: 0,
    data: Buffer.from(bytes).toString("base64"),
    done: true,
  };
  const append = {
    type: "appendEntries",
    term: 1,
    prevLogIndex: 1_000,
    prevLogTerm: 1,
    entries: [{ index: 1_001, term: 1, command: { type: "noop", atMs: 1 } }],
    leaderCommit: 1_001,
    readCtx: 0,
  };
  assert.doesNotThrow(() => {
    harness.step(peerInput("o2", { lamport: 1, ...snapshot }, harness.nowMs));
    harness.persistAll();
    harness.step(peerInput("o2", { lamport: 2, ...append }, harness.nowMs));
    harness.persistAll();
  });
  assert.equal(harness.termAt(1_000), undefined, "no snapshot at 1000 was saved");
  assert.equal(harness.node.sm.appliedIndex, 0);
  assert.doesNotThrow(() => harness.restart());
});

// Found as peerMatchIndexUnchecked: a leader believed a matchIndex past its own log, then sent
// that follower appendEntries without a prevLogTerm, which its codec refuses.
Deno.test("RaftLog ignores a matchIndex past its own log", () => {
  const harness = leaderOfThree();
  const node = harness.node;
  const response = {
    type: "appendResponse",
    term: node.term,
    success: true,
    matchIndex: node.lastLogIndex + 5_000,
    conflictIndex: 0,
    readCtx: 0,
  };
  node.step(peerInput("o2", { lamport: 3, ...response }, harness.nowMs + 2_500));
  const effects = node.step({ type: "tick", nowMs: harness.nowMs + 3_000 });
  for (const { message } of [...effects.peerSend, ...effects.peerSendAfterPersist]) {
    assert.ok(decodesAsPeerMessage(message), JSON.stringify(message).slice(0, 200));
  }
});

// Found as committedLamportDisorder: an assignment stamped before the task's last event (as a
// buggy or hostile leader's entry can be) broke the history's Lamport order.
Deno.test("TaskStateMachine keeps a task's history in Lamport order whatever the stamps", () => {
  const sm = new TaskStateMachine();
  const stamp = (lamport: number) => ({ atMs: 1, lamport, node: "o1" });
  const commands: LogEntry["command"][] = [
    {
      type: "workerJoined",
      workerId: "w1",
      incarnation: "i1",
      slots: 1,
      canExec: false,
      ...stamp(1),
    },
    {
      type: "taskSubmitted",
      owner: "bob",
      idempotencyKey: "k",
      spec: { kind: "sleep", description: "", durationMs: 1 },
      maxAttempts: 1,
      ...stamp(10),
    },
    {
      type: "taskAssigned",
      taskId: "t-1",
      attempt: 1,
      workerId: "w1",
      incarnation: "i1",
      ...stamp(5),
    },
  ];
  commands.forEach((command, i) => sm.apply({ index: i + 1, term: 1, command }));
  assert.deepEqual(findInvariantViolations(sm), []);
});

// Fixed: peerLamportUnbounded — a committed entry's Lamport stamp is observed without bound
// (OrchestratorNode#applyOne: `this.#clock.observe(command.lamport)`; restoreSnapshot's
// maxLamport likewise). One entry stamped LAMPORT_MAX — from a buggy leader, or from anyone who
// says hello as a peer when clusterSecretFile is not set — puts every replica's clock at the
// bound: its next message is stamped past it, clients' and peers' codecs refuse every reply and
// appendResponse, and replication stalls. (The direct path, a peer message's own `lamport`, is
// now bounded like a client's.)
// Replay: deno task fuzz --target raft --seed 20250601 --iteration 5350 --strict
// Suggested patch: keep stamps well below the clock's bound — in commands.ts bound a stamp's
// `lamport` to LAMPORT_MAX / 2 (headroom of 2^51 ticks), or clamp what #applyOne and
// restoreSnapshot observe to `clock.value + LAMPORT_CLIENT_JUMP_MAX` as #receiveFromClient does.
Deno.test({
  name: "OrchestratorNode keeps its Lamport clock valid after applying an entry at LAMPORT_MAX",
  fn() {
    const harness = new NodeHarness({ voters: RAFT_VOTERS });
    harness.persistAll();
    const node = harness.node;
    const nowMs = harness.nowMs;
    const command = {
      type: "workerDraining",
      workerId: "w1",
      incarnation: "i1",
      atMs: 1,
      lamport: LAMPORT_MAX,
      node: "o2",
    };
    const append = {
      type: "appendEntries",
      term: 1,
      prevLogIndex: 0,
      prevLogTerm: 0,
      entries: [{ index: 1, term: 1, command }],
      leaderCommit: 1,
      readCtx: 0,
    };
    // The codec refuses an entry stamped this far ahead (stamps are bounded at LAMPORT_MAX / 2)…
    assert.equal(decodesAsPeerMessage({ v: 1, lamport: 1, ...append }), false);
    // …and one at the largest accepted stamp leaves the clock valid. (A new entry object: entries
    // are immutable once made, and their JSON is cached as such, see entry_json.ts.)
    const atBound = { ...command, lamport: LAMPORT_MAX / 2 };
    const accepted = { ...append, entries: [{ index: 1, term: 1, command: atBound }] };
    node.step(peerInput("o2", { lamport: 1, ...accepted }, nowMs));
    node.step({ type: "persisted", index: 1, term: 1, nowMs });
    const effects = node.step({
      type: "hello",
      conn: 1,
      hello: { v: 1, type: "hello", role: "client", lamport: 0 },
      nowMs,
    });
    const welcome = effects.send[0].message;
    assert.ok(welcome.lamport <= LAMPORT_MAX, `welcome at Lamport ${welcome.lamport}`);
  },
});

// Fixed: peerTermUnbounded — a node adopts (and persists) any term a peer message carries, up to
// the codec's bound (2^52 since peer_messages.ts bounds terms; 2^53-1 before): at the bound its
// next campaign asks for bound + 1, which no peer's codec accepts, so it can never lead or vote
// again, even after a restart. One frame to each orchestrator (no secret is needed without
// clusterSecretFile) ends elections in the cluster for good.
// Replay: deno task fuzz --target raft --seed 20250601 --iteration 39594 --strict
// Suggested patch: in RaftLog#normalizeTerm ignore a message whose term is more than a bound
// (say 2^20) above the node's own — terms grow by one per election — and require the cluster
// secret for peer connections (refuse role "peer" when no secret is configured).
Deno.test({
  name: "RaftLog never campaigns with a term its peers cannot decode",
  fn() {
    const harness = new NodeHarness({ voters: RAFT_VOTERS });
    harness.persistAll();
    const node = harness.node;
    const response = (term: number) => ({
      type: "appendResponse",
      lamport: 1,
      term,
      success: false,
      matchIndex: 0,
      conflictIndex: 0,
      readCtx: 0,
    });
    const term = largestAccepted(response);
    node.step(peerInput("o3", response(term), harness.nowMs));
    const effects = node.step({ type: "tick", nowMs: harness.nowMs + 5_000 });
    for (const { message } of [...effects.peerSend, ...effects.peerSendAfterPersist]) {
      assert.ok(decodesAsPeerMessage(message), `${message.type} at term ${message.term}`);
    }
  },
});

// Fixed: peerEntriesAsserted — RaftLog#appendFromLeader (and RaftEntries#append) check a leader's
// entries with assert(): an appendEntries whose entries skip an index (or go back in term, or
// rewrite a committed entry) throws InvariantError out of node.step, and the shell stops the
// orchestrator. Assertions are for this node's own bugs; a peer's message is input.
// Replay: deno task fuzz --target raft --seed 20250601 --iteration 11341 --strict
// Suggested patch: check appendEntries before touching the log — entries contiguous from
// prevLogIndex + 1 with non-decreasing terms, none rewriting an index <= commitIndex with another
// term — and drop (and log) a message that fails, answering success: false.
Deno.test({
  name: "RaftLog drops an appendEntries whose entries skip an index, without throwing",
  fn() {
    const harness = new NodeHarness({ voters: RAFT_VOTERS });
    harness.persistAll();
    const noop = { type: "noop", atMs: 1 };
    const append = {
      type: "appendEntries",
      term: 1,
      prevLogIndex: 0,
      prevLogTerm: 0,
      entries: [{ index: 1, term: 1, command: noop }, { index: 3, term: 1, command: noop }],
      leaderCommit: 0,
      readCtx: 0,
    };
    const input = peerInput("o2", { lamport: 1, ...append }, harness.nowMs);
    assert.doesNotThrow(() => harness.node.step(input));
  },
});

// Fixed: detectorKeepsIncarnations — FailureDetector (orchestrator/core/failure_detector.ts) keeps
// the last sighting of every incarnation a worker name ever registered with until that worker is
// declared lost; a worker that keeps re-registering with fresh incarnations while it stays alive
// grows it by ~100 bytes a registration without bound (found by the memory checks; any TCP client
// may say hello as a worker when clusterSecretFile is not set).
// Suggested patch: when a workerJoined is applied, forget the worker's other incarnations
// (`detector.forgetOthers(workerId, incarnation)`), or keep only the newest in observe().
Deno.test({
  name: "OrchestratorNode's memory stays bounded when a worker re-registers with new incarnations",
  fn() {
    const harness = new NodeHarness();
    harness.persistAll();
    const conn = FIRST_WORKER_CONN;
    harness.step({
      type: "hello",
      conn,
      hello: { v: 1, type: "hello", role: "worker", lamport: 1 },
      nowMs: harness.nowMs,
    });
    let lamport = 10;
    const register = (n: number) => {
      harness.step({
        type: "workerMessage",
        conn,
        message: {
          v: 1,
          lamport: ++lamport,
          type: "register",
          worker: { name: "w1", incarnation: `incarnation-${n}`, slots: 1, canExec: false },
          running: [],
        },
        nowMs: harness.nowMs,
      });
      harness.persistAll();
    };
    for (let n = 0; n < 50_000; n++) register(n);
    const before = heapUsedAfterGc();
    for (let n = 50_000; n < 150_000; n++) register(n);
    const growth = heapUsedAfterGc() - before;
    assert.ok(growth < 2 * 1024 * 1024, `heap grew by ${growth} bytes over 100,000 registrations`);
  },
});

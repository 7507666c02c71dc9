// Proves that decodeMessage() returns every message of every direction unchanged after
// encodeMessage(), and turns every kind of malformed input into a ProtocolError that names the
// problem (never a throw).
import assert from "node:assert/strict";
import { LIMITS, PROTOCOL_VERSION } from "../limits.ts";
import { decodeMessage, decodeValue, DIRECTIONS, encodeMessage } from "./codec.ts";
import type { Decoded, Direction, ProtocolError } from "./codec.ts";
import { isFinalState, TASK_STATES } from "./messages.ts";
import type { Outcome, TaskSpec, TaskView } from "./messages.ts";

type DirectionName = keyof typeof DIRECTIONS;

const bytes = (s: string) => new TextEncoder().encode(s);
const env = { v: PROTOCOL_VERSION, lamport: 7 };
const sleepSpec: TaskSpec = { kind: "sleep", description: "nap", durationMs: 1500 };
const execSpec: TaskSpec = {
  kind: "exec",
  description: "list files",
  argv: ["ls", "-l", "/tmp"],
  timeoutMs: 60_000,
};
const outcome: Outcome = {
  status: "failed",
  exitCode: 2,
  stdout: "out",
  stderr: "err",
  error: null,
  durationMs: 12,
};
const taskView: TaskView = {
  id: "t-1",
  owner: "alice",
  state: "failed",
  spec: execSpec,
  attempt: 1,
  maxAttempts: 3,
  workerId: "w1",
  submittedAtMs: 1000,
  finishedAtMs: 2000,
  result: outcome,
  waitingReason: null,
  history: [{
    event: "submitted",
    lamport: 3,
    node: "o1",
    atMs: 1000,
    attempt: 1,
    workerId: null,
    detail: null,
  }],
};

/** One valid message of every type, per direction. */
const SAMPLES: Record<DirectionName, Record<string, object>> = {
  hello: {
    hello: {
      ...env,
      type: "hello",
      role: "peer",
      nodeId: "o2",
      clusterId: "c1",
      nonce: "n".repeat(43),
    },
    authenticate: { ...env, type: "authenticate", proof: "p".repeat(43) },
  },
  clientToOrchestrator: {
    nodeStatus: { ...env, type: "nodeStatus", id: 9, token: "tok" },
    logs: {
      ...env,
      type: "logs",
      id: 18,
      token: "tok",
      taskId: "t-1",
      attempt: 2,
      stdoutOffset: 120,
      stderrOffset: 0,
    },
    submitBatch: {
      ...env,
      type: "submitBatch",
      id: 10,
      token: "tok",
      tasks: [{ idempotencyKey: "k", task: { kind: "sleep", description: "d", durationMs: 0 } }],
    },
    userAdd: {
      ...env,
      type: "userAdd",
      id: 11,
      token: "tok",
      name: "bob",
      role: "user",
      password: "pw",
    },
    userPasswd: { ...env, type: "userPasswd", id: 12, token: "tok", name: "bob", password: "pw2" },
    userRemove: { ...env, type: "userRemove", id: 13, token: "tok", name: "bob" },
    userList: { ...env, type: "userList", id: 14, token: "tok" },
    tokenList: { ...env, type: "tokenList", id: 15, token: "tok" },
    tokenRevoke: { ...env, type: "tokenRevoke", id: 16, token: "tok", tokenId: "abcdef012345" },
    purge: {
      ...env,
      type: "purge",
      id: 17,
      token: "tok",
      states: ["succeeded"],
      owner: "bob",
      olderThanMs: 60_000,
      dryRun: true,
    },
    scheduleAdd: {
      ...env,
      type: "scheduleAdd",
      id: 18,
      token: "tok",
      name: "nightly",
      cron: "0 2 * * *",
      timezone: "Europe/Berlin",
      task: sleepSpec,
      maxAttempts: 2,
    },
    scheduleList: { ...env, type: "scheduleList", id: 19, token: "tok", all: true },
    scheduleRemove: { ...env, type: "scheduleRemove", id: 20, token: "tok", name: "nightly" },
    schedulePause: {
      ...env,
      type: "schedulePause",
      id: 21,
      token: "tok",
      name: "nightly",
      paused: true,
      owner: "bob",
    },
    login: { ...env, type: "login", id: 1, user: "alice", password: "secret" },
    logout: { ...env, type: "logout", id: 2, token: "tok" },
    submit: {
      ...env,
      type: "submit",
      id: 3,
      token: "tok",
      idempotencyKey: "k-1",
      task: sleepSpec,
      maxAttempts: 3,
    },
    status: { ...env, type: "status", id: 4, token: "tok", taskId: "t-1" },
    list: { ...env, type: "list", id: 5, token: "tok", state: "running", limit: 10 },
    workers: { ...env, type: "workers", id: 6, token: "tok" },
    cancel: { ...env, type: "cancel", id: 7, token: "tok", taskId: "t-1" },
    wait: { ...env, type: "wait", id: 8, token: "tok", taskId: "t-1", timeoutMs: 5000 },
  },
  orchestratorToClient: {
    welcome: { ...env, type: "welcome", nodeId: "o1", clusterId: "c1" },
    keepalive: { ...env, type: "keepalive" },
    submitBatchOk: {
      ...env,
      type: "submitBatchOk",
      re: 10,
      results: [{ taskId: "t-1", duplicate: false }],
    },
    done: { ...env, type: "done", re: 11, message: "Added user bob (user)" },
    purged: { ...env, type: "purged", re: 17, matched: 3, removed: 2, dryRun: false },
    scheduleList: {
      ...env,
      type: "scheduleList",
      re: 19,
      schedules: [{
        name: "nightly",
        owner: "bob",
        cron: "0 2 * * *",
        timezone: null,
        task: { spec: sleepSpec, maxAttempts: 2 },
        paused: false,
        createdAtMs: 1000,
        nextTickMs: 7_200_000,
        lastTickMs: null,
        lastTaskId: null,
        fired: 0,
        missedTicks: 0,
      }],
    },
    logs: {
      ...env,
      type: "logs",
      re: 18,
      taskId: "t-1",
      state: "running",
      attempt: 2,
      isFinal: false,
      stdout: { offset: 120, text: "progress 50%\n", next: 133 },
      stderr: { offset: 0, text: "", next: 0 },
      error: null,
    },
    userList: {
      ...env,
      type: "userList",
      re: 14,
      users: [{ name: "bob", role: "user", createdAtMs: 5, sessions: 1 }],
    },
    tokenList: {
      ...env,
      type: "tokenList",
      re: 15,
      tokens: [{ id: "abcdef012345", user: "bob", issuedAtMs: 5, expiresAtMs: 10 }],
    },
    nodeStatusReply: {
      ...env,
      type: "nodeStatusReply",
      re: 9,
      node: {
        id: "o1",
        role: "leader",
        term: 2,
        leaderId: "o1",
        commitIndex: 10,
        appliedIndex: 10,
        lastIndex: 11,
        followers: [{ id: "o2", matchIndex: 10, lastContactAgoMs: 40 }],
        droppedDatagrams: { malformed: 0, forged: 1, stale: 0, replayed: 2 },
      },
    },
    loginOk: { ...env, type: "loginOk", re: 1, user: "alice", token: "tok", expiresAtMs: 99 },
    logoutOk: { ...env, type: "logoutOk", re: 2 },
    submitOk: { ...env, type: "submitOk", re: 3, taskId: "t-1", duplicate: false },
    task: { ...env, type: "task", re: 4, task: taskView },
    taskList: {
      ...env,
      type: "taskList",
      re: 5,
      tasks: [{
        id: "t-1",
        owner: "alice",
        state: "queued",
        description: "nap",
        kind: "sleep",
        attempt: 1,
        workerId: null,
        submittedAtMs: 1000,
        finishedAtMs: null,
      }],
    },
    workerList: {
      ...env,
      type: "workerList",
      re: 6,
      workers: [{
        id: "w1",
        incarnation: "i1",
        status: "alive",
        slots: 2,
        running: 1,
        canExec: true,
        execAllow: ["convert"],
        lastHeartbeatAgoMs: 250,
        completed: 4,
      }],
    },
    error: {
      ...env,
      type: "error",
      re: null,
      code: "not_leader",
      message: "Not the leader",
      leaderHint: "o2",
    },
  },
  workerToOrchestrator: {
    register: {
      ...env,
      type: "register",
      worker: { name: "w1", incarnation: "i1", slots: 4, canExec: false },
      running: [{ taskId: "t-1", attempt: 2 }],
    },
    started: { ...env, type: "started", taskId: "t-1", attempt: 1 },
    finished: { ...env, type: "finished", taskId: "t-1", attempt: 1, outcome },
    handBack: { ...env, type: "handBack", taskId: "t-1", attempt: 1, reason: "stopping" },
    drain: { ...env, type: "drain" },
    output: {
      ...env,
      type: "output",
      taskId: "t-1",
      attempt: 1,
      stream: "stdout",
      offset: 0,
      text: "a\n",
    },
  },
  orchestratorToWorker: {
    welcome: { ...env, type: "welcome", nodeId: "o1", clusterId: "c1" },
    keepalive: { ...env, type: "keepalive" },
    registered: { ...env, type: "registered", workerId: "w1", heartbeatIntervalMs: 500 },
    assign: { ...env, type: "assign", taskId: "t-1", attempt: 1, spec: execSpec },
    abort: { ...env, type: "abort", taskId: "t-1", attempt: 1, reason: "cancelled" },
    finishedAck: { ...env, type: "finishedAck", taskId: "t-1", attempt: 1 },
    evicted: { ...env, type: "evicted", reason: "missed heartbeats" },
    error: { ...env, type: "error", re: 9, code: "bad_request", message: "Bad" },
  },
  heartbeat: {
    heartbeat: {
      ...env,
      type: "heartbeat",
      workerId: "w1",
      incarnation: "i1",
      seq: 12,
      running: 1,
      slots: 4,
      sentAtMs: 1000,
      mac: "m".repeat(43),
    },
  },
  announcement: {
    leaderAnnouncement: {
      ...env,
      type: "leaderAnnouncement",
      clusterId: "c1",
      nodeId: "o2",
      term: 4,
      address: "127.0.0.1:7702",
      seq: 3,
      sentAtMs: 1000,
    },
  },
  peer: {
    requestVote: {
      ...env,
      type: "requestVote",
      term: 3,
      lastLogIndex: 9,
      lastLogTerm: 2,
      preVote: true,
    },
    voteResponse: { ...env, type: "voteResponse", term: 3, granted: true, preVote: false },
    appendEntries: {
      ...env,
      type: "appendEntries",
      term: 3,
      prevLogIndex: 9,
      prevLogTerm: 2,
      entries: [
        { index: 10, term: 3, command: { type: "noop", atMs: 5 } },
        {
          index: 11,
          term: 3,
          command: {
            type: "taskSubmitted",
            owner: "alice",
            idempotencyKey: "k1",
            spec: { kind: "sleep", description: "d", durationMs: 10 },
            maxAttempts: 3,
            atMs: 6,
            lamport: 7,
            node: "o1",
          },
        },
      ],
      leaderCommit: 9,
      readCtx: 4,
    },
    appendResponse: {
      ...env,
      type: "appendResponse",
      term: 3,
      success: false,
      matchIndex: 0,
      conflictIndex: 5,
      readCtx: 4,
    },
    installSnapshot: {
      ...env,
      type: "installSnapshot",
      term: 3,
      snapshotIndex: 100,
      snapshotTerm: 2,
      offset: 0,
      data: "e30=",
      done: true,
    },
    snapshotResponse: {
      ...env,
      type: "snapshotResponse",
      term: 3,
      snapshotIndex: 100,
      received: 2,
      done: true,
    },
  },
};

/** The direction called `name`, with its message type widened so one loop can visit them all. */
function directionOf(name: DirectionName): Direction<unknown> {
  return DIRECTIONS[name];
}

function decodeJson(value: unknown, dir: DirectionName = "clientToOrchestrator") {
  return decodeMessage(bytes(JSON.stringify(value)), directionOf(dir));
}

function expectError<T>(result: Decoded<T>): ProtocolError {
  if (result.ok) assert.fail(`expected an error, decoded ${JSON.stringify(result.message)}`);
  return result.error;
}

/** A sample with `patch` applied; a key set to undefined is removed. */
function variant(
  dir: DirectionName,
  type: string,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const message: Record<string, unknown> = { ...SAMPLES[dir][type], ...patch };
  for (const key of Object.keys(patch)) if (patch[key] === undefined) delete message[key];
  return message;
}

function submitWithTask(task: Record<string, unknown>): Record<string, unknown> {
  return variant("clientToOrchestrator", "submit", { task });
}

// ---- valid messages ----

Deno.test("SAMPLES covers every message type of every direction", () => {
  for (const name of Object.keys(DIRECTIONS) as DirectionName[]) {
    assert.deepEqual(
      [...DIRECTIONS[name].types].sort(),
      Object.keys(SAMPLES[name]).sort(),
      `direction ${name}`,
    );
  }
});

Deno.test("decodeMessage() returns every message of every direction as encodeMessage() wrote it", () => {
  for (const name of Object.keys(DIRECTIONS) as DirectionName[]) {
    for (const [type, message] of Object.entries(SAMPLES[name])) {
      const result = decodeMessage(encodeMessage(message), directionOf(name));
      assert.ok(result.ok, `${name}/${type}: ${result.ok ? "" : result.error.message}`);
      assert.deepEqual(result.message, message, `${name}/${type}`);
    }
  }
});

Deno.test("decodeMessage() accepts an exec task, and a submit without optional fields", () => {
  const message = variant("clientToOrchestrator", "submit", {
    task: execSpec,
    maxAttempts: undefined,
  });
  const result = decodeJson(message);
  assert.ok(result.ok);
  assert.deepEqual(result.message, message);
});

Deno.test("decodeMessage() accepts a list request without state or limit", () => {
  const message = variant("clientToOrchestrator", "list", { state: undefined, limit: undefined });
  assert.ok(decodeJson(message).ok);
});

Deno.test("decodeMessage() accepts strings of exactly the limit", () => {
  const message = variant("clientToOrchestrator", "submit", {
    idempotencyKey: "k".repeat(LIMITS.idempotencyKeyChars),
    task: { ...sleepSpec, description: "d".repeat(LIMITS.descriptionChars) },
  });
  assert.ok(decodeJson(message).ok);
});

Deno.test("decodeMessage() accepts a duration of exactly the maximum and of zero", () => {
  for (const durationMs of [0, LIMITS.taskDurationMsMax]) {
    assert.ok(decodeJson(submitWithTask({ ...sleepSpec, durationMs })).ok, `${durationMs}`);
  }
});

Deno.test("decodeMessage() rejects a message of another direction", () => {
  const error = expectError(decodeJson(SAMPLES.workerToOrchestrator.started));
  assert.equal(error.code, "bad_request");
  assert.match(error.message, /unknown message type "started"/);
});

Deno.test("decodeValue() decodes an already parsed value", () => {
  const result = decodeValue(SAMPLES.heartbeat.heartbeat, DIRECTIONS.heartbeat);
  assert.ok(result.ok);
  assert.equal(result.message.type, "heartbeat");
});

// ---- bytes that are not a JSON object ----

Deno.test("decodeMessage() reports text that is not JSON as malformed_frame", () => {
  const error = expectError(decodeMessage(bytes("not json"), DIRECTIONS.clientToOrchestrator));
  assert.equal(error.code, "malformed_frame");
  assert.match(error.message, /^Cannot decode client request: not valid UTF-8 JSON/);
  assert.equal(error.requestId, null);
});

Deno.test("decodeMessage() reports an empty payload as malformed_frame", () => {
  const error = expectError(decodeMessage(new Uint8Array(0), DIRECTIONS.workerToOrchestrator));
  assert.equal(error.code, "malformed_frame");
  assert.match(error.message, /worker message/);
});

Deno.test("decodeMessage() reports invalid UTF-8 as malformed_frame", () => {
  // A JSON object whose string holds a lone continuation byte (0x80).
  const payload = new Uint8Array([...bytes('{"v":1,"type":"'), 0x80, ...bytes('"}')]);
  const error = expectError(decodeMessage(payload, DIRECTIONS.clientToOrchestrator));
  assert.equal(error.code, "malformed_frame");
  assert.match(error.message, /not valid UTF-8 JSON/);
});

Deno.test("decodeMessage() reports truncated JSON as malformed_frame", () => {
  const whole = encodeMessage(SAMPLES.clientToOrchestrator.login);
  const error = expectError(decodeMessage(whole.subarray(0, 20), DIRECTIONS.clientToOrchestrator));
  assert.equal(error.code, "malformed_frame");
});

Deno.test("decodeMessage() reports JSON that is not an object as malformed_frame, naming what it got", () => {
  const cases: Array<[string, string]> = [
    ["[1,2]", "an array"],
    ['"login"', "string"],
    ["null", "null"],
    ["42", "number"],
    ["true", "boolean"],
  ];
  for (const [json, seen] of cases) {
    const error = expectError(decodeMessage(bytes(json), DIRECTIONS.clientToOrchestrator));
    assert.equal(error.code, "malformed_frame", json);
    assert.equal(
      error.message,
      `Cannot decode client request: expected a JSON object, got ${seen}`,
    );
  }
});

Deno.test("decodeMessage() returns an error, not a throw, for 100,000 nested arrays", () => {
  const deep = "[".repeat(100_000) + "]".repeat(100_000);
  const error = expectError(decodeMessage(bytes(deep), DIRECTIONS.clientToOrchestrator));
  assert.equal(error.code, "malformed_frame");
});

Deno.test("decodeMessage() returns an error, not a throw, for deep nesting inside a field", () => {
  const deepArray = "[".repeat(100_000) + "]".repeat(100_000);
  const deepObject = '{"a":'.repeat(100_000) + "1" + "}".repeat(100_000);
  const bodies = [
    `{"v":1,"lamport":0,"type":"login","id":3,"password":"p","user":${deepArray}}`,
    `{"v":1,"lamport":0,"type":"login","id":3,"password":"p","user":${deepObject}}`,
    `{"v":1,"lamport":0,"type":"login","id":3,"password":"p","user":"u","extra":${deepArray}}`,
    `{"v":1,"lamport":0,"type":"submit","id":3,"token":"t","idempotencyKey":"k",` +
    `"task":{"kind":"sleep","durationMs":1,"description":${deepObject}}}`,
    deepObject,
  ];
  for (const body of bodies) {
    const error = expectError(decodeMessage(bytes(body), DIRECTIONS.clientToOrchestrator));
    assert.equal(error.code, "bad_request", body.slice(0, 80));
    assert.ok(error.message.length < 500, "the value seen is truncated in the message");
  }
});

// ---- envelope ----

Deno.test("decodeMessage() reports a missing protocol version as bad_request", () => {
  const error = expectError(decodeJson(variant("clientToOrchestrator", "login", { v: undefined })));
  assert.equal(error.code, "bad_request");
  assert.equal(error.message, 'Invalid client request: missing field "v" (protocol version 1)');
});

Deno.test("decodeMessage() reports another protocol version as unsupported_version", () => {
  for (const v of [2, 0, "1", null]) {
    const error = expectError(decodeJson(variant("clientToOrchestrator", "login", { v })));
    assert.equal(error.code, "unsupported_version", `v=${JSON.stringify(v)}`);
    assert.equal(
      error.message,
      `Unsupported protocol version ${JSON.stringify(v)}: this node speaks version 1`,
    );
  }
});

Deno.test("decodeMessage() checks the version before the type", () => {
  const error = expectError(decodeJson({ v: 2, type: "from the future" }));
  assert.equal(error.code, "unsupported_version");
});

Deno.test("decodeMessage() reports an unknown type and lists the expected ones", () => {
  const error = expectError(decodeJson(variant("clientToOrchestrator", "login", { type: "nope" })));
  assert.equal(error.code, "bad_request");
  assert.equal(
    error.message,
    'Invalid client request: unknown message type "nope" (expected one of: ' +
      "login, logout, submit, status, list, workers, cancel, wait, nodeStatus, submitBatch, " +
      "userAdd, userPasswd, userRemove, userList, tokenList, tokenRevoke, purge, scheduleAdd, " +
      "scheduleList, scheduleRemove, schedulePause, logs)",
  );
});

Deno.test("decodeMessage() lists each direction's own types for an unknown type", () => {
  const error = expectError(decodeJson({ v: 1, lamport: 0, type: "x" }, "workerToOrchestrator"));
  assert.match(
    error.message,
    /worker message.*register, started, finished, handBack, drain, output\)$/,
  );
});

Deno.test("decodeMessage() reports a missing or non-string type as bad_request", () => {
  const missing = expectError(
    decodeJson(variant("clientToOrchestrator", "login", { type: undefined })),
  );
  assert.equal(missing.code, "bad_request");
  assert.match(missing.message, /missing field "type"/);
  for (const type of [5, null]) {
    const error = expectError(decodeJson(variant("clientToOrchestrator", "login", { type })));
    assert.equal(error.code, "bad_request", `type=${type}`);
    assert.match(error.message, /unknown message type of JSON type .*\(expected one of: login,/);
  }
});

Deno.test("decodeMessage() truncates a very long unknown type in the message", () => {
  const error = expectError(decodeJson({ v: 1, type: "x".repeat(10_000) }));
  assert.ok(error.message.length < 400, `message of ${error.message.length} chars`);
  assert.match(error.message, /"x{60}…"/);
});

Deno.test("decodeMessage() reports a missing lamport field", () => {
  const error = expectError(
    decodeJson(variant("clientToOrchestrator", "login", { lamport: undefined })),
  );
  assert.equal(error.code, "bad_request");
  assert.match(error.message, /^Invalid login client request: field "lamport": .*\(missing\)$/);
});

// ---- fields ----

Deno.test("decodeMessage() names a missing field", () => {
  const error = expectError(
    decodeJson(variant("clientToOrchestrator", "login", { password: undefined })),
  );
  assert.equal(error.code, "bad_request");
  assert.match(error.message, /^Invalid login client request: field "password": .*\(missing\)$/);
});

Deno.test("decodeMessage() names a missing nested field by its path", () => {
  const error = expectError(decodeJson(submitWithTask({ kind: "sleep", description: "d" })));
  assert.match(error.message, /field "task\.durationMs": .*\(missing\)$/);
});

Deno.test("decodeMessage() names an ill-typed field by its path and shows the value seen", () => {
  const error = expectError(decodeJson(submitWithTask({ ...sleepSpec, durationMs: "5" })));
  assert.equal(error.code, "bad_request");
  assert.equal(
    error.message,
    'Invalid submit client request: field "task.durationMs": expected number, received string ' +
      '(got "5")',
  );
});

Deno.test("decodeMessage() names an ill-typed top-level field", () => {
  const error = expectError(
    decodeJson(variant("workerToOrchestrator", "started", { taskId: 17 }), "workerToOrchestrator"),
  );
  assert.match(error.message, /^Invalid started worker message: field "taskId": .*\(got 17\)$/);
});

Deno.test("decodeMessage() names an array element by its index", () => {
  const error = expectError(
    decodeJson(submitWithTask({ ...execSpec, argv: ["ls", ""] })),
  );
  assert.match(error.message, /field "task\.argv\.1": .*\(got ""\)$/);
});

Deno.test("decodeMessage() names an ill-typed field in a nested array of objects", () => {
  const message = variant("workerToOrchestrator", "register", {
    running: [{ taskId: "t-1", attempt: 1 }, { taskId: "t-2", attempt: "2" }],
  });
  const error = expectError(decodeJson(message, "workerToOrchestrator"));
  assert.match(error.message, /field "running\.1\.attempt": .*\(got "2"\)$/);
});

Deno.test("decodeMessage() reports an unknown task kind at task.kind", () => {
  const error = expectError(decodeJson(submitWithTask({ ...sleepSpec, kind: "shell" })));
  assert.match(error.message, /field "task\.kind": .*sleep.*exec.*\(got "shell"\)$/);
});

Deno.test("decodeMessage() rejects exec fields on a sleep task", () => {
  // A sleep task with exec's fields: strict schemas refuse the extra ones.
  const error = expectError(decodeJson(submitWithTask({ ...sleepSpec, argv: ["rm", "-rf"] })));
  assert.match(error.message, /unexpected field "argv" in "task"$/);
});

Deno.test("decodeMessage() rejects an unexpected top-level field", () => {
  const error = expectError(decodeJson(variant("clientToOrchestrator", "login", { admin: true })));
  assert.equal(error.code, "bad_request");
  assert.equal(error.message, 'Invalid login client request: unexpected field "admin"');
});

Deno.test("decodeMessage() rejects several unexpected fields, naming them", () => {
  const error = expectError(decodeJson(variant("clientToOrchestrator", "login", { a: 1, b: 2 })));
  assert.equal(error.message, 'Invalid login client request: unexpected fields "a", "b"');
});

Deno.test("decodeMessage() rejects an unexpected nested field, naming where", () => {
  const error = expectError(decodeJson(submitWithTask({ ...sleepSpec, priority: 9 })));
  assert.equal(
    error.message,
    'Invalid submit client request: unexpected field "priority" in "task"',
  );
});

Deno.test("decodeMessage() rejects a __proto__ field instead of merging it", () => {
  const body = '{"v":1,"lamport":0,"type":"started","taskId":"t-1","attempt":1,' +
    '"__proto__":{"isAdmin":true}}';
  const error = expectError(decodeMessage(bytes(body), DIRECTIONS.workerToOrchestrator));
  assert.match(error.message, /unexpected field "__proto__"/);
});

Deno.test("decodeMessage() rejects out-of-range numbers", () => {
  const cases: Array<[DirectionName, Record<string, unknown>, RegExp]> = [
    [
      "clientToOrchestrator",
      submitWithTask({ ...sleepSpec, durationMs: -5 }),
      /task\.durationMs.*-5/,
    ],
    [
      "clientToOrchestrator",
      submitWithTask({ ...sleepSpec, durationMs: LIMITS.taskDurationMsMax + 1 }),
      /task\.durationMs/,
    ],
    ["clientToOrchestrator", submitWithTask({ ...execSpec, timeoutMs: 0 }), /task\.timeoutMs/],
    [
      "clientToOrchestrator",
      variant("clientToOrchestrator", "submit", { maxAttempts: LIMITS.maxAttemptsMax + 1 }),
      /"maxAttempts"/,
    ],
    [
      "clientToOrchestrator",
      variant("clientToOrchestrator", "list", { limit: LIMITS.listLimitMax + 1 }),
      /"limit"/,
    ],
    ["clientToOrchestrator", variant("clientToOrchestrator", "list", { limit: 0 }), /"limit"/],
    [
      "clientToOrchestrator",
      variant("clientToOrchestrator", "wait", { timeoutMs: LIMITS.waitTimeoutMsMax + 1 }),
      /"timeoutMs"/,
    ],
    [
      "workerToOrchestrator",
      variant("workerToOrchestrator", "register", {
        worker: { name: "w1", incarnation: "i1", slots: 0, canExec: false },
      }),
      /worker\.slots.*\(got 0\)/,
    ],
    [
      "workerToOrchestrator",
      variant("workerToOrchestrator", "register", {
        worker: { name: "w1", incarnation: "i1", slots: LIMITS.workerSlotsMax + 1, canExec: false },
      }),
      /worker\.slots/,
    ],
    [
      "workerToOrchestrator",
      variant("workerToOrchestrator", "started", { attempt: 1.5 }),
      /"attempt".*\(got 1\.5\)/,
    ],
    [
      "workerToOrchestrator",
      variant("workerToOrchestrator", "started", { attempt: 0 }),
      /"attempt".*\(got 0\)/,
    ],
    [
      "workerToOrchestrator",
      variant("workerToOrchestrator", "started", { lamport: -1 }),
      /"lamport".*\(got -1\)/,
    ],
    [
      "workerToOrchestrator",
      variant("workerToOrchestrator", "started", { lamport: 2 ** 53 }),
      /"lamport"/,
    ],
    ["clientToOrchestrator", variant("clientToOrchestrator", "login", { id: -1 }), /"id"/],
    ["clientToOrchestrator", variant("clientToOrchestrator", "login", { id: 0.5 }), /"id"/],
  ];
  for (const [dir, message, pattern] of cases) {
    const error = expectError(decodeJson(message, dir));
    assert.equal(error.code, "bad_request", JSON.stringify(message));
    assert.match(error.message, pattern);
  }
});

Deno.test("decodeMessage() rejects strings longer than their limit", () => {
  const cases: Array<[DirectionName, Record<string, unknown>, string]> = [
    [
      "clientToOrchestrator",
      variant("clientToOrchestrator", "login", { user: "u".repeat(LIMITS.userNameChars + 1) }),
      "user",
    ],
    [
      "clientToOrchestrator",
      variant("clientToOrchestrator", "login", {
        password: "p".repeat(LIMITS.passwordChars + 1),
      }),
      "password",
    ],
    [
      "clientToOrchestrator",
      variant("clientToOrchestrator", "submit", {
        idempotencyKey: "k".repeat(LIMITS.idempotencyKeyChars + 1),
      }),
      "idempotencyKey",
    ],
    [
      "clientToOrchestrator",
      submitWithTask({ ...sleepSpec, description: "d".repeat(LIMITS.descriptionChars + 1) }),
      "task.description",
    ],
    [
      "clientToOrchestrator",
      submitWithTask({ ...execSpec, argv: ["echo", "a".repeat(LIMITS.argChars + 1)] }),
      "task.argv.1",
    ],
    [
      "clientToOrchestrator",
      submitWithTask({ ...execSpec, argv: new Array(LIMITS.argvItems + 1).fill("x") }),
      "task.argv",
    ],
    [
      "clientToOrchestrator",
      variant("clientToOrchestrator", "status", { taskId: "t".repeat(LIMITS.taskIdChars + 1) }),
      "taskId",
    ],
    [
      "workerToOrchestrator",
      variant("workerToOrchestrator", "register", {
        worker: {
          name: "w".repeat(LIMITS.workerNameChars + 1),
          incarnation: "i1",
          slots: 1,
          canExec: false,
        },
      }),
      "worker.name",
    ],
  ];
  for (const [dir, message, path] of cases) {
    const error = expectError(decodeJson(message, dir));
    assert.equal(error.code, "bad_request", path);
    assert.ok(error.message.includes(`field "${path}": Too big`), error.message);
    assert.ok(error.message.length < 400, `message for ${path} is not truncated`);
  }
});

Deno.test("decodeMessage() rejects an empty string where one is required", () => {
  const error = expectError(decodeJson(variant("clientToOrchestrator", "login", { user: "" })));
  assert.match(error.message, /field "user": .*\(got ""\)$/);
});

Deno.test("decodeMessage() rejects an unknown error code in an error reply", () => {
  const message = variant("orchestratorToClient", "error", { code: "teapot" });
  const error = expectError(decodeJson(message, "orchestratorToClient"));
  assert.match(error.message, /field "code"/);
});

Deno.test("decodeMessage() rejects a task view in an unknown state", () => {
  const message = variant("orchestratorToClient", "task", { task: { ...taskView, state: "lost" } });
  const error = expectError(decodeJson(message, "orchestratorToClient"));
  assert.match(error.message, /field "task\.state"/);
});

// ---- request id ----

Deno.test("decodeMessage() recovers the request id into the error when it is readable", () => {
  const cases = [
    variant("clientToOrchestrator", "login", { v: undefined, id: 41 }),
    variant("clientToOrchestrator", "login", { v: 9, id: 41 }),
    variant("clientToOrchestrator", "login", { type: "nope", id: 41 }),
    variant("clientToOrchestrator", "login", { password: 5, id: 41 }),
    variant("clientToOrchestrator", "login", { extra: 5, id: 41 }),
  ];
  for (const message of cases) {
    assert.equal(expectError(decodeJson(message)).requestId, 41, JSON.stringify(message));
  }
});

Deno.test("decodeMessage() leaves the request id null when it is not a valid id", () => {
  for (const id of [undefined, "41", -1, 1.5, 2 ** 53, null]) {
    const message = variant("clientToOrchestrator", "login", { password: 5, id });
    assert.equal(expectError(decodeJson(message)).requestId, null, `id=${id}`);
  }
});

Deno.test("decodeMessage() has no request id for bytes that are not a JSON object", () => {
  assert.equal(expectError(decodeMessage(bytes('{"id":4'), DIRECTIONS.hello)).requestId, null);
  assert.equal(expectError(decodeJson([{ id: 4 }])).requestId, null);
});

// ---- messages.ts helpers ----

Deno.test("isFinalState() is true exactly for succeeded, failed, cancelled and expired", () => {
  const finals = TASK_STATES.filter(isFinalState);
  assert.deepEqual(finals, ["succeeded", "failed", "cancelled", "expired"]);
});

Deno.test("decodeMessage() refuses a login name with control characters or spaces (no log forging)", () => {
  for (const user of ['x"\nINFO forged', "a\x1b[31m", "two words", "é"]) {
    const error = expectError(decodeJson(variant("clientToOrchestrator", "login", { user })));
    assert.equal(error.code, "bad_request");
    assert.match(error.message, /user/);
  }
  assert.ok(decodeJson(variant("clientToOrchestrator", "login", { user: "carol.o-k_1@x" })).ok);
});

// Proves that restApi() turns each route into the client request the CLI would send, its reply
// into JSON with the right status, and that a "not leader" reply is forwarded when it can be.
import assert from "node:assert/strict";
import { PROTOCOL_VERSION } from "../../shared/limits.ts";
import type { OrchestratorToClient } from "../../shared/protocol/messages.ts";
import type { BridgedRequest } from "./client_bridge.ts";
import { type ApiPorts, restApi } from "./rest_api.ts";

const ENV = { remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.9", port: 1 } };
const STAMP = { v: PROTOCOL_VERSION, lamport: 0, re: 1 } as const;

/** An API over a fake node that records requests and answers with `reply`. */
function fakeApi(
  reply: (fields: BridgedRequest) => OrchestratorToClient,
  forward: ApiPorts["forward"] = () => Promise.resolve(null),
) {
  const seen: Array<{ fields: BridgedRequest; source: string }> = [];
  let keys = 0;
  const app = restApi({
    request: (fields, source) => {
      seen.push({ fields, source });
      return Promise.resolve(reply(fields));
    },
    forward,
    maxBodyBytes: 1000,
    newKey: () => `key-${++keys}`,
    cluster: {
      selfId: "o1",
      orchestrators: [],
      askPeer: () => Promise.reject(new Error("unused")),
    },
  });
  const call = async (path: string, init: RequestInit = {}) => {
    const response = await app.fetch(new Request(`http://x/api/v1${path}`, init), ENV);
    return { status: response.status, body: await response.json() };
  };
  return { seen, call };
}

const AUTH = { authorization: "Bearer tok" };
const JSON_TYPE = { "content-type": "application/json" };

Deno.test("POST /login sends a login with the client's address and returns the token", async () => {
  const api = fakeApi(() => ({
    ...STAMP,
    type: "loginOk",
    user: "ana",
    token: "t0k",
    expiresAtMs: 9,
  }));
  const answer = await api.call("/login", {
    method: "POST",
    headers: JSON_TYPE,
    body: JSON.stringify({ user: "ana", password: "pw" }),
  });
  assert.equal(answer.status, 200);
  assert.deepEqual(answer.body, { user: "ana", token: "t0k", expiresAtMs: 9 });
  assert.deepEqual(api.seen, [{
    fields: { type: "login", user: "ana", password: "pw" },
    source: "127.0.0.9",
  }]);
});

Deno.test("POST /tasks uses the Idempotency-Key header, or a fresh key, and answers 201", async () => {
  const api = fakeApi(() => ({ ...STAMP, type: "submitOk", taskId: "t-1", duplicate: false }));
  const task = { task: { kind: "sleep", description: "", durationMs: 1 } };
  const init = { method: "POST", body: JSON.stringify(task) };
  const keyed = await api.call("/tasks", {
    ...init,
    headers: { ...AUTH, ...JSON_TYPE, "idempotency-key": "k" },
  });
  assert.equal(keyed.status, 201);
  await api.call("/tasks", { ...init, headers: { ...AUTH, ...JSON_TYPE } });
  assert.deepEqual(api.seen.map((s) => s.fields.idempotencyKey), ["k", "key-1"]);
  assert.equal(api.seen[0].fields.type, "submit");
  assert.equal(api.seen[0].fields.token, "tok");
});

Deno.test("POST /tasks with {tasks} sends a batch whose keys derive from the header", async () => {
  const api = fakeApi(() => ({ ...STAMP, type: "submitBatchOk", results: [] }));
  const spec = { kind: "sleep", description: "", durationMs: 1 };
  await api.call("/tasks", {
    method: "POST",
    headers: { ...AUTH, ...JSON_TYPE, "idempotency-key": "b" },
    body: JSON.stringify({ tasks: [{ task: spec }, { task: spec, idempotencyKey: "own" }] }),
  });
  const fields = api.seen[0].fields as { type: string; tasks: Array<{ idempotencyKey: string }> };
  assert.equal(fields.type, "submitBatch");
  assert.deepEqual(fields.tasks.map((t) => t.idempotencyKey), ["b#0", "own"]);
});

Deno.test("GET /tasks turns query parameters into a paged list request", async () => {
  const api = fakeApi(() => ({ ...STAMP, type: "taskList", tasks: [], total: 0, next: null }));
  const answer = await api.call("/tasks?state=queued,running&limit=5&after=t-9&all=true", {
    headers: AUTH,
  });
  assert.deepEqual(answer.body, { tasks: [], total: 0, next: null });
  assert.deepEqual(api.seen[0].fields, {
    type: "list",
    token: "tok",
    paged: true,
    states: ["queued", "running"],
    after: "t-9",
    all: true,
    limit: 5,
  });
});

Deno.test("an error reply becomes its status and a JSON error", async () => {
  const api = fakeApi(() => ({ ...STAMP, type: "error", code: "not_found", message: "No t-5" }));
  const answer = await api.call("/tasks/t-5", { headers: AUTH });
  assert.equal(answer.status, 404);
  assert.deepEqual(answer.body, { error: { code: "not_found", message: "No t-5" } });
});

Deno.test("requests refused before the node: no token, bad JSON, wrong type, too big", async () => {
  const api = fakeApi(() => {
    throw new Error("the node must not be asked");
  });
  const post = (body: string, headers: Record<string, string>) =>
    api.call("/tasks", { method: "POST", body, headers: { ...AUTH, ...headers } });
  assert.equal((await api.call("/tasks")).status, 401);
  assert.equal((await api.call("/tasks", { headers: { authorization: "Basic x" } })).status, 401);
  assert.equal((await post("{", JSON_TYPE)).status, 400);
  assert.equal((await post('"x"', JSON_TYPE)).status, 400);
  assert.equal((await post("{}", { "content-type": "text/plain" })).status, 415);
  assert.equal((await post(JSON.stringify({ a: "x".repeat(2000) }), JSON_TYPE)).status, 413);
  assert.equal((await post(JSON.stringify({ v: 1 }), JSON_TYPE)).status, 400);
  assert.equal((await api.call("/nowhere", { headers: AUTH })).status, 404);
  assert.equal(api.seen.length, 0);
});

Deno.test("a not-leader reply is forwarded, and answered as such when it cannot be", async () => {
  const notLeader = (): OrchestratorToClient => ({
    ...STAMP,
    type: "error",
    code: "not_leader",
    message: "o2 leads",
    leaderHint: "127.0.0.1:7002",
  });
  const hints: Array<string | undefined> = [];
  const forwarded = fakeApi(notLeader, (_request, _body, hint) => {
    hints.push(hint);
    return Promise.resolve(Response.json({ taskId: "t-1" }, { status: 201 }));
  });
  const answer = await forwarded.call("/tasks/t-1/cancel", { method: "POST", headers: AUTH });
  assert.equal(answer.status, 201);
  assert.deepEqual(hints, ["127.0.0.1:7002"]);

  const alone = fakeApi(notLeader);
  const refused = await alone.call("/tasks/t-1/cancel", { method: "POST", headers: AUTH });
  assert.equal(refused.status, 503);
  assert.equal(refused.body.error.leaderHint, "127.0.0.1:7002");
});

Deno.test("GET /tasks/{id}/result is a conflict until the task is final", async () => {
  let state = "running";
  const api = fakeApi(() => ({
    ...STAMP,
    type: "task",
    // Only the fields the route reads matter here.
    task: { id: "t-1", state, result: state === "running" ? null : { ok: true } },
  } as unknown as OrchestratorToClient));
  assert.equal((await api.call("/tasks/t-1/result", { headers: AUTH })).status, 409);
  state = "succeeded";
  const done = await api.call("/tasks/t-1/result", { headers: AUTH });
  assert.deepEqual(done.body, { taskId: "t-1", state: "succeeded", result: { ok: true } });
});

Deno.test("POST /tasks/{id}/retry submits the ended task again under retry-of-ID", async () => {
  const spec = { kind: "sleep", description: "nap", durationMs: 5 };
  let state = "failed";
  const api = fakeApi((fields) =>
    fields.type === "status"
      ? {
        ...STAMP,
        type: "task",
        task: { id: "t-4", state, spec, maxAttempts: 2, priority: 3 } as never,
      }
      : { ...STAMP, type: "submitOk", taskId: "t-9", duplicate: api.seen.length > 2 }
  );
  const retried = await api.call("/tasks/t-4/retry", { method: "POST", headers: AUTH });
  assert.equal(retried.status, 201, JSON.stringify(retried.body));
  assert.deepEqual(retried.body, { taskId: "t-9", duplicate: false, retryOf: "t-4" });
  assert.deepEqual(api.seen[1].fields, {
    type: "submit",
    token: "tok",
    idempotencyKey: "retry-of-t-4",
    task: spec,
    maxAttempts: 2,
    priority: 3,
  });
  const again = await api.call("/tasks/t-4/retry", { method: "POST", headers: AUTH });
  assert.equal(again.status, 200, "the same retry again is the same new task");
  assert.equal(again.body.duplicate, true);

  state = "running";
  const refused = await api.call("/tasks/t-4/retry", { method: "POST", headers: AUTH });
  assert.equal(refused.status, 409);
  assert.equal(refused.body.error.code, "conflict");
  assert.match(refused.body.error.message, /only failed, cancelled or expired tasks/);
  assert.equal(api.seen.length, 5, "nothing is submitted for a task that has not ended");
});

Deno.test("POST /tasks/{id}/retry answers another user's task as the status does (404)", async () => {
  const api = fakeApi(() => ({
    ...STAMP,
    type: "error",
    code: "not_found",
    message: "Task t-4 does not exist",
  }));
  const answer = await api.call("/tasks/t-4/retry", { method: "POST", headers: AUTH });
  assert.equal(answer.status, 404);
  assert.equal(answer.body.error.code, "not_found");
  assert.equal(api.seen.length, 1);
});

// Proves that the HTTP port serves the REST API (login, submit, status, result, logs, list, cancel,
// workers, cluster) with the TCP protocol's roles and errors, forwards a follower's requests to
// the leader, and serves Prometheus metrics that parse.
import assert from "node:assert/strict";
import { ErrorBodySchema, findOperation } from "../../orchestrator/http/openapi_document.ts";
import { parseMetrics } from "../../orchestrator/http/prometheus_text.ts";
import { type ClusterFixture, withCluster } from "./cluster_fixture.ts";
import { pollUntil } from "./poll_until.ts";
import { makeTestCert } from "./test_cert.ts";

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

/** Every API answer of the current test, checked against the OpenAPI document at its end. */
const answers: Array<{ method: string; path: string; answer: Answer }> = [];

/** Calls the API of `base` and reads the JSON answer. */
async function call(
  base: string,
  path: string,
  init: {
    method?: string;
    token?: string;
    json?: unknown;
    headers?: Record<string, string>;
    client?: Deno.HttpClient;
  } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  if (init.json !== undefined) headers["content-type"] ??= "application/json";
  const response = await fetch(`${base}/api/v1${path}`, {
    method: init.method ?? (init.json === undefined ? "GET" : "POST"),
    headers,
    body: init.json === undefined
      ? undefined
      : typeof init.json === "string"
      ? init.json
      : JSON.stringify(init.json),
    ...(init.client === undefined ? {} : { client: init.client }),
  });
  const answer = {
    status: response.status,
    body: await response.json(),
    headers: response.headers,
  };
  answers.push({ method: init.method ?? (init.json === undefined ? "GET" : "POST"), path, answer });
  return answer;
}

type SchemaObject = { required?: string[]; anyOf?: SchemaObject[]; oneOf?: SchemaObject[] };

/** Whether `body` has the required fields of `schema` (of one branch, for a union). */
function hasRequired(schema: SchemaObject, body: Record<string, unknown>): boolean {
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches !== undefined) return branches.some((branch) => hasRequired(branch, body));
  return (schema.required ?? []).every((field) => field in body);
}

/**
 * Checks every answer of the test against the served OpenAPI document (its status is listed for
 * the operation; its body has the document's required fields) and against the zod schema the
 * document was generated from (every field).
 */
async function assertAnswersConform(base: string, client?: Deno.HttpClient): Promise<void> {
  const response = await fetch(`${base}/api/v1/openapi.json`, client ? { client } : {});
  const doc = await response.json();
  assert.equal(doc.openapi, "3.1.0");
  const recorded = answers.splice(0);
  assert.ok(recorded.length > 0, "no answers recorded to check");
  for (const { method, path, answer } of recorded) {
    const what = `${method} ${path} -> ${answer.status} ${JSON.stringify(answer.body)}`;
    assert.equal(answer.headers.get("x-mutirao-cluster"), "e2e", `the cluster is named: ${what}`);
    const route = path.split("?")[0];
    const op = findOperation(method, route);
    if (op === undefined) {
      assert.equal(answer.status, 404, what);
      assert.ok(ErrorBodySchema.safeParse(answer.body).success, what);
      continue;
    }
    const documented = doc.paths[op.path][op.method].responses[String(answer.status)];
    assert.ok(documented !== undefined, `status not in the document: ${what}`);
    let schema = documented.content["application/json"].schema;
    if (schema.$ref !== undefined) schema = doc.components.schemas.Error;
    assert.ok(hasRequired(schema, answer.body), `required fields missing: ${what}`);
    const zod = op.ok[answer.status] ?? ErrorBodySchema;
    const parsed = zod.safeParse(answer.body);
    assert.ok(parsed.success, `${what}: ${parsed.error?.message}`);
  }
}

async function login(
  base: string,
  user: string,
  password: string,
  client?: Deno.HttpClient,
): Promise<string> {
  const answer = await pollUntil("the cluster serves logins over HTTP", async () => {
    const a = await call(base, "/login", { json: { user, password }, client });
    return a.status === 503 ? undefined : a;
  }, { deadlineMs: 30_000, intervalMs: 100 });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  assert.equal(answer.body.user, user);
  return answer.body.token as string;
}

function errorCode(answer: Answer): unknown {
  return (answer.body.error as { code?: string } | undefined)?.code;
}

const SLEEP = (durationMs: number) => ({
  task: { kind: "sleep", description: "http", durationMs },
});

Deno.test("the REST API logs in, submits, reads, lists and cancels tasks", async () => {
  await withCluster({ http: true }, async (cluster) => {
    await cluster.startOrchestrator();
    await cluster.startWorker({ slots: 2 });
    const base = cluster.httpUrl();
    const token = await login(base, "user2", "pass2");

    const submitted = await call(base, "/tasks", {
      token,
      json: SLEEP(10),
      headers: { "idempotency-key": "k-1" },
    });
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    assert.deepEqual(submitted.body, { taskId: "t-1", duplicate: false });
    const again = await call(base, "/tasks", {
      token,
      json: SLEEP(10),
      headers: { "idempotency-key": "k-1" },
    });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, { taskId: "t-1", duplicate: true });

    const done = await pollUntil("t-1 succeeded", async () => {
      const a = await call(base, "/tasks/t-1/result", { token });
      return a.status === 200 ? a : undefined;
    });
    assert.equal(done.body.state, "succeeded");
    assert.equal(done.body.taskId, "t-1");
    const status = await call(base, "/tasks/t-1", { token });
    assert.equal(status.status, 200);
    assert.equal((status.body.task as { state: string }).state, "succeeded");
    const logs = await call(base, "/tasks/t-1/logs", { token });
    assert.equal(logs.status, 200);
    assert.equal(logs.body.isFinal, true);

    const batch = await call(base, "/tasks", {
      token,
      json: { tasks: [SLEEP(60_000), SLEEP(60_000)] },
      headers: { "idempotency-key": "b-1" },
    });
    assert.equal(batch.status, 200, JSON.stringify(batch.body));
    assert.deepEqual(
      (batch.body.results as Array<{ taskId: string }>).map((r) => r.taskId),
      ["t-2", "t-3"],
    );
    const unfinished = await call(base, "/tasks/t-3/result", { token });
    assert.equal(unfinished.status, 409);
    assert.equal(errorCode(unfinished), "conflict");

    const cancelled = await call(base, "/tasks/t-3/cancel", { method: "POST", token });
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    // Cancelling is idempotent (a retry finds it done); a task that succeeded cannot be cancelled.
    const again3 = await call(base, "/tasks/t-3/cancel", { method: "POST", token });
    assert.equal(again3.status, 200);
    const finished = await call(base, "/tasks/t-1/cancel", { method: "POST", token });
    assert.equal(finished.status, 409);
    assert.equal(errorCode(finished), "conflict");

    const page = await call(base, "/tasks?limit=2", { token });
    assert.equal(page.status, 200);
    assert.deepEqual((page.body.tasks as Array<{ id: string }>).map((t) => t.id), ["t-3", "t-2"]);
    assert.equal(page.body.total, 3);
    assert.equal(page.body.next, "t-2");
    const next = await call(base, "/tasks?limit=2&after=t-2", { token });
    assert.deepEqual((next.body.tasks as Array<{ id: string }>).map((t) => t.id), ["t-1"]);
    assert.equal(next.body.next, null);
    const byState = await call(base, "/tasks?state=cancelled", { token });
    assert.deepEqual((byState.body.tasks as Array<{ id: string }>).map((t) => t.id), ["t-3"]);

    // Retry, as `mutirao retry`: the cancelled t-3 again as a new task, once however often asked.
    const retried = await call(base, "/tasks/t-3/retry", { method: "POST", token });
    assert.equal(retried.status, 201, JSON.stringify(retried.body));
    assert.deepEqual(retried.body, { taskId: "t-4", duplicate: false, retryOf: "t-3" });
    const retriedAgain = await call(base, "/tasks/t-3/retry", { method: "POST", token });
    assert.equal(retriedAgain.status, 200);
    assert.deepEqual(retriedAgain.body, { taskId: "t-4", duplicate: true, retryOf: "t-3" });
    const copy = await call(base, "/tasks/t-4", { token });
    assert.deepEqual((copy.body.task as { spec: unknown }).spec, SLEEP(60_000).task);
    const succeededRetry = await call(base, "/tasks/t-1/retry", { method: "POST", token });
    assert.equal(succeededRetry.status, 409);
    assert.match(
      (succeededRetry.body.error as { message: string }).message,
      /only failed, cancelled or expired tasks can be retried/,
    );

    assert.equal((await call(base, "/cluster", { token })).status, 403);
    const admin = await login(base, "user1", "pass1");
    const cluster1 = await call(base, "/cluster", { token: admin });
    assert.equal(cluster1.status, 200);
    assert.equal((cluster1.body.node as { role: string }).role, "leader");

    const loggedOut = await call(base, "/logout", { method: "POST", token });
    assert.equal(loggedOut.status, 200);
    assert.equal((await call(base, "/tasks", { token })).status, 401);
    await assertAnswersConform(base);
  });
});

Deno.test("the REST API answers bad input with clear JSON errors", async () => {
  await withCluster({ http: true, maxFrameBytes: 8192 }, async (cluster) => {
    await cluster.startOrchestrator();
    const base = cluster.httpUrl();
    const admin = await login(base, "user1", "pass1");
    const user = await login(base, "user2", "pass2");
    const own = await call(base, "/tasks", { token: admin, json: SLEEP(60_000) });
    assert.equal(own.status, 201);

    const cases: Array<[string, Answer, number, string]> = [
      [
        "wrong password",
        await call(base, "/login", { json: { user: "user2", password: "x" } }),
        401,
        "bad_credentials",
      ],
      [
        "malformed JSON",
        await call(base, "/tasks", { token: user, json: "{nope" }),
        400,
        "bad_request",
      ],
      [
        "a JSON array body",
        await call(base, "/tasks", { token: user, json: "[1]" }),
        400,
        "bad_request",
      ],
      [
        "wrong content type",
        await call(base, "/tasks", {
          token: user,
          json: "x",
          headers: { "content-type": "text/plain" },
        }),
        415,
        "bad_request",
      ],
      [
        "oversized body",
        await call(base, "/tasks", { token: user, json: { pad: "x".repeat(20_000) } }),
        413,
        "frame_too_large",
      ],
      [
        "invalid task",
        await call(base, "/tasks", { token: user, json: { task: { kind: "sleep" } } }),
        400,
        "bad_request",
      ],
      [
        "reserved field",
        await call(base, "/tasks", { token: user, json: { token: "x" } }),
        400,
        "bad_request",
      ],
      ["missing token", await call(base, "/tasks"), 401, "unauthenticated"],
      [
        "forged token",
        await call(base, "/tasks", { token: "forged-token" }),
        401,
        "unauthenticated",
      ],
      ["another user's task", await call(base, "/tasks/t-1", { token: user }), 404, "not_found"],
      [
        "retrying another user's task",
        await call(base, "/tasks/t-1/retry", { method: "POST", token: user }),
        404,
        "not_found",
      ],
      ["unknown task", await call(base, "/tasks/t-99", { token: admin }), 404, "not_found"],
      ["workers as a user", await call(base, "/workers", { token: user }), 403, "forbidden"],
      ["bad limit", await call(base, "/tasks?limit=abc", { token: user }), 400, "bad_request"],
      ["unknown route", await call(base, "/nope", { token: user }), 404, "not_found"],
    ];
    for (const [what, answer, status, code] of cases) {
      assert.equal(answer.status, status, `${what}: ${JSON.stringify(answer.body)}`);
      assert.equal(errorCode(answer), code, what);
      assert.equal(typeof (answer.body.error as { message: unknown }).message, "string", what);
    }
    // A streamed (chunked) body is cut off at the limit too, not buffered whole.
    const chunk = new TextEncoder().encode(`{"pad":"${"x".repeat(4000)}`);
    const streamed = await fetch(`${base}/api/v1/tasks`, {
      method: "POST",
      headers: { authorization: `Bearer ${user}`, "content-type": "application/json" },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 4; i++) controller.enqueue(chunk);
          controller.close();
        },
      }),
    });
    assert.equal(streamed.status, 413);
    assert.equal((await streamed.json()).error.code, "frame_too_large");
    const workers = await call(base, "/workers", { token: admin });
    assert.equal(workers.status, 200);
    assert.deepEqual(workers.body, { workers: [] });
    await assertAnswersConform(base);
  });
});

async function leaderOf(cluster: ClusterFixture, ids: string[], token: string): Promise<string> {
  return await pollUntil("a leader is known", async () => {
    for (const id of ids) {
      const a = await call(cluster.httpUrl(id), "/cluster", { token });
      if ((a.body.node as { role?: string } | undefined)?.role === "leader") return id;
    }
    return undefined;
  }, { deadlineMs: 30_000, intervalMs: 100 });
}

Deno.test("a follower forwards API requests to the leader, and /metrics parses", async () => {
  await withCluster({ http: true, orchestrators: 3 }, async (cluster) => {
    const ids = ["o1", "o2", "o3"];
    for (const id of ids) await cluster.startOrchestrator(id);
    const token = await login(cluster.httpUrl("o2"), "user1", "pass1");
    const leader = await leaderOf(cluster, ids, token);
    const follower = ids.find((id) => id !== leader)!;
    const base = cluster.httpUrl(follower);

    const submitted = await call(base, "/tasks", { token, json: SLEEP(60_000) });
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    assert.equal(submitted.headers.get("x-mutirao-served-by"), leader);
    const status = await call(base, `/tasks/${submitted.body.taskId}`, { token });
    assert.equal(status.status, 200);
    assert.equal((status.body.task as { state: string }).state, "queued");

    const response = await fetch(`${cluster.httpUrl(leader)}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const metrics = parseMetrics(await response.text());
    assert.equal(metrics.get('mutirao_raft_role{role="leader"}'), 1);
    assert.equal(metrics.get('mutirao_tasks{state="queued"}'), 1);
    assert.equal(metrics.get('mutirao_tasks_by_kind{kind="sleep",state="queued"}'), 1);
    assert.equal(metrics.get('mutirao_tasks_by_kind{kind="exec",state="queued"}'), undefined);
    assert.equal(metrics.get('mutirao_queue_depth{queue="default"}'), 1, "no worker takes it");
    assert.equal(metrics.get("mutirao_queue_timed"), 0);
    assert.ok((metrics.get("mutirao_raft_term") ?? 0) >= 1);
    assert.ok((metrics.get("mutirao_raft_commit_index") ?? 0) >= 1);
    assert.ok((metrics.get('mutirao_http_requests_total{method="POST",status="201"}') ?? 0) >= 1);
    assert.ok((metrics.get("mutirao_fsync_duration_seconds_count") ?? 0) >= 1, "the log synced");
    assert.equal(
      metrics.get('mutirao_fsync_duration_seconds_bucket{le="+Inf"}'),
      metrics.get("mutirao_fsync_duration_seconds_count"),
    );
    const followerMetrics = parseMetrics(await (await fetch(`${base}/metrics`)).text());
    assert.equal(followerMetrics.get('mutirao_raft_role{role="follower"}'), 1);
    await assertAnswersConform(base);
  });
});

type NodeEntry = { id: string; reachable: boolean; node?: { id: string; role: string } };

Deno.test("GET /cluster/nodes reports every orchestrator, and a stopped one as unreachable", async () => {
  await withCluster({ http: true, orchestrators: 3 }, async (cluster) => {
    const ids = ["o1", "o2", "o3"];
    const processes = new Map<string, Awaited<ReturnType<typeof cluster.startOrchestrator>>>();
    for (const id of ids) processes.set(id, await cluster.startOrchestrator(id));
    const token = await login(cluster.httpUrl("o1"), "user1", "pass1");
    const leader = await leaderOf(cluster, ids, token);
    const asker = ids.find((id) => id !== leader)!;
    const base = cluster.httpUrl(asker);
    // Every orchestrator checks the token itself: wait until all have applied the login.
    const all = await pollUntil("every orchestrator answers for itself", async () => {
      const a = await call(base, "/cluster/nodes", { token });
      const nodes = a.body.nodes as NodeEntry[] | undefined;
      return nodes?.every((n) => n.reachable) ? nodes : undefined;
    }, { deadlineMs: 30_000, intervalMs: 200 });
    assert.deepEqual(all.map((n) => n.id), ids, "in cluster-file order");
    assert.deepEqual(all.map((n) => n.node?.id), ids, "each one's own view");
    assert.deepEqual(all.filter((n) => n.node?.role === "leader").map((n) => n.id), [leader]);

    // The serving node checks the caller as /cluster does, before asking anyone: the leader
    // refuses an unknown token (401); a follower, which may not have applied a fresh login yet,
    // answers 503 "retry" as its /cluster does.
    const forged = await call(cluster.httpUrl(leader), "/cluster/nodes", { token: "forged-token" });
    assert.equal(forged.status, 401);
    const forgedHere = await call(base, "/cluster/nodes", { token: "forged-token" });
    assert.equal(
      forgedHere.status,
      (await call(base, "/cluster", { token: "forged-token" })).status,
    );
    const user = await login(base, "user2", "pass2");
    const notAdmin = await call(cluster.httpUrl(leader), "/cluster/nodes", { token: user });
    assert.equal(notAdmin.status, 403);

    const stopped = ids.find((id) => id !== leader && id !== asker)!;
    await processes.get(stopped)!.stop(3000);
    const startedMs = Date.now();
    const after = await call(base, "/cluster/nodes", { token });
    assert.ok(Date.now() - startedMs < 5_000, "a stopped orchestrator does not hold up the answer");
    assert.equal(after.status, 200, JSON.stringify(after.body));
    const nodes = after.body.nodes as Array<NodeEntry & { error?: string }>;
    assert.deepEqual(nodes.map((n) => [n.id, n.reachable]), ids.map((id) => [id, id !== stopped]));
    assert.match(nodes.find((n) => n.id === stopped)!.error ?? "", /Cannot reach http:/);
    await assertAnswersConform(base);
  });
});

Deno.test("/metrics histograms and counters appear and move as tasks run", async () => {
  await withCluster({ http: true }, async (cluster) => {
    await cluster.startOrchestrator();
    await cluster.startWorker({ slots: 4 });
    const base = cluster.httpUrl();
    const token = await login(base, "user2", "pass2");
    const scrape = async () => parseMetrics(await (await fetch(`${base}/metrics`)).text());
    const before = await scrape();
    for (
      const name of [
        "mutirao_task_wait_seconds_count",
        "mutirao_task_run_seconds_count",
        "mutirao_fsync_duration_seconds_count",
        "mutirao_worker_heartbeat_gap_seconds_count",
        'mutirao_retries_total{reason="policy"}',
        "mutirao_tasks_timed_out_total",
        "mutirao_tasks_expired_total",
        "mutirao_workers_lost_total",
      ]
    ) assert.ok(before.has(name), `${name} is reported`);
    assert.equal(before.get("mutirao_task_run_seconds_count"), 0);

    for (let i = 0; i < 3; i++) {
      assert.equal((await call(base, "/tasks", { token, json: SLEEP(10) })).status, 201);
    }
    const slow = await call(base, "/tasks", {
      token,
      json: { task: { kind: "sleep", description: "slow", durationMs: 10_000, timeoutMs: 200 } },
    });
    assert.equal(slow.status, 201, JSON.stringify(slow.body));
    const after = await pollUntil("four attempts observed, a heartbeat gap seen", async () => {
      const m = await scrape();
      const ran = m.get("mutirao_task_run_seconds_count") ?? 0;
      const gaps = m.get("mutirao_worker_heartbeat_gap_seconds_count") ?? 0;
      return ran >= 4 && gaps >= 1 ? m : undefined;
    }, { deadlineMs: 30_000, intervalMs: 100 });
    assert.equal(after.get("mutirao_task_wait_seconds_count"), 4);
    assert.equal(after.get("mutirao_tasks_timed_out_total"), 1);
    assert.equal(after.get('mutirao_task_run_seconds_bucket{le="+Inf"}'), 4);
    assert.ok((after.get("mutirao_task_run_seconds_sum") ?? 0) > 0);
    assert.ok(
      after.get("mutirao_fsync_duration_seconds_count")! >
        before.get("mutirao_fsync_duration_seconds_count")!,
    );
  });
});

Deno.test("the HTTP port caps requests in progress per address and cuts off slow bodies", async () => {
  await withCluster({ http: true }, async (cluster) => {
    const config = JSON.parse(await Deno.readTextFile(cluster.configPath));
    config.maxConnectionsPerSource = 2;
    config.partialFrameTimeoutMs = 500;
    await Deno.writeTextFile(cluster.configPath, JSON.stringify(config));
    await cluster.startOrchestrator();
    const base = cluster.httpUrl();
    await login(base, "user2", "pass2");
    // Two requests whose bodies start and never finish: each holds a slot of this address.
    const stalled: Array<ReadableStreamDefaultController<Uint8Array>> = [];
    const slow = () =>
      fetch(`${base}/api/v1/tasks`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode("{"));
            stalled.push(controller);
          },
        }),
        // @ts-ignore: Deno's fetch takes a streamed body with duplex "half" (the Fetch standard)
        duplex: "half",
      });
    const first = slow();
    const second = slow();
    const refused = await pollUntil("a third request is refused", async () => {
      const answer = await call(base, "/cluster");
      return answer.status === 429 ? answer : undefined;
    }, { deadlineMs: 10_000, intervalMs: 20 });
    assert.equal(errorCode(refused), "rate_limited");
    for (const response of [await first, await second]) {
      assert.equal(response.status, 408);
      assert.equal((await response.json()).error.code, "bad_request");
    }
    for (const controller of stalled) {
      try {
        controller.close();
      } catch {
        // Already cancelled by the server's cut-off: nothing left to close.
      }
    }
    // The slots are free again.
    assert.equal((await call(base, "/cluster")).status, 401);
  });
});

Deno.test("with metricsToken, /metrics answers 401 without the token and 200 with it", async () => {
  await withCluster({ http: true, orchestrators: 1 }, async (cluster) => {
    const config = JSON.parse(await Deno.readTextFile(cluster.configPath));
    config.metricsToken = "scrape-token-0123456789";
    await Deno.writeTextFile(cluster.configPath, JSON.stringify(config));
    await cluster.startOrchestrator("o1");
    const url = `${cluster.httpUrl("o1")}/metrics`;
    const refused = await fetch(url);
    assert.equal(refused.status, 401);
    assert.equal((await refused.json()).error.code, "unauthenticated");
    const wrong = await fetch(url, { headers: { authorization: "Bearer nope" } });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
    const allowed = await fetch(url, {
      headers: { authorization: "Bearer scrape-token-0123456789" },
    });
    assert.equal(allowed.status, 200);
    assert.ok(parseMetrics(await allowed.text()).has("mutirao_raft_term"));
  });
});

Deno.test("with TLS the HTTP port serves HTTPS, and a follower forwards over HTTPS", async () => {
  await withCluster({ http: true, orchestrators: 3 }, async (cluster) => {
    const { cert, key } = await makeTestCert(cluster.dir);
    const config = JSON.parse(await Deno.readTextFile(cluster.configPath));
    config.tls = { certFile: cert, keyFile: key, caFile: cert };
    await Deno.writeTextFile(cluster.configPath, JSON.stringify(config));
    const ids = ["o1", "o2", "o3"];
    for (const id of ids) await cluster.startOrchestrator(id);
    const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(cert)] });
    try {
      const https = (id: string) => cluster.httpUrl(id).replace(/^http:/, "https:");
      await assert.rejects(fetch(`${cluster.httpUrl("o1")}/metrics`));
      const token = await login(https("o1"), "user1", "pass1", client);
      for (const id of ids) {
        const submitted = await call(https(id), "/tasks", { token, json: SLEEP(60_000), client });
        assert.equal(submitted.status, 201, `${id}: ${JSON.stringify(submitted.body)}`);
      }
      // o2 may be a follower a heartbeat behind: wait for it to apply all three.
      await pollUntil("o2 reports 3 queued tasks over HTTPS", async () => {
        const metrics = await fetch(`${https("o2")}/metrics`, { client });
        const queued = parseMetrics(await metrics.text()).get('mutirao_tasks{state="queued"}');
        return queued === 3 ? true : undefined;
      });
      await assertAnswersConform(https("o1"), client);
    } finally {
      client.close();
    }
  });
});

Deno.test("accounts, sessions, schedules and purge over the REST API", async () => {
  await withCluster({ http: true }, async (cluster) => {
    await cluster.startOrchestrator();
    const base = cluster.httpUrl();
    const admin = await login(base, "user1", "pass1");
    const added = await call(base, "/users", {
      token: admin,
      json: { name: "carol", role: "user", password: "carol-pw-1" },
    });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    const users = await call(base, "/users", { token: admin });
    assert.ok((users.body.users as Array<{ name: string }>).some((u) => u.name === "carol"));

    const carol = await login(base, "carol", "carol-pw-1");
    const refused = await call(base, "/users", {
      token: carol,
      json: { name: "dave", role: "admin", password: "x" },
    });
    assert.equal(refused.status, 403);
    const changed = await call(base, "/users/carol/password", {
      token: carol,
      json: { password: "carol-pw-2", currentPassword: "carol-pw-1" },
    });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.equal((await call(base, "/tasks", { token: carol })).status, 401, "sessions revoked");

    const carol2 = await login(base, "carol", "carol-pw-2");
    const tokens = await call(base, "/tokens", { token: admin });
    const session = (tokens.body.tokens as Array<{ id: string; user: string }>)
      .find((t) => t.user === "carol");
    assert.ok(session !== undefined, JSON.stringify(tokens.body));
    assert.equal(
      (await call(base, `/tokens/${session.id}`, { method: "DELETE", token: admin }))
        .status,
      200,
    );
    assert.equal((await call(base, "/tasks", { token: carol2 })).status, 401, "session revoked");
    assert.equal(
      (await call(base, "/users/carol", { method: "DELETE", token: admin })).status,
      200,
    );
    assert.equal(
      (await call(base, "/users/carol", { method: "DELETE", token: admin })).status,
      404,
    );

    const schedule = {
      name: "nightly",
      cron: "0 3 * * *",
      task: { kind: "sleep", description: "nightly", durationMs: 1 },
    };
    const created = await call(base, "/schedules", { token: admin, json: schedule });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const listed = await call(base, "/schedules", { token: admin });
    assert.deepEqual((listed.body.schedules as Array<{ name: string }>).map((s) => s.name), [
      "nightly",
    ]);
    for (const verb of ["pause", "resume"]) {
      const paused = await call(base, `/schedules/nightly/${verb}`, {
        method: "POST",
        token: admin,
      });
      assert.equal(paused.status, 200, `${verb}: ${JSON.stringify(paused.body)}`);
    }
    const removed = await call(base, "/schedules/nightly", { method: "DELETE", token: admin });
    assert.equal(removed.status, 200);
    const gone = await call(base, "/schedules/nightly", { method: "DELETE", token: admin });
    assert.equal(gone.status, 404);

    const purged = await call(base, "/purge", { token: admin, json: { dryRun: true } });
    assert.equal(purged.status, 200, JSON.stringify(purged.body));
    assert.deepEqual(purged.body, { matched: 0, removed: 0, dryRun: true });
    await assertAnswersConform(base);
  });
});

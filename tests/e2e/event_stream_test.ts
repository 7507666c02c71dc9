// Proves the event stream on real processes: a task's events arrive live to succeeded, and a
// reader that loses its orchestrator (the leader, killed) resumes on another with Last-Event-ID
// with no event missing or repeated.
import assert from "node:assert/strict";
import { StreamEventSchema } from "../../orchestrator/http/event_schemas.ts";
import { withCluster } from "./cluster_fixture.ts";
import { pollUntil } from "./poll_until.ts";

interface SseEvent {
  id: string | null;
  event: string;
  data: Record<string, unknown>;
}

/** Reads the events of a `text/event-stream` body, one at a time. */
class SseReader {
  readonly #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";

  constructor(response: Response) {
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
    this.#reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next event, or null when the stream ends (or breaks). */
  async next(): Promise<SseEvent | null> {
    while (true) {
      const end = this.#buffer.indexOf("\n\n");
      if (end >= 0) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        const event = parseBlock(block);
        if (event !== null) return event;
        continue;
      }
      const chunk = await this.#reader.read().catch(() => ({ done: true, value: undefined }));
      if (chunk.done) return null;
      this.#buffer += chunk.value;
    }
  }

  async close(): Promise<void> {
    await this.#reader.cancel().catch(() => {}); // already broken: nothing left to release
  }
}

function parseBlock(block: string): SseEvent | null {
  let id: string | null = null;
  let event = "message";
  let data: string | null = null;
  for (const line of block.split("\n")) {
    if (line.startsWith("id: ")) id = line.slice(4);
    else if (line.startsWith("event: ")) event = line.slice(7);
    else if (line.startsWith("data: ")) data = line.slice(6);
  }
  return data === null ? null : { id, event, data: JSON.parse(data) };
}

type JsonSchema = { required?: string[]; oneOf?: JsonSchema[]; anyOf?: JsonSchema[] };

/**
 * Checks real events against the served OpenAPI document: GET /events is listed, each event has
 * the required fields of the StreamEvent component's branch of its kind, and fits the zod schema
 * the component is generated from (every field).
 */
async function assertEventsConform(base: string, events: readonly SseEvent[]): Promise<void> {
  const doc = await (await fetch(`${base}/api/v1/openapi.json`)).json();
  assert.ok(doc.paths["/events"]?.get !== undefined, "GET /events is in the document");
  const component = doc.components.schemas.StreamEvent as JsonSchema;
  const branches = component.oneOf ?? component.anyOf ?? [];
  assert.ok(events.length > 0, "no events to check");
  for (const event of events) {
    const what = JSON.stringify(event.data);
    assert.ok(
      branches.some((b) => (b.required ?? []).every((field) => field in event.data)),
      `required fields missing: ${what}`,
    );
    const parsed = StreamEventSchema.safeParse(event.data);
    assert.ok(parsed.success, `${what}: ${parsed.error?.message}`);
    assert.equal(event.event, event.data.kind, "the SSE event name is the kind");
  }
}

async function login(base: string, user: string, password: string): Promise<string> {
  return await pollUntil("the cluster serves logins over HTTP", async () => {
    const response = await fetch(`${base}/api/v1/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user, password }),
    });
    const body = await response.json();
    return response.status === 200 ? body.token as string : undefined;
  }, { deadlineMs: 30_000, intervalMs: 100 });
}

async function submit(base: string, token: string, durationMs: number): Promise<string> {
  const response = await fetch(`${base}/api/v1/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ task: { kind: "sleep", description: "sse", durationMs } }),
  });
  const body = await response.json();
  assert.equal(response.status, 201, JSON.stringify(body));
  return body.taskId;
}

function openStream(base: string, token: string, query = "", lastEventId?: string) {
  return fetch(`${base}/api/v1/events${query}`, {
    headers: {
      authorization: `Bearer ${token}`,
      ...(lastEventId === undefined ? {} : { "last-event-id": lastEventId }),
    },
  });
}

Deno.test("the event stream shows a task to succeeded, and only to its owner", async () => {
  await withCluster({ http: true }, async (cluster) => {
    await cluster.startOrchestrator();
    await cluster.startWorker({ slots: 1 });
    const base = cluster.httpUrl();
    const token = await login(base, "user2", "pass2");
    const taskId = await submit(base, token, 50);
    const stream = new SseReader(await openStream(base, token, `?task=${taskId}`));
    const seen: SseEvent[] = [];
    while (!seen.some((e) => e.data.event === "succeeded")) {
      const event = await stream.next();
      assert.ok(event !== null, `stream ended after ${seen.map((e) => e.data.event)}`);
      assert.equal(event.event, "task");
      assert.equal(event.data.taskId, taskId);
      assert.match(event.id ?? "", /^[0-9]+\.[0-9]+$/);
      seen.push(event);
    }
    assert.deepEqual(seen.map((e) => e.data.event), [
      "submitted",
      "assigned",
      "started",
      "succeeded",
    ]);
    await stream.close();
    await assertEventsConform(base, seen);

    const missing = await fetch(`${base}/api/v1/events`);
    assert.equal(missing.status, 401);
    await missing.body?.cancel();
    const other = await openStream(base, token, "?user=user1");
    assert.equal(other.status, 403);
    await other.body?.cancel();
    const bad = await openStream(base, token, "", "x.y");
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
  });
});

Deno.test("a reader resumes on another orchestrator after the leader dies, losing and repeating nothing", async () => {
  await withCluster({ http: true, orchestrators: 3 }, async (cluster) => {
    const ids = ["o1", "o2", "o3"];
    const processes = new Map<string, Awaited<ReturnType<typeof cluster.startOrchestrator>>>();
    for (const id of ids) processes.set(id, await cluster.startOrchestrator(id));
    await cluster.startWorker({ slots: 4 });
    const token = await login(cluster.httpUrl("o1"), "user1", "pass1");
    const leader = await pollUntil("a leader is known", async () => {
      for (const id of ids) {
        const response = await fetch(`${cluster.httpUrl(id)}/api/v1/cluster`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const body = await response.json();
        if (body.node?.role === "leader") return id;
      }
      return undefined;
    }, { deadlineMs: 30_000, intervalMs: 100 });
    const tasks = new Set<string>();
    for (let i = 0; i < 6; i++) tasks.add(await submit(cluster.httpUrl(leader), token, 400));

    const received: SseEvent[] = [];
    const first = new SseReader(await openStream(cluster.httpUrl(leader), token, "?after=0"));
    while (received.length < 8) {
      const event = await first.next();
      assert.ok(event !== null, "stream ended before the kill");
      received.push(event);
    }
    processes.get(leader)!.signal("SIGKILL");
    await processes.get(leader)!.exited;
    // Whatever was already on the wire counts as received, as it would for a real client.
    while (true) {
      const event = await first.next();
      if (event === null) break;
      received.push(event);
    }
    const survivor = ids.find((id) => id !== leader)!;
    const lastId = received.at(-1)!.id!;
    const second = new SseReader(await openStream(cluster.httpUrl(survivor), token, "", lastId));
    const succeeded = () =>
      received.filter((e) => e.data.kind === "task" && e.data.event === "succeeded").length;
    while (succeeded() < tasks.size) {
      const event = await second.next();
      assert.ok(event !== null, "the survivor's stream ended");
      assert.notEqual(event.event, "gap");
      received.push(event);
    }
    await second.close();

    const ids_ = received.map((e) => e.id!);
    assert.equal(new Set(ids_).size, ids_.length, "an event was repeated");
    // The survivor's own full read of the same range is the same list: nothing was missed.
    const full = new SseReader(await openStream(cluster.httpUrl(survivor), token, "?after=0"));
    const expected: string[] = [];
    while (expected.length < ids_.length) {
      const event = await full.next();
      assert.ok(event !== null);
      expected.push(event.id!);
    }
    await full.close();
    assert.deepEqual(ids_, expected);
    // The first leader's no-op, and the next one's after the kill.
    const leaders = received.filter((e) => e.data.kind === "cluster").map((e) => e.data.term);
    assert.ok(leaders.length >= 2, `leader events: ${leaders}`);
    await assertEventsConform(cluster.httpUrl(survivor), received);
  });
});

Deno.test("mutirao watch prints a task's events to succeeded (exit 0), and to cancelled (exit 8)", async () => {
  await withCluster({ http: true }, async (cluster) => {
    await cluster.startOrchestrator();
    await cluster.startWorker({ slots: 1 });
    assert.equal((await cluster.cli(["login", "user2", "pass2", "--timeout", "30"])).code, 0);
    const submitted = await cluster.cli(["submit", "watched", "-d", "1"]);
    assert.equal(submitted.code, 0, submitted.stderr);
    const taskId = submitted.json!.id as string;
    const watched = await cluster.cli(["watch", taskId]);
    assert.equal(watched.code, 0, watched.stderr);
    const lines = watched.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(lines.slice(0, -1).map((e) => e.event), [
      "submitted",
      "assigned",
      "started",
      "succeeded",
    ]);
    assert.equal(lines.at(-1).state, "succeeded");
    const text = await cluster.cli(["watch", taskId], { json: false });
    assert.equal(text.code, 0, "a task final already: its state at once");

    // A task that cannot run (no worker serves its queue) until it is cancelled.
    const stuck = await cluster.cli(["submit", "stuck", "-d", "1", "--queue", "nobody"]);
    const stuckId = stuck.json!.id as string;
    // The watch reads the task (GET /tasks/ID) and opens the stream (GET /events): both answered
    // 200 means it is listening. (Counting from before it, so the earlier watches do not count.)
    const okGets = async () => {
      const text = await (await fetch(`${cluster.httpUrl()}/metrics`)).text();
      return Number(
        /mutirao_http_requests_total\{method="GET",status="200"\} (\d+)/.exec(text)?.[1] ?? 0,
      );
    };
    const before = await okGets();
    const watching = cluster.cli(["watch", stuckId], { json: false });
    // Each scrape is itself a GET answered 200, counted once answered: poll i sees i of them.
    let polls = 0;
    await pollUntil("the watch is open", async () => {
      const now = await okGets();
      polls += 1;
      return now - before - polls >= 2 ? true : undefined;
    }, { deadlineMs: 10_000, intervalMs: 100 });
    assert.equal((await cluster.cli(["cancel", stuckId])).code, 0);
    const cancelled = await watching;
    assert.equal(cancelled.code, 8, cancelled.stderr);
    assert.match(cancelled.stdout, new RegExp(`task ${stuckId} submitted`));
    assert.match(cancelled.stdout, new RegExp(`task ${stuckId} cancelled`));
  });
});

Deno.test("mutirao watch resumes on another orchestrator when its stream breaks", async () => {
  await withCluster({ http: true, orchestrators: 3 }, async (cluster) => {
    const processes = new Map<string, Awaited<ReturnType<typeof cluster.startOrchestrator>>>();
    for (const id of ["o1", "o2", "o3"]) processes.set(id, await cluster.startOrchestrator(id));
    await cluster.startWorker({ slots: 1 });
    assert.equal((await cluster.cli(["login", "user2", "pass2", "--timeout", "30"])).code, 0);
    const submitted = await cluster.cli(["submit", "long", "-d", "3", "--timeout", "30"]);
    assert.equal(submitted.code, 0, submitted.stderr);
    const taskId = submitted.json!.id as string;
    // watch reads o1's stream first (the cluster file's order); o1 dies while the task runs.
    const watching = cluster.cli(["watch", taskId]);
    await pollUntil("o1 serves the watch", async () => {
      const text = await (await fetch(`${cluster.httpUrl("o1")}/metrics`)).text();
      return /mutirao_http_requests_total\{method="GET",status="200"\} [1-9]/.test(text)
        ? true
        : undefined;
    }, { deadlineMs: 10_000, intervalMs: 50 });
    processes.get("o1")!.signal("SIGKILL");
    await processes.get("o1")!.exited;
    const watched = await watching;
    assert.equal(watched.code, 0, watched.stderr);
    const lines = watched.stdout.trim().split("\n").map((line) => JSON.parse(line));
    const events = lines.slice(0, -1);
    const ids = events.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, `an event was printed twice: ${ids}`);
    assert.deepEqual(
      events.map((e) => e.event).filter((e) =>
        e !== "requeued" && e !== "assigned" && e !== "started"
      ),
      [
        "submitted",
        "succeeded",
      ],
    );
    assert.equal(lines.at(-1).state, "succeeded");
  });
});

// Proves the event stream's request checks (token, role, filters, cursor) and that a stream
// writes the events after its cursor in SSE form, with a gap event when some are no longer held.
import assert from "node:assert/strict";
import { hashToken } from "../../shared/auth/mod.ts";
import { EventRing, type OrchestratorNode, parseEventId, type StreamEvent } from "../core/mod.ts";
import { OpenStreams } from "./open_streams.ts";
import { formatCursor, formatSse, parseEventRequest, serveEvents } from "./event_stream.ts";

const NOW_MS = 1_000;

function fakeNode(
  ring: EventRing,
  canServeClients = true,
  roles: Record<string, "admin" | "user"> = { alice: "user", root: "admin" },
): OrchestratorNode {
  const sessions = new Map([
    [hashToken("alice-token"), { user: "alice", issuedAtMs: 0, expiresAtMs: 2_000 }],
    [hashToken("root-token"), { user: "root", issuedAtMs: 0, expiresAtMs: 2_000 }],
    [hashToken("old-token"), { user: "alice", issuedAtMs: 0, expiresAtMs: 500 }],
  ]);
  return {
    sm: { sessions, roleOf: (u: string) => roles[u] ?? null },
    events: ring,
    canServeClients,
    options: { nodeId: "o2" },
  } as never;
}

function request(query: string, headers: Record<string, string> = {}): Request {
  return new Request(`http://x/api/v1/events${query}`, { headers });
}

function taskEvent(index: number, owner: string): StreamEvent {
  return {
    id: `${index}.0`,
    kind: "task",
    event: "submitted",
    taskId: `t-${index}`,
    owner,
    lamport: index,
    node: "o1",
    atMs: 0,
    attempt: 1,
    workerId: null,
    detail: null,
  };
}

Deno.test("parseEventRequest() checks the token, the role and every filter", () => {
  const ports = { node: () => fakeNode(new EventRing(10)), nowMs: () => NOW_MS };
  const code = (r: Request) => {
    const parsed = parseEventRequest(r, ports);
    return parsed.ok ? "ok" : parsed.code;
  };
  assert.equal(code(request("")), "unauthenticated");
  assert.equal(code(request("", { authorization: "Bearer forged" })), "unauthenticated");
  assert.equal(code(request("", { authorization: "Bearer old-token" })), "unauthenticated");
  assert.equal(code(request("?token=alice-token")), "ok");
  const alice = { authorization: "Bearer alice-token" };
  assert.equal(code(request("?user=root", alice)), "forbidden");
  assert.equal(code(request("?user=alice", alice)), "ok");
  assert.equal(code(request("?kind=task,nope", alice)), "bad_request");
  assert.equal(code(request("", { ...alice, "last-event-id": "1.x" })), "bad_request");
  const parsed = parseEventRequest(request("?task=t-1&kind=task.failed&after=12.3", alice), ports);
  assert.deepEqual(parsed, {
    ok: true,
    filter: { user: "alice", isAdmin: false, taskId: "t-1", kinds: ["task.failed"] },
    cursor: { index: 12, position: 3 },
  });
});

Deno.test("serveEvents() streams the visible events after the cursor, after a gap event", async () => {
  const ring = new EventRing(2);
  for (let index = 1; index <= 4; index++) {
    ring.append(index, [taskEvent(index, index === 3 ? "bob" : "alice")]);
  }
  const abort = new AbortController();
  const open = new OpenStreams();
  const response = serveEvents(
    request("", { authorization: "Bearer alice-token", "last-event-id": "1.0" }),
    { node: () => fakeNode(ring), nowMs: () => NOW_MS, signal: abort.signal },
    open,
  );
  assert.equal(response.status, 200);
  assert.equal(open.count, 1);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("id: 4.0")) text += (await reader.read()).value ?? "";
  abort.abort();
  assert.match(text, /event: gap\ndata: \{"kind":"gap","after":"1.0"/);
  assert.ok(!text.includes("t-3"), "bob's event is not alice's to see");
  assert.match(text, /id: 4\.0\nevent: task\ndata: \{"id":"4\.0"/);
  assert.equal(open.count, 0);
});

Deno.test("serveEvents() answers a session it does not know 401 on the leader, 503 retry elsewhere", async () => {
  const answer = (canServeClients: boolean) =>
    serveEvents(request("?token=fresh-token"), {
      node: () => fakeNode(new EventRing(10), canServeClients),
      nowMs: () => NOW_MS,
      signal: new AbortController().signal,
    }, new OpenStreams());
  const leader = answer(true);
  assert.equal(leader.status, 401);
  assert.equal((await leader.json()).error.code, "unauthenticated");
  const follower = answer(false);
  assert.equal(follower.status, 503);
  const body = await follower.json();
  assert.equal(body.error.code, "unavailable");
  assert.match(body.error.message, /Orchestrator o2 does not know this session yet .*retry/);
});

/** Reads a stream until `done(text)` holds, then returns what it read. */
async function readUntil(response: Response, done: (text: string) => boolean): Promise<string> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!done(text)) text += (await reader.read()).value ?? "";
  await reader.cancel();
  return text;
}

Deno.test("serveEvents() sends its cursor as an id past events the reader is not shown", async () => {
  const ring = new EventRing(10);
  ring.append(1, [taskEvent(1, "alice")]);
  const abort = new AbortController();
  const ports = { node: () => fakeNode(ring), nowMs: () => NOW_MS, signal: abort.signal };
  const alice = { authorization: "Bearer alice-token" };
  const open = new OpenStreams();
  const live = serveEvents(request("", alice), { ...ports, keepaliveMs: 20 }, open);
  const reader = live.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("id: 1.0\n\n")) text += (await reader.read()).value ?? "";
  assert.ok(!text.includes("data:"), "the stream opens after the events already held");
  ring.append(2, [taskEvent(2, "bob")]);
  text = "";
  while (!text.includes("id: 2.0\n\n")) text += (await reader.read()).value ?? "";
  assert.match(text, /: keepalive\n\nid: 2\.0\n\n/, "an id-only block after bob's event");
  assert.ok(!text.includes("t-2"), "bob's event is not alice's to see");
  await reader.cancel();
  ring.append(3, [taskEvent(3, "alice")]);
  const resumed = await readUntil(
    serveEvents(request("", { ...alice, "last-event-id": "2.0" }), ports, open),
    (t) => t.includes("id: 3.0\nevent"),
  );
  assert.equal(resumed.match(/^data: /gm)?.length, 1, "only the later event");
  assert.match(resumed, /id: 3\.0\nevent: task\ndata: \{"id":"3\.0"/);
  abort.abort();
  assert.equal(open.count, 0);
});

Deno.test("formatCursor() writes a whole entry as its bare index, which parses back", () => {
  assert.equal(formatCursor({ index: 7, position: Number.MAX_SAFE_INTEGER }), "7");
  assert.deepEqual(parseEventId(formatCursor({ index: 7, position: Number.MAX_SAFE_INTEGER })), {
    index: 7,
    position: Number.MAX_SAFE_INTEGER,
  });
  assert.equal(formatCursor({ index: 7, position: 2 }), "7.2");
});

Deno.test("serveEvents() serialises an event once for every stream that sends it", async () => {
  const ring = new EventRing(10);
  ring.append(1, [taskEvent(1, "alice")]);
  const abort = new AbortController();
  const ports = { node: () => fakeNode(ring), nowMs: () => NOW_MS, signal: abort.signal };
  const stringify = JSON.stringify;
  let stringified = 0;
  JSON.stringify = ((value: unknown, ...rest: never[]) => {
    if (value === ring.readAfter({ index: 0, position: 0 }, 1).events[0]) stringified++;
    return stringify(value, ...rest);
  }) as typeof JSON.stringify;
  try {
    const texts = await Promise.all(["alice-token", "root-token"].map((token) =>
      readUntil(
        serveEvents(
          request("?after=0", { authorization: `Bearer ${token}` }),
          ports,
          new OpenStreams(),
        ),
        (t) => /id: 1\.0\nevent[^]*\n\n/.test(t),
      )
    ));
    const sse = (t: string) => t.slice(t.indexOf("id: 1.0\nevent"));
    assert.equal(sse(texts[0]), sse(texts[1]));
    assert.equal(formatSse(taskEvent(1, "alice")), sse(texts[0]), "the same text as made anew");
    assert.equal(stringified, 1, "one JSON.stringify for two streams");
  } finally {
    JSON.stringify = stringify;
    abort.abort();
  }
});

Deno.test("serveEvents() caps the streams one user holds, and gives a slot back when one ends", async () => {
  const abort = new AbortController();
  const ports = {
    node: () => fakeNode(new EventRing(10)),
    nowMs: () => NOW_MS,
    signal: abort.signal,
  };
  const open = new OpenStreams({ total: 3, perUser: 2 });
  const stream = (token: string) => serveEvents(request(`?token=${token}`), ports, open);
  const first = stream("alice-token");
  assert.equal(stream("alice-token").status, 200);
  const refused = stream("alice-token");
  assert.equal(refused.status, 429);
  const body = await refused.json();
  assert.equal(body.error.code, "rate_limited");
  assert.match(body.error.message, /Too many event streams for user "alice" .*at most 2/);
  assert.equal(stream("root-token").status, 200, "another user still gets a stream");
  assert.deepEqual([open.count, open.countOf("alice"), open.countOf("root")], [3, 2, 1]);
  await first.body!.cancel();
  assert.equal(open.countOf("alice"), 1);
  assert.equal(stream("alice-token").status, 200, "alice's ended stream gave its slot back");
  const full = await stream("root-token").json();
  assert.match(full.error.message, /Too many event streams on this orchestrator \(at most 3\)/);
  abort.abort();
  assert.equal(open.count, 0);
});

Deno.test("serveEvents() sends everything held after the cursor at once, past one read batch", async () => {
  const ring = new EventRing(10_000);
  for (let index = 1; index <= 2_500; index++) ring.append(index, [taskEvent(index, "alice")]);
  const abort = new AbortController();
  // No poll within the test: what arrives came from the stream's first read, at its start.
  const ports = {
    node: () => fakeNode(ring),
    nowMs: () => NOW_MS,
    signal: abort.signal,
    pollMs: 3_600_000,
    keepaliveMs: 3_600_000,
  };
  const headers = { authorization: "Bearer alice-token", "last-event-id": "0" };
  const reader = serveEvents(request("", headers), ports, new OpenStreams()).body!
    .pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  // Read what the first read queued; a stream that sent less stays silent, and the bound ends it.
  const bound = setTimeout(() => reader.cancel(), 5_000);
  while (!text.includes("id: 2500.0\nevent")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  clearTimeout(bound);
  await reader.cancel();
  assert.equal(text.match(/^data: /gm)?.length, 2_500);
  abort.abort();
});

Deno.test("serveEvents() ends an admin's stream once the admin is demoted", async () => {
  const ring = new EventRing(10);
  const roles: Record<string, "admin" | "user"> = { alice: "user", root: "admin" };
  const abort = new AbortController();
  const ports = {
    node: () => fakeNode(ring, true, roles),
    nowMs: () => NOW_MS,
    signal: abort.signal,
    keepaliveMs: 20,
  };
  const open = new OpenStreams();
  const response = serveEvents(request("", { authorization: "Bearer root-token" }), ports, open);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes(": keepalive")) text += (await reader.read()).value ?? "";
  roles.root = "user";
  ring.append(1, [taskEvent(1, "alice")]);
  // Until the stream ends, or a bound (a stream that never ends fails below, not hangs).
  const bound = setTimeout(() => reader.cancel(), 2_000);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  clearTimeout(bound);
  assert.match(text, /event: error\ndata: .*"forbidden".*role of \\"root\\" changed/);
  assert.ok(!text.includes("t-1"), "alice's event went to a demoted admin");
  assert.equal(open.count, 0, "the slot is given back");
  abort.abort();
});

Deno.test("serveEvents() queues at most about 1 MiB for a reader that stops reading", async () => {
  const ring = new EventRing(40_000);
  for (let index = 1; index <= 30_000; index++) ring.append(index, [taskEvent(index, "alice")]);
  // What the stream takes from the ring, counted as it reads.
  let taken = 0;
  const readAfter = ring.readAfter.bind(ring);
  ring.readAfter = (cursor, max) => {
    const read = readAfter(cursor, max);
    taken += read.events.length;
    return read;
  };
  const abort = new AbortController();
  const ports = {
    node: () => fakeNode(ring),
    nowMs: () => NOW_MS,
    signal: abort.signal,
    pollMs: 5,
  };
  const headers = { authorization: "Bearer alice-token", "last-event-id": "0" };
  const response = serveEvents(request("", headers), ports, new OpenStreams());
  // Nobody reads: many polls pass.
  await new Promise((resolve) => setTimeout(resolve, 150));
  await response.body!.cancel();
  abort.abort();
  // An event here is about 180 bytes in SSE form: 1 MiB is about 5,800 events, plus the batch
  // that crossed the line. 30,000 events (5 MB) were there to take.
  assert.ok(taken > 0 && taken <= 8_000, `took ${taken} events for a reader that did not read`);
});

// Proves the CLI reads Server-Sent Events as the server writes them (ids, names, comments,
// blocks split across chunks) and prints one safe line per event, knowing which ones end a task.
import assert from "node:assert/strict";
import { finalStateOf, formatEventLine } from "./event_line.ts";
import { parseInvocation } from "./parse_command.ts";

const parseCommand = (args: string[]) => parseInvocation(args).command;
import { parseSseBlock, readSseEvents } from "./sse_events.ts";

Deno.test("parseSseBlock() reads id, event and data, and skips comment-only blocks", () => {
  assert.deepEqual(parseSseBlock('id: 12.0\nevent: task\ndata: {"a":1}'), {
    id: "12.0",
    event: "task",
    data: '{"a":1}',
  });
  assert.equal(parseSseBlock(": keepalive"), null);
  // An id alone: the server's resume point past events this reader is not shown.
  assert.deepEqual(parseSseBlock("id: 40\n: keepalive"), {
    id: "40",
    event: "message",
    data: null,
  });
  assert.equal(parseSseBlock("retry: 1000\n: hello"), null);
  assert.deepEqual(parseSseBlock("data:x\ndata: y"), { id: null, event: "message", data: "x\ny" });
});

Deno.test("readSseEvents() joins blocks split across chunks", async () => {
  const chunks = ["retry: 1000\n\nid: 1.0\nev", "ent: cluster\ndata: {}\n", "\n: keepalive\n\n"];
  const body = ReadableStream.from(chunks.map((c) => new TextEncoder().encode(c)));
  const events = [];
  for await (const event of readSseEvents(body)) events.push(event);
  assert.deepEqual(events, [{ id: "1.0", event: "cluster", data: "{}" }]);
});

Deno.test("formatEventLine() prints one line per event with terminal controls escaped", () => {
  const line = formatEventLine({
    id: "5.0",
    kind: "task",
    event: "failed",
    taskId: "t-1",
    owner: "alice",
    atMs: 0,
    lamport: 9,
    attempt: 2,
    workerId: "w1",
    detail: "boom\x1b[2J",
  });
  assert.ok(!line.includes("\x1b"));
  assert.match(
    line,
    /^5\.0 {2}1970-01-01T00:00:00\.000Z {2}task t-1 failed \(attempt 2 on w1, lamport 9\): boom/,
  );
  assert.match(
    formatEventLine({ id: "7.0", kind: "cluster", event: "leader", term: 3, atMs: 0 }),
    /new leader in term 3$/,
  );
});

Deno.test("finalStateOf() is the state a final event of the watched task leaves it in", () => {
  assert.equal(
    finalStateOf({ kind: "task", taskId: "t-1", event: "cancelled" }, "t-1"),
    "cancelled",
  );
  assert.equal(finalStateOf({ kind: "task", taskId: "t-1", event: "retrying" }, "t-1"), null);
  assert.equal(finalStateOf({ kind: "task", taskId: "t-2", event: "succeeded" }, "t-1"), null);
});

Deno.test("parseCommand() takes watch with or without a task id", () => {
  assert.deepEqual(parseCommand(["watch"]), { name: "watch", taskId: null });
  assert.deepEqual(parseCommand(["watch", "t-4"]), { name: "watch", taskId: "t-4" });
  assert.throws(() => parseCommand(["watch", "t-4", "t-5"]));
});

// Proves that a packed history gives back exactly the events packed into it, and that text which
// is not a packed history is refused with a RangeError.
import assert from "node:assert/strict";
import type { TaskEvent } from "../../shared/protocol/messages.ts";
import {
  appendEvent,
  historyOf,
  lastLamportOf,
  packHistory,
  unpackHistory,
} from "./task_history.ts";

const BASE_MS = 1_764_000_000_000;

function event(patch: Partial<TaskEvent>): TaskEvent {
  return {
    event: "submitted",
    lamport: 7,
    node: "o1",
    atMs: BASE_MS,
    attempt: 1,
    workerId: null,
    detail: null,
    ...patch,
  };
}

const EVENTS: TaskEvent[] = [
  event({}),
  event({ event: "assigned", lamport: 9, atMs: BASE_MS + 3, workerId: "w-1" }),
  // Stamped by the worker, whose clock may be behind the leader's.
  event({ event: "started", lamport: 12, node: "w-1", atMs: BASE_MS - 40, workerId: "w-1" }),
  event({ event: "requeued", lamport: 13, workerId: "w-1", detail: "worker w-1 left: a,b:c~=" }),
  event({ event: "failed", lamport: 2 ** 53 - 1, attempt: 2, detail: "échec ✗", atMs: 2 ** 52 }),
  event({ event: "cancelled", lamport: 2 ** 53 - 1, node: "", workerId: "", detail: "" }),
];

Deno.test("packHistory() then unpackHistory() gives the same events", () => {
  assert.deepEqual(unpackHistory(packHistory(EVENTS, BASE_MS), BASE_MS), EVENTS);
  assert.deepEqual(unpackHistory("", BASE_MS), []);
});

Deno.test("appendEvent() one at a time packs the same text as packHistory()", () => {
  let packed = "";
  for (const e of EVENTS) {
    packed = appendEvent(packed, e, BASE_MS);
    assert.equal(lastLamportOf(packed), e.lamport);
  }
  assert.equal(packed, packHistory(EVENTS, BASE_MS));
  assert.equal(lastLamportOf(""), undefined);
});

Deno.test("historyOf() gives fresh objects: changing them leaves the task as it was", () => {
  const task = { packedHistory: packHistory(EVENTS, BASE_MS), submittedAtMs: BASE_MS };
  historyOf(task)[0].node = "tampered";
  assert.deepEqual(historyOf(task), EVENTS);
});

Deno.test("a packed history of four events is far smaller than its JSON", () => {
  const packed = packHistory(EVENTS.slice(0, 4), BASE_MS);
  assert.ok(packed.length * 3 < JSON.stringify(EVENTS.slice(0, 4)).length, packed);
});

Deno.test("unpackHistory() refuses text that is not a packed history", () => {
  const good = packHistory(EVENTS, BASE_MS);
  const bad = [
    "1;z1,1,0,2:o1~~", // unknown event code
    "1;a1,1,0,~~~", // no node
    "1;a1,1,0,9:o1~~", // string longer than the text
    "1;a1,1,0", // ends inside a number
    "1;a1,1,0,2", // ends inside a string length
    "1;a1,1,0,2:o1~", // ends before the detail
    "1;a,1,0,2:o1~~", // empty number
    "1;a1,99999999999999999,0,2:o1~~", // number too large
    "1;a1,1a,0,2:o1~~",
    "1;a1,1.5,0,2:o1~~",
    "a1,1,0,2:o1~~", // no head
    "2;a1,1,0,2:o1~~", // a head that is not the last event's time
    "1;", // a head and no event
    good.slice(0, -1),
  ];
  for (const text of bad) {
    assert.throws(() => unpackHistory(text, BASE_MS), RangeError, JSON.stringify(text));
  }
});

// Proves which stdout lines of a peer script count as events (JSON objects with a string event).
import assert from "node:assert/strict";
import { parseEvent } from "./peer_process.ts";

Deno.test("parseEvent() reads a JSON object with a string event", () => {
  assert.deepEqual(parseEvent('{"event":"ready","pid":7}'), { event: "ready", pid: 7 });
});

Deno.test("parseEvent() ignores other lines", () => {
  assert.equal(parseEvent("plain text"), null);
  assert.equal(parseEvent("{not json"), null);
  assert.equal(parseEvent('{"event":3}'), null);
  assert.equal(parseEvent("[1,2]"), null);
});

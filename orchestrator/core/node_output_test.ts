// Proves NodeOutput stamps what it sends with the node's Lamport clock, sends and logs nothing
// while the node recovers, silences replayed log lines and keeps history's lines at debug.
import assert from "node:assert/strict";
import { LamportClock } from "../../shared/lamport_clock.ts";
import { NodeOutput } from "./node_output.ts";

Deno.test("NodeOutput sends nothing and logs nothing while the node recovers", () => {
  const out = new NodeOutput(new LamportClock(0));
  out.send(1, { type: "logoutOk", re: 1 });
  out.log("info", "recovering");
  assert.deepEqual(out.take().send, []);
});

Deno.test("NodeOutput stamps each message with the next Lamport time and hands it over once", () => {
  const clock = new LamportClock(5);
  const out = new NodeOutput(clock);
  out.recovering = false;
  out.send(1, { type: "logoutOk", re: 1 });
  out.sendError(2, 3, "not_found", "No task", "o2:7700");
  const effects = out.take();
  assert.deepEqual(effects.send.map((s) => s.message.lamport), [6, 7]);
  assert.deepEqual(effects.send[1].message, {
    type: "error",
    re: 3,
    code: "not_found",
    message: "No task",
    leaderHint: "o2:7700",
    v: effects.send[1].message.v,
    lamport: 7,
  });
  assert.deepEqual(out.take().send, [], "taking starts afresh");
});

Deno.test("NodeOutput silences replayed lines and keeps history's at debug, errors excepted", () => {
  const out = new NodeOutput(new LamportClock(0));
  out.recovering = false;
  out.quietLogs = true;
  out.log("info", "replayed");
  out.quietLogs = false;
  out.historyLogs = true;
  out.log("info", "history");
  out.log("error", "broken");
  assert.deepEqual(out.take().log, [
    { level: "debug", message: "history" },
    { level: "error", message: "broken" },
  ]);
});

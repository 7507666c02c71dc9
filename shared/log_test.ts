// Proves that a log line stays one inert line whatever user text it carries: a forged newline or a
// terminal escape in a login name or task description becomes a visible escape (issue 13, hole 7).
import assert from "node:assert/strict";
import { formatLogLine } from "./log.ts";

Deno.test("formatLogLine() writes one line: time, level, component, message", () => {
  assert.equal(
    formatLogLine({
      atMs: 0,
      level: "info",
      component: "orchestrator o1",
      message: "Leading term 2",
    }),
    "1970-01-01T00:00:00.000Z INFO  orchestrator o1: Leading term 2\n",
  );
});

Deno.test("formatLogLine() cannot be made to forge a second line or emit terminal escapes", () => {
  const line = formatLogLine({
    atMs: 0,
    level: "warn",
    component: "worker w1",
    message:
      'Failed login for user "x"\n1970-01-01T00:00:00.000Z INFO  orchestrator o1: ok\x1b]52;c;ZXZpbA==\x07',
  });
  assert.equal(line.split("\n").length, 2, "exactly one line and its newline");
  // deno-lint-ignore no-control-regex
  assert.equal(/[\x00-\x08\x0b-\x1f\x7f]/.test(line), false);
  assert.match(line, /\\n1970-01-01T00:00:00\.000Z INFO {2}orchestrator o1: ok\\x1b\]52/);
});

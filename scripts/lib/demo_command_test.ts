// Proves that every line typed at `deno task demo` becomes either a command on known nodes or a
// one-line error that names what was wrong and lists the valid commands.
import assert from "node:assert/strict";
import { COMMAND_SUMMARY, parseDemoCommand } from "./demo_command.ts";

const NODES = ["o1", "o2", "o3", "w1", "w2", "w3"];

Deno.test("parseDemoCommand() reads each node action with its node", () => {
  for (const type of ["kill", "stop", "restart", "pause", "resume"] as const) {
    assert.deepEqual(parseDemoCommand(`${type} w2`, NODES), {
      ok: true,
      command: { type, nodes: ["w2"] },
    });
  }
});

Deno.test("parseDemoCommand() takes r and start for restart, ? for help and exit for quit", () => {
  assert.deepEqual(parseDemoCommand("r o1", NODES), {
    ok: true,
    command: { type: "restart", nodes: ["o1"] },
  });
  assert.deepEqual(parseDemoCommand("start o1", NODES), {
    ok: true,
    command: { type: "restart", nodes: ["o1"] },
  });
  assert.deepEqual(parseDemoCommand("?", NODES), { ok: true, command: { type: "help" } });
  assert.deepEqual(parseDemoCommand("exit", NODES), { ok: true, command: { type: "quit" } });
});

Deno.test("parseDemoCommand() ignores case and surrounding blanks, and an empty line is nothing", () => {
  assert.deepEqual(parseDemoCommand("  KILL   W1 \r", NODES), {
    ok: true,
    command: { type: "kill", nodes: ["w1"] },
  });
  assert.deepEqual(parseDemoCommand("Status", NODES), { ok: true, command: { type: "status" } });
  assert.deepEqual(parseDemoCommand("   ", NODES), { ok: true, command: { type: "none" } });
});

Deno.test("parseDemoCommand() acts on several nodes at once, each once", () => {
  assert.deepEqual(parseDemoCommand("kill o1 o2 o1", NODES), {
    ok: true,
    command: { type: "kill", nodes: ["o1", "o2"] },
  });
});

Deno.test("parseDemoCommand() names an unknown command and lists the valid ones", () => {
  const parsed = parseDemoCommand("frobnicate w1", NODES);
  assert.equal(parsed.ok, false);
  assert.equal(!parsed.ok && parsed.error, `Unknown command "frobnicate"; ${COMMAND_SUMMARY}`);
});

Deno.test("parseDemoCommand() asks for a node when an action has none", () => {
  assert.deepEqual(parseDemoCommand("pause", NODES), {
    ok: false,
    error: `"pause" needs a node: one of o1, o2, o3, w1, w2, w3`,
  });
});

Deno.test("parseDemoCommand() refuses an unknown node and lists the real ones", () => {
  assert.deepEqual(parseDemoCommand("kill w1 w9", NODES), {
    ok: false,
    error: `No node "w9": the nodes are o1, o2, o3, w1, w2, w3`,
  });
});

Deno.test("parseDemoCommand() refuses words after status, help and quit", () => {
  assert.deepEqual(parseDemoCommand("quit now", NODES), {
    ok: false,
    error: `"quit" takes nothing after it, got "now"`,
  });
});

Deno.test("parseDemoCommand() echoes typed control characters as inert escapes", () => {
  const parsed = parseDemoCommand("\x1b[2Jboom", NODES);
  assert.equal(parsed.ok, false);
  assert.ok(!parsed.ok && parsed.error.startsWith(`Unknown command "\\x1b[2Jboom"`));
});

Deno.test("parseDemoCommand() does not take inherited object keys for commands", () => {
  assert.equal(parseDemoCommand("constructor", NODES).ok, false);
  assert.equal(parseDemoCommand("toString o1", NODES).ok, false);
});

// Proves that user text cannot forge a log line or drive an operator's terminal once made safe:
// newlines, escape sequences and bidi overrides become visible escapes (issue 13, hole 7).
import assert from "node:assert/strict";
import { terminalSafe } from "./terminal_safe.ts";

Deno.test("terminalSafe() keeps ordinary text, accents and tabs as they are", () => {
  assert.equal(terminalSafe("relatório mensal\tv2 — ok"), "relatório mensal\tv2 — ok");
});

Deno.test("terminalSafe() turns a newline into a visible escape, so no line can be forged", () => {
  assert.equal(
    terminalSafe('x"\n2026-12-05T00:00:00Z INFO orchestrator o1: User "admin" logged in'),
    'x"\\n2026-12-05T00:00:00Z INFO orchestrator o1: User "admin" logged in',
  );
});

Deno.test("terminalSafe() neutralises ANSI colour, cursor and OSC clipboard escapes", () => {
  const osc52 = "\x1b]52;c;ZXZpbA==\x07";
  const out = terminalSafe(`\x1b[31mred\x1b[2J${osc52}\r`);
  assert.equal(out, "\\x1b[31mred\\x1b[2J\\x1b]52;c;ZXZpbA==\\x07\\r");
  // deno-lint-ignore no-control-regex
  assert.ok(!/[\x00-\x08\x0a-\x1f\x7f]/.test(out));
});

Deno.test("terminalSafe() escapes C1 controls and bidi overrides", () => {
  assert.equal(terminalSafe("a\u009bb\u202ec"), "a\\x9bb\\u202ec");
});

// Proves a checked login opens a session by proposal (the reply owed until it applies), that a
// wrong password is refused only once the read barrier holds, and a throttled one at once.
import assert from "node:assert/strict";
import { LamportClock } from "../../shared/lamport_clock.ts";
import type { Command } from "../tasks/mod.ts";
import { Harness } from "../tasks/_task_fixtures_test.ts";
import { handleLoginChecked, type LoginChecked, refusedUnchecked } from "./login_results.ts";
import { NodeOutput } from "./node_output.ts";
import { PendingReplies } from "./pending_replies.ts";
import { RequestTurns } from "./request_turns.ts";

function setup() {
  const h = new Harness();
  h.apply({ type: "accountConfigured", name: "alice", role: "user", passwordHash: "x", atMs: 0 });
  const out = new NodeOutput(new LamportClock(0));
  out.recovering = false;
  const turns = new RequestTurns(() => {});
  const proposed: Command[] = [];
  const pending = new PendingReplies();
  const ctx = {
    out,
    turns,
    pending,
    sm: () => h.sm,
    nowMs: () => 0,
    propose: (command: Command) => proposed.push(command),
    requireLeader: () => true,
    requireReadyLeader: () => true,
  };
  const check = (input: Partial<LoginChecked>) =>
    turns.run(1, 3, false, () =>
      handleLoginChecked(ctx, {
        type: "loginChecked",
        conn: 1,
        requestId: 3,
        lamport: 1,
        user: "alice",
        session: null,
        checkedPasswordHash: "x",
        nowMs: 0,
        ...input,
      }));
  return { h, out, turns, proposed, pending, check };
}

Deno.test("a right password proposes the session and owes the login reply", () => {
  const { proposed, pending, check } = setup();
  check({ session: { token: "t", tokenHash: "th", expiresAtMs: 10 } });
  assert.equal(proposed[0].type, "sessionOpened");
  assert.equal(pending.take(1)?.kind, "login");
});

Deno.test("a wrong password is refused only after the barrier, and a throttled login at once", () => {
  const { h, out, turns, check } = setup();
  check({});
  assert.deepEqual(out.take().send, []);
  turns.settle([{ id: 1, readIndex: 0 }], []);
  turns.serveHolding(h.sm.appliedIndex);
  const [wrong] = out.take().send;
  assert.equal(wrong.message.type === "error" && wrong.message.code, "bad_credentials");
  check({ retryAfterMs: 1500 });
  const [throttled] = out.take().send;
  assert.equal(throttled.message.type === "error" && throttled.message.code, "rate_limited");
});

Deno.test("a login unchecked is answered as a refused check from the same source", () => {
  const request = { type: "login", id: 3, v: 1, lamport: 8, user: "bob", password: "pw" } as const;
  const input = { type: "login", conn: 4, request, source: "10.0.0.2", nowMs: 9 } as const;
  assert.deepEqual(refusedUnchecked(input), {
    type: "loginChecked",
    conn: 4,
    requestId: 3,
    lamport: 8,
    user: "bob",
    session: null,
    source: "10.0.0.2",
    nowMs: 9,
  });
});

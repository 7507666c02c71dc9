// Proves that Waiters hands back each pending wait exactly once (by task, at its deadline, or
// dropped with its connection) and never holds more than its bound.
import assert from "node:assert/strict";
import { Waiters } from "./waiters.ts";
import type { Waiter } from "./waiters.ts";

function waiter(
  conn: number,
  requestId: number,
  taskId: string,
  deadlineMs: number,
  user = `user-${conn}`,
): Waiter {
  return { user, conn, requestId, taskId, deadlineMs };
}

Deno.test("Waiters starts empty", () => {
  const waiters = new Waiters({ max: 10, maxPerUser: 10 });
  assert.equal(waiters.size, 0);
  assert.deepEqual(waiters.take("t-1"), []);
  assert.deepEqual(waiters.expired(Number.MAX_SAFE_INTEGER), []);
});

Deno.test("Waiters.take() returns every waiter of the task, in arrival order, once", () => {
  const waiters = new Waiters({ max: 10, maxPerUser: 10 });
  const a = waiter(1, 10, "t-1", 500);
  const b = waiter(2, 20, "t-2", 500);
  const c = waiter(3, 30, "t-1", 900);
  for (const w of [a, b, c]) assert.equal(waiters.add(w), null);
  assert.equal(waiters.size, 3);
  assert.deepEqual(waiters.take("t-1"), [a, c]);
  assert.equal(waiters.size, 1);
  assert.deepEqual(waiters.take("t-1"), [], "taken waiters are gone");
  assert.deepEqual(waiters.take("t-2"), [b]);
  assert.equal(waiters.size, 0);
});

Deno.test("Waiters.expired() returns the waiters whose deadline has come, and only those", () => {
  const waiters = new Waiters({ max: 10, maxPerUser: 10 });
  const early = waiter(1, 1, "t-1", 100);
  const exact = waiter(1, 2, "t-2", 200);
  const late = waiter(2, 3, "t-1", 300);
  for (const w of [early, exact, late]) waiters.add(w);
  assert.deepEqual(waiters.expired(99), []);
  assert.deepEqual(
    waiters.expired(200).sort((x, y) => x.requestId - y.requestId),
    [early, exact],
    "a deadline equal to now has expired",
  );
  assert.equal(waiters.size, 1);
  assert.deepEqual(waiters.expired(200), [], "expired waiters are returned once");
  assert.deepEqual(waiters.take("t-1"), [late]);
  assert.deepEqual(waiters.take("t-2"), []);
});

Deno.test("Waiters.dropConnection() forgets that connection's waiters only", () => {
  const waiters = new Waiters({ max: 10, maxPerUser: 10 });
  const mine1 = waiter(1, 1, "t-1", 100);
  const mine2 = waiter(1, 2, "t-2", 100);
  const theirs = waiter(2, 3, "t-1", 100);
  for (const w of [mine1, mine2, theirs]) waiters.add(w);
  waiters.dropConnection(1);
  assert.equal(waiters.size, 1);
  assert.deepEqual(waiters.take("t-2"), []);
  assert.deepEqual(waiters.take("t-1"), [theirs]);
  waiters.dropConnection(99);
  assert.equal(waiters.size, 0);
});

Deno.test("Waiters.add() refuses a waiter beyond the bound", () => {
  const waiters = new Waiters({ max: 3, maxPerUser: 10 });
  for (let i = 0; i < 3; i++) assert.equal(waiters.add(waiter(1, i, `t-${i}`, 100)), null);
  assert.equal(waiters.add(waiter(1, 3, "t-0", 100)), "total");
  assert.equal(waiters.size, 3);
  assert.deepEqual(waiters.take("t-0").map((w) => w.requestId), [0], "the refused one is not kept");
});

Deno.test("Waiters.add() accepts again once taking, expiry or a closed connection makes room", () => {
  const waiters = new Waiters({ max: 2, maxPerUser: 2 });
  waiters.add(waiter(1, 1, "t-1", 100));
  waiters.add(waiter(2, 2, "t-2", 999));
  assert.equal(waiters.add(waiter(3, 3, "t-3", 100)), "total");
  waiters.take("t-1");
  assert.equal(waiters.add(waiter(3, 3, "t-3", 100)), null);
  assert.equal(waiters.add(waiter(4, 4, "t-4", 100)), "total");
  waiters.expired(100);
  assert.equal(waiters.size, 1);
  assert.equal(waiters.add(waiter(4, 4, "t-4", 100)), null);
  waiters.dropConnection(2);
  waiters.dropConnection(4);
  assert.equal(waiters.size, 0);
  assert.equal(waiters.add(waiter(5, 5, "t-5", 100)), null);
});

Deno.test("Waiters with a bound of zero holds nothing", () => {
  const waiters = new Waiters({ max: 0, maxPerUser: 10 });
  assert.equal(waiters.add(waiter(1, 1, "t-1", 100)), "total");
  assert.equal(waiters.size, 0);
});

Deno.test("Waiters.size matches the waiters held through a long mixed sequence", () => {
  const waiters = new Waiters({ max: 50, maxPerUser: 50 });
  const held = new Map<number, Waiter>();
  let id = 0;
  for (let round = 0; round < 200; round++) {
    const w = waiter(round % 7, id++, `t-${round % 11}`, round * 10 + (round % 13) * 5);
    if (waiters.add(w) === null) held.set(w.requestId, w);
    else assert.equal(held.size, 50);
    if (round % 5 === 0) {
      for (const x of waiters.take(`t-${round % 11}`)) held.delete(x.requestId);
    }
    if (round % 7 === 0) { for (const x of waiters.expired(round * 10)) held.delete(x.requestId); }
    if (round % 17 === 0) {
      waiters.dropConnection(round % 7);
      for (const [k, x] of held) if (x.conn === round % 7) held.delete(k);
    }
    assert.equal(waiters.size, held.size, `round ${round}`);
  }
});

Deno.test("Waiters.add() refuses one user beyond its own bound while others still wait", () => {
  const waiters = new Waiters({ max: 10, maxPerUser: 2 });
  assert.equal(waiters.add(waiter(1, 1, "t-1", 100, "mallory")), null);
  assert.equal(waiters.add(waiter(1, 2, "t-1", 100, "mallory")), null);
  assert.equal(waiters.add(waiter(1, 3, "t-1", 100, "mallory")), "user");
  assert.equal(waiters.add(waiter(2, 4, "t-2", 100, "alice")), null);
  assert.equal(waiters.countOf("mallory"), 2);
  waiters.take("t-1");
  assert.equal(waiters.countOf("mallory"), 0);
  assert.equal(waiters.add(waiter(1, 5, "t-1", 100, "mallory")), null);
});

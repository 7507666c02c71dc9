// Proves that LamportClock follows Lamport's two rules and that compareLamport() is a total order
// on (lamport, node) stamps.
import assert from "node:assert/strict";
import { compareLamport, LamportClock } from "./lamport_clock.ts";
import type { LamportStamp } from "./lamport_clock.ts";

Deno.test("LamportClock starts at 0 by default", () => {
  assert.equal(new LamportClock().value, 0);
});

Deno.test("LamportClock starts at the given value", () => {
  assert.equal(new LamportClock(41).value, 41);
});

Deno.test("LamportClock rejects a start that is not a non-negative safe integer", () => {
  for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
    assert.throws(() => new LamportClock(bad), RangeError, `initial ${bad}`);
  }
});

Deno.test("LamportClock.tick() advances by one and returns the new value", () => {
  const clock = new LamportClock(5);
  assert.equal(clock.tick(), 6);
  assert.equal(clock.tick(), 7);
  assert.equal(clock.value, 7);
});

Deno.test("LamportClock.value reads without advancing", () => {
  const clock = new LamportClock(3);
  assert.equal(clock.value, 3);
  assert.equal(clock.value, 3);
});

Deno.test("LamportClock.receive() jumps past a remote time ahead of it", () => {
  const clock = new LamportClock(3);
  assert.equal(clock.receive(10), 11);
  assert.equal(clock.value, 11);
});

Deno.test("LamportClock.receive() still advances for a remote time behind it", () => {
  const clock = new LamportClock(10);
  assert.equal(clock.receive(3), 11);
  assert.equal(clock.receive(11), 12);
});

Deno.test("LamportClock.receive() orders the receive after the send", () => {
  const sender = new LamportClock(0);
  const receiver = new LamportClock(0);
  for (let i = 0; i < 5; i++) sender.tick();
  const sentAt = sender.tick();
  const receivedAt = receiver.receive(sentAt);
  assert.ok(receivedAt > sentAt);
  // A reply from the receiver is again after the receive, and so after the send.
  assert.ok(sender.receive(receiver.tick()) > receivedAt);
});

Deno.test("LamportClock.observe() catches up without counting an event", () => {
  const clock = new LamportClock(2);
  clock.observe(9);
  assert.equal(clock.value, 9);
  assert.equal(clock.tick(), 10);
});

Deno.test("LamportClock.observe() never moves the clock back", () => {
  const clock = new LamportClock(9);
  clock.observe(4);
  clock.observe(9);
  assert.equal(clock.value, 9);
});

Deno.test("compareLamport() orders by Lamport time first", () => {
  assert.ok(compareLamport({ lamport: 1, node: "z" }, { lamport: 2, node: "a" }) < 0);
  assert.ok(compareLamport({ lamport: 2, node: "a" }, { lamport: 1, node: "z" }) > 0);
});

Deno.test("compareLamport() breaks ties by node id", () => {
  assert.ok(compareLamport({ lamport: 4, node: "o1" }, { lamport: 4, node: "o2" }) < 0);
  assert.ok(compareLamport({ lamport: 4, node: "o2" }, { lamport: 4, node: "o1" }) > 0);
});

Deno.test("compareLamport() is zero only for the same time and node", () => {
  assert.equal(compareLamport({ lamport: 4, node: "o1" }, { lamport: 4, node: "o1" }), 0);
  assert.notEqual(compareLamport({ lamport: 4, node: "o1" }, { lamport: 4, node: "o10" }), 0);
});

Deno.test("compareLamport() is a total order: antisymmetric, transitive and total", () => {
  const stamps: LamportStamp[] = [];
  for (const lamport of [0, 1, 2, 10]) {
    for (const node of ["", "a", "b", "o1", "o10", "o2", "w"]) stamps.push({ lamport, node });
  }
  const sign = (n: number) => Math.sign(n);
  for (const a of stamps) {
    for (const b of stamps) {
      const ab = sign(compareLamport(a, b));
      const ba = sign(compareLamport(b, a));
      assert.ok(ab + ba === 0, `antisymmetry ${JSON.stringify([a, b])}`);
      assert.equal(ab === 0, a.lamport === b.lamport && a.node === b.node, "only equals tie");
      for (const c of stamps) {
        if (ab <= 0 && sign(compareLamport(b, c)) <= 0) {
          assert.ok(compareLamport(a, c) <= 0, `transitivity ${JSON.stringify([a, b, c])}`);
        }
      }
    }
  }
});

Deno.test("compareLamport() sorts the same stamps the same way whatever their input order", () => {
  const stamps: LamportStamp[] = [
    { lamport: 3, node: "b" },
    { lamport: 1, node: "c" },
    { lamport: 3, node: "a" },
    { lamport: 2, node: "a" },
  ];
  const expected = [
    { lamport: 1, node: "c" },
    { lamport: 2, node: "a" },
    { lamport: 3, node: "a" },
    { lamport: 3, node: "b" },
  ];
  assert.deepEqual([...stamps].sort(compareLamport), expected);
  assert.deepEqual([...stamps].reverse().sort(compareLamport), expected);
});

Deno.test("LamportClock.receive() of a large but safe time still lets tick() advance", () => {
  const clock = new LamportClock();
  const received = clock.receive(2 ** 52);
  assert.ok(clock.tick() > received);
  assert.ok(Number.isSafeInteger(clock.value));
});

Deno.test({
  name: "LamportClock.receive() and observe() refuse a time the clock cannot advance past",
  // Values outside [0, 2^52] would let one message exhaust the clock (see LAMPORT_MAX).
  fn: () => {
    for (const bad of [Number.MAX_SAFE_INTEGER, Number.NaN, Number.POSITIVE_INFINITY, 1.5]) {
      const clock = new LamportClock(5);
      assert.throws(() => clock.receive(bad), RangeError, `receive(${bad})`);
      assert.equal(clock.value, 5, `receive(${bad}) moved the clock`);
    }
    for (const bad of [2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, 1.5]) {
      const clock = new LamportClock(5);
      assert.throws(() => clock.observe(bad), RangeError, `observe(${bad})`);
      assert.equal(clock.value, 5, `observe(${bad}) moved the clock`);
    }
  },
});

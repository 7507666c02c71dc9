// Proves a turn that deferred a refusal is handled again, confirmed, once its read barrier
// holds; that a turn deferring nothing asks for no barrier; and that failed barriers come back.
import assert from "node:assert/strict";
import { RequestTurns } from "./request_turns.ts";

Deno.test("a refusal inside an unconfirmed turn waits for the barrier, then the turn reruns", () => {
  const reads: number[] = [];
  const turns = new RequestTurns((id) => reads.push(id));
  const seen: boolean[] = [];
  turns.run(1, 7, false, () => {
    seen.push(turns.current().confirmed);
    if (turns.defers()) return;
  });
  assert.deepEqual(reads, [1], "one barrier was asked for");
  assert.equal(turns.waiting, 1);
  turns.settle([{ id: 1, readIndex: 5 }], []);
  turns.serveHolding(4);
  assert.deepEqual(seen, [false], "not before the state has applied the read index");
  turns.serveHolding(5);
  assert.deepEqual(seen, [false, true]);
  assert.equal(turns.waiting, 0);
});

Deno.test("a turn that defers nothing asks for no barrier, and outside a turn nothing defers", () => {
  const reads: number[] = [];
  const turns = new RequestTurns((id) => reads.push(id));
  turns.run(1, 7, false, () => {});
  assert.deepEqual(reads, []);
  assert.equal(turns.defers(), false);
  assert.throws(() => turns.current(), /outside its turn/);
});

Deno.test("a barrier the log could not confirm is returned, to be told not leader", () => {
  const turns = new RequestTurns(() => {});
  turns.run(3, 9, false, () => void turns.defers());
  const refused = turns.settle([], [1]);
  assert.deepEqual(refused.map((b) => [b.conn, b.requestId]), [[3, 9]]);
  assert.equal(turns.waiting, 0);
});

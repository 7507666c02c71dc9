// Proves entries that arrive already committed are applied as history, that consecutive pieces
// extend one range, and that one "Caught up" line comes once all the leader committed is applied.
import assert from "node:assert/strict";
import { CatchUpHistory } from "./catch_up_history.ts";

Deno.test("entries that arrived committed are history; later live ones are not", () => {
  const history = new CatchUpHistory();
  history.noteArrivals(0, 10, 4);
  history.noteArrivals(4, 10, 8);
  assert.deepEqual([1, 8, 9].map((i) => history.applying(i)), [true, true, false]);
});

Deno.test("one caught-up line once the leader's commit index is applied, then none", () => {
  const history = new CatchUpHistory();
  history.noteArrivals(0, 3, 3);
  for (const index of [1, 2, 3]) history.applying(index);
  assert.equal(history.caughtUpLine(2), null, "not yet: the leader had committed 3");
  assert.equal(
    history.caughtUpLine(3),
    "Caught up with the leader: applied 3 entries committed while this node was behind " +
      "(through index 3)",
  );
  assert.equal(history.caughtUpLine(3), null);
});

Deno.test("entries not yet committed when they arrive are never history", () => {
  const history = new CatchUpHistory();
  history.noteArrivals(5, 5, 9);
  assert.equal(history.applying(6), false);
  assert.equal(history.caughtUpLine(9), null);
});

Deno.test("CatchUpHistory logs a caught-up line at info at most every 10 s, the others at debug", () => {
  const history = new CatchUpHistory();
  const catchUp = (from: number, to: number, nowMs: number) => {
    history.noteArrivals(from - 1, to, to);
    for (let i = from; i <= to; i++) history.applying(i);
    return history.caughtUp(to, nowMs)?.level;
  };
  assert.equal(catchUp(1, 3, 1_000), "info");
  assert.equal(catchUp(4, 6, 5_000), "debug", "a follower falling behind again under load");
  assert.equal(catchUp(7, 9, 11_000), "info");
});

// Proves keepalives go out at most once per interval, to every client and then the given workers,
// and that a client whose connection closed gets none.
import assert from "node:assert/strict";
import { Keepalives } from "./keepalives.ts";

Deno.test("keepalives go to clients then workers, once per interval", () => {
  const keepalives = new Keepalives();
  keepalives.addClient(1);
  keepalives.addClient(2);
  assert.deepEqual(keepalives.due(0, 1000, [7]), [1, 2, 7]);
  assert.deepEqual(keepalives.due(999, 1000, [7]), []);
  keepalives.dropClient(1);
  assert.deepEqual(keepalives.due(1000, 1000, []), [2]);
});

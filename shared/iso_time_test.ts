// Proves isoTime() formats any time a task may hold, and never throws for one a Date cannot.
import assert from "node:assert/strict";
import { isoTime } from "./iso_time.ts";

Deno.test("isoTime() formats ms as ISO 8601, and says the number past what a Date holds", () => {
  assert.equal(isoTime(0), "1970-01-01T00:00:00.000Z");
  assert.equal(isoTime(1_790_000_000_000), new Date(1_790_000_000_000).toISOString());
  assert.equal(isoTime(9e15), "9000000000000000 ms after 1970");
});

import assert from "node:assert/strict";
import { IdempotencyIndex } from "./idempotency_index.ts";

Deno.test("IdempotencyIndex keeps the same key of two owners apart", () => {
  const index = new IdempotencyIndex();
  index.set("ana", "k1", "t-1");
  index.set("bia", "k1", "t-2");
  assert.equal(index.get("ana", "k1"), "t-1");
  assert.equal(index.get("bia", "k1"), "t-2");
  assert.equal(index.get("ana", "k2"), undefined);
  assert.equal(index.get("caio", "k1"), undefined);
});

Deno.test("IdempotencyIndex counts distinct keys and forgets them all on clear()", () => {
  const index = new IdempotencyIndex();
  index.set("ana", "k1", "t-1");
  index.set("ana", "k1", "t-1"); // the same pair again
  index.set("ana", "k2", "t-2");
  assert.equal(index.size, 2);
  index.clear();
  assert.equal(index.size, 0);
  assert.equal(index.get("ana", "k1"), undefined);
});

Deno.test("IdempotencyIndex does not confuse owner/key splits that join to the same text", () => {
  const index = new IdempotencyIndex();
  index.set("a", "b\0c", "t-1");
  index.set("a\0b", "c", "t-2");
  assert.equal(index.get("a", "b\0c"), "t-1");
  assert.equal(index.get("a\0b", "c"), "t-2");
});

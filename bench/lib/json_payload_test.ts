// Proves bench payloads have exactly the size asked, are compact JSON and differ by index.
import assert from "node:assert/strict";
import { jsonPayload } from "./json_payload.mjs";

Deno.test("jsonPayload() is exactly the size asked, in UTF-8 bytes", () => {
  for (const [bytes, index] of [[1024, 0], [1024, 123_456], [17, 3], [4096, 9]]) {
    const text = jsonPayload(bytes, index);
    assert.equal(new TextEncoder().encode(text).length, bytes);
  }
});

Deno.test("jsonPayload() is compact JSON that re-serializes to itself", () => {
  const text = jsonPayload(1024, 42);
  const parsed = JSON.parse(text);
  assert.equal(parsed.i, 42);
  assert.equal(JSON.stringify(parsed), text);
});

Deno.test("jsonPayload() is deterministic and varies with the index", () => {
  assert.equal(jsonPayload(256, 5), jsonPayload(256, 5));
  assert.notEqual(jsonPayload(256, 5), jsonPayload(256, 6));
});

Deno.test("jsonPayload() refuses a size below its fixed part and a bad index", () => {
  assert.throws(() => jsonPayload(10, 0), RangeError);
  assert.throws(() => jsonPayload(1024, -1), RangeError);
  assert.throws(() => jsonPayload(1024, 1.5), RangeError);
  assert.throws(() => jsonPayload(1024.5, 1), RangeError);
});

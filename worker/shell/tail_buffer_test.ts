// Proves that TailBuffer keeps exactly the last bytes of a stream and says whether it dropped any.
import assert from "node:assert/strict";
import { TailBuffer } from "./tail_buffer.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("TailBuffer keeps everything and is not truncated while under its limit", () => {
  const tail = new TailBuffer(8);
  tail.push(bytes("abc"));
  tail.push(bytes("defgh"));
  assert.equal(tail.text(), "abcdefgh");
  assert.equal(tail.isTruncated, false);
});

Deno.test("TailBuffer keeps the last bytes and is truncated once it drops any", () => {
  const tail = new TailBuffer(8);
  tail.push(bytes("abcdef"));
  tail.push(bytes("ghij"));
  assert.equal(tail.text(), "cdefghij");
  assert.equal(tail.isTruncated, true);
  const big = new TailBuffer(4);
  big.push(bytes("0123456789"));
  assert.equal(big.text(), "6789");
  assert.equal(big.isTruncated, true);
});

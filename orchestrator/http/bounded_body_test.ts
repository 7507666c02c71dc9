// Proves that readBoundedText() reads a body within its limit and refuses a longer one, whether
// its length is declared or it is streamed.
import assert from "node:assert/strict";
import { readBoundedText } from "./bounded_body.ts";

function streamOf(parts: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(encoder.encode(part));
      controller.close();
    },
  });
}

Deno.test("readBoundedText() reads a body within the limit, and an absent one as empty", async () => {
  const request = new Request("http://x/", { method: "POST", body: '{"a":"é"}' });
  assert.equal(await readBoundedText(request, 100), '{"a":"é"}');
  assert.equal(await readBoundedText(new Request("http://x/"), 100), "");
});

Deno.test("readBoundedText() refuses a declared length over the limit", async () => {
  const request = new Request("http://x/", {
    method: "POST",
    body: "x".repeat(20),
    headers: { "content-length": "20" },
  });
  assert.equal(await readBoundedText(request, 10), null);
});

Deno.test("readBoundedText() stops a streamed body once it passes the limit", async () => {
  const request = new Request("http://x/", {
    method: "POST",
    body: streamOf(["12345", "67890", "abc"]),
  });
  assert.equal(await readBoundedText(request, 10), null);
  const within = new Request("http://x/", { method: "POST", body: streamOf(["12345", "67890"]) });
  assert.equal(await readBoundedText(within, 10), "1234567890");
});

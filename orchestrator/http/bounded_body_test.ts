// Proves that readBoundedText() reads a body within its limits and refuses a longer one, whether
// its length is declared or it is streamed, and one that does not arrive in time.
import assert from "node:assert/strict";
import { readBoundedText } from "./bounded_body.ts";

const LIMITS = { maxBytes: 10, timeoutMs: 5_000 };

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
  assert.deepEqual(await readBoundedText(request, { ...LIMITS, maxBytes: 100 }), {
    text: '{"a":"é"}',
  });
  assert.deepEqual(await readBoundedText(new Request("http://x/"), LIMITS), { text: "" });
});

Deno.test("readBoundedText() refuses a declared length over the limit", async () => {
  const request = new Request("http://x/", {
    method: "POST",
    body: "x".repeat(20),
    headers: { "content-length": "20" },
  });
  assert.deepEqual(await readBoundedText(request, LIMITS), { refused: "tooLarge" });
});

Deno.test("readBoundedText() stops a streamed body once it passes the limit", async () => {
  const request = new Request("http://x/", {
    method: "POST",
    body: streamOf(["12345", "67890", "abc"]),
  });
  assert.deepEqual(await readBoundedText(request, LIMITS), { refused: "tooLarge" });
  const within = new Request("http://x/", { method: "POST", body: streamOf(["12345", "67890"]) });
  assert.deepEqual(await readBoundedText(within, LIMITS), { text: "1234567890" });
});

Deno.test("readBoundedText() gives up on a body that does not arrive whole in time", async () => {
  let cancelled = false;
  const trickle = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode("{"));
      // Never closed: a client that stops sending half way.
    },
    cancel() {
      cancelled = true;
    },
  });
  const request = new Request("http://x/", { method: "POST", body: trickle });
  assert.deepEqual(await readBoundedText(request, { maxBytes: 10, timeoutMs: 50 }), {
    refused: "tooSlow",
  });
  assert.equal(cancelled, true);
});

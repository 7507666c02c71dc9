import assert from "node:assert/strict";
import { retryDelayMs } from "./retry_backoff.ts";

const exponential = {
  retries: 5,
  backoff: "exponential",
  delayMs: 1000,
  maxDelayMs: 8000,
} as const;

Deno.test("fixed backoff waits the same each time", () => {
  const fixed = { ...exponential, backoff: "fixed" } as const;
  for (let retried = 0; retried < 5; retried++) {
    assert.equal(retryDelayMs(fixed, retried, 7), 1000);
  }
});

Deno.test("exponential backoff doubles up to its cap, each pause between half and all of it", () => {
  for (let seq = 1; seq <= 200; seq++) {
    for (let retried = 0; retried < 8; retried++) {
      const ceiling = Math.min(8000, 1000 * 2 ** retried);
      const delay = retryDelayMs(exponential, retried, seq);
      assert.ok(delay >= ceiling / 2 && delay <= ceiling, `${delay} for retry ${retried}`);
    }
  }
});

Deno.test("exponential backoff spreads tasks that failed together, the same way on every replica", () => {
  const delays = new Set<number>();
  for (let seq = 1; seq <= 50; seq++) delays.add(retryDelayMs(exponential, 2, seq));
  assert.ok(delays.size > 40, `only ${delays.size} distinct pauses for 50 tasks`);
  assert.equal(retryDelayMs(exponential, 2, 17), retryDelayMs(exponential, 2, 17));
});

Deno.test("a huge retry count stays at the cap instead of overflowing", () => {
  const delay = retryDelayMs(exponential, 99, 3);
  assert.ok(delay >= 4000 && delay <= 8000, `${delay}`);
});

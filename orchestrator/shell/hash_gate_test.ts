// Proves that HashGate runs at most `maxRunning` jobs at once, queues at most `maxQueued` more in
// order, refuses the rest without running them, and frees a slot when a job throws.
import assert from "node:assert/strict";
import { HashGate } from "./hash_gate.ts";

/** A job that runs until released, recording how many ran at once. */
function gatedJobs() {
  let running = 0;
  let peak = 0;
  const started: number[] = [];
  const releases: Array<() => void> = [];
  const job = (n: number) => async () => {
    running += 1;
    peak = Math.max(peak, running);
    started.push(n);
    await new Promise<void>((resolve) => releases.push(resolve));
    running -= 1;
    return n;
  };
  return { job, started, releases, peak: () => peak };
}

/** Lets pending promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

Deno.test("HashGate runs at most maxRunning jobs at once and queues the next ones in order", async () => {
  const gate = new HashGate({ maxRunning: 2, maxQueued: 3 });
  const jobs = gatedJobs();
  const results = [1, 2, 3, 4, 5].map((n) => gate.run(jobs.job(n)));
  await settle();
  assert.deepEqual(jobs.started, [1, 2]);
  while (jobs.releases.length > 0) {
    jobs.releases.shift()!();
    await settle();
  }
  assert.deepEqual((await Promise.all(results)).map((r) => r?.value), [1, 2, 3, 4, 5]);
  assert.deepEqual(jobs.started, [1, 2, 3, 4, 5]);
  assert.equal(jobs.peak(), 2);
  assert.equal(gate.running, 0);
});

Deno.test("HashGate refuses a job without running it when its queue is full", async () => {
  const gate = new HashGate({ maxRunning: 1, maxQueued: 1 });
  const jobs = gatedJobs();
  const first = gate.run(jobs.job(1));
  const second = gate.run(jobs.job(2));
  assert.equal(await gate.run(jobs.job(3)), null);
  await settle();
  jobs.releases.shift()!();
  await settle();
  jobs.releases.shift()!();
  assert.deepEqual([(await first)?.value, (await second)?.value], [1, 2]);
  assert.deepEqual(jobs.started, [1, 2]);
});

Deno.test("HashGate frees the slot of a job that throws", async () => {
  const gate = new HashGate({ maxRunning: 1, maxQueued: 1 });
  await assert.rejects(gate.run(() => Promise.reject(new Error("scrypt failed"))), /scrypt failed/);
  assert.equal(gate.running, 0);
  assert.deepEqual(await gate.run(() => Promise.resolve(7)), { value: 7 });
});

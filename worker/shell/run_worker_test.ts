// Proves runWorker's library contract without a cluster: bad handlers and options are refused
// before anything starts, and stop() ends a worker that never registered, its id rejecting.
import assert from "node:assert/strict";
import { runWorker } from "./run_worker.ts";

// Nothing listens on port 1: the worker keeps trying until stopped.
const NOWHERE = "127.0.0.1:1";

Deno.test("runWorker() refuses bad handlers and options before starting anything", async () => {
  await assert.rejects(
    () => runWorker({ handlers: {}, orchestrators: NOWHERE }),
    /Invalid handlers in runWorker\(\) options: it defines no task kinds/,
  );
  await assert.rejects(
    () => runWorker({ handlers: "no/such/module.ts", orchestrators: NOWHERE }),
    /Cannot load handlers from "no\/such\/module.ts": no such file/,
  );
  await assert.rejects(
    () => runWorker({ handlers: { add: () => 0 }, orchestrators: NOWHERE, slots: 0 }),
    (e: Error) => e instanceof RangeError && /slots must be an integer from 1/.test(e.message),
  );
});

Deno.test("runWorker() stops on stop(); a worker that never registered rejects its id", async () => {
  const worker = await runWorker({
    handlers: { add: ({ a, b }) => a + b },
    orchestrators: NOWHERE,
    drainTimeoutMs: 0,
  });
  assert.match(worker.name, /^127\.0\.0\.1:\d+$/);
  await worker.stop();
  await worker.done;
  await assert.rejects(() => worker.workerId, /stopped before it registered/);
});

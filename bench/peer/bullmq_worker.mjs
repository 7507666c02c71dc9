/**
 * One BullMQ worker process of the peer bench: a `Worker` with `--concurrency` slots whose
 * processor does nothing but return the wall-clock time it started (the sub-millisecond
 * "running" stamp the latency scenarios compare with Mutirão's `started` event), or, for the
 * payloads scenario's jobs named "payload", their data (like Mutirão's `echo` handler). Prints
 * `{"event":"ready"}` once connected; closes the worker and exits 0 on SIGTERM.
 *
 *   node bench/peer/bullmq_worker.mjs --port P --queue NAME --concurrency 8
 * @module
 */
import { parseArgs } from "node:util";
import { bullmq, connectionTo, emit, intArg, wallNowMs } from "./_bullmq_common.mjs";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    queue: { type: "string", default: "bench" },
    concurrency: { type: "string", default: "8" },
  },
  strict: true,
});

/** Jobs named "payload" return their data (an echo); every other job its start stamp. */
const processor = (job) => Promise.resolve(job.name === "payload" ? job.data : wallNowMs());

const worker = new bullmq.Worker(values.queue, processor, {
  connection: connectionTo(intArg(values, "port", 1)),
  concurrency: intArg(values, "concurrency", 1),
});
worker.on("error", (error) => console.error(`bullmq worker: ${error.message}`));

let closing = false;
process.on("SIGTERM", () => {
  if (closing) return;
  closing = true;
  worker.close().then(() => process.exit(0), (error) => {
    console.error(`bullmq worker: close failed: ${error.message}`);
    process.exit(1);
  });
});

await worker.waitUntilReady();
emit("ready", { pid: process.pid });

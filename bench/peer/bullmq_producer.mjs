/**
 * The BullMQ peer's load generator: one measured run of one scenario against workers already
 * started (bullmq_worker.mjs), with the same task shape as Mutirão's bench. Prints
 * `{"event":"progress",...}` lines and one `{"event":"result",...}` line, then exits 0.
 *
 *   node bench/peer/bullmq_producer.mjs --port P --mode throughput --tasks N --batch N
 *        --in-flight N --warmup N
 *   node bench/peer/bullmq_producer.mjs --port P --mode latency --count N --rate R --warmup N
 *   node bench/peer/bullmq_producer.mjs --port P --mode loaded-latency --count N --rate R
 *        --background-rate R --background-batch N --background-in-flight N --settle-ms MS
 *   node bench/peer/bullmq_producer.mjs --port P --mode payloads --tasks N --batch N
 *        --in-flight N --warmup N --payload-bytes B [--payload-first]
 *
 * Times: submission stamps are taken just before `add`/`addBulk` is called; "running" is the
 * stamp the worker's processor returns (its first statement); completions are BullMQ's own
 * `finishedOn` (ms resolution, worker clock, the same machine).
 * @module
 */
import { parseArgs } from "node:util";
import { jsonPayload } from "../lib/json_payload.mjs";
import { bullmq, connectionTo, delay, emit, intArg, wallNowMs } from "./_bullmq_common.mjs";

const POLL_MS = 50;
const DRAIN_TIMEOUT_MS = 600_000;

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    queue: { type: "string", default: "bench" },
    mode: { type: "string" },
    tasks: { type: "string", default: "20000" },
    batch: { type: "string", default: "1000" },
    "in-flight": { type: "string", default: "4" },
    warmup: { type: "string", default: "0" },
    count: { type: "string", default: "500" },
    rate: { type: "string", default: "200" },
    "background-rate": { type: "string", default: "5000" },
    "background-batch": { type: "string", default: "50" },
    "background-in-flight": { type: "string", default: "64" },
    "settle-ms": { type: "string", default: "1000" },
    "payload-bytes": { type: "string", default: "1024" },
    "payload-first": { type: "boolean", default: false },
  },
  strict: true,
});
const connection = connectionTo(intArg(values, "port", 1));

/**
 * `count` jobs named `name`, as one addBulk argument: no-op jobs with empty data, or with
 * `payloadBytes` the payload jsonPayload makes for the job's index (from `start`), as the
 * object it encodes (BullMQ stores data as JSON text: the same bytes again).
 */
function jobs(name, count, payload = { bytes: 0, start: 0 }) {
  return Array.from({ length: count }, (_, i) => ({
    name,
    data: payload.bytes > 0 ? JSON.parse(jsonPayload(payload.bytes, payload.start + i)) : {},
  }));
}

/**
 * Polls until `total` jobs completed (the queue was empty before the run); returns the newest
 * `finishedOn`. Polling does not bias the end time: it comes from the jobs' own records.
 * @throws {Error} if a job failed or work remains after DRAIN_TIMEOUT_MS
 */
async function waitForCompleted(queue, total) {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const counts = await queue.getJobCounts("completed", "failed");
    if (counts.failed > 0) throw new Error(`${counts.failed} BullMQ jobs failed`);
    if (counts.completed >= total) break;
    if (Date.now() > deadline) {
      throw new Error(`Only ${counts.completed} of ${total} jobs completed after the timeout`);
    }
    await delay(POLL_MS);
  }
  // The completed set is ordered by finishedOn; the newest few hold the last completion.
  const newest = await queue.getJobs(["completed"], 0, 19, false);
  return Math.max(0, ...newest.map((job) => job.finishedOn ?? 0));
}

/**
 * Adds `total` jobs in batches of `batchSize` with `inFlight` addBulk calls outstanding; with
 * `payloadBytes`, each carries a payload of that size (see jobs).
 */
async function addInBatches(queue, options) {
  const batches = Math.ceil(options.total / options.batchSize);
  let next = 0;
  let lastAckMs = 0;
  const firstSubmitMs = Date.now();
  const lane = async () => {
    while (next < batches) {
      const b = next++;
      const start = b * options.batchSize;
      const count = Math.min(options.batchSize, options.total - start);
      await queue.addBulk(jobs(options.name, count, { bytes: options.payloadBytes ?? 0, start }));
      lastAckMs = Math.max(lastAckMs, Date.now());
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.inFlight) }, lane));
  return { firstSubmitMs, lastAckMs };
}

async function throughput(queue) {
  const tasks = intArg(values, "tasks", 1);
  const batchSize = intArg(values, "batch", 1);
  const inFlight = intArg(values, "in-flight", 1);
  const warmup = intArg(values, "warmup", 0);
  if (warmup > 0) {
    emit("progress", { message: `warm-up: ${warmup} jobs` });
    await addInBatches(queue, { name: "warmup", total: warmup, batchSize, inFlight });
    await waitForCompleted(queue, warmup);
  }
  emit("progress", { message: `${tasks} jobs, addBulk of ${batchSize}, ${inFlight} in flight` });
  const run = await addInBatches(queue, { name: "run", total: tasks, batchSize, inFlight });
  const lastFinishedMs = await waitForCompleted(queue, warmup + tasks);
  const elapsedMs = Math.max(1, lastFinishedMs - run.firstSubmitMs);
  return {
    tasks,
    elapsedMs,
    tasksPerS: (tasks * 1000) / elapsedMs,
    acksPerS: (tasks * 1000) / Math.max(1, run.lastAckMs - run.firstSubmitMs),
  };
}

/**
 * Sends `count` single `add` calls `1000 / ratePerS` ms apart, paced against the start time
 * (open loop: no call waits for the previous one), and returns each job's id and send stamp.
 */
async function openLoop(queue, options) {
  const intervalMs = 1000 / options.ratePerS;
  const sent = [];
  const start = performance.now();
  for (let i = 0; i < options.count; i++) {
    const wait = start + i * intervalMs - performance.now();
    if (wait > 0) await delay(wait);
    const sentMs = wallNowMs();
    sent.push(queue.add(options.name, {}).then((job) => ({ id: job.id, sentMs })));
  }
  const sendSpanMs = performance.now() - start;
  return {
    sent: await Promise.all(sent),
    achievedRatePerS: ((options.count - 1) * 1000) / Math.max(1, sendSpanMs),
  };
}

/** submit→running samples (ms): the processor's returned start stamp minus the send stamp. */
async function runningSamples(queue, sent) {
  const samples = [];
  for (const { id, sentMs } of sent) {
    const job = await bullmq.Job.fromId(queue, id);
    if (typeof job?.returnvalue !== "number") {
      throw new Error(`Job ${id} has no start stamp (return value ${job?.returnvalue})`);
    }
    samples.push(job.returnvalue - sentMs);
  }
  return samples;
}

async function latency(queue) {
  const count = intArg(values, "count", 1);
  const ratePerS = intArg(values, "rate", 1);
  const warmup = intArg(values, "warmup", 0);
  if (warmup > 0) {
    emit("progress", { message: `warm-up: ${warmup} jobs at ${ratePerS}/s` });
    await openLoop(queue, { name: "warmup", count: warmup, ratePerS });
  }
  emit("progress", { message: `${count} jobs at ${ratePerS}/s` });
  const { sent, achievedRatePerS } = await openLoop(queue, { name: "run", count, ratePerS });
  await waitForCompleted(queue, warmup + count);
  return { runningMs: await runningSamples(queue, sent), achievedRatePerS };
}

/**
 * Background batches every `intervalMs`, paced against the start time, until `stop()`. A batch
 * due while `inFlight` addBulk calls are outstanding is skipped and counted: the generator never
 * queues unbounded work, and the achieved rate shows the shortfall.
 */
function startBackground(queue, options) {
  const intervalMs = (options.batchSize * 1000) / options.ratePerS;
  let running = true;
  let inFlight = 0;
  let added = 0;
  let skippedBatches = 0;
  const startMs = Date.now();
  const pending = new Set();
  const loop = (async () => {
    const start = performance.now();
    for (let i = 0; running; i++) {
      const wait = start + i * intervalMs - performance.now();
      if (wait > 0) await delay(wait);
      if (!running) break;
      if (inFlight >= options.inFlight) {
        skippedBatches++;
        continue;
      }
      inFlight++;
      const p = queue.addBulk(jobs("background", options.batchSize)).then(() => {
        inFlight--;
        added += options.batchSize;
      });
      pending.add(p);
      p.finally(() => pending.delete(p));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await Promise.all(pending);
      const stopMs = Date.now();
      return { added, skippedBatches, startMs, stopMs };
    },
  };
}

async function loadedLatency(queue) {
  const count = intArg(values, "count", 1);
  const ratePerS = intArg(values, "rate", 1);
  const backgroundRatePerS = intArg(values, "background-rate", 1);
  const settleMs = intArg(values, "settle-ms", 0);
  const warmup = intArg(values, "warmup", 0);
  // A second connection for the probes, as an independent client would have.
  const probes = new bullmq.Queue(values.queue, { connection });
  try {
    if (warmup > 0) {
      emit("progress", { message: `warm-up: ${warmup} jobs at ${ratePerS}/s` });
      await openLoop(probes, { name: "warmup", count: warmup, ratePerS });
      await waitForCompleted(queue, warmup);
    }
    emit("progress", { message: `background ${backgroundRatePerS}/s, settling ${settleMs} ms` });
    const background = startBackground(queue, {
      ratePerS: backgroundRatePerS,
      batchSize: intArg(values, "background-batch", 1),
      inFlight: intArg(values, "background-in-flight", 1),
    });
    await delay(settleMs);
    emit("progress", { message: `${count} probes at ${ratePerS}/s` });
    const { sent, achievedRatePerS } = await openLoop(probes, { name: "probe", count, ratePerS });
    const bg = await background.stop();
    const lastFinishedMs = await waitForCompleted(queue, warmup + bg.added + count);
    const windowMs = Math.max(1, bg.stopMs - bg.startMs);
    return {
      probeRunningMs: await runningSamples(queue, sent),
      probeRatePerS: achievedRatePerS,
      backgroundTargetPerS: backgroundRatePerS,
      backgroundSubmittedPerS: (bg.added * 1000) / windowMs,
      completedPerS: ((bg.added + count) * 1000) /
        Math.max(1, lastFinishedMs - bg.startMs),
      backgroundSkippedBatches: bg.skippedBatches,
    };
  } finally {
    await probes.close();
  }
}

/**
 * The payloads scenario: `tasks` no-op jobs and `tasks` "payload" jobs (the worker returns their
 * data, an echo), each kind timed from its first addBulk to its newest finishedOn, no-op first
 * unless --payload-first; after a warm-up of each kind.
 * @throws {Error} when the newest payload job did not return its data
 */
async function payloads(queue) {
  const tasks = intArg(values, "tasks", 1);
  const batchSize = intArg(values, "batch", 1);
  const inFlight = intArg(values, "in-flight", 1);
  const warmup = intArg(values, "warmup", 0);
  const payloadBytes = intArg(values, "payload-bytes", 1);
  let completed = 0;
  const timed = async (kind, total) => {
    const run = await addInBatches(queue, {
      name: kind,
      total,
      batchSize,
      inFlight,
      payloadBytes: kind === "payload" ? payloadBytes : 0,
    });
    completed += total;
    const lastFinishedMs = await waitForCompleted(queue, completed);
    if (kind === "payload") await checkEchoed(queue, payloadBytes);
    return (total * 1000) / Math.max(1, lastFinishedMs - run.firstSubmitMs);
  };
  if (warmup > 0) {
    emit("progress", { message: `warm-up: ${warmup} jobs of each kind` });
    await timed("noop", warmup);
    await timed("payload", warmup);
  }
  const order = values["payload-first"] ? ["payload", "noop"] : ["noop", "payload"];
  const perS = {};
  for (const kind of order) {
    emit("progress", { message: `${tasks} ${kind} jobs, addBulk of ${batchSize}` });
    perS[kind] = await timed(kind, tasks);
  }
  return { tasks, payloadBytes, noopTasksPerS: perS.noop, payloadTasksPerS: perS.payload };
}

/** @throws {Error} unless the newest completed job returned its data, `payloadBytes` of JSON */
async function checkEchoed(queue, payloadBytes) {
  const [job] = await queue.getJobs(["completed"], 0, 0, false);
  const data = JSON.stringify(job?.data);
  if (job?.name !== "payload" || JSON.stringify(job.returnvalue) !== data) {
    throw new Error(`Job ${job?.id} (${job?.name}) did not return its data`);
  }
  if (data.length !== payloadBytes) {
    throw new Error(`Job ${job.id} carried ${data.length} bytes, not ${payloadBytes}`);
  }
}

const MODES = { throughput, latency, "loaded-latency": loadedLatency, payloads };
const mode = MODES[values.mode];
if (mode === undefined) {
  console.error(`bullmq producer: --mode must be one of ${Object.keys(MODES).join(", ")}`);
  process.exit(2);
}
const queue = new bullmq.Queue(values.queue, { connection });
try {
  // Completion is counted from zero: every run gets a fresh Redis and queue.
  const before = await queue.getJobCounts();
  const leftover = Object.values(before).reduce((a, b) => a + b, 0);
  if (leftover > 0) {
    throw new Error(`Queue "${values.queue}" is not empty: ${JSON.stringify(before)}`);
  }
  emit("result", await mode(queue));
} finally {
  await queue.close();
}

// Per-second counts and latencies over the last minutes, from task events (their `atMs` is the
// leader's clock when the entry was proposed, so every orchestrator's stream gives the same
// figures). Pure: fed events, read as series for the charts.

export const WINDOW_S = 300;

export class FlowStats {
  constructor() {
    /** second → { submitted, succeeded, failed, waits: [], runs: [] } */
    this.seconds = new Map();
    /** taskId → { submittedAtMs, startedAtMs } for tasks not ended yet (bounded). */
    this.open = new Map();
  }

  add(event) {
    if (event.kind !== "task") return;
    const second = Math.floor(event.atMs / 1000);
    const bucket = this.#bucket(second);
    const open = this.open.get(event.taskId) ?? {};
    switch (event.event) {
      case "submitted":
        bucket.submitted += 1;
        this.#remember(event.taskId, { submittedAtMs: event.atMs });
        break;
      case "started":
        if (open.submittedAtMs !== undefined && open.startedAtMs === undefined) {
          bucket.waits.push(event.atMs - open.submittedAtMs);
        }
        this.#remember(event.taskId, { ...open, startedAtMs: event.atMs });
        break;
      case "succeeded":
      case "failed":
        bucket[event.event] += 1;
        if (open.startedAtMs !== undefined) bucket.runs.push(event.atMs - open.startedAtMs);
        this.open.delete(event.taskId);
        break;
      case "cancelled":
      case "expired":
        this.open.delete(event.taskId);
        break;
    }
  }

  /** Columns for uPlot: [seconds, submitted, succeeded, failed] and [seconds, wait p50, wait p95, run p50]. */
  series(nowMs) {
    const last = Math.floor(nowMs / 1000);
    const first = last - WINDOW_S + 1;
    for (const second of this.seconds.keys()) if (second < first) this.seconds.delete(second);
    const xs = [], submitted = [], succeeded = [], failed = [];
    const waitP50 = [], waitP95 = [], runP50 = [];
    for (let s = first; s <= last; s++) {
      const b = this.seconds.get(s);
      xs.push(s);
      submitted.push(b?.submitted ?? 0);
      succeeded.push(b?.succeeded ?? 0);
      failed.push(b?.failed ?? 0);
      waitP50.push(quantile(b?.waits, 0.5));
      waitP95.push(quantile(b?.waits, 0.95));
      runP50.push(quantile(b?.runs, 0.5));
    }
    return {
      throughput: [xs, submitted, succeeded, failed],
      latency: [xs, waitP50, waitP95, runP50],
    };
  }

  #bucket(second) {
    let b = this.seconds.get(second);
    if (b === undefined) {
      b = { submitted: 0, succeeded: 0, failed: 0, waits: [], runs: [] };
      this.seconds.set(second, b);
    }
    return b;
  }

  #remember(taskId, value) {
    this.open.delete(taskId);
    this.open.set(taskId, value);
    // Tasks whose end we never see (filtered, or older than the stream) must not pile up.
    if (this.open.size > 50_000) this.open.delete(this.open.keys().next().value);
  }
}

/** The q-quantile of some milliseconds (null when there are none: a gap in the line). */
export function quantile(values, q) {
  if (values === undefined || values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

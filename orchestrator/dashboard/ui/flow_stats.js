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
    bucket.quantiles = null;
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

  /**
   * Columns for uPlot: [seconds, submitted, succeeded, failed] and [seconds, wait p50, wait p95,
   * run p50]. Computed once per second of `nowMs`, whoever asks (both charts redraw each second),
   * and each second's quantiles are sorted once, again only when an event lands in it.
   */
  series(nowMs) {
    const last = Math.floor(nowMs / 1000);
    if (this.#cached !== null && this.#cached.last === last) return this.#cached.series;
    const series = this.#compute(last);
    this.#cached = { last, series };
    return series;
  }

  #cached = null;

  #compute(last) {
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
      if (b !== undefined && b.quantiles === null) {
        const waits = [...b.waits].sort((x, y) => x - y);
        const runs = [...b.runs].sort((x, y) => x - y);
        b.quantiles = [pick(waits, 0.5), pick(waits, 0.95), pick(runs, 0.5)];
      }
      waitP50.push(b?.quantiles[0] ?? null);
      waitP95.push(b?.quantiles[1] ?? null);
      runP50.push(b?.quantiles[2] ?? null);
    }
    return {
      throughput: [xs, submitted, succeeded, failed],
      latency: [xs, waitP50, waitP95, runP50],
    };
  }

  #bucket(second) {
    let b = this.seconds.get(second);
    if (b === undefined) {
      b = { submitted: 0, succeeded: 0, failed: 0, waits: [], runs: [], quantiles: null };
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
  return pick([...values].sort((a, b) => a - b), q);
}

/** The q-quantile of sorted values (nearest rank), null for none. */
function pick(sorted, q) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

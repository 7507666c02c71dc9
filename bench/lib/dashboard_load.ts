/**
 * What an open web dashboard asks of an orchestrator, as load beside a benchmark run (`--http`):
 * one event stream (`GET /api/v1/events`) kept open and read as fast as it comes, its events
 * counted, and `GET /api/v1/cluster` and `GET /api/v1/workers` polled every 2 s. Events are
 * counted by kind, not parsed: a real dashboard parses them in a browser on another machine, and
 * here the reader shares the cores of the nodes being measured.
 * @module
 */
import { readSseEvents } from "../../client/mod.ts";
import { medianOf } from "./comparison.ts";
import { delay } from "./real_cluster.ts";
import type { Measurement } from "./report.ts";
import { round, summarize } from "./stats.ts";

/** How often the dashboard polls the cluster and workers views. */
export const DASHBOARD_POLL_MS = 2000;
/** The paths polled each time. */
export const DASHBOARD_POLLED_PATHS = ["/api/v1/cluster", "/api/v1/workers"] as const;
/** After the measured work: the stream counts as caught up once no event came for this long. */
const CATCH_UP_QUIET_MS = 500;
/** ... and is given at most this long to catch up. */
const CATCH_UP_TIMEOUT_MS = 60_000;
/** How often close() looks whether the stream went quiet. */
const CATCH_UP_CHECK_MS = 50;

/** What the dashboard saw over the run. */
export interface DashboardReport {
  /** The orchestrator whose HTTP port it used. */
  node: string;
  /** Events read by the time the measured work ended (markEnd), and in all once caught up. */
  eventsReadByEnd: number;
  eventsRead: number;
  /** Events read by SSE event name: task, worker, cluster; gap (events dropped), error. */
  byKind: Record<string, number>;
  /** From markEnd to the last event read: how far the stream lagged behind the cluster. */
  catchUpMs: number;
  /** Requests to the polled views, those that failed, and their durations (ms). */
  polls: number;
  pollFailures: number;
  pollMs: { p50: number; max: number };
  /** Why the stream ended before close(), or null. */
  streamError: string | null;
}

/** Where the dashboard points. */
export interface DashboardTarget {
  /** `http://host:port` of one orchestrator. */
  base: string;
  /** That orchestrator's id, for the report. */
  node: string;
  /** An admin's session token (an admin sees every event). */
  token: string;
  /** Poll period (default DASHBOARD_POLL_MS). */
  pollMs?: number;
}

/** One dashboard's requests, from open() to close(). */
export class DashboardLoad {
  readonly #target: DashboardTarget;
  readonly #abort = new AbortController();
  readonly #byKind: Record<string, number> = {};
  readonly #pollMs: number[] = [];
  #eventsRead = 0;
  #eventsReadByEnd: number | null = null;
  #endAt: number | null = null;
  #lastEventAt = 0;
  #pollFailures = 0;
  #streamError: string | null = null;
  #reading: Promise<void> = Promise.resolve();
  #polling: Promise<void> = Promise.resolve();

  private constructor(target: DashboardTarget) {
    this.#target = target;
  }

  /**
   * Opens the event stream (resolves once the orchestrator answered with it) and starts polling.
   * @throws {Error} when the stream request is refused or cannot be sent
   */
  static async open(target: DashboardTarget): Promise<DashboardLoad> {
    const load = new DashboardLoad(target);
    const response = await fetch(`${target.base}/api/v1/events`, {
      headers: { authorization: `Bearer ${target.token}` },
      signal: load.#abort.signal,
    });
    if (response.status !== 200 || response.body === null) {
      const text = await response.text();
      throw new Error(
        `Cannot open the event stream on ${target.node}: HTTP ${response.status} ${text}`,
      );
    }
    load.#reading = load.#read(response.body);
    load.#polling = load.#poll();
    return load;
  }

  /** Events read so far. */
  get eventsRead(): number {
    return this.#eventsRead;
  }

  /** The measured work ended: what the stream has delivered by now is what kept up with it. */
  markEnd(): void {
    this.#eventsReadByEnd ??= this.#eventsRead;
    this.#endAt ??= performance.now();
  }

  /**
   * Waits until the stream went quiet (caught up with the cluster, bounded), then stops reading
   * and polling.
   */
  async close(): Promise<DashboardReport> {
    this.markEnd();
    const deadline = performance.now() + CATCH_UP_TIMEOUT_MS;
    while (
      this.#streamError === null && performance.now() < deadline &&
      performance.now() - Math.max(this.#lastEventAt, this.#endAt!) < CATCH_UP_QUIET_MS
    ) {
      await delay(CATCH_UP_CHECK_MS);
    }
    this.#abort.abort();
    await Promise.all([this.#reading, this.#polling]);
    const pollMs = summarize(this.#pollMs);
    return {
      node: this.#target.node,
      eventsReadByEnd: this.#eventsReadByEnd!,
      eventsRead: this.#eventsRead,
      byKind: { ...this.#byKind },
      catchUpMs: round(Math.max(0, this.#lastEventAt - this.#endAt!), 0),
      polls: this.#pollMs.length + this.#pollFailures,
      pollFailures: this.#pollFailures,
      pollMs: { p50: round(pollMs.p50, 1), max: round(pollMs.max, 1) },
      streamError: this.#streamError,
    };
  }

  /** Stops reading and polling at once (after a failure; close() reports instead). */
  abort(): void {
    this.#abort.abort();
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    // Aborting the fetch does not end a body being read here (Deno 2.9): cancelling its reader
    // does, so the stream read is this reader's, cancelled on abort.
    const reader = body.getReader();
    this.#abort.signal.addEventListener("abort", () => {
      reader.cancel().catch(() => {/* already broken: nothing left to release */});
    }, { once: true });
    const chunks = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
    });
    try {
      for await (const event of readSseEvents(chunks)) {
        this.#byKind[event.event] = (this.#byKind[event.event] ?? 0) + 1;
        if (event.event === "gap" || event.event === "error") continue;
        this.#eventsRead++;
        this.#lastEventAt = performance.now();
      }
      if (!this.#abort.signal.aborted) this.#streamError = "the stream ended";
    } catch (error) {
      // Aborted by close(): the expected end. Anything else is reported, not thrown: the run's
      // figures still stand, and the report says the dashboard lost its stream.
      if (!this.#abort.signal.aborted) this.#streamError = (error as Error).message;
    }
  }

  async #poll(): Promise<void> {
    const { base, token } = this.#target;
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      await Promise.all(DASHBOARD_POLLED_PATHS.map(async (path) => {
        const started = performance.now();
        try {
          const response = await fetch(`${base}${path}`, {
            headers: { authorization: `Bearer ${token}` },
            signal,
          });
          await response.json();
          if (response.ok) this.#pollMs.push(performance.now() - started);
          else this.#pollFailures++;
        } catch {
          // Aborted by close() (not counted) or refused: counted as a failed poll.
          if (!signal.aborted) this.#pollFailures++;
        }
      }));
      await new Promise<void>((resolve) => {
        const onAbort = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        }, this.#target.pollMs ?? DASHBOARD_POLL_MS);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    }
  }
}

/**
 * Table rows of the dashboards of a `--http` run's Mutirão runs (medians over them), `tasks` the
 * measured tasks of each run; none without reports.
 */
export function dashboardRows(reports: readonly DashboardReport[], tasks: number): Measurement[] {
  if (reports.length === 0) return [];
  const median = (pick: (r: DashboardReport) => number) => round(medianOf(reports.map(pick)), 0);
  const note = `median of ${reports.length} run(s); stream on the leader`;
  const failures = reports.reduce((sum, r) => sum + r.pollFailures, 0);
  const errors = reports.filter((r) => r.streamError !== null).map((r) => r.streamError);
  return [
    {
      metric: "dashboard: events read by the last completion",
      value: median((r) => r.eventsReadByEnd),
      unit: "events",
      note: `${note}; ${tasks} tasks measured`,
    },
    {
      metric: "dashboard: events read once caught up",
      value: median((r) => r.eventsRead),
      unit: "events",
      note: `gaps: ${reports.reduce((sum, r) => sum + (r.byKind.gap ?? 0), 0)}` +
        (errors.length === 0 ? "" : `; stream broke: ${errors.join("; ")}`),
    },
    {
      metric: "dashboard: stream behind at the last completion",
      value: median((r) => r.catchUpMs),
      unit: "ms",
      note: "from the run's end to the last event read",
    },
    {
      metric: "dashboard: cluster + workers polls",
      value: median((r) => r.polls),
      unit: "",
      note: `every ${DASHBOARD_POLL_MS} ms; ${failures} failed; p50 ${
        median((r) => r.pollMs.p50)
      } ms`,
    },
  ];
}

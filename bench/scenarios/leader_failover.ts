/**
 * Leader failover: steady submissions from several independent clients while the leader fails,
 * round after round (the failed node is brought back and caught up before the next round).
 * Measured per round, on the client clock:
 * - failure → first submission acknowledged by another orchestrator;
 * - the longest gap between consecutive acknowledgements (of any client) around the failure.
 *
 * Two failures: `leader-failover` kills the leader with SIGKILL (its TCP connections close at
 * once, which followers take as a hint to start an election early); `leader-freeze` stops it
 * with SIGSTOP, like a frozen VM or a cut cable: nothing closes, so followers notice only when
 * their election timeout passes without a heartbeat.
 * @module
 */
import type { MutiraoClient } from "../../client/api/mod.ts";
import type { Measurement } from "../lib/report.ts";
import { delay, type RealCluster } from "../lib/real_cluster.ts";
import type { Scenario } from "../lib/scenario.ts";
import { round, summarize } from "../lib/stats.ts";

/** Independent submitting clients, and the pause between one's submissions. */
const SUBMITTERS = 4;
const PAUSE_MS = 10;
/** Steady state kept before each kill, and acknowledgements watched after recovery. */
const SETTLE_MS = 1000;

interface Ack {
  atMs: number;
  /** "host:port" of the orchestrator that answered. */
  by: string;
}

/** Submitting loops that record every acknowledgement until stopped. */
class SteadyLoad {
  readonly acks: Ack[] = [];
  errors = 0;
  #running = true;
  #loops: Promise<void>[] = [];

  constructor(clients: MutiraoClient[], token: string) {
    this.#loops = clients.map((client, c) => this.#loop(client, token, c));
  }

  async #loop(client: MutiraoClient, token: string, c: number): Promise<void> {
    for (let i = 0; this.#running; i++) {
      try {
        await client.request({
          type: "submit",
          token,
          idempotencyKey: `c${c}-${i}`,
          task: { kind: "sleep", description: "failover load", durationMs: 0 },
        });
        this.acks.push({ atMs: performance.now(), by: client.connectedTo ?? "?" });
      } catch {
        // The client gave up within its budget (no leader for 30 s): count it and go on.
        this.errors += 1;
      }
      await delay(PAUSE_MS);
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }
}

/** Waits until orchestrator `id` has applied everything the leader had committed when asked. */
async function waitCaughtUp(cluster: RealCluster, id: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const leader = await cluster.waitForLeader({ timeoutMs: 10_000 });
    const [lv, nv] = await Promise.all([cluster.nodeStatus(leader.id), cluster.nodeStatus(id)]);
    if (lv !== null && nv !== null && nv.appliedIndex >= lv.commitIndex) return;
    await delay(100);
  }
  throw new Error(`Orchestrator ${id} did not catch up within ${timeoutMs} ms`);
}

interface Round {
  failed: string;
  firstAckMs: number;
  longestGapMs: number;
}

type Failure = "kill" | "freeze";

function failoverScenario(failure: Failure): Scenario {
  const verb = failure === "kill" ? "kill" : "freeze";
  return {
    name: failure === "kill" ? "leader-failover" : "leader-freeze",
    summary: failure === "kill"
      ? "kill -9 the leader under steady submissions: time to the first acknowledgement"
      : "SIGSTOP the leader under steady submissions: time to the first acknowledgement",
    async run(ctx) {
      const cluster = await ctx.cluster();
      await cluster.start();
      const token = await cluster.token();
      const clients = Array.from(
        { length: SUBMITTERS },
        () => cluster.client({ timeoutMs: 30_000 }),
      );
      const load = new SteadyLoad(clients, token);
      const rounds: Round[] = [];
      const total = failure === "kill"
        ? ctx.options.sizes.failoverRounds
        : Math.max(1, Math.ceil(ctx.options.sizes.failoverRounds / 2));
      try {
        for (let r = 0; r < total; r++) {
          const leader = await cluster.waitForLeader();
          const node = cluster.node(leader.id);
          const address = `${node.host}:${node.port}`;
          await delay(SETTLE_MS);
          const failedAt = performance.now();
          if (failure === "kill") await cluster.kill(node);
          else cluster.signal(node, "SIGSTOP");
          const first = await firstAckAfter(load, failedAt, address, 30_000);
          await delay(SETTLE_MS);
          const window = load.acks.filter((a) => a.atMs >= failedAt - SETTLE_MS).map((a) => a.atMs)
            .sort((a, b) => a - b);
          let longestGapMs = 0;
          for (let i = 1; i < window.length; i++) {
            longestGapMs = Math.max(longestGapMs, window[i] - window[i - 1]);
          }
          rounds.push({
            failed: leader.id,
            firstAckMs: round(first - failedAt, 0),
            longestGapMs: round(longestGapMs, 0),
          });
          ctx.progress(
            `round ${r + 1}: ${verb} ${leader.id}; first acknowledgement after ` +
              `${rounds.at(-1)!.firstAckMs} ms, longest gap ${rounds.at(-1)!.longestGapMs} ms`,
          );
          if (failure === "kill") await cluster.startNode(node);
          else cluster.signal(node, "SIGCONT");
          await waitCaughtUp(cluster, node.id, 60_000);
        }
      } finally {
        await load.stop();
        for (const client of clients) client.close();
      }
      const first = summarize(rounds.map((r) => r.firstAckMs));
      const gaps = summarize(rounds.map((r) => r.longestGapMs));
      const measurements: Measurement[] = [
        {
          metric: `${verb}→first acknowledgement median`,
          value: first.p50,
          unit: "ms",
          target: { kind: "atMost", value: 1000 },
        },
        {
          metric: `${verb}→first acknowledgement worst`,
          value: first.max,
          unit: "ms",
          target: { kind: "atMost", value: 2000 },
        },
        { metric: "longest acknowledgement gap median", value: gaps.p50, unit: "ms" },
        { metric: "longest acknowledgement gap worst", value: gaps.max, unit: "ms" },
        { metric: "submissions given up", value: load.errors, unit: "" },
      ];
      return {
        measurements,
        details: { rounds, submitters: SUBMITTERS, pauseMs: PAUSE_MS, acks: load.acks.length },
      };
    },
  };
}

export const leaderFailover: Scenario = failoverScenario("kill");
export const leaderFreeze: Scenario = failoverScenario("freeze");

/** Resolves with the time of the first acknowledgement after `afterMs` not from `deadAddress`. */
async function firstAckAfter(
  load: SteadyLoad,
  afterMs: number,
  deadAddress: string,
  timeoutMs: number,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let scanned = 0;
  while (performance.now() < deadline) {
    for (; scanned < load.acks.length; scanned++) {
      const ack = load.acks[scanned];
      if (ack.atMs > afterMs && ack.by !== deadAddress) return ack.atMs;
    }
    await delay(5);
  }
  throw new Error(`No acknowledgement from a new leader within ${timeoutMs} ms`);
}

/**
 * Every benchmark scenario, in the order `deno task bench` runs them.
 * @module
 */
import type { Scenario } from "../lib/scenario.ts";
import { falseSuspicion } from "./false_suspicion.ts";
import { latency } from "./latency.ts";
import { loadedLatency } from "./loaded_latency.ts";
import { leaderFailover, leaderFreeze } from "./leader_failover.ts";
import { manyWorkers } from "./many_workers.ts";
import { payloads } from "./payloads.ts";
import { retention } from "./retention.ts";
import { scale } from "./scale.ts";
import { throughput } from "./throughput.ts";
import { workerFailure } from "./worker_failure.ts";

export const SCENARIOS: readonly Scenario[] = [
  throughput,
  latency,
  loadedLatency,
  payloads,
  workerFailure,
  leaderFailover,
  leaderFreeze,
  falseSuspicion,
  scale,
  retention,
  manyWorkers,
];

/**
 * Every benchmark scenario, in the order `deno task bench` runs them.
 * @module
 */
import type { Scenario } from "../lib/scenario.ts";
import { throughput } from "./throughput.ts";

export const SCENARIOS: readonly Scenario[] = [
  throughput,
];

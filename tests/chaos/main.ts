/**
 * `deno task chaos`: a real 3-orchestrator, 3-worker cluster under continuous submissions and
 * seeded random faults (kill -9 and restart, SIGSTOP/SIGCONT, network partitions), then healing
 * and client-side checks. See docs/reliability.md.
 *
 *   deno task chaos [--minutes M] [--seed N] [--no-network] [--keep]
 *
 * Network partitions need a private network namespace (root, iproute2, nftables, setpriv): the
 * suite creates one, re-runs itself inside it and deletes it afterwards. Where that is not
 * possible it says why and runs the other faults on 127.0.0.1.
 * @module
 */
import { parseArgs } from "node:util";
import { RealCluster } from "../../bench/lib/real_cluster.ts";
import { REPO_ROOT } from "../../scripts/lib/managed_process.ts";
import { type ChaosReport, runChaos } from "./chaos_run.ts";
import { Namespace, namespaceUnavailableReason } from "./namespace.ts";

const USAGE = `Usage: deno task chaos [options]

Runs a real cluster under continuous submissions and random faults, heals it,
and checks every acknowledged task from the client side.

Options:
  --minutes M     length of the fault phase (default 2; fractions allowed)
  --seed N        seed of the fault schedule (default: random; printed)
  --no-network    no network partitions (no namespace needed)
  --keep          keep the cluster directory (node logs, data) even on success
  -h, --help      show this help
`;

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      minutes: { type: "string", default: "2" },
      seed: { type: "string" },
      "no-network": { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      inside: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const minutes = Number(values.minutes);
  if (!(minutes > 0 && minutes <= 24 * 60)) {
    throw new RangeError(`--minutes must be a number of minutes above 0, got "${values.minutes}"`);
  }
  const seed = values.seed === undefined
    ? crypto.getRandomValues(new Uint32Array(1))[0] >>> 1
    : Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`--seed must be a non-negative integer, got "${values.seed}"`);
  }
  const reproduce = `deno task chaos --minutes ${minutes} --seed ${seed}` +
    (values["no-network"] ? " --no-network" : "");

  // Inside the namespace this script created (see runInNamespace): partitions are possible.
  if (values.inside !== undefined) {
    return await runAndPrint({ minutes, seed, network: true, keep: values.keep, reproduce });
  }
  const reason = values["no-network"]
    ? "--no-network was given"
    : await namespaceUnavailableReason();
  // The inner run gets the seed chosen here, so both print the same one.
  if (reason === null) return await runInNamespace([...args, "--seed", String(seed)]);
  console.log(`chaos: network partitions skipped: ${reason}`);
  return await runAndPrint({ minutes, seed, network: false, keep: values.keep, reproduce });
}

/** Creates the namespace, runs this script inside it, and always deletes the namespace. */
async function runInNamespace(args: string[]): Promise<number> {
  const ns = await Namespace.create();
  try {
    const child = new Deno.Command(ns.prefix[0], {
      args: [
        ...ns.prefix.slice(1),
        Deno.execPath(),
        "run",
        "-A",
        `${REPO_ROOT}tests/chaos/main.ts`,
        ...args,
        "--inside",
        ns.name,
      ],
      cwd: REPO_ROOT,
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    // Ctrl-C reaches the child too (same process group); SIGTERM is passed on explicitly.
    const forward = () => child.kill("SIGTERM");
    Deno.addSignalListener("SIGTERM", forward);
    try {
      return (await child.status).code;
    } finally {
      Deno.removeSignalListener("SIGTERM", forward);
    }
  } finally {
    await ns.delete();
  }
}

async function runAndPrint(
  options: { minutes: number; seed: number; network: boolean; keep: boolean; reproduce: string },
): Promise<number> {
  // This process owns the cluster: an interrupt stops its nodes before exiting.
  RealCluster.stopAllOnSignal();
  const started = performance.now();
  console.log(
    `chaos: seed ${options.seed}, ${options.minutes} min of faults, network partitions ${
      options.network ? "on (private network namespace)" : "off"
    }`,
  );
  const report = await runChaos({
    durationMs: Math.round(options.minutes * 60_000),
    seed: options.seed,
    network: options.network,
    keep: options.keep,
    log: (line) => console.log(`  ${line}`),
  });
  console.log(describeReport(report, (performance.now() - started) / 1000));
  if (!report.ok) console.log(`reproduce the fault schedule: ${options.reproduce}`);
  return report.ok ? 0 : 1;
}

/** The run's summary: what was done to the cluster, what it did, and what the checks found. */
export function describeReport(report: ChaosReport, seconds: number): string {
  const byKind = new Map<string, number>();
  let skipped = 0;
  for (const f of report.faults) {
    if (f.skipped !== undefined) skipped += 1;
    else byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
  }
  const c = report.checks;
  const s = report.submissions;
  const lines = [
    `faults: ${report.faults.length - skipped} applied (${
      [...byKind].map(([k, n]) => `${k} ${n}`).join(", ")
    }), ${skipped} skipped (target already faulted)`,
    `submissions: ${s.acknowledged} acknowledged, ${s.unknownOutcome} without an answer ` +
    `(${s.unknownExisted} of them existed), duplicates prevented ${s.duplicatesPrevented} ` +
    `(retries after faults), plus ${s.resubmittedOnPurpose} acknowledged keys re-sent on ` +
    `purpose, each answered with its original task`,
    `tasks: ${c.tasks} (${c.succeeded} succeeded, ${c.failed} failed, ${c.cancelled} cancelled); ` +
    `executions ${c.executions}, retries ${c.retries}, requeues ${c.requeues}, ` +
    `stale results rejected ${report.staleResultsRejected}, workers declared lost ${report.workersDeclaredLost}`,
    `drained ${(report.drainMs / 1000).toFixed(1)} s after healing; run took ${
      seconds.toFixed(0)
    } s`,
    report.ok
      ? "checks: all passed"
      : `checks: FAILED\n${report.violations.map((v) => `  - ${v}`).join("\n")}`,
  ];
  if (!report.ok) lines.push(`node logs and data kept in ${report.dir}`);
  return lines.join("\n");
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`mutirao chaos: ${(error as Error).stack ?? error}`);
    Deno.exit(2);
  }
}

/**
 * `deno task demo`: a local cluster on 127.0.0.1 — every orchestrator of the cluster file (3 in
 * the demo file) plus 3 workers (the seed's ports 60001-60003) — with a temporary data
 * directory. It prints what to try next and reads commands on stdin (`kill w1`, `r w1`,
 * `pause o2`, `status`, …) so both failure scenarios can be played in one terminal. A node that
 * dies is reported and the rest keep running; `quit` or Ctrl-C stops everything it started.
 *
 *   deno task demo [--config FILE] [--workers N] [--worker-port P] [--allow-exec] [--quiet]
 * @module
 */
import { resolve } from "node:path";
import { verifyPassword } from "../shared/auth/mod.ts";
import { parseFlags, parseIntFlag, UsageError } from "../shared/cli_args.ts";
import {
  type ClusterConfig,
  DEFAULT_CONFIG_PATH,
  loadClusterConfig,
} from "../shared/config/mod.ts";
import { terminalSafe } from "../shared/terminal_safe.ts";
import { DemoCluster } from "./lib/demo_cluster.ts";
import { DEMO_HELP, parseDemoCommand } from "./lib/demo_command.ts";
import { demoGuide, formatStatus, type GuideOptions } from "./lib/demo_text.ts";

const USAGE = `Usage: deno task demo [options]

Starts a local cluster: the orchestrators of the cluster file and N workers, with a
temporary data directory. Then reads commands on stdin to kill, stop, restart, pause and
resume its nodes (type help). With stdin closed or not a terminal (\`< /dev/null\`, CI) it
runs until Ctrl-C/SIGTERM.

Options:
  --config FILE     cluster file (default: $MUTIRAO_CONFIG or ${DEFAULT_CONFIG_PATH})
  --workers N       number of workers (default 3)
  --worker-port P   port of the first worker; the next ones follow (default 60001; 0 = any free port)
  --allow-exec      let the workers run exec tasks
  --quiet           do not echo the nodes' logs
  -h, --help        show this help

${DEMO_HELP}
`;

/** The demo file's well-known passwords; one is printed only after it is checked against the hash. */
const DEMO_PASSWORDS: Readonly<Record<string, string>> = { user1: "pass1", user2: "pass2" };

async function main(): Promise<number> {
  const { values, positionals } = parseFlags(Deno.args, {
    config: { type: "string" },
    workers: { type: "string", default: "3" },
    "worker-port": { type: "string", default: "60001" },
    "allow-exec": { type: "boolean", default: false },
    quiet: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length > 0) {
    throw new UsageError(`The demo takes no arguments, got "${positionals.join(" ")}"`);
  }
  // Absolute, so the nodes (started from the repository root) find the same file.
  const configPath = resolve(
    values.config ?? Deno.env.get("MUTIRAO_CONFIG") ?? DEFAULT_CONFIG_PATH,
  );
  const config = await loadClusterConfig(configPath);
  const workerCount = parseIntFlag("workers", values.workers, 1, 64);
  const firstWorkerPort = parseIntFlag("worker-port", values["worker-port"], 0, 65535);
  if (firstWorkerPort !== 0 && firstWorkerPort + workerCount - 1 > 65535) {
    throw new UsageError(
      `Invalid --worker-port: ${workerCount} workers from port ${firstWorkerPort} pass 65535`,
    );
  }
  const dataDir = await Deno.makeTempDir({ prefix: "mutirao-demo-" });
  const cluster = new DemoCluster({
    configPath,
    dataDir,
    orchestrators: config.orchestrators,
    workerCount,
    firstWorkerPort,
    allowExec: values["allow-exec"],
    echo: !values.quiet,
    report: (line) => console.log(line),
  });
  const stopped = Promise.withResolvers<void>();
  const onSignal = () => stopped.resolve();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    const starting = cluster.start();
    // After a Ctrl-C has won the race below, the start fails as stopAll stops its nodes; that
    // failure is expected and nobody waits for it (a failure before the signal is thrown below).
    starting.catch(() => {/* see above */});
    const user = guideUser(config);
    const outcome = await Promise.race([starting.then(() => "up" as const), stopped.promise]);
    if (outcome !== "up") return 0;
    printBanner(dataDir, cluster, httpUrls(config));
    console.log(demoGuide({
      configFlag: configPath === resolve(DEFAULT_CONFIG_PATH) ? "" : ` --config ${configPath}`,
      user: await user,
      orchestrators: config.orchestrators.map((o) => o.id),
      workers: cluster.views().filter((v) => v.role === "worker").map((v) => v.name),
      electionTimeoutMs: { min: config.electionTimeoutMinMs, max: config.electionTimeoutMaxMs },
    }));
    void readCommands(cluster, () => stopped.resolve());
    await stopped.promise;
    console.log("Stopping the demo cluster…");
    return 0;
  } finally {
    // The signal listeners stay until the cleanup is done: an impatient second Ctrl-C must not
    // kill the demo between its nodes and its data directory (stopAll is bounded by SIGKILL).
    await cluster.stopAll();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {/* already gone */});
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

/** The lines the end-to-end test and a newcomer read: who listens where. */
function printBanner(dataDir: string, cluster: DemoCluster, http: string[]): void {
  const views = cluster.views();
  const list = (role: string) =>
    views.filter((v) => v.role === role).map((v) => `${v.name} ${v.address}`).join(", ");
  const httpLines = http.length === 0
    ? ""
    : `  dashboard:     ${http.map((u) => `${u}/`).join(", ")}
  HTTP API:      ${http.map((u) => `${u}/api/v1`).join(", ")}
  metrics:       ${http.map((u) => `${u}/metrics`).join(", ")}
`;
  console.log(`
Mutirão demo cluster is up (data in ${dataDir}):
  orchestrators: ${list("orchestrator")}
  workers:       ${list("worker")}
${httpLines}`);
}

/** The base URL of each orchestrator's HTTP port (none without `httpPort`). */
function httpUrls(config: ClusterConfig): string[] {
  const scheme = config.tls === null ? "http" : "https";
  return config.orchestrators.filter((o) => o.httpPort !== undefined).map((o) =>
    `${scheme}://${o.host}:${o.httpPort}`
  );
}

/** The account the guide logs in with; its password is shown only if it is the demo file's. */
async function guideUser(config: ClusterConfig): Promise<GuideOptions["user"]> {
  const first = config.users[0];
  if (first === undefined) return null;
  for (const u of config.users) {
    const password = DEMO_PASSWORDS[u.name];
    if (config.demo && password !== undefined && await verifyPassword(password, u.passwordHash)) {
      return { name: u.name, demoPassword: password };
    }
  }
  return { name: first.name, demoPassword: null };
}

/**
 * Reads one command per line and carries it out. At the end of input a terminal (Ctrl-D)
 * quits; a closed pipe or /dev/null leaves the cluster running until a signal, as a script
 * or CI starting the demo in the background expects.
 */
async function readCommands(cluster: DemoCluster, quit: () => void): Promise<void> {
  const interactive = Deno.stdin.isTerminal();
  try {
    for await (const line of readLines(Deno.stdin.readable)) {
      if (!runCommandSafely(cluster, line)) {
        quit();
        return;
      }
    }
  } catch (error) {
    // Unreadable stdin (e.g. a background job reading its terminal): commands are off, not the demo.
    console.error(
      `Cannot read commands from stdin (${(error as Error).message}); Ctrl-C stops the demo`,
    );
    return;
  }
  if (interactive) quit();
}

/** Like runCommand, but a command that fails is reported and the demo goes on. */
function runCommandSafely(cluster: DemoCluster, line: string): boolean {
  try {
    return runCommand(cluster, line);
  } catch (error) {
    console.error(`Cannot run "${terminalSafe(line.trim())}": ${(error as Error).message}`);
    return true;
  }
}

/** Carries out one typed line; false when it asks to quit. */
function runCommand(cluster: DemoCluster, line: string): boolean {
  const parsed = parseDemoCommand(line, cluster.names);
  if (!parsed.ok) {
    console.error(parsed.error);
    return true;
  }
  const command = parsed.command;
  switch (command.type) {
    case "none":
      return true;
    case "quit":
      return false;
    case "help":
      console.log(DEMO_HELP);
      return true;
    case "status":
      console.log(formatStatus(cluster.views()));
      return true;
    case "kill":
    case "stop":
    case "restart":
    case "pause":
    case "resume":
      for (const name of command.nodes) {
        const result = cluster.act(command.type, name);
        (result.ok ? console.log : console.error)(result.message);
      }
      return true;
  }
}

/** The lines of a byte stream, without their line endings. */
async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let partial = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    partial += text;
    let newline: number;
    while ((newline = partial.indexOf("\n")) >= 0) {
      yield partial.slice(0, newline).replace(/\r$/, "");
      partial = partial.slice(newline + 1);
    }
  }
  if (partial !== "") yield partial;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (error) {
    console.error(`mutirao demo: ${(error as Error).message}`);
    Deno.exit(error instanceof UsageError ? 2 : 1);
  }
}

/**
 * `deno task demo`: a local cluster on 127.0.0.1 — every orchestrator of the
 * cluster file (3 in the demo file) plus 3 workers (the seed's ports 60001-60003) — with a
 * temporary data directory. Prints what to try next; Ctrl-C stops everything
 * it started.
 *
 *   deno task demo [--config FILE] [--workers N] [--allow-exec] [--quiet]
 * @module
 */
import { parseFlags, parseIntFlag, UsageError } from "../shared/cli_args.ts";
import { DEFAULT_CONFIG_PATH, loadClusterConfig } from "../shared/config/mod.ts";
import { ManagedProcess } from "./lib/managed_process.ts";

const USAGE = `Usage: deno task demo [options]

Starts a local cluster: the orchestrators of the cluster file and N workers.

Options:
  --config FILE     cluster file (default ${DEFAULT_CONFIG_PATH})
  --workers N       number of workers (default 3)
  --worker-port P   port of the first worker; the next ones follow (default 60001; 0 = any free port)
  --allow-exec      let the workers run exec tasks
  --quiet           do not echo the nodes' logs
  -h, --help        show this help
`;

async function main(): Promise<number> {
  const { values } = parseFlags(Deno.args, {
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
  const configPath = values.config ?? DEFAULT_CONFIG_PATH;
  const config = await loadClusterConfig(configPath);
  const workerCount = parseIntFlag("workers", values.workers, 1, 64);
  const firstWorkerPort = parseIntFlag("worker-port", values["worker-port"], 0, 65535);
  const dataDir = await Deno.makeTempDir({ prefix: "mutirao-demo-" });
  const echo = !values.quiet;
  const started: ManagedProcess[] = [];
  const stopAll = async () => {
    await Promise.all(started.map((p) => p.stop()));
    await Deno.remove(dataDir, { recursive: true }).catch(() => {/* already gone */});
  };
  const stopped = Promise.withResolvers<void>();
  const onSignal = () => stopped.resolve();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    for (const o of config.orchestrators) {
      const p = new ManagedProcess({
        name: `orchestrator ${o.id}`,
        args: [
          "orchestrator/main.ts",
          "--config",
          configPath,
          "--id",
          o.id,
          "--data-dir",
          `${dataDir}/${o.id}`,
        ],
        echo,
      });
      started.push(p);
    }
    const orchestratorsReady = await Promise.all(started.map((p) => p.ready()));
    for (let i = 0; i < workerCount; i++) {
      const port = firstWorkerPort === 0 ? 0 : firstWorkerPort + i;
      const args = ["worker/main.ts", "--config", configPath];
      if (port !== 0) args.push("127.0.0.1", String(port));
      if (values["allow-exec"]) args.push("--allow-exec");
      started.push(new ManagedProcess({ name: `worker ${i + 1}`, args, echo }));
    }
    const workersReady = await Promise.all(
      started.slice(config.orchestrators.length).map((p) => p.ready()),
    );
    const configFlag = values.config === undefined ? "" : ` --config ${configPath}`;
    console.log(`
Mutirão demo cluster is up (data in ${dataDir}):
  orchestrators: ${orchestratorsReady.map((r) => `${r.nodeId} ${r.address}`).join(", ")}
  workers:       ${workersReady.map((r) => r.workerId).join(", ")}

Try, in another terminal:
  deno task client${configFlag} login user1 pass1
  deno task client${configFlag} submit "Processar relatório financeiro" -d 15
  deno task client${configFlag} status t-1
  deno task client${configFlag} list
  deno task client${configFlag} workers
  deno task client${configFlag} cluster     # who is primary (leader) and who are backups

Press Ctrl-C to stop everything.
`);
    await Promise.race([
      stopped.promise,
      ...started.map((p) =>
        p.exited.then(() => {
          throw new Error(`${p.name} exited unexpectedly:\n${p.tail()}`);
        })
      ),
    ]);
    console.log("Stopping the demo cluster…");
    return 0;
  } finally {
    await stopAll();
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (error) {
    console.error(`mutirao demo: ${(error as Error).message}`);
    Deno.exit(error instanceof UsageError ? 2 : 1);
  }
}

/**
 * `deno task orchestrator`: starts one orchestrator of the cluster described
 * by the cluster file.
 *
 *   deno task orchestrator [--config FILE] [--id ID] [--backup] [--data-dir DIR] [--rejoin]
 * @module
 */
import { parseFlags, UsageError } from "../shared/cli_args.ts";
import {
  addressOf,
  type ClusterConfig,
  DEFAULT_CONFIG_PATH,
  loadClusterConfig,
  type OrchestratorAddress,
} from "../shared/config/mod.ts";
import { createLogger } from "../shared/log.ts";
import { mutiraoHome } from "../shared/paths.ts";
import { parseMulticastAddress } from "../shared/net/multicast.ts";
import { hashPassword } from "../shared/auth/mod.ts";
import { requirePrivateFile } from "../shared/secret_file.ts";
import { loadNodeKeys, loadTlsServer } from "../shared/net/node_security.ts";
import { OrchestratorServer } from "./shell/orchestrator_server.ts";
import { startupNotices } from "./shell/startup_notices.ts";

const USAGE = `Usage: deno task orchestrator [options]

Starts one orchestrator of the cluster described by the cluster file.

Options:
  --config FILE     cluster file (default: $MUTIRAO_CONFIG or ${DEFAULT_CONFIG_PATH})
  --id ID           which orchestrator of the cluster file to run
                    (default: the first one whose port is free)
  --backup          start as a backup (see README, "Primary and backup")
  --data-dir DIR    where the log and snapshots live
                    (default: $MUTIRAO_HOME/data/CLUSTER/ID)
  --rejoin          come back after losing the data directory (or moving a corrupt one
                    aside): start from an empty one, catch up from the leader, and vote
                    only once caught up (README, "Recovering an orchestrator")
  --admin-password-file FILE
                    bootstrap admin password (file mode 0600; or $MUTIRAO_ADMIN_PASSWORD):
                    the account $MUTIRAO_ADMIN_USER (default "admin") is created
                    when the cluster has no account of that name
  --cluster-secret FILE
                    the cluster secret (mode 0600; or $MUTIRAO_CLUSTER_SECRET_FILE or the
                    cluster file's clusterSecretFile): workers and peers must prove it
  --multicast GROUP:PORT
                    announce the leader on this multicast group (default: the
                    cluster file's "multicast", normally off)
  -h, --help        show this help
`;

async function main(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    config: { type: "string" },
    id: { type: "string" },
    backup: { type: "boolean", default: false },
    "data-dir": { type: "string" },
    rejoin: { type: "boolean", default: false },
    multicast: { type: "string" },
    "admin-password-file": { type: "string" },
    "cluster-secret": { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const configPath = values.config ?? Deno.env.get("MUTIRAO_CONFIG") ?? DEFAULT_CONFIG_PATH;
  const config = await loadClusterConfig(configPath);
  const self = await chooseSelf(config, values.id, values.backup);
  const logger = createLogger(`orchestrator ${self.id}`);
  const dataDir = values["data-dir"] ?? `${mutiraoHome()}/data/${config.clusterId}/${self.id}`;
  const multicastText = values.multicast ?? Deno.env.get("MUTIRAO_MULTICAST") ?? config.multicast;
  const multicast = multicastText === null || multicastText === undefined
    ? null
    : parseMulticastAddress(multicastText, config.multicastInterface);
  const bootstrapAdmin = await readBootstrapAdmin(values["admin-password-file"]);
  const clusterKeys = await loadNodeKeys(values["cluster-secret"], config);
  const tls = await loadTlsServer(config);
  const notices = startupNotices({
    configPath,
    isDemo: config.demo === true,
    hasSecret: clusterKeys !== null,
  });
  for (const notice of notices) logger.log(notice.level, notice.message);
  const server = new OrchestratorServer({
    config,
    self,
    dataDir,
    logger,
    multicast,
    bootstrapAdmin,
    clusterKeys,
    tls,
    rejoin: values.rejoin,
  });
  const fatal = Promise.withResolvers<number>();
  const address = await server.start((error) => {
    logger.error(`Fatal: ${error instanceof Error ? error.message : error}`);
    fatal.resolve(1);
  }).catch((error) => {
    throw inUseExplained(error, self, config);
  });
  // One machine-readable line on stdout, for scripts and tests waiting for readiness.
  console.log(
    JSON.stringify({
      event: "ready",
      role: "orchestrator",
      nodeId: address.nodeId,
      address: `${address.host}:${address.port}`,
    }),
  );
  const stop = () => {
    logger.info("Shutting down");
    void server.stop().then(() => fatal.resolve(0));
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  return await fatal.promise;
}

/** The bootstrap admin's name and password hash, from a 0600 file or the environment. */
async function readBootstrapAdmin(
  file: string | undefined,
): Promise<{ name: string; passwordHash: string } | null> {
  let password: string | undefined;
  if (file !== undefined) {
    await requirePrivateFile(file, "admin password file");
    password = (await Deno.readTextFile(file)).split(/\r?\n/)[0];
  } else {
    password = Deno.env.get("MUTIRAO_ADMIN_PASSWORD");
  }
  if (password === undefined) return null;
  if (password.length < 8) {
    throw new UsageError("The bootstrap admin password must have at least 8 characters");
  }
  return {
    name: Deno.env.get("MUTIRAO_ADMIN_USER") ?? "admin",
    passwordHash: await hashPassword(password),
  };
}

/**
 * "Address already in use" says nothing of why; the usual cause is that this orchestrator already
 * runs, so name it, its address, and the other ids one could start instead.
 */
function inUseExplained(
  error: unknown,
  self: OrchestratorAddress,
  config: ClusterConfig,
): unknown {
  if (!(error instanceof Deno.errors.AddrInUse)) return error;
  const others = config.orchestrators.filter((o) => o.id !== self.id).map((o) => o.id);
  return new Error(
    `Cannot start orchestrator ${self.id}: its address ${addressOf(self)} is already in use, ` +
      `most likely by orchestrator ${self.id} already running here; stop it first` +
      (others.length === 0 ? "" : `, or start another one (--id ${others.join(", --id ")})`),
    { cause: error },
  );
}

/** Picks the orchestrator entry this process runs. */
async function chooseSelf(
  config: ClusterConfig,
  id: string | undefined,
  backup: boolean,
): Promise<OrchestratorAddress> {
  if (id !== undefined) {
    const found = config.orchestrators.find((o) => o.id === id);
    if (found === undefined) {
      const known = config.orchestrators.map((o) => o.id).join(", ");
      throw new UsageError(`Unknown --id "${id}": the cluster file lists ${known}`);
    }
    return found;
  }
  if (backup && config.orchestrators.length === 1) {
    throw new UsageError(
      "Cannot start a backup: the cluster file lists one orchestrator. " +
        'List three for automatic failover (README, "Primary and backup")',
    );
  }
  for (const o of config.orchestrators) {
    if (o.port === 0 || await isPortFree(o)) return o;
  }
  throw new UsageError(
    `Every orchestrator in the cluster file is already running here (${
      config.orchestrators.map(addressOf).join(", ")
    }); pass --id to choose one`,
  );
}

async function isPortFree(o: OrchestratorAddress): Promise<boolean> {
  try {
    const probe = Deno.listen({ hostname: o.host, port: o.port });
    probe.close();
    await Promise.resolve();
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) return false;
    // Not a local address: this machine cannot run that orchestrator.
    if (error instanceof Deno.errors.AddrNotAvailable) return false;
    throw error;
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    const usage = error instanceof UsageError;
    console.error(`mutirao orchestrator: ${(error as Error).message}`);
    if (Deno.args.includes("--debug")) console.error(error);
    Deno.exit(usage ? 2 : 1);
  }
}

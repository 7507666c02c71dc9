/**
 * Where the cluster is and how to verify it: from the flags, the environment, the login's
 * session, the home cluster file, or the repository's demo file. Unusable files are
 * configuration errors (exit 10), not bugs.
 * @module
 */
import { UsageError } from "../../shared/cli_args.ts";
import {
  DEFAULT_CONFIG_PATH,
  loadClusterConfig,
  type OrchestratorAddress,
  parseAddressList,
} from "../../shared/config/mod.ts";
import { discoverLeader, parseMulticastAddress } from "../../shared/net/multicast.ts";
import { loadTlsClientOptions, type TlsClientOptions } from "../../shared/net/connect.ts";
import { mutiraoHome } from "../../shared/paths.ts";
import { UnreachableError } from "../api/mod.ts";
import { configurationError } from "./cli_error.ts";
import {
  MULTICAST_REFUSAL,
  MULTICAST_WARNING,
  multicastCredentialPolicy,
} from "./discovery_policy.ts";
import type { GlobalOptions } from "./parse_command.ts";
import { caFingerprint } from "./session_binding.ts";
import type { Session } from "./session_store.ts";

/** Where the cluster is and how to verify it. */
export interface Target {
  orchestrators: OrchestratorAddress[];
  tlsCaFile: string | null;
  tls: TlsClientOptions | null;
  /** Of the CA in `tlsCaFile`; null over plain TCP. */
  caFingerprint: string | null;
}

/** How the target is looked up: the session (null for login), and the command's options. */
export interface TargetQuery {
  options: GlobalOptions;
  session: Session | null;
}

/**
 * Resolves the cluster's addresses and TLS settings.
 * @throws {CliError} (exit 10) for a cluster or CA file that cannot be read or is invalid.
 * @throws {UsageError} for a malformed `--orchestrators` or `--multicast`.
 * @throws {UnreachableError} when multicast finds no leader.
 */
export async function resolveTarget(query: TargetQuery): Promise<Target> {
  const tlsCaFile = await resolveTlsCaFile(query);
  const tls = tlsCaFile === null ? null : await configuration(loadTlsClientOptions(tlsCaFile));
  const orchestrators = await resolveOrchestrators(query, tls !== null);
  const fingerprint = tls === null ? null : caFingerprint(tls.caCerts.join("\n"));
  return { orchestrators, tlsCaFile, tls, caFingerprint: fingerprint };
}

/** Reports a failure to load the user's files as a configuration error. */
async function configuration<T>(loading: Promise<T>): Promise<T> {
  try {
    return await loading;
  } catch (error) {
    throw configurationError(error);
  }
}

function configPath(options: GlobalOptions): string | undefined {
  return options.config ?? Deno.env.get("MUTIRAO_CONFIG");
}

/** Where the cluster is: flag, environment, the login's cluster, the home cluster file, the demo. */
async function resolveOrchestrators(
  query: TargetQuery,
  hasTls: boolean,
): Promise<OrchestratorAddress[]> {
  const { options } = query;
  const list = options.orchestrators ?? Deno.env.get("MUTIRAO_ORCHESTRATORS");
  if (list !== undefined) {
    try {
      return parseAddressList(list);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const multicast = options.multicast ?? Deno.env.get("MUTIRAO_MULTICAST");
  if (multicast !== undefined) {
    // Every command sends a credential (a password, or the token), and an announcement is
    // unauthenticated for clients: only TLS, or the user's explicit consent, makes it usable.
    const decision = multicastCredentialPolicy({
      hasTls,
      allowInsecure: options.insecureMulticast,
    });
    if (decision === "refuse") throw new UsageError(MULTICAST_REFUSAL);
    if (decision === "warn") console.error(`mutirao: ${MULTICAST_WARNING}`);
    return [await discoverByMulticast(multicast, options)];
  }
  const path = configPath(options);
  if (path !== undefined) return (await configuration(loadClusterConfig(path))).orchestrators;
  if (query.session !== null) return query.session.orchestrators;
  const homeConfig = `${mutiraoHome()}/cluster.json`;
  try {
    return (await loadClusterConfig(homeConfig)).orchestrators;
  } catch (error) {
    if (!((error as Error).cause instanceof Deno.errors.NotFound)) throw configurationError(error);
  }
  return (await configuration(loadClusterConfig(DEFAULT_CONFIG_PATH))).orchestrators;
}

/** The CA file to verify orchestrators with: flag, environment, cluster file, or the login's. */
async function resolveTlsCaFile(query: TargetQuery): Promise<string | null> {
  const explicit = query.options.tlsCa ?? Deno.env.get("MUTIRAO_TLS_CA");
  if (explicit !== undefined) return explicit;
  const path = configPath(query.options);
  if (path !== undefined) return (await configuration(loadClusterConfig(path))).tls?.caFile ?? null;
  return query.session?.tlsCaFile ?? null;
}

async function discoverByMulticast(
  text: string,
  options: GlobalOptions,
): Promise<OrchestratorAddress> {
  let group;
  try {
    group = parseMulticastAddress(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  let announcement;
  try {
    announcement = await discoverLeader(group, {
      clusterId: null,
      timeoutMs: (options.timeoutS ?? 3) * 1000,
    });
  } catch (error) {
    throw new UnreachableError(`Cannot find the cluster: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const [host, port] = [
    announcement.address.replace(/:\d+$/, ""),
    Number(/:(\d+)$/.exec(announcement.address)?.[1]),
  ];
  return { id: announcement.nodeId, host, port };
}

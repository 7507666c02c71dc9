/**
 * Loads what a node needs to authenticate and encrypt, from flags, the
 * environment and the cluster file: the cluster secret's keys and TLS files.
 * Shared by the orchestrator, worker and client command lines.
 * @module
 */
import { type ClusterKeys, loadClusterKeys } from "../auth/mod.ts";
import type { ClusterConfig } from "../config/mod.ts";
import { loadTlsClientOptions, type TlsClientOptions } from "./connect.ts";

/** The cluster secret's keys, or null when none is configured (no node authentication). */
export async function loadNodeKeys(
  flag: string | undefined,
  config: ClusterConfig | null,
): Promise<ClusterKeys | null> {
  const path = flag ?? Deno.env.get("MUTIRAO_CLUSTER_SECRET_FILE") ?? config?.clusterSecretFile ??
    null;
  return path === null ? null : await loadClusterKeys(path);
}

/** TLS client options (the CA to verify orchestrators with), or null for plain TCP. */
export async function loadTlsClient(
  flag: string | undefined,
  config: ClusterConfig | null,
): Promise<TlsClientOptions | null> {
  const caFile = flag ?? Deno.env.get("MUTIRAO_TLS_CA") ?? config?.tls?.caFile ?? null;
  return caFile === null ? null : await loadTlsClientOptions(caFile);
}

/**
 * An orchestrator's TLS server material, or null without TLS.
 * @throws {Error} when TLS is configured without a certificate or key, or a file is unreadable.
 */
export async function loadTlsServer(
  config: ClusterConfig,
): Promise<{ cert: string; key: string; client: TlsClientOptions } | null> {
  const tls = config.tls;
  if (tls === null) return null;
  if (tls.certFile === undefined || tls.keyFile === undefined) {
    throw new Error("The cluster file's tls needs certFile and keyFile on orchestrators");
  }
  const read = async (path: string, what: string) => {
    try {
      return await Deno.readTextFile(path);
    } catch (error) {
      throw new Error(`Cannot read the TLS ${what} ${path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  };
  return {
    cert: await read(tls.certFile, "certificate"),
    key: await read(tls.keyFile, "key"),
    client: await loadTlsClientOptions(tls.caFile),
  };
}

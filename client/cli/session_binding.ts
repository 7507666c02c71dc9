/**
 * A session's token goes only to the cluster that issued it: one whose welcome
 * names the same cluster id (checked by MutiraoClient before any request; over HTTP,
 * checkClusterClaim on an answer to a request without credentials) and,
 * for a TLS cluster, one verified with the same CA as at login (checked here,
 * before connecting). Without TLS the cluster id is only a claim, so a fake
 * orchestrator that copies it is not caught: SECURITY.md says so.
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { EXIT_CODES } from "../../shared/errors.ts";
import { CLUSTER_ID_HEADER } from "../../shared/protocol/cluster_header.ts";
import { CliError } from "./cli_error.ts";
import type { Session } from "./session_store.ts";

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;

/**
 * The SHA-256 fingerprint of a CA file's certificates, as "sha256:HEX" (several certificates:
 * sorted, comma-separated). Hashing the DER bytes ignores line endings and comments in the PEM.
 * @example caFingerprint(await Deno.readTextFile("ca.pem")) // "sha256:3f…"
 */
export function caFingerprint(pem: string): string {
  const blocks = [...pem.matchAll(PEM_BLOCK)].map((m) => m[1].replace(/\s+/g, ""));
  const hashes = blocks.length === 0
    ? [createHash("sha256").update(pem).digest("hex")]
    : blocks.map((b) => createHash("sha256").update(Buffer.from(b, "base64")).digest("hex"));
  return `sha256:${hashes.sort().join(",")}`;
}

/**
 * Checks that `session` may be used with the CA about to verify the orchestrators (null: plain
 * TCP), and returns the cluster id its token is bound to.
 * @throws {CliError} (exit 4) when the session is not bound to a cluster (written by an older
 * client), or was issued under another CA, or over TLS and is now used without it (or the reverse).
 */
export function boundClusterId(session: Session, caFingerprint: string | null): string {
  if (typeof session.clusterId !== "string" || session.caFingerprint === undefined) {
    throw wrongCluster(
      "This session was saved by an older client and is not bound to the cluster that issued " +
        "it; log in again",
    );
  }
  const issuedWith = session.caFingerprint;
  if (issuedWith === caFingerprint) return session.clusterId;
  if (issuedWith === null) {
    throw wrongCluster(
      `This session was issued by cluster "${session.clusterId}" over plain TCP; refusing to ` +
        `send its token to a TLS cluster (log in to it first)`,
    );
  }
  if (caFingerprint === null) {
    throw wrongCluster(
      `This session was issued by TLS cluster "${session.clusterId}"; refusing to send its ` +
        `token without TLS (give the cluster's CA: tls.caFile in the cluster file, or --tls-ca FILE)`,
    );
  }
  throw wrongCluster(
    `This session was issued by cluster "${session.clusterId}", verified with CA ` +
      `${short(issuedWith)}; the CA given now is ${short(caFingerprint)}: refusing to send ` +
      `its token to another cluster (log in to it first)`,
  );
}

/**
 * Checks the cluster an orchestrator's HTTP port names (CLUSTER_ID_HEADER on an answer to a request
 * without credentials) before a session's token is sent there: the HTTP counterpart of the TCP
 * client's check of the welcome.
 * @throws {CliError} (exit 4) when it names another cluster, or none
 */
export function checkClusterClaim(address: string, expected: string, claimed: string | null): void {
  if (claimed === expected) return;
  throw wrongCluster(
    claimed === null
      ? `${address} does not name its cluster (no ${CLUSTER_ID_HEADER} header), so it cannot be ` +
        `told from another cluster's: refusing to send it the session's token`
      : `${address} belongs to cluster "${claimed}", not "${expected}": refusing to send it ` +
        `requests or credentials`,
  );
}

function short(fingerprint: string): string {
  return `${fingerprint.slice(0, "sha256:".length + 16)}…`;
}

function wrongCluster(message: string): CliError {
  return new CliError("wrong_cluster", EXIT_CODES.unauthenticated, message);
}

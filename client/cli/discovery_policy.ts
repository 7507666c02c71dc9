/**
 * Whether the CLI may send credentials to an orchestrator it found by multicast.
 *
 * Clients hold no cluster key, so they cannot check an announcement's signature:
 * anyone on the multicast network can announce a fake orchestrator, and a client
 * that believed it would hand over a password (at login) or a token. With TLS the
 * connection itself proves the orchestrator (its certificate must come from the
 * configured CA), so the announcement is only a hint. Without TLS nothing proves
 * it, so discovery is refused unless the user accepts the risk explicitly.
 * @module
 */

/** "verify": TLS checks the orchestrator; "warn": allowed without proof; "refuse": not allowed. */
export type MulticastCredentialDecision = "verify" | "warn" | "refuse";

/**
 * Decides whether credentials may go to an orchestrator found by multicast.
 * @param options.hasTls a CA is configured, so the connection verifies the orchestrator
 * @param options.allowInsecure the user passed --insecure-multicast
 */
export function multicastCredentialPolicy(
  options: { hasTls: boolean; allowInsecure: boolean },
): MulticastCredentialDecision {
  if (options.hasTls) return "verify";
  return options.allowInsecure ? "warn" : "refuse";
}

/** Why a plain-TCP multicast discovery is refused, and the ways forward. */
export const MULTICAST_REFUSAL =
  "Refusing to send credentials to an orchestrator found by multicast without TLS: anyone on " +
  "the network can forge an announcement, and clients cannot check it. Give the cluster's CA " +
  "(--tls-ca FILE) so the orchestrator is verified, or give its addresses (--config FILE or " +
  "--orchestrators LIST), or accept the risk with --insecure-multicast";

/** Printed to stderr whenever credentials go to an unverified, multicast-found orchestrator. */
export const MULTICAST_WARNING =
  "warning: --insecure-multicast: sending credentials to an orchestrator found by an " +
  "unauthenticated multicast announcement, without TLS; a forged announcement would receive them";

/**
 * The response header naming the cluster on every answer of an orchestrator's HTTP port, the
 * authentication refused included: the HTTP counterpart of the TCP welcome's `clusterId`. A
 * client checks it with a request that carries no credentials before it sends a session's token,
 * so a token never reaches an orchestrator of another cluster (client/cli/session_binding.ts).
 * Without TLS it is a claim, as the welcome's is: SECURITY.md says so.
 * @module
 */

/** The header's name (lower case, as `Headers` returns names). */
export const CLUSTER_ID_HEADER = "x-mutirao-cluster";

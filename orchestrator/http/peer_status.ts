/**
 * Asks another orchestrator's HTTP port for its `/api/v1/cluster` view, with the caller's
 * `Authorization` header (so that orchestrator checks the caller itself), over the TLS client
 * leader forwarding uses, within a short time: a dashboard polls the answer every few seconds, and
 * one silent orchestrator must not hold up the report of the others. Shell code (fetch).
 * @module
 */
import type { OrchestratorAddress } from "../../shared/config/mod.ts";
import { NodeStatusViewSchema } from "../../shared/protocol/messages.ts";
import type { PeerStatus } from "./cluster_nodes.ts";
import { FORWARDED_BY_HEADER } from "./leader_forward.ts";

/** How this node reaches the others' HTTP ports. */
export interface PeerStatusOptions {
  selfId: string;
  scheme: "http" | "https";
  /** Verifies the other's certificate (TLS), else null. */
  client: Deno.HttpClient | null;
  timeoutMs: number;
  /** Aborts the request (the server is stopping). */
  signal?: AbortSignal;
}

/** Orchestrator `o`'s view, or why it gave none (unreachable, too slow, an error answer). */
export async function fetchPeerStatus(
  o: OrchestratorAddress & { httpPort: number },
  authorization: string,
  options: PeerStatusOptions,
): Promise<PeerStatus> {
  const host = o.host.includes(":") ? `[${o.host}]` : o.host;
  const url = `${options.scheme}://${host}:${o.httpPort}/api/v1/cluster`;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  try {
    const response = await fetch(url, {
      headers: { authorization, [FORWARDED_BY_HEADER]: options.selfId },
      // A peer never redirects: an answer that does is refused, not followed (the caller's token
      // must go to the cluster file's addresses only, whatever the runtime does on a redirect).
      redirect: "manual",
      signal: options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]),
      ...(options.client === null ? {} : { client: options.client }),
    });
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const message = body?.error?.message;
      return {
        ok: false,
        error: `${url} answered ${response.status}${
          typeof message === "string" ? `: ${message}` : ""
        }`,
      };
    }
    const node = NodeStatusViewSchema.safeParse(body?.node);
    if (!node.success) {
      const issue = node.error.issues[0];
      const field = issue?.path.join(".") || "node";
      return {
        ok: false,
        error: `${url} answered an invalid node status: ${field}: ${issue?.message}`,
      };
    }
    return { ok: true, node: node.data };
  } catch (error) {
    // Down, partitioned, too slow, or this server is stopping: reported, never thrown.
    const why = timeout.aborted
      ? `no answer within ${options.timeoutMs} ms`
      : (error as Error).message;
    return { ok: false, error: `Cannot reach ${url}: ${why}` };
  }
}

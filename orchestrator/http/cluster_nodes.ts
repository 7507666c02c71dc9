/**
 * `GET /api/v1/cluster/nodes`: every orchestrator of the cluster file and where it stands, as one
 * answer a dashboard can poll. The serving orchestrator checks the caller first (its own
 * `/cluster` view, through its bridge: a bad token or a non-admin is refused before anyone else is
 * asked), then asks the others at once and reports each, in cluster-file order, as reachable with
 * its view or unreachable with why. Asking is a port (peer_status.ts does it over HTTP), so this
 * file holds no I/O.
 * @module
 */
import { z } from "npm:zod@4.6.7";
import type { OrchestratorAddress } from "../../shared/config/mod.ts";
import {
  type NodeStatusView,
  NodeStatusViewSchema,
  type OrchestratorToClient,
} from "../../shared/protocol/messages.ts";

const Place = { id: z.string(), host: z.string(), httpPort: z.int().nullable() };

/** One orchestrator in the answer: its view, or why there is none. */
export const ClusterNodeSchema = z.union([
  z.object({ ...Place, reachable: z.literal(true), node: NodeStatusViewSchema }).strict(),
  z.object({ ...Place, reachable: z.literal(false), error: z.string() }).strict(),
]);
export type ClusterNode = z.infer<typeof ClusterNodeSchema>;

/** The answer of `GET /cluster/nodes`. */
export const ClusterNodesSchema = z.object({ nodes: z.array(ClusterNodeSchema) }).strict();

/** What another orchestrator said when asked for its view. */
export type PeerStatus = { ok: true; node: NodeStatusView } | { ok: false; error: string };

/** What gathering needs from the server. */
export interface ClusterNodesPorts {
  selfId: string;
  /** The cluster file's orchestrators, in its order. */
  orchestrators: readonly OrchestratorAddress[];
  /** This orchestrator's own `nodeStatus` reply for the caller's token (the bridge). */
  askSelf(): Promise<OrchestratorToClient>;
  /** Another orchestrator's view, asked with the caller's credentials; never rejects. */
  askPeer(orchestrator: OrchestratorAddress & { httpPort: number }): Promise<PeerStatus>;
}

/**
 * Every orchestrator's place and view; or, when the serving node's own reply is not its view (an
 * error: it refuses the caller), that reply, and nobody else was asked.
 */
export async function gatherClusterNodes(
  ports: ClusterNodesPorts,
): Promise<{ nodes: ClusterNode[] } | { refused: OrchestratorToClient }> {
  const own = await ports.askSelf();
  if (own.type !== "nodeStatusReply") return { refused: own };
  const nodes = await Promise.all(ports.orchestrators.map(async (o): Promise<ClusterNode> => {
    const place = { id: o.id, host: o.host, httpPort: o.httpPort ?? null };
    if (o.id === ports.selfId) return { ...place, reachable: true, node: own.node };
    if (o.httpPort === undefined || o.httpPort === 0) {
      const error = `Orchestrator ${o.id} has no httpPort in the cluster file: it cannot be asked`;
      return { ...place, reachable: false, error };
    }
    const status = await ports.askPeer({ ...o, httpPort: o.httpPort });
    return status.ok
      ? { ...place, reachable: true, node: status.node }
      : { ...place, reachable: false, error: status.error };
  }));
  return { nodes };
}

// Proves that gatherClusterNodes() checks the caller on the serving node before asking anyone
// else, asks the others at once, and reports every orchestrator in cluster-file order.
import assert from "node:assert/strict";
import { PROTOCOL_VERSION } from "../../shared/limits.ts";
import type { NodeStatusView, OrchestratorToClient } from "../../shared/protocol/messages.ts";
import { ClusterNodesSchema, gatherClusterNodes, type PeerStatus } from "./cluster_nodes.ts";

const STAMP = { v: PROTOCOL_VERSION, lamport: 0, re: 1 } as const;

function view(id: string, role: NodeStatusView["role"]): NodeStatusView {
  return {
    id,
    role,
    term: 2,
    leaderId: "o2",
    commitIndex: 9,
    appliedIndex: 9,
    lastIndex: 9,
    followers: [],
    droppedDatagrams: { malformed: 0, forged: 0, stale: 0, replayed: 0 },
  };
}

const ORCHESTRATORS = [
  { id: "o1", host: "127.0.0.1", port: 7001, httpPort: 8001 },
  { id: "o2", host: "127.0.0.1", port: 7002, httpPort: 8002 },
  { id: "o3", host: "127.0.0.1", port: 7003, httpPort: 8003 },
  { id: "o4", host: "127.0.0.1", port: 7004 },
];

Deno.test("gatherClusterNodes() reports each orchestrator in order, asking the others at once", async () => {
  const asked: string[] = [];
  const answers = new Map<string, (status: PeerStatus) => void>();
  const gathering = gatherClusterNodes({
    selfId: "o2",
    orchestrators: ORCHESTRATORS,
    askSelf: () =>
      Promise.resolve({ ...STAMP, type: "nodeStatusReply", node: view("o2", "leader") }),
    askPeer: (o) => {
      asked.push(o.id);
      return new Promise((resolve) => answers.set(o.id, resolve));
    },
  });
  // Both are asked before either answers: one slow orchestrator does not delay the other's ask.
  while (answers.size < 2) await new Promise((resolve) => setTimeout(resolve, 1));
  assert.deepEqual(asked, ["o1", "o3"]);
  answers.get("o3")!({ ok: false, error: "Cannot reach o3: no answer within 1500 ms" });
  answers.get("o1")!({ ok: true, node: view("o1", "follower") });
  const gathered = await gathering;
  assert.ok("nodes" in gathered);
  assert.deepEqual(gathered.nodes, [
    { id: "o1", host: "127.0.0.1", httpPort: 8001, reachable: true, node: view("o1", "follower") },
    { id: "o2", host: "127.0.0.1", httpPort: 8002, reachable: true, node: view("o2", "leader") },
    {
      id: "o3",
      host: "127.0.0.1",
      httpPort: 8003,
      reachable: false,
      error: "Cannot reach o3: no answer within 1500 ms",
    },
    {
      id: "o4",
      host: "127.0.0.1",
      httpPort: null,
      reachable: false,
      error: "Orchestrator o4 has no httpPort in the cluster file: it cannot be asked",
    },
  ]);
  assert.ok(ClusterNodesSchema.safeParse(gathered).success, "the answer fits its OpenAPI schema");
});

Deno.test("gatherClusterNodes() asks nobody else when the serving node refuses the caller", async () => {
  const refusal: OrchestratorToClient = {
    ...STAMP,
    type: "error",
    code: "unauthenticated",
    message: "Unknown session token; log in again",
  };
  let asked = 0;
  const gathered = await gatherClusterNodes({
    selfId: "o1",
    orchestrators: ORCHESTRATORS,
    askSelf: () => Promise.resolve(refusal),
    askPeer: () => {
      asked++;
      return Promise.resolve({ ok: false, error: "x" });
    },
  });
  assert.deepEqual(gathered, { refused: refusal });
  assert.equal(asked, 0);
});

/**
 * `mutirao cluster`: asks every orchestrator where it stands; unreachable ones are rows, and a
 * cluster without a leader is a failure for scripts (exit 6), table still shown.
 * @module
 */
import { addressOf } from "../../shared/config/mod.ts";
import { RemoteError } from "../../shared/errors.ts";
import { MutiraoClient, WrongClusterError } from "../api/mod.ts";
import { notLoggedIn } from "./cli_error.ts";
import { type Context, requireSession } from "./cluster_session.ts";
import { type ClusterRow, formatCluster, unreachableRow } from "./format.ts";
import { noLeaderFailure, type Output } from "./outcome.ts";
import { resolveTarget } from "./resolve_target.ts";
import { boundClusterId } from "./session_binding.ts";

/** Default per-orchestrator `--timeout` of `cluster`, in seconds: one slow node must not stall it. */
const CLUSTER_TIMEOUT_S_DEFAULT = 2;

export async function cluster(context: Context): Promise<Output> {
  const session = requireSession(context);
  const target = await resolveTarget({ options: context.options, session });
  const clusterId = boundClusterId(session, target.caFingerprint);
  const timeoutS = context.options.timeoutS ?? CLUSTER_TIMEOUT_S_DEFAULT;
  const rows: ClusterRow[] = await Promise.all(target.orchestrators.map(async (o) => {
    const address = addressOf(o);
    const client = new MutiraoClient({
      orchestrators: [o],
      timeoutMs: timeoutS * 1000,
      clock: context.clock,
      tls: target.tls,
      clusterId,
    });
    try {
      const { node } = await client.request({ type: "nodeStatus", token: session.token });
      return { ...node, address, lag: null, error: null };
    } catch (error) {
      if (error instanceof RemoteError && error.code === "unauthenticated") {
        throw notLoggedIn(error.message.replace(/; log in again$/, ""));
      }
      // An orchestrator that answered (e.g. "forbidden") is not unreachable: report its answer;
      // one of another cluster means the address list is wrong, which must not pass unnoticed.
      if (error instanceof RemoteError || error instanceof WrongClusterError) throw error;
      return unreachableRow(o.id, address, (error as Error).message);
    } finally {
      client.close();
    }
  }));
  const leader = rows.find((r) => r.role === "leader") ?? null;
  for (const row of rows) {
    if (leader !== null && row.role !== "unreachable") {
      row.lag = Math.max(0, leader.commitIndex - row.appliedIndex);
    }
  }
  const failure = noLeaderFailure(leader?.id ?? null);
  return {
    json: { leader: leader?.id ?? null, orchestrators: rows },
    text: formatCluster(rows, leader?.id ?? null),
    ...(failure === undefined ? {} : { failure }),
  };
}

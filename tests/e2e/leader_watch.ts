/**
 * What end-to-end tests of failover need: which orchestrator leads which term (from the
 * "Leading term N" line each logs), and the CLI session's token for library clients.
 * @module
 */
import type { ManagedProcess } from "../../scripts/lib/managed_process.ts";
import type { ClusterFixture } from "./cluster_fixture.ts";

/** The line an orchestrator logs when it becomes leader; group 1 is the term. */
export const LEADING = /Leading term (\d+)/;

/** Resolves with the orchestrator that announces leadership of a term above `afterTerm`. */
export function nextLeader(
  orchestrators: Map<string, ManagedProcess>,
  afterTerm: number,
): Promise<{ id: string; term: number }> {
  return Promise.any([...orchestrators].map(async ([id, p]) => {
    const line = await p.waitForLine((l) => Number(LEADING.exec(l)?.[1] ?? 0) > afterTerm, 20_000);
    return { id, term: Number(LEADING.exec(line)![1]) };
  }));
}

/** The token of the CLI's session in `cluster`'s $MUTIRAO_HOME (after `cli(["login", …])`). */
export async function sessionToken(cluster: ClusterFixture): Promise<string> {
  const session = JSON.parse(await Deno.readTextFile(`${cluster.home}/session.json`));
  return session.session.token;
}

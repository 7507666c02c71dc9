// Proves on real processes that a paused leader, resumed after a new leader acknowledged a task,
// does not answer a cancel of that task with "not found" (issue 14, bug 2): the request, sent on a
// connection opened to the old leader before the pause, ends at the new leader and cancels the task.
import assert from "node:assert/strict";
import { MutiraoClient } from "../../client/api/mod.ts";
import type { ManagedProcess } from "../../scripts/lib/managed_process.ts";
import { withCluster } from "./cluster_fixture.ts";
import { LEADING } from "./leader_watch.ts";

Deno.test("a leader paused under the clients' silence threshold does not deny a task the new leader acknowledged", async () => {
  await withCluster({
    orchestrators: 3,
    heartbeatIntervalMs: 250,
    extraConfig: { electionTimeoutMinMs: 300, electionTimeoutMaxMs: 450 },
  }, async (cluster) => {
    const orchestrators = new Map<string, ManagedProcess>();
    await Promise.all(["o1", "o2", "o3"].map(async (id) => {
      orchestrators.set(id, await cluster.startOrchestrator(id));
    }));
    const rows = await leaderRows(cluster.cli.bind(cluster));
    const oldId = rows.find((r) => r.role === "leader")!.id;
    const all = cluster.config.orchestrators;
    const old = all.find((o) => o.id === oldId)!;
    const others = all.filter((o) => o.id !== oldId);
    const viaOld = new MutiraoClient({ orchestrators: [old, ...others], timeoutMs: 10_000 });
    try {
      const { token } = await viaOld.request({ type: "login", user: "user1", password: "pass1" });
      // Open the connection to the old leader now (and make the session known everywhere).
      await viaOld.request({ type: "list", token });
      assert.equal(viaOld.connectedTo, `${old.host}:${old.port}`);

      const paused = orchestrators.get(oldId)!;
      const termNow = Math.max(
        ...[...orchestrators.values()].flatMap((p) =>
          p.lines.map((l) => Number(LEADING.exec(l)?.[1] ?? 0))
        ),
      );
      paused.signal("SIGSTOP");
      const pausedAt = performance.now();
      let cancel: Promise<unknown>;
      let viaNew: MutiraoClient | null = null;
      try {
        const newLeader = await Promise.any(
          others.map(async (o) => {
            await orchestrators.get(o.id)!.waitForLine(
              (l) => Number(LEADING.exec(l)?.[1] ?? 0) > termNow,
              10_000,
            );
            return o;
          }),
        );
        const electedMs = performance.now() - pausedAt;
        viaNew = new MutiraoClient({ orchestrators: [newLeader], timeoutMs: 10_000 });
        // Retried on "catching up" until the new leader acknowledges it.
        const { taskId } = await viaNew.request({
          type: "submit",
          token,
          idempotencyKey: "after-the-pause",
          task: { kind: "sleep", description: "waits for no worker", durationMs: 1000 },
        });
        // Sent on the old connection: the old leader reads it when it wakes.
        cancel = viaOld.request({ type: "cancel", token, taskId });
        console.log(
          `new leader after ${electedMs.toFixed(0)} ms; task ${taskId} acknowledged by it ` +
            `${(performance.now() - pausedAt).toFixed(0)} ms into the pause`,
        );
      } finally {
        paused.signal("SIGCONT");
        viaNew?.close();
      }
      const reply = await cancel as { task: { state: string } };
      assert.equal(reply.task.state, "cancelled");
    } finally {
      viaOld.close();
    }
  });
});

async function leaderRows(
  cli: (args: string[]) => Promise<{ code: number; json: Record<string, unknown> | null }>,
): Promise<Array<{ id: string; role: string }>> {
  assert.equal((await cli(["login", "user1", "pass1"])).code, 0);
  for (let i = 0; i < 50; i++) {
    const rows = (await cli(["cluster"])).json?.orchestrators as
      | Array<{ id: string; role: string }>
      | undefined;
    if (rows?.some((r) => r.role === "leader")) return rows;
  }
  throw new Error("No leader reported by `cluster`");
}

Deno.test("`cluster` right after `login` never says the fresh session is unknown", async () => {
  await withCluster({ orchestrators: 3 }, async (cluster) => {
    await Promise.all(["o1", "o2", "o3"].map((id) => cluster.startOrchestrator(id)));
    const all = cluster.config.orchestrators;
    for (let round = 0; round < 10; round++) {
      const client = new MutiraoClient({ orchestrators: all, timeoutMs: 10_000 });
      const { token } = await client.request({ type: "login", user: "user1", password: "pass1" })
        .finally(() => client.close());
      // What `cluster` does, at once: ask every orchestrator, each on its own connection; a
      // follower has often not applied the session yet.
      const roles = await Promise.all(all.map(async (o) => {
        const one = new MutiraoClient({ orchestrators: [o], timeoutMs: 2000 });
        try {
          return (await one.request({ type: "nodeStatus", token })).node.role;
        } finally {
          one.close();
        }
      }));
      assert.equal(roles.filter((r) => r === "leader").length, 1, `round ${round}: ${roles}`);
    }
  });
});

// Proves the replicated cluster on real processes: kill -9 of the leader while tasks flow loses no
// acknowledged task and duplicates none, a new leader takes over, the old one rejoins and catches
// up through a snapshot, and a lone survivor refuses writes for lack of a quorum.
import assert from "node:assert/strict";
import { MutiraoClient } from "../../client/api/mod.ts";
import type { ManagedProcess } from "../../scripts/lib/managed_process.ts";
import type { TaskView } from "../../shared/protocol/messages.ts";
import { withCluster } from "./cluster_fixture.ts";
import { nextLeader, sessionToken } from "./leader_watch.ts";
import { pollUntil } from "./poll_until.ts";

Deno.test("3 orchestrators: leader failover loses and duplicates nothing; rejoin; no quorum", async () => {
  await withCluster(
    { orchestrators: 3, snapshotEveryEntries: 40, snapshotCatchUpEntries: 5 },
    async (cluster) => {
      const orchestrators = new Map<string, ManagedProcess>();
      await Promise.all(["o1", "o2", "o3"].map(async (id) => {
        orchestrators.set(id, await cluster.startOrchestrator(id));
      }));
      const first = await nextLeader(orchestrators, 0);
      for (let i = 0; i < 3; i++) await cluster.startWorker({ slots: 4 });
      assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);
      const client = new MutiraoClient({
        orchestrators: cluster.config.orchestrators,
        timeoutMs: 20_000,
      });
      const token = await sessionToken(cluster);
      try {
        const submit = async (key: string) =>
          await client.request({
            type: "submit",
            token,
            idempotencyKey: key,
            task: { kind: "sleep", description: key, durationMs: 300 },
          });
        const ids = new Map<string, string>();
        for (let i = 0; i < 20; i++) ids.set(`k${i}`, (await submit(`k${i}`)).taskId);

        // Kill the leader while tasks run, and keep submitting.
        const old = orchestrators.get(first.id)!;
        old.signal("SIGKILL");
        const killedAt = performance.now();
        let firstAckMs: number | null = null;
        for (let i = 20; i < 40; i++) {
          ids.set(`k${i}`, (await submit(`k${i}`)).taskId);
          firstAckMs ??= performance.now() - killedAt;
        }
        await old.exited;
        orchestrators.delete(first.id);
        const second = await nextLeader(orchestrators, first.term);
        console.log(
          `leader ${first.id} killed; ${second.id} leads term ${second.term}; ` +
            `first submission acknowledged ${firstAckMs!.toFixed(0)} ms after the kill`,
        );

        // Every acknowledged task exists, finishes, and has exactly one result.
        assert.equal(new Set(ids.values()).size, 40, "two keys got the same task");
        for (const [key, id] of ids) {
          const { task } = await client.request({
            type: "wait",
            token,
            taskId: id,
            timeoutMs: 30_000,
          });
          assert.equal(task.state, "succeeded", `${key} (${id}) is ${task.state}`);
          assertOneResult(task);
        }
        // Retrying submissions after the failover never makes a second task.
        for (const key of ["k0", "k19", "k20"]) {
          const again = await submit(key);
          assert.equal(again.taskId, ids.get(key));
          assert.equal(again.duplicate, true);
        }

        // The old leader rejoins as a follower and catches up through a snapshot.
        const rejoined = await cluster.startOrchestrator(first.id);
        orchestrators.set(first.id, rejoined);
        await rejoined.waitForLine((l) => l.includes("Installed a snapshot from the leader"));
        const status = await pollUntil("the rejoined orchestrator caught up", async () => {
          const r = await cluster.cli(["cluster"]);
          const rows = r.json?.orchestrators as Array<
            { id: string; role: string; lag: number | null }
          >;
          const row = rows?.find((x) => x.id === first.id);
          return row?.role === "follower" && row.lag === 0 ? rows : undefined;
        }, { deadlineMs: 20_000, intervalMs: 200 });
        assert.equal(status.filter((r) => r.role === "leader").length, 1);
        const list = await client.request({ type: "list", token, limit: 100 });
        assert.equal(list.tasks.length, 40);

        // Kill two of three: the survivor refuses writes, saying why.
        const survivors = [...orchestrators.keys()];
        for (const id of survivors.slice(0, 2)) {
          orchestrators.get(id)!.signal("SIGKILL");
          await orchestrators.get(id)!.exited;
        }
        const refused = await cluster.cli(["submit", "no quorum", "-d", "0", "--timeout", "3"]);
        assert.equal(refused.code, 6, refused.stderr);
        assert.match(refused.stderr, /No quorum/);
      } finally {
        client.close();
      }
    },
  );
});

Deno.test("a frozen leader (SIGSTOP: nothing closes) is replaced; clients and workers move on", async () => {
  await withCluster({ orchestrators: 3 }, async (cluster) => {
    const orchestrators = new Map<string, ManagedProcess>();
    await Promise.all(["o1", "o2", "o3"].map(async (id) => {
      orchestrators.set(id, await cluster.startOrchestrator(id));
    }));
    await nextLeader(orchestrators, 0);
    await cluster.startWorker({ slots: 2 });
    assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);
    // Whoever leads now (an early election may have moved leadership since the first).
    const rows = (await cluster.cli(["cluster"])).json?.orchestrators as Array<
      { id: string; role: string }
    >;
    const first = rows.find((r) => r.role === "leader")!;
    assert.ok(first !== undefined, JSON.stringify(rows));
    const frozen = orchestrators.get(first.id)!;
    // The CLI talks to the frozen leader first: only silence can tell it (and the worker) to go.
    const { host, port } = cluster.address(first.id);
    const viaFrozen = `${cluster.dir}/frozen-first.json`;
    await Deno.writeTextFile(
      viaFrozen,
      JSON.stringify({
        ...cluster.config,
        orchestrators: [
          ...cluster.config.orchestrators.filter((o) => o.id === first.id),
          ...cluster.config.orchestrators.filter((o) => o.id !== first.id),
        ],
      }),
    );
    frozen.signal("SIGSTOP");
    try {
      const frozenAt = performance.now();
      const done = await cluster.cli(
        ["submit", "after the freeze", "-d", "0.1", "--wait", "--wait-timeout", "30"],
        { config: viaFrozen },
      );
      assert.equal(done.code, 0, done.stderr);
      assert.equal(done.json?.state, "succeeded", "the worker re-attached to the new leader");
      console.log(
        `leader ${first.id} (${host}:${port}) frozen; a task was submitted and run ` +
          `${(performance.now() - frozenAt).toFixed(0)} ms later`,
      );
    } finally {
      frozen.signal("SIGCONT"); // so that the fixture can stop it
    }
  });
});

function assertOneResult(task: TaskView): void {
  const results = task.history.filter((e) => e.event === "succeeded" || e.event === "failed");
  assert.equal(results.length, 1, `${task.id} has ${results.length} results`);
  for (let i = 1; i < task.history.length; i++) {
    assert.ok(
      task.history[i].lamport > task.history[i - 1].lamport,
      `${task.id} history out of Lamport order`,
    );
  }
}

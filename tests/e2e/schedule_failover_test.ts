// Proves cron schedules on real processes: a schedule added with the CLI fires every second, keeps
// firing after the leader is killed (kill -9), and no tick fires twice: each fired tick made one
// task, and fired plus missed ticks account for every tick since the schedule was added, once.
import assert from "node:assert/strict";
import { MutiraoClient } from "../../client/api/mod.ts";
import type { ManagedProcess } from "../../scripts/lib/managed_process.ts";
import type { ScheduleView } from "../../shared/protocol/messages.ts";
import { withCluster } from "./cluster_fixture.ts";
import { nextLeader, sessionToken } from "./leader_watch.ts";
import { pollUntil } from "./poll_until.ts";

Deno.test("a schedule every second keeps firing after the leader is killed, no tick twice", async () => {
  await withCluster({ orchestrators: 3 }, async (cluster) => {
    const orchestrators = new Map<string, ManagedProcess>();
    await Promise.all(["o1", "o2", "o3"].map(async (id) => {
      orchestrators.set(id, await cluster.startOrchestrator(id));
    }));
    const first = await nextLeader(orchestrators, 0);
    await cluster.startWorker({ slots: 4 });
    assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);

    const bad = await cluster.cli([
      "schedule",
      "add",
      "x",
      "--cron",
      "61 * * * * *",
      "t",
      "-d",
      "0",
    ]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /Invalid value for second: 61/);

    const added = await cluster.cli(
      ["schedule", "add", "beat", "--cron", "*/1 * * * * *", "tick", "-d", "0"],
    );
    assert.equal(added.code, 0, added.stderr);
    const client = new MutiraoClient({
      orchestrators: cluster.config.orchestrators,
      timeoutMs: 20_000,
    });
    const token = await sessionToken(cluster);
    const beat = async (): Promise<ScheduleView> => {
      const { schedules } = await client.request({ type: "scheduleList", token });
      assert.equal(schedules.length, 1);
      return schedules[0];
    };
    try {
      await pollUntil(
        "the schedule fired twice",
        async () => (await beat()).fired >= 2 || undefined,
      );
      // Whoever leads now (an early election may have moved leadership since the first).
      const rows = (await cluster.cli(["cluster"])).json?.orchestrators as
        | Array<
          { id: string; role: string }
        >
        | undefined;
      const leaderId = rows?.find((r) => r.role === "leader")?.id ?? first.id;
      const old = orchestrators.get(leaderId)!;
      old.signal("SIGKILL");
      await old.exited;
      orchestrators.delete(leaderId);
      const killedAtMs = Date.now();
      const second = await nextLeader(orchestrators, first.term);
      const after = await pollUntil(
        "the schedule fired three ticks after the kill",
        async () => {
          const view = await beat();
          return view.lastTickMs !== null && view.lastTickMs >= killedAtMs + 3000
            ? view
            : undefined;
        },
        { deadlineMs: 30_000, intervalMs: 200 },
      );
      console.log(
        `leader ${leaderId} killed; ${second.id} leads term ${second.term}; schedule fired ` +
          `${after.fired} ticks, ${after.missedTicks} missed`,
      );

      const listed = await cluster.cli(["schedule", "list"]);
      assert.equal(listed.code, 0, listed.stderr);
      const view = (listed.json?.schedules as ScheduleView[])[0];
      // Every tick from the first after the schedule was added to the last fired one either
      // fired once or was counted missed (while no leader was there): none fired twice.
      const firstTickMs = Math.floor(view.createdAtMs / 1000) * 1000 + 1000;
      const ticks = (view.lastTickMs! - firstTickMs) / 1000 + 1;
      assert.equal(view.fired + view.missedTicks, ticks, JSON.stringify(view));
      // Each firing made one task (key schedule:beat:<tick>), and nothing else made any.
      const { tasks } = await client.request({ type: "list", token, limit: 1000 });
      assert.ok(tasks.length >= view.fired, `${tasks.length} tasks for ${view.fired} firings`);
      assert.ok(tasks.length <= view.fired + 1, `${tasks.length} tasks for ${view.fired} firings`);
      assert.ok(tasks.every((t) => t.description === "tick"));
    } finally {
      client.close();
    }
  });
});

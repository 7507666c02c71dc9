// Proves the documented way back for an orchestrator whose log is damaged, on real processes: it
// refuses to start, naming the file, the byte offset and --rejoin, and changes nothing; moved aside
// and started empty with --rejoin it catches up, keeps every task and its result, and once caught
// up votes again (the cluster survives losing its leader); --rejoin on a directory that holds a
// log is refused.
import assert from "node:assert/strict";
import { basename } from "node:path";
import { MutiraoClient } from "../../client/api/mod.ts";
import type { ManagedProcess } from "../../scripts/lib/managed_process.ts";
import type { TaskView } from "../../shared/protocol/messages.ts";
import { type ClusterFixture, withCluster } from "./cluster_fixture.ts";
import { pollUntil } from "./poll_until.ts";

const IDS = ["o1", "o2", "o3"];

interface ClusterRow {
  id: string;
  role: string;
  lag: number | null;
}

/** The `cluster` command's rows, or undefined when it fails (no leader yet). */
async function clusterRows(cluster: ClusterFixture): Promise<ClusterRow[] | undefined> {
  const r = await cluster.cli(["cluster", "--timeout", "5"]);
  return r.code === 0 ? r.json?.orchestrators as ClusterRow[] : undefined;
}

/** Waits until `want` holds for the `cluster` rows, and returns them. */
function rowsWhen(
  cluster: ClusterFixture,
  what: string,
  want: (rows: ClusterRow[]) => boolean,
): Promise<ClusterRow[]> {
  return pollUntil(what, async () => {
    const rows = await clusterRows(cluster);
    return rows !== undefined && want(rows) ? rows : undefined;
  }, { deadlineMs: 30_000, intervalMs: 200 });
}

/** Where each record (`[u32 length][u32 crc][payload]`) of a WAL segment starts. */
function recordOffsets(bytes: Uint8Array): number[] {
  const offsets: number[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let offset = 0; offset + 8 <= bytes.length; offset += 8 + view.getUint32(offset)) {
    offsets.push(offset);
  }
  return offsets;
}

/** The active (newest) WAL segment of a data directory. */
async function activeSegment(dataDir: string): Promise<string> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dataDir)) {
    if (/^wal-\d+\.log$/.test(entry.name)) names.push(entry.name);
  }
  assert.ok(names.length > 0, `no WAL segment in ${dataDir}`);
  return `${dataDir}/${names.sort().at(-1)}`;
}

/** Runs orchestrator `id` with `extraArgs`, expecting it to refuse to start; returns its output. */
async function refusedStart(
  cluster: ClusterFixture,
  id: string,
  extraArgs: string[] = [],
): Promise<string> {
  const p = cluster.spawn(`orchestrator ${id} (refused)`, cluster.orchestratorArgs(id, extraArgs));
  const status = await p.exited;
  const output = p.lines.join("\n");
  assert.notEqual(status.code, 0, `${id} started, but it must refuse:\n${output}`);
  assert.ok(!output.includes('"event":"ready"'), output);
  return output;
}

function sameResult(a: TaskView, b: TaskView): void {
  assert.equal(a.state, "succeeded", `${a.id} is ${a.state}`);
  assert.equal(b.state, a.state, `${a.id} was ${a.state}, now ${b.state}`);
  assert.deepEqual(b.result, a.result, `${a.id} changed its result`);
}

Deno.test("a damaged log: refused with file, offset and --rejoin; moved aside and rejoined empty, the node catches up, keeps every task and votes again; --rejoin refuses a log", async () => {
  await withCluster({ orchestrators: 3 }, async (cluster) => {
    const orchestrators = new Map<string, ManagedProcess>();
    await Promise.all(IDS.map(async (id) => {
      orchestrators.set(id, await cluster.startOrchestrator(id));
    }));
    await cluster.startWorker({ slots: 2 });
    assert.equal((await cluster.cli(["login", "user1", "pass1", "--timeout", "30"])).code, 0);
    const session = JSON.parse(await Deno.readTextFile(`${cluster.home}/session.json`));
    const token: string = session.session.token;
    const client = new MutiraoClient({
      orchestrators: cluster.config.orchestrators,
      timeoutMs: 20_000,
    });
    try {
      const done = new Map<string, TaskView>();
      for (let i = 0; i < 4; i++) {
        const { taskId } = await client.request({
          type: "submit",
          token,
          idempotencyKey: `k${i}`,
          task: { kind: "sleep", description: `task ${i}`, durationMs: 50 },
        });
        const { task } = await client.request({ type: "wait", token, taskId, timeoutMs: 20_000 });
        assert.equal(task.state, "succeeded");
        done.set(taskId, task);
      }
      const before = await rowsWhen(
        cluster,
        "every orchestrator applied every task",
        (rows) => rows.length === 3 && rows.every((r) => r.role === "leader" || r.lag === 0),
      );
      const leader = before.find((r) => r.role === "leader")!.id;
      const damaged = before.find((r) => r.role === "follower")!.id;
      await orchestrators.get(damaged)!.stop();
      orchestrators.delete(damaged);

      // Flip one byte inside the second record of its active segment: valid records follow it,
      // so no crash can explain it.
      const dataDir = cluster.dataDir(damaged);
      const segment = await activeSegment(dataDir);
      const bytes = await Deno.readFile(segment);
      const offsets = recordOffsets(bytes);
      assert.ok(offsets.length >= 4, `only ${offsets.length} records in ${segment}`);
      bytes[offsets[1] + 8 + 2] ^= 0x20;
      await Deno.writeFile(segment, bytes);

      const refusal = await refusedStart(cluster, damaged);
      assert.match(
        refusal,
        new RegExp(`${basename(segment).replace(".", "\\.")} is corrupt at byte ${offsets[1]}\\b`),
      );
      assert.match(refusal, /--rejoin/);
      assert.deepEqual(await Deno.readFile(segment), bytes, "the refused start changed the file");

      // The documented way back: keep the directory aside, start empty with --rejoin.
      await Deno.rename(dataDir, `${dataDir}.damaged`);
      const rejoined = await cluster.startOrchestrator(damaged, ["--rejoin"]);
      orchestrators.set(damaged, rejoined);
      await rejoined.waitForLine((l) => l.includes("Rejoining after a lost disk"));
      await rowsWhen(
        cluster,
        `${damaged} caught up`,
        (rows) => rows.some((r) => r.id === damaged && r.role === "follower" && r.lag === 0),
      );
      for (const [taskId, task] of done) {
        sameResult(task, (await client.request({ type: "status", token, taskId })).task);
      }

      // Caught up, it votes again: the two left elect a leader and serve without the old one.
      orchestrators.get(leader)!.signal("SIGKILL");
      await orchestrators.get(leader)!.exited;
      orchestrators.delete(leader);
      const after = await rowsWhen(
        cluster,
        "a new leader without the old one",
        (rows) => rows.some((r) => r.role === "leader" && r.id !== leader),
      );
      const { taskId } = await client.request({
        type: "submit",
        token,
        idempotencyKey: "after",
        task: { kind: "sleep", description: "after the failover", durationMs: 50 },
      });
      const { task } = await client.request({ type: "wait", token, taskId, timeoutMs: 20_000 });
      assert.equal(task.state, "succeeded");
      for (const [id, view] of done) {
        sameResult(view, (await client.request({ type: "status", token, taskId: id })).task);
      }
      console.log(
        `${damaged} refused its damaged log, rejoined empty and caught up; after ${leader} was ` +
          `killed, ${after.find((r) => r.role === "leader")!.id} leads`,
      );

      // Its directory now holds a log (and no rejoin under way): --rejoin is refused, clearly.
      await rejoined.stop();
      orchestrators.delete(damaged);
      const again = await refusedStart(cluster, damaged, ["--rejoin"]);
      assert.match(again, /Cannot rejoin: .* already holds a log \(term \d+/);
      assert.match(again, /--rejoin starts only from an empty data directory/);
    } finally {
      client.close();
    }
  });
});

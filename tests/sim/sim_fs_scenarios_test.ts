// Proves, with scripted runs of the whole system on the real file storage over the simulated disk,
// that damage to fsync'd records makes a node refuse to start (never silently lose its vote or its
// entries) while the rest of the cluster goes on, and that a whole-cluster power loss tearing the
// writes in flight loses nothing acknowledged.
import assert from "node:assert/strict";
import { Script } from "./scenario_script.ts";
import type { SimOrchestrator } from "./sim_orchestrator.ts";
import type { SimParams } from "./sim_params.ts";

function onFiles(p: SimParams): void {
  p.storage = {
    kind: "file",
    segmentBytes: 64 * 1024 * 1024,
    damageableNodes: [],
    damageRate: 0,
    fsyncErrorRate: 0,
    diskFullRate: 0,
  };
}

/** Offset of record `n` (0-based) of a segment. */
function recordStart(bytes: Uint8Array, n: number): number {
  let offset = 0;
  for (let i = 0; i < n; i++) {
    offset += 8 + new DataView(bytes.buffer, bytes.byteOffset + offset).getUint32(0);
  }
  return offset;
}

async function submitAll(script: Script, keys: string[]): Promise<void> {
  const client = script.world.clients[0];
  for (const key of keys) {
    const result = await script.answer(client.submit(key, 20), `submission ${key}`);
    assert.ok(result.ok, `${key}: ${JSON.stringify(result)}`);
  }
}

Deno.test("a bit flip in an early fsync'd record of a follower's active segment: it refuses to start, naming the file, and the cluster goes on without it", async () => {
  const script = new Script(707, { orchestrators: 3, workerSlots: [2], adjust: onFiles });
  script.boot();
  const leader = await script.leader();
  await script.login();
  await submitAll(script, ["a", "b", "c", "d"]);
  const follower = script.world.orchestrators.find((o) => o !== leader) as SimOrchestrator;
  await script.until(
    () => follower.node.sm.appliedIndex === leader.node.sm.appliedIndex,
    2000,
    "the follower to catch up",
  );
  script.world.crashOrchestrator(follower, "lost");
  const fs = follower.store.fs!;
  const path = "/var/lib/mutirao/log/wal-00000001.log";
  const at = recordStart(fs.durableBytes(path), 2) + 20; // inside the third record's payload
  fs.damage(path, { kind: "bitFlip", from: at, to: at + 1 });
  const evidence = fs.durableBytes(path);

  script.world.restartOrchestrator(follower);
  await script.run(100);
  assert.ok(!follower.isAlive, "the damaged node must not start");
  assert.match(follower.refusal ?? "", /wal-00000001\.log is corrupt at byte \d+ \(checksum/);
  assert.match(follower.refusal ?? "", /a valid record follows at byte \d+/);
  assert.match(follower.refusal ?? "", /empty data directory and --rejoin$/);
  assert.deepEqual(fs.durableBytes(path), evidence, "recovery left the evidence as it was");

  await submitAll(script, ["e", "f"]);
  await script.converge();
  assert.ok(!follower.isAlive, "it stays down until it is rejoined empty");
});

Deno.test("a whole-cluster power loss that tears the writes in flight loses no acknowledged task", async () => {
  const script = new Script(808, {
    orchestrators: 3,
    workerSlots: [2],
    adjust: (p) => {
      onFiles(p);
      p.storage.segmentBytes = 1024; // segments roll and get deleted after snapshots
      p.snapshotEveryEntries = 10;
    },
  });
  script.boot();
  await script.leader();
  const client = await script.login();
  await submitAll(script, Array.from({ length: 12 }, (_, i) => `k${i}`));
  const inFlight = client.submit("in-flight", 20);
  await script.until(
    () => script.world.orchestrators.some((o) => o.isAlive && o.disk!.entriesInFlight.length > 0),
    1000,
    "a write in flight",
  );
  for (const o of script.world.orchestrators) script.world.crashOrchestrator(o, "torn");
  script.world.schedule(200, null, () => {
    for (const o of script.world.orchestrators) script.world.restartOrchestrator(o);
  });
  const result = await script.answer(inFlight, "the submission in flight");
  assert.ok(result.ok, JSON.stringify(result));
  await script.converge();
  assert.ok(script.world.orchestrators.every((o) => o.isAlive && o.refusal === null));
});

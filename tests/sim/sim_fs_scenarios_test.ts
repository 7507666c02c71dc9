// Proves, with scripted runs of the whole system on the real file storage over the simulated disk,
// that damage to fsync'd records makes a node refuse to start (never silently lose its vote or its
// entries) while the rest of the cluster goes on, that the node then rejoined on an empty disk
// catches up without voting for a leader that lacks committed entries, and that a whole-cluster
// power loss tearing the writes in flight loses nothing acknowledged.
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

/** Crashes `o`, flips a bit inside the third record of its first segment, and restarts it. */
async function damageEarlyRecord(script: Script, o: SimOrchestrator): Promise<Uint8Array> {
  script.world.crashOrchestrator(o, "lost");
  const fs = o.store.fs!;
  const at = recordStart(fs.durableBytes(FIRST_SEGMENT), 2) + 20; // inside the third record's payload
  fs.damage(FIRST_SEGMENT, { kind: "bitFlip", from: at, to: at + 1 });
  const evidence = fs.durableBytes(FIRST_SEGMENT);
  script.world.restartOrchestrator(o);
  await script.run(100);
  return evidence;
}

const FIRST_SEGMENT = "/var/lib/mutirao/log/wal-00000001.log";

Deno.test("a bit flip in an early fsync'd record of a follower's active segment: it refuses to start, naming the file, the cluster goes on, and rejoined empty it catches up", async () => {
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
  const fs = follower.store.fs!;
  const evidence = await damageEarlyRecord(script, follower);
  assert.ok(!follower.isAlive, "the damaged node must not start");
  assert.match(follower.refusal ?? "", /wal-00000001\.log is corrupt at byte \d+ \(checksum/);
  assert.match(follower.refusal ?? "", /a valid record follows at byte \d+/);
  assert.match(follower.refusal ?? "", /empty data directory and --rejoin$/);
  assert.deepEqual(
    fs.durableBytes(FIRST_SEGMENT),
    evidence,
    "recovery left the evidence as it was",
  );

  await submitAll(script, ["e", "f"]);
  await script.converge(); // waits for the operator to move its store aside and rejoin it
  assert.equal(follower.rejoins, 1);
  assert.ok(follower.isAlive && !follower.isRejoining, "rejoined and caught up");
  assert.equal(follower.node.sm.appliedIndex, leader.node.sm.appliedIndex);
  assert.deepEqual(follower.setAside.map((store) => store.fs), [fs], "the old disk is kept aside");
  assert.deepEqual(fs.durableBytes(FIRST_SEGMENT), evidence, "and stays as it was");
});

Deno.test("a node rejoining on an empty disk grants no vote: a follower missing committed entries cannot win with it while the leader is down", async () => {
  const script = new Script(717, { orchestrators: 3, workerSlots: [2], adjust: onFiles });
  const world = script.world;
  script.boot();
  const leader = await script.leader();
  await script.login();
  const [behind, rejoiner] = world.orchestrators.filter((o) => o !== leader);
  // `behind` misses the next entries: they commit on the leader and `rejoiner` alone.
  const heal = world.partition([behind.id], [leader.id, rejoiner.id]);
  await submitAll(script, ["a", "b", "c", "d"]);
  await script.until(
    () => rejoiner.node.sm.appliedIndex === leader.node.sm.appliedIndex,
    2000,
    "the rejoiner to apply them",
  );
  await damageEarlyRecord(script, rejoiner);
  assert.ok(rejoiner.refusal !== null, "the damaged node refuses to start");
  // Only `behind` and, once the operator rejoined it, the empty `rejoiner` are left.
  world.crashOrchestrator(leader, "lost");
  heal();
  await script.until(() => rejoiner.isAlive, 10_000, "the operator to rejoin the damaged node");
  await script.run(5000); // with the rejoiner's vote, `behind` would win and overwrite a..d
  assert.equal(world.leaders().length, 0, "no leader without a node that holds a..d");
  assert.ok(rejoiner.isRejoining, "it waits for a leader to catch up from");

  world.restartOrchestrator(leader);
  await submitAll(script, ["e"]);
  await script.converge();
  assert.ok(!rejoiner.isRejoining, "caught up from the returning leader: a voter again");
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

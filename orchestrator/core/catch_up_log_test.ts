// Proves that a follower that was cut off and catches up does not log the entries the cluster
// committed without it as live events ("Task t-5 cancelled by …"): it logs them at debug and says
// once that it caught up, while entries it receives before they commit still log as live.
import assert from "node:assert/strict";
import { SLEEP } from "../tasks/_task_fixtures_test.ts";
import { CoreCluster, IDS } from "./_cluster_fixtures_test.ts";

/** The shared three-core cluster, with small messages so catching up takes several rounds. */
class Cluster extends CoreCluster {
  constructor() {
    super({ maxEntriesPerMessage: 4 });
  }

  submit(id: string, token: string, key: string): void {
    this.request(id, token, { type: "submit", idempotencyKey: key, task: SLEEP });
  }

  /** Submits a task and, once it is applied, cancels it (a cancellation logs at info when live). */
  submitAndCancel(id: string, token: string, key: string): void {
    const leader = this.nodes.get(id)!;
    const before = leader.sm.tasks.size;
    this.submit(id, token, key);
    this.runUntil(() => leader.sm.tasks.size > before);
    this.request(id, token, { type: "cancel", taskId: `t-${before + 1}` });
  }

  override login(id: string, token: string): number {
    return super.login(id, "alice", token);
  }
}

Deno.test("A follower catching up logs what it missed at debug and one caught-up line, then live events at info", () => {
  const cluster = new Cluster();
  cluster.runUntil(() => cluster.leader() !== null);
  const leader = cluster.leader()!;
  const behind = IDS.find((id) => id !== leader)!;
  cluster.login(leader, "tok");
  cluster.isolated.add(behind);
  for (let i = 0; i < 10; i++) cluster.submitAndCancel(leader, "tok", `missed-${i}`);
  cluster.runUntil(() => cluster.nodes.get(leader)!.sm.counts.cancelled === 10);
  const missedUpTo = cluster.nodes.get(leader)!.sm.appliedIndex;
  cluster.logs.set(behind, []);
  cluster.isolated.delete(behind);
  cluster.runUntil(() => cluster.nodes.get(behind)!.sm.appliedIndex >= missedUpTo);

  const lines = cluster.logs.get(behind)!;
  const cancelledAtInfo = lines.filter((l) =>
    l.level !== "debug" && /cancelled by/.test(l.message)
  );
  assert.deepEqual(cancelledAtInfo, [], "replayed history logged as live events");
  cluster.runUntil(() => cluster.logs.get(behind)!.some((l) => /^Caught up/.test(l.message)));
  assert.equal(
    lines.filter((l) => l.level === "debug" && /cancelled by/.test(l.message)).length,
    10,
  );
  const caughtUp = lines.filter((l) => /^Caught up/.test(l.message));
  assert.equal(caughtUp.length, 1, JSON.stringify(lines));
  assert.equal(caughtUp[0].level, "info");
  assert.match(caughtUp[0].message, /applied \d+ entries committed while this node was behind/);

  // Back in step: a new submission reaches it before it commits, and logs as a live event.
  cluster.logs.set(behind, []);
  cluster.submitAndCancel(leader, "tok", "live");
  cluster.runUntil(() => cluster.logs.get(behind)!.some((l) => /cancelled by/.test(l.message)));
  assert.deepEqual(
    cluster.logs.get(behind)!.filter((l) => /cancelled by/.test(l.message)).map((l) => l.level),
    ["info"],
  );
});

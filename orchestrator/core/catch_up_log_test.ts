// Proves that a follower that was cut off and catches up does not log the entries the cluster
// committed without it as live events ("Task t-5 submitted by …"): it logs them at debug and says
// once that it caught up, while entries it receives before they commit still log as live.
import assert from "node:assert/strict";
import type { ClientToOrchestrator } from "../../shared/protocol/messages.ts";
import { createPrng } from "../../shared/prng.ts";
import { buildNode, emptyRecovery } from "./node_builder.ts";
import { SLEEP } from "../tasks/_task_fixtures_test.ts";
import type { NodeEffects, NodeInput } from "./node_io.ts";
import { OrchestratorNode } from "./orchestrator_node.ts";

const IDS = ["o1", "o2", "o3"];
const HASH = "scrypt$1$1$1$AAAA$BBBB";
const TICK_MS = 10;

/** Three cores on a synchronous network (every entry durable at once); records each node's log lines. */
class Cluster {
  readonly nodes = new Map<string, OrchestratorNode>();
  readonly isolated = new Set<string>();
  readonly logs = new Map<string, Array<{ level: string; message: string }>>();
  nowMs = 0;
  #queue: Array<{ from: string; to: string; input: NodeInput }> = [];
  #requestId = 1;

  constructor() {
    for (const [i, id] of IDS.entries()) {
      const node = buildNode({
        node: {
          nodeId: id,
          clusterId: "c1",
          heartbeatIntervalMs: 1000,
          missedHeartbeats: 3,
          schedulerPolicy: "round-robin",
          defaultMaxAttempts: 3,
          bootstrapUsers: [{ name: "alice", role: "admin", passwordHash: HASH }],
        },
        raft: {
          nodeId: id,
          voters: IDS,
          electionTimeoutMinMs: 150 + 100 * i,
          electionTimeoutMaxMs: 151 + 100 * i,
          heartbeatIntervalMs: 50,
          // Small messages, so catching up takes several rounds.
          maxEntriesPerMessage: 4,
          rng: createPrng(i + 1),
        },
        recovered: emptyRecovery(),
        nowMs: 0,
      }).node;
      this.nodes.set(id, node);
      this.logs.set(id, []);
      this.#handle(id, node.takeEffects());
    }
  }

  leader(): string | null {
    return IDS.find((id) => !this.isolated.has(id) && this.nodes.get(id)!.canServeClients) ?? null;
  }

  runUntil(done: () => boolean): void {
    for (let i = 0; i < 2000 && !done(); i++) {
      this.nowMs += TICK_MS;
      for (const id of IDS) this.step(id, { type: "tick", nowMs: this.nowMs });
    }
    assert.ok(done(), "condition not reached in 20 simulated seconds");
  }

  step(id: string, input: NodeInput): void {
    this.#handle(id, this.nodes.get(id)!.step(input));
    while (this.#queue.length > 0) {
      const { from, to, input } = this.#queue.shift()!;
      if (from !== to && (this.isolated.has(from) || this.isolated.has(to))) continue;
      this.#handle(to, this.nodes.get(to)!.step({ ...input, nowMs: this.nowMs }));
    }
  }

  submit(id: string, token: string, key: string): void {
    const request = {
      type: "submit",
      idempotencyKey: key,
      task: SLEEP,
      id: this.#requestId++,
      token,
      v: 1,
      lamport: 1,
    } as ClientToOrchestrator;
    this.step(id, {
      type: "clientRequest",
      conn: 1,
      request: request as Exclude<ClientToOrchestrator, { type: "login" }>,
      tokenHash: `sha256(${token})`,
      nowMs: this.nowMs,
    });
  }

  login(id: string, token: string): void {
    this.step(id, {
      type: "loginChecked",
      conn: 1,
      requestId: this.#requestId++,
      lamport: 1,
      user: "alice",
      session: { token, tokenHash: `sha256(${token})`, expiresAtMs: 1e12 },
      nowMs: this.nowMs,
    });
  }

  #handle(id: string, effects: NodeEffects): void {
    this.logs.get(id)!.push(...effects.log);
    for (const { to, message } of [...effects.peerSend, ...effects.peerSendAfterPersist]) {
      this.#queue.push({
        from: id,
        to,
        input: { type: "peerMessage", from: id, message, nowMs: 0 },
      });
    }
    const last = effects.persist.entries.at(-1);
    if (last !== undefined) {
      this.#queue.push({
        from: id,
        to: id,
        input: { type: "persisted", index: last.index, term: last.term, nowMs: 0 },
      });
    }
  }
}

Deno.test("A follower catching up logs what it missed at debug and one caught-up line, then live events at info", () => {
  const cluster = new Cluster();
  cluster.runUntil(() => cluster.leader() !== null);
  const leader = cluster.leader()!;
  const behind = IDS.find((id) => id !== leader)!;
  cluster.login(leader, "tok");
  cluster.isolated.add(behind);
  for (let i = 0; i < 10; i++) cluster.submit(leader, "tok", `missed-${i}`);
  const missedUpTo = cluster.nodes.get(leader)!.sm.appliedIndex;
  cluster.logs.set(behind, []);
  cluster.isolated.delete(behind);
  cluster.runUntil(() => cluster.nodes.get(behind)!.sm.appliedIndex >= missedUpTo);

  const lines = cluster.logs.get(behind)!;
  const submittedAtInfo = lines.filter((l) =>
    l.level !== "debug" && /submitted by/.test(l.message)
  );
  assert.deepEqual(submittedAtInfo, [], "replayed history logged as live events");
  cluster.runUntil(() => cluster.logs.get(behind)!.some((l) => /^Caught up/.test(l.message)));
  assert.equal(
    lines.filter((l) => l.level === "debug" && /submitted by/.test(l.message)).length,
    10,
  );
  const caughtUp = lines.filter((l) => /^Caught up/.test(l.message));
  assert.equal(caughtUp.length, 1, JSON.stringify(lines));
  assert.equal(caughtUp[0].level, "info");
  assert.match(caughtUp[0].message, /applied \d+ entries committed while this node was behind/);

  // Back in step: a new submission reaches it before it commits, and logs as a live event.
  cluster.logs.set(behind, []);
  cluster.submit(leader, "tok", "live");
  cluster.runUntil(() => cluster.logs.get(behind)!.some((l) => /submitted by/.test(l.message)));
  assert.deepEqual(
    cluster.logs.get(behind)!.filter((l) => /submitted by/.test(l.message)).map((l) => l.level),
    ["info"],
  );
});

// Proves that a cluster that cannot serve says so promptly rather than after the whole time budget:
// the client reports that no orchestrator accepts connections when every one refuses, a lone
// orchestrator without quorum gets its "no quorum" answer through, and a worker that reaches no
// orchestrator warns again every few seconds (issue 11, fast answers).
import assert from "node:assert/strict";
import { withCluster } from "./cluster_fixture.ts";

/** Far longer than any prompt answer: an answer well inside it did not wait the budget out. */
const BUDGET_S = 60;

Deno.test("the client says no orchestrator accepts connections, well before its timeout", async () => {
  await withCluster({ orchestrators: 3 }, async (cluster) => {
    // Nothing was started: every address refuses connections.
    const started = performance.now();
    const r = await cluster.cli(["login", "user1", "pass1", "--timeout", String(BUDGET_S)]);
    const tookS = (performance.now() - started) / 1000;
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /No orchestrator accepts connections/);
    assert.match(r.stderr, /is the cluster running/);
    assert.ok(tookS < BUDGET_S / 4, `answered after ${tookS} s, not promptly`);
  });
});

Deno.test("a lone orchestrator without quorum answers 'no quorum' well before the timeout", async () => {
  await withCluster({ orchestrators: 3 }, async (cluster) => {
    await cluster.startOrchestrator("o1");
    const started = performance.now();
    const r = await cluster.cli(["login", "user1", "pass1", "--timeout", String(BUDGET_S)]);
    const tookS = (performance.now() - started) / 1000;
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /No quorum/);
    assert.ok(tookS < BUDGET_S / 4, `answered after ${tookS} s, not promptly`);
  });
});

Deno.test("a worker that reaches no orchestrator says so, again and again", async () => {
  await withCluster({ orchestrators: 2 }, async (cluster) => {
    const worker = cluster.spawn("worker", ["worker/main.ts", "--config", cluster.configPath]);
    const warning = (l: string) => l.includes("Cannot reach any orchestrator");
    await worker.waitForLine(warning, 30_000);
    const first = worker.lines.filter(warning).length;
    await worker.waitForLine(
      (l) => warning(l) && worker.lines.filter(warning).length > first,
      30_000,
    );
    const lines = worker.lines.filter(warning);
    assert.ok(lines.length >= 2);
    for (const o of cluster.config.orchestrators) {
      assert.ok(lines[0].includes(`${o.host}:${o.port}`), `names ${o.id}: ${lines[0]}`);
    }
  });
});

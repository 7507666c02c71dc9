// The dashboard in a real browser (headless Chromium) against a real 3-orchestrator cluster with
// 3 workers: log in, submit from the UI and watch the task succeed live, kill a worker and see it
// marked lost and its task re-run, kill the leader and see the dashboard follow the new one, and
// go on submitting. Screenshots of each step are kept in test-artifacts/browser/.
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { type ClusterFixture, withCluster } from "../e2e/cluster_fixture.ts";
import { pollUntil } from "../e2e/poll_until.ts";
import { apiLogin } from "./api_client.ts";
import { browserTestsIgnored, logIn, withBrowser } from "./chromium.ts";

const ignore = browserTestsIgnored();
/** Bounds of waits for what the cluster does (failure detection, elections): failing tests only. */
const WAIT = { timeout: 30_000 };

/** The orchestrator that leads, as the API of each says. */
async function leaderOf(cluster: ClusterFixture, ids: string[], token: string): Promise<string> {
  return await pollUntil("a leader is known", async () => {
    for (const id of ids) {
      const answer = await fetch(`${cluster.httpUrl(id)}/api/v1/cluster`, {
        headers: { authorization: `Bearer ${token}` },
      }).then((r) => r.json()).catch(() => null);
      if (answer?.node?.role === "leader") return id;
    }
    return undefined;
  }, { deadlineMs: 30_000 });
}

/** Submits a sleep task through the dashboard's form; resolves with the new task's id. */
/** In the page: the id the submit form last reported (null before the first). */
const SUBMITTED_ID =
  `(document.querySelector("[data-testid=submitted]")?.getAttribute("data-task") ?? null)`;

async function submitFromUi(page: Page, description: string, seconds: number): Promise<string> {
  const form = page.locator("[data-testid=submit-form]");
  const previous = await page.evaluate(`${SUBMITTED_ID}`);
  await form.locator("select[name=type]").selectOption("sleep");
  await form.locator("input[name=description]").fill(description);
  await form.locator("input[name=duration]").fill(String(seconds));
  await form.locator("button[type=submit]").click();
  // A locator, not waitForFunction: that evaluates a string, which the page's CSP refuses.
  const fresh = previous === null ? "" : `:not([data-task="${previous}"])`;
  await page.locator(`[data-testid=submitted][data-task^="t-"]${fresh}`).waitFor(WAIT);
  return (await page.locator("[data-testid=submitted]").getAttribute("data-task"))!;
}

function stateCell(page: Page, scope: string, text: string) {
  return page.locator(`${scope} [data-field=state]`, { hasText: new RegExp(`^${text}$`) });
}

Deno.test({
  name: "dashboard: submit, live success, a worker lost and its task re-run, leader failover",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withCluster({ orchestrators: 3, http: true }, async (cluster) => {
      const ids = ["o1", "o2", "o3"];
      const processes = new Map<string, Awaited<ReturnType<typeof cluster.startOrchestrator>>>();
      for (const id of ids) processes.set(id, await cluster.startOrchestrator(id));
      const workers: Awaited<ReturnType<typeof cluster.startWorker>>[] = [];
      for (let i = 0; i < 3; i++) workers.push(await cluster.startWorker({ slots: 1 }));
      const { token } = await apiLogin(cluster.httpUrl("o1"));
      const leader = await leaderOf(cluster, ids, token);
      // The dashboard of a follower: it stays up when the leader dies.
      const served = ids.find((id) => id !== leader)!;

      await withBrowser("dashboard", async (open) => {
        const { page, problems, shot } = await open();
        await page.goto(`${cluster.httpUrl(served)}/`);
        await page.fill("[data-testid=login] input[name=user]", "user1");
        await page.fill("[data-testid=login] input[name=password]", "wrong");
        await page.click("[data-testid=login] button[type=submit]");
        await page.locator("[data-testid=login-error]").waitFor(WAIT);
        await shot("login-refused");
        await logIn(page, "user1", "pass1");
        await page.locator("[data-testid=stream]", { hasText: "live" }).waitFor(WAIT);
        for (const id of ids) {
          await page.locator(`[data-testid=cluster] tr[data-node=${id}]`).waitFor(WAIT);
        }
        await page.locator(
          `[data-testid=cluster] tr[data-node=${leader}] [data-field=role]`,
          { hasText: "leader" },
        ).waitFor(WAIT);
        for (const w of workers) {
          await stateCell(page, `[data-testid=workers] tr[data-worker="${w.workerId}"]`, "live")
            .waitFor(WAIT);
        }
        // The page is never reloaded: a marker set now must survive to the end.
        await page.evaluate("globalThis.__sameLoad = true");

        // 1. Submit from the UI and watch it succeed live, in the table and in its detail.
        const first = await submitFromUi(page, "from the browser", 1);
        await stateCell(page, `[data-testid=tasks] tr[data-task="${first}"]`, "succeeded")
          .waitFor(WAIT);
        await stateCell(page, "[data-testid=task-detail]", "succeeded").waitFor(WAIT);
        await page.locator("[data-testid=history] tr[data-event=started]").waitFor(WAIT);
        await shot("succeeded");

        // 2. Kill the worker running a task: marked lost, the task re-run elsewhere.
        const long = await submitFromUi(page, "survives its worker", 4);
        await stateCell(page, "[data-testid=task-detail]", "running").waitFor(WAIT);
        const running = await pollUntil("the task has a worker", async () => {
          const answer = await fetch(
            `${cluster.httpUrl(served)}/api/v1/tasks/${long}`,
            { headers: { authorization: `Bearer ${token}` } },
          ).then((r) => r.json());
          return answer.task?.workerId ?? undefined;
        });
        const victim = workers.find((w) => w.workerId === running)!;
        assert.ok(victim !== undefined, `task placed on unknown worker ${running}`);
        victim.signal("SIGKILL");
        await stateCell(page, `[data-testid=workers] tr[data-worker="${victim.workerId}"]`, "lost")
          .waitFor(WAIT);
        await page.locator("[data-testid=history] tr[data-event=requeued]").waitFor(WAIT);
        await shot("worker-lost");
        await stateCell(page, "[data-testid=task-detail]", "succeeded").waitFor(WAIT);
        assert.equal(
          await page.locator("[data-testid=history] tr[data-event=started]").count(),
          2,
          "the task ran twice: once on the lost worker, once elsewhere",
        );
        await shot("task-rerun");

        // 3. Kill the leader: the dashboard shows it unreachable and the new leader.
        processes.get(leader)!.signal("SIGKILL");
        await page.locator(
          `[data-testid=cluster] tr[data-node=${leader}] [data-field=role]`,
          { hasText: "unreachable" },
        ).waitFor(WAIT);
        await page.locator(
          `[data-testid=cluster] tr:not([data-node=${leader}]) [data-field=role]`,
          { hasText: "leader" },
        ).waitFor(WAIT);
        await shot("leader-failover");
        const after = await submitFromUi(page, "after the failover", 1);
        await stateCell(page, `[data-testid=tasks] tr[data-task="${after}"]`, "succeeded")
          .waitFor(WAIT);
        await shot("after-failover");

        assert.equal(
          await page.evaluate("globalThis.__sameLoad"),
          true,
          "the page was reloaded",
        );
        // Failed loads are expected while the leader is gone (forwarded writes wait for the
        // election); anything else (script errors, CSP violations) is a bug.
        const bugs = problems.filter((p) => !p.includes("Failed to load resource"));
        assert.deepEqual(bugs, []);
      });
    }),
});

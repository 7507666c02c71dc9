// The dashboard's controls in a real browser: paging and the state filter of the task table,
// Cancel and Retry in a task's view (Retry opens the new task), and pausing a schedule.
import assert from "node:assert/strict";
import { withCluster } from "../e2e/cluster_fixture.ts";
import { apiLogin } from "./api_client.ts";
import { browserTestsIgnored, logIn, withBrowser } from "./chromium.ts";

const ignore = browserTestsIgnored();
const WAIT = { timeout: 30_000 };

Deno.test({
  name: "dashboard: paging, state filter, cancel, retry and pausing a schedule",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withCluster({ orchestrators: 1, http: true }, async (cluster) => {
      await cluster.startOrchestrator("o1");
      await cluster.startWorker({ slots: 1 });
      const base = cluster.httpUrl("o1");
      const { post } = await apiLogin(base);
      // One slot, a long first task: the other 29 stay queued.
      const tasks = Array.from({ length: 30 }, (_, i) => ({
        task: { kind: "sleep", description: `task ${i}`, durationMs: i === 0 ? 60_000 : 100 },
      }));
      const batch = await post("/tasks", { tasks });
      assert.equal((batch.results as unknown[]).length, 30, JSON.stringify(batch));
      const added = await post("/schedules", {
        name: "hourly",
        cron: "0 * * * *",
        task: { kind: "sleep", description: "hourly job", durationMs: 0 },
      });
      assert.ok(added.message, JSON.stringify(added));

      await withBrowser("actions", async (open) => {
        const { page, problems, shot } = await open();
        await page.goto(`${base}/`);
        await logIn(page, "user1", "pass1");
        const rows = page.locator("[data-testid=tasks] tbody tr");
        await page.locator("[data-testid=tasks][data-loaded=yes] h2", {
          hasText: /^Tasks 30 matching$/,
        }).waitFor(WAIT);
        assert.equal(await rows.count(), 25, "a page holds 25 tasks");
        await page.click("[data-testid=tasks] button:has-text('older')");
        await page.locator("[data-testid=tasks] tr[data-task=t-1]").waitFor(WAIT);
        assert.equal(await rows.count(), 5, "the second page holds the other 5");
        await page.click("[data-testid=tasks] button:has-text('newer')");
        await page.locator("[data-testid=tasks] tr[data-task=t-30]").waitFor(WAIT);

        await page.selectOption("[data-testid=tasks] select[name=state]", "running");
        await page.locator("[data-testid=tasks] h2", { hasText: /^Tasks 1 matching$/ })
          .waitFor(WAIT);
        assert.equal(await rows.count(), 1);
        await page.locator("[data-testid=tasks] tr[data-task=t-1]").waitFor(WAIT);
        await page.selectOption("[data-testid=tasks] select[name=state]", "queued");
        await page.locator("[data-testid=tasks] h2", { hasText: /^Tasks 29 matching$/ })
          .waitFor(WAIT);

        // Cancel a queued task from its view, then retry it: the view moves to the new task.
        await page.click("[data-testid=tasks] tr[data-task=t-30]");
        const detail = page.locator("[data-testid=task-detail][data-task=t-30]");
        await detail.waitFor(WAIT);
        await detail.locator("[data-testid=cancel]").click();
        await detail.locator("[data-field=state]", { hasText: "cancelled" }).waitFor(WAIT);
        await page.locator("[data-testid=tasks] h2", { hasText: /^Tasks 28 matching$/ })
          .waitFor(WAIT);
        await shot("cancelled");
        await detail.locator("[data-testid=retry]").click();
        const retried = page.locator("[data-testid=task-detail][data-task=t-31]");
        await retried.waitFor(WAIT);
        assert.equal(await page.evaluate("location.hash"), "#task=t-31");
        await retried.locator("dd", { hasText: "task 29" }).waitFor(WAIT);
        // The new task joins the queued list live.
        await page.locator("[data-testid=tasks] tr[data-task=t-31]").waitFor(WAIT);
        await page.locator("[data-testid=tasks] h2", { hasText: /^Tasks 29 matching$/ })
          .waitFor(WAIT);

        // Pause the schedule.
        const schedule = page.locator("[data-testid=schedules] tr[data-schedule=hourly]");
        await schedule.locator("button:has-text('pause')").click();
        await schedule.locator(".badge", { hasText: "paused" }).waitFor(WAIT);
        await schedule.locator("button:has-text('resume')").waitFor(WAIT);
        await shot("schedule-paused");
        assert.deepEqual(problems.filter((p) => !p.includes("Failed to load resource")), []);
      });
    }),
});

// The dashboard's defences in a real browser: user strings are shown as text, never run (a task
// description and a URL full of markup); nothing on the page breaks its Content-Security-Policy;
// the session is in this origin's sessionStorage, not a cookie another site could make the
// browser send; and a page of another origin can neither read the dashboard nor call the API.
import assert from "node:assert/strict";
import { parseMetrics } from "../../orchestrator/http/prometheus_text.ts";
import { withCluster } from "../e2e/cluster_fixture.ts";
import { apiLogin } from "./api_client.ts";
import { browserTestsIgnored, logIn, withBrowser } from "./chromium.ts";

const ignore = browserTestsIgnored();
const WAIT = { timeout: 30_000 };
const MARKUP = `<img src=x onerror="globalThis.__xss=1"><script>globalThis.__xss=2</script>`;

Deno.test({
  name: "dashboard: user strings stay text, the CSP holds, the session stays on its origin",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withCluster({ orchestrators: 1, http: true }, async (cluster) => {
      await cluster.startOrchestrator("o1");
      await cluster.startWorker({ slots: 2 });
      const base = cluster.httpUrl("o1");
      const { post } = await apiLogin(base);
      const submitted = await post("/tasks", {
        task: { kind: "sleep", description: MARKUP, durationMs: 0 },
      });
      const taskId = submitted.taskId as string;
      assert.match(taskId, /^t-\d+$/);

      // Another origin: a page on its own port that tries to read the dashboard and the API.
      const evil = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () =>
        new Response(
          `<!doctype html><script>
            globalThis.probe = async (url, init) => {
              try { const r = await fetch(url, init); return "read " + r.status + " " + (await r.text()).length; }
              catch (e) { return "blocked: " + e.name; }
            };
          </script>`,
          { headers: { "content-type": "text/html" } },
        ));
      try {
        await withBrowser("security", async (open) => {
          const { page, problems, shot } = await open();
          await page.goto(`${base}/`);
          await logIn(page, "user1", "pass1");
          await page.goto(`${base}/#task=${taskId}`);
          const detail = page.locator(`[data-testid=task-detail][data-task="${taskId}"]`);
          await detail.waitFor(WAIT);
          await detail.locator("dd", { hasText: "onerror" }).waitFor(WAIT);
          assert.equal(await detail.locator("dd.text").first().textContent(), MARKUP);
          await page.locator(`[data-testid=tasks] tr[data-task="${taskId}"]`).waitFor(WAIT);
          // Markup in the URL's task id is shown as the id that was not found, as text.
          await page.goto(`${base}/#task=${encodeURIComponent(MARKUP)}`);
          await page.locator("[data-testid=task-detail] .error").waitFor(WAIT);
          await shot("markup-as-text");
          assert.equal(await page.evaluate("globalThis.__xss"), undefined, "markup ran");
          assert.equal(await page.locator("img[src=x], main script").count(), 0);

          // The session: this origin's sessionStorage, no cookie.
          assert.equal(await page.evaluate("document.cookie"), "");
          const saved = JSON.parse(
            await page.evaluate(`sessionStorage.getItem("mutirao.session")`) as string,
          );
          assert.equal(saved.user, "user1");

          // Another origin reads nothing: no CORS on the dashboard or the API. Each probe reaches
          // the server (its request or preflight is counted in /metrics), so "blocked" is the
          // browser refusing the answer, not a server that is down.
          const answered = async () =>
            [...parseMetrics(await (await fetch(`${base}/metrics`)).text())]
              .filter(([name]) =>
                name.startsWith("mutirao_http_requests_total")
              )
              .reduce((sum, [, value]) => sum + value, 0);
          const before = await answered();
          const other = await open();
          await other.page.goto(`http://127.0.0.1:${evil.addr.port}/`);
          assert.equal(
            await other.page.evaluate(`sessionStorage.getItem("mutirao.session")`),
            null,
          );
          for (
            const [url, init] of [
              [`${base}/`, {}],
              [`${base}/api/v1/tasks`, { headers: { authorization: `Bearer ${saved.token}` } }],
              [`${base}/api/v1/login`, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ user: "user1", password: "pass1" }),
              }],
            ] as const
          ) {
            const result = await other.page.evaluate(
              `probe(${JSON.stringify(url)}, ${JSON.stringify(init)})`,
            );
            assert.equal(result, "blocked: TypeError", `${url} was readable from another origin`);
          }
          // The probes (3) and the first scrape itself, at least.
          assert.ok(await answered() - before >= 4, "the probes did not reach the server");
          // A plain user: no admin views, and none of user1's tasks.
          const plain = await open();
          await plain.page.goto(`${base}/`);
          await logIn(plain.page, "user2", "pass2");
          await plain.page.locator("[data-testid=cluster] [data-testid=admins-only]").waitFor(WAIT);
          await plain.page.locator("[data-testid=workers] [data-testid=admins-only]").waitFor(WAIT);
          await plain.page.locator("[data-testid=tasks][data-loaded=yes] h2", {
            hasText: /^Tasks 0 matching$/,
          }).waitFor(WAIT);
          assert.equal(await plain.page.locator(`tr[data-task="${taskId}"]`).count(), 0);
          await plain.shot("plain-user");
          // A malformed link selects nothing and breaks nothing.
          await plain.page.goto(`${base}/#task=%E0%A4%A`);
          await plain.page.locator("[data-testid=whoami]").waitFor(WAIT);
          assert.equal(await plain.page.locator("[data-testid=task-detail]").count(), 0);
          assert.deepEqual(
            plain.problems.filter((p) => !p.includes("Failed to load resource")),
            [],
          );

          // Script errors and CSP violations are bugs; API errors the page shows (the id of
          // markup is a 400) are logged by the browser as failed loads, and are expected.
          assert.deepEqual(
            problems.filter((p) => !p.includes("Failed to load resource")),
            [],
          );
        });
      } finally {
        await evil.shutdown();
      }
    }),
});

/**
 * Takes the README's dashboard screenshot (docs/images/dashboard.png): starts the demo cluster,
 * gives it a few minutes' worth of mixed work (sleeps, handler tasks, failures, retries, a
 * schedule), opens the dashboard in headless Chromium and saves the page. Stops everything it
 * started, by PID.
 *
 *   deno run -A scripts/dashboard_screenshot.ts [--out FILE]
 * @module
 */
import { parseArgs } from "node:util";
import { ManagedProcess } from "./lib/managed_process.ts";
import { logIn, withBrowser } from "../tests/browser/chromium.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { out: { type: "string", default: "docs/images/dashboard.png" } },
});
const BASE = "http://127.0.0.1:8701";

async function api(path: string, token: string | null, body?: unknown): Promise<unknown> {
  const response = await fetch(`${BASE}/api/v1${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: {
      "content-type": "application/json",
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${path}: ${JSON.stringify(json)}`);
  return json;
}

const demo = new ManagedProcess({
  name: "demo",
  args: ["scripts/demo.ts", "--quiet", "--worker-port", "0"],
  env: { NO_COLOR: "1" },
  echo: false,
});
try {
  await demo.waitForLine((l) => l.includes("dashboard:"), 60_000);
  const { token } = await (async () => {
    for (;;) {
      try {
        return await api("/login", null, { user: "user1", password: "pass1" }) as {
          token: string;
        };
      } catch {
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  })();
  const handler = (kind: string, payload: unknown, description: string) => ({
    task: { kind: "handler", handler: kind, description, payload: JSON.stringify(payload) },
  });
  await api("/schedules", token, {
    name: "nightly-report",
    cron: "0 3 * * *",
    task: { kind: "sleep", description: "Relatório noturno", durationMs: 2000 },
  });
  for (let round = 0; round < 12; round++) {
    const tasks = [
      {
        task: {
          kind: "sleep",
          description: `Processar lote ${round}`,
          durationMs: 500 * (round % 5),
        },
      },
      handler("add", { a: round, b: 2 * round }, `soma ${round}`),
      handler(
        "wordcount",
        { text: "um mutirão de máquinas ".repeat(round + 1) },
        "contar palavras",
      ),
      handler("echo", { round }, "eco"),
      ...(round % 4 === 0 ? [handler("fail", { message: "disk full" }, "falha proposital")] : []),
      ...(round % 3 === 0
        ? [{
          ...handler("flaky", { failTimes: 1 }, "instável, com retry"),
          retry: { retries: 2, backoff: "fixed", delayMs: 500, maxDelayMs: 500 },
        }]
        : []),
    ];
    await api("/tasks", token, { tasks });
    await new Promise((r) => setTimeout(r, 700));
  }
  const running = await api("/tasks", token, {
    task: { kind: "sleep", description: "Gerar relatório financeiro", durationMs: 30_000 },
  }) as { taskId: string };
  await withBrowser("readme", async (open) => {
    const { page } = await open();
    await page.goto(`${BASE}/`);
    await logIn(page, "user1", "pass1");
    await page.goto(`${BASE}/#task=${running.taskId}`);
    await page.locator("[data-testid=task-detail] [data-field=state]", { hasText: "running" })
      .waitFor({ timeout: 30_000 });
    await page.waitForTimeout(2500); // charts redraw once a second
    await page.screenshot({ path: values.out, fullPage: true });
  });
  console.log(`Saved ${values.out}`);
} finally {
  await demo.stop(30_000); // the demo stops its nodes itself (bounded by SIGKILL)
}

// Proves the /metrics token check (no token configured lets every scrape in, a configured one
// admits only its exact bearer header) and that no private answer may be stored by a cache.
import assert from "node:assert/strict";
import { Histogram } from "../../shared/histogram.ts";
import { PROTOCOL_VERSION } from "../../shared/limits.ts";
import { loggerFrom } from "../../shared/log.ts";
import { hasMetricsToken, HttpServer } from "./http_server.ts";

const scrape = (authorization?: string) =>
  new Request("http://x/metrics", authorization ? { headers: { authorization } } : {});

Deno.test("hasMetricsToken() admits every scrape when no token is configured", () => {
  assert.equal(hasMetricsToken(scrape(), null), true);
  assert.equal(hasMetricsToken(scrape("Bearer anything"), null), true);
});

Deno.test("hasMetricsToken() admits only the configured bearer token", () => {
  const token = "s3cret-metrics-token";
  assert.equal(hasMetricsToken(scrape(`Bearer ${token}`), token), true);
  assert.equal(hasMetricsToken(scrape(), token), false);
  assert.equal(hasMetricsToken(scrape(`Bearer ${token}x`), token), false);
  assert.equal(hasMetricsToken(scrape(token), token), false);
});

Deno.test("every /api/v1 and /metrics answer is Cache-Control: no-store, the login's too", async () => {
  let server: HttpServer | null = null;
  server = new HttpServer({
    clusterId: "c1",
    self: { id: "o1", host: "127.0.0.1", port: 1, httpPort: 0 },
    orchestrators: [],
    maxBodyBytes: 10_000,
    bodyTimeoutMs: 5_000,
    maxRequestsPerSource: 8,
    tls: null,
    logger: loggerFrom(() => {}),
    step: (input) => {
      // The node's part: a login answered at once.
      if (input.type !== "login") return;
      queueMicrotask(() =>
        server!.deliver({
          conn: input.conn,
          message: {
            v: PROTOCOL_VERSION,
            lamport: 0,
            type: "loginOk",
            re: input.request.id,
            user: "ana",
            token: "t0k",
            expiresAtMs: 9,
          },
        })
      );
    },
    node: () => {
      throw new Error("no node in this test");
    },
    tcpRequests: () => 0,
    metricsToken: "m",
    fsyncSeconds: new Histogram([1]),
  });
  const port = await server.start();
  try {
    const answer = async (path: string, init: RequestInit = {}) => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, init);
      const body = await response.text();
      return { status: response.status, cache: response.headers.get("cache-control"), body };
    };
    const login = await answer("/api/v1/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user: "ana", password: "pw" }),
    });
    assert.deepEqual([login.status, login.cache], [200, "no-store"]);
    assert.match(login.body, /"token":"t0k"/);
    for (
      const path of [
        "/api/v1/tasks",
        "/api/v1/openapi.json",
        "/api/v1/nope",
        "/api/v1/events",
        "/metrics",
      ]
    ) {
      const { status, cache } = await answer(path);
      assert.equal(cache, "no-store", `${path} (${status})`);
    }
    assert.notEqual((await answer("/")).cache, "no-store", "the dashboard's page may be cached");
  } finally {
    await server.stop();
  }
});

// Proves the /metrics token check: no token configured lets every scrape in, a configured one
// admits only its exact bearer header.
import assert from "node:assert/strict";
import { hasMetricsToken } from "./http_server.ts";

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

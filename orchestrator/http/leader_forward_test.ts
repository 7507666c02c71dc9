// Proves that leaderBaseUrl() finds the leader's HTTP port from a "not leader" hint, and that
// forwardToLeader() refuses a second hop.
import assert from "node:assert/strict";
import { FORWARDED_BY_HEADER, forwardToLeader, leaderBaseUrl } from "./leader_forward.ts";

const ORCHESTRATORS = [
  { id: "o1", host: "127.0.0.1", port: 7001, httpPort: 8701 },
  { id: "o2", host: "127.0.0.1", port: 7002, httpPort: 8702 },
  { id: "o3", host: "127.0.0.1", port: 7003 },
];
const OPTIONS = { orchestrators: ORCHESTRATORS, scheme: "http" as const, selfId: "o1" };

Deno.test("leaderBaseUrl() maps a host:port or id hint to the leader's HTTP port", () => {
  assert.equal(leaderBaseUrl("127.0.0.1:7002", OPTIONS), "http://127.0.0.1:8702");
  assert.equal(leaderBaseUrl("o2", { ...OPTIONS, scheme: "https" }), "https://127.0.0.1:8702");
});

Deno.test("leaderBaseUrl() is null without a hint, for itself or a leader without HTTP", () => {
  assert.equal(leaderBaseUrl(undefined, OPTIONS), null);
  assert.equal(leaderBaseUrl("127.0.0.1:7001", OPTIONS), null);
  assert.equal(leaderBaseUrl("o3", OPTIONS), null);
  assert.equal(leaderBaseUrl("127.0.0.1:9999", OPTIONS), null);
});

Deno.test("forwardToLeader() does not forward a request forwarded already", async () => {
  const request = new Request("http://127.0.0.1:8701/api/v1/tasks", {
    headers: { [FORWARDED_BY_HEADER]: "o3" },
  });
  const answer = await forwardToLeader(request, "", "o2", {
    ...OPTIONS,
    client: null,
    timeoutMs: 1000,
  });
  assert.equal(answer, null);
});

Deno.test("forwardToLeader() answers 503 unavailable when the leader does not answer", async () => {
  // A port with no listener: bound, then closed again, so the connection is refused.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const request = new Request("http://127.0.0.1:8701/api/v1/tasks", { method: "POST" });
  const answer = await forwardToLeader(request, "{}", "o2", {
    selfId: "o1",
    orchestrators: [ORCHESTRATORS[0], { ...ORCHESTRATORS[1], httpPort: port }],
    scheme: "http",
    client: null,
    timeoutMs: 5000,
  });
  assert.equal(answer?.status, 503);
  const body = await answer?.json();
  assert.equal(body.error.code, "unavailable");
  assert.match(body.error.message, /Idempotency-Key/);
});

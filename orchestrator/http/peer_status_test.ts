// Proves that fetchPeerStatus() passes the caller's Authorization header on, returns a valid view,
// and reports an error answer, an invalid body, a silent server and a closed port as unreachable.
import assert from "node:assert/strict";
import { fetchPeerStatus } from "./peer_status.ts";

const NODE = {
  id: "o2",
  role: "follower",
  term: 1,
  leaderId: "o1",
  commitIndex: 3,
  appliedIndex: 3,
  lastIndex: 3,
  followers: [],
  droppedDatagrams: { malformed: 0, forged: 0, stale: 0, replayed: 0 },
};

Deno.test("fetchPeerStatus() asks /api/v1/cluster with the caller's token and reads the view", async () => {
  const seen: Array<string | null> = [];
  const release = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    seen.push(req.headers.get("authorization"));
    const path = new URL(req.url).pathname;
    if (path !== "/api/v1/cluster") return new Response("no", { status: 404 });
    const mode = req.headers.get("authorization");
    if (mode === "Bearer bad") {
      return Response.json({ error: { code: "unauthenticated", message: "Unknown session" } }, {
        status: 401,
      });
    }
    if (mode === "Bearer garbled") return Response.json({ node: { id: 3 } });
    if (mode === "Bearer slow") await release.promise;
    return Response.json({ node: NODE });
  });
  const o = { id: "o2", host: "127.0.0.1", port: 1, httpPort: server.addr.port };
  const options = { selfId: "o1", scheme: "http" as const, client: null, timeoutMs: 300 };
  try {
    assert.deepEqual(await fetchPeerStatus(o, "Bearer good", options), { ok: true, node: NODE });
    const refused = await fetchPeerStatus(o, "Bearer bad", options);
    assert.equal(refused.ok, false);
    assert.match(!refused.ok ? refused.error : "", /answered 401: Unknown session/);
    const garbled = await fetchPeerStatus(o, "Bearer garbled", options);
    assert.match(!garbled.ok ? garbled.error : "", /invalid node status: id/);
    const slow = await fetchPeerStatus(o, "Bearer slow", options);
    assert.match(!slow.ok ? slow.error : "", /no answer within 300 ms/);
    assert.deepEqual(seen, ["Bearer good", "Bearer bad", "Bearer garbled", "Bearer slow"]);
  } finally {
    release.resolve();
    await server.shutdown();
  }
  const closed = await fetchPeerStatus(o, "Bearer good", options);
  assert.match(!closed.ok ? closed.error : "", /^Cannot reach http:\/\/127\.0\.0\.1:\d+/);
});

Deno.test("fetchPeerStatus() does not follow a redirect (the token goes nowhere else)", async () => {
  const elsewhere: Array<string | null> = [];
  // Same origin as the peer on purpose: a runtime keeps Authorization on a same-origin redirect.
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) =>
      new URL(req.url).pathname === "/moved"
        ? (elsewhere.push(req.headers.get("authorization")), Response.json({ node: NODE }))
        : new Response(null, { status: 307, headers: { location: "/moved" } }),
  );
  const o = { id: "o2", host: "127.0.0.1", port: 1, httpPort: server.addr.port };
  try {
    const answer = await fetchPeerStatus(o, "Bearer good", {
      selfId: "o1",
      scheme: "http",
      client: null,
      timeoutMs: 1_000,
    });
    assert.equal(answer.ok, false);
    assert.match((answer as { error: string }).error, /answered 307/);
    assert.deepEqual(elsewhere, [], "the redirect was followed");
  } finally {
    await server.shutdown();
  }
});

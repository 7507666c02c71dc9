// Proves that DashboardLoad counts a stream's events by kind (gaps apart), polls both views with
// the token, waits for the stream to catch up on close(), and ends its requests.
import assert from "node:assert/strict";
import { DASHBOARD_POLLED_PATHS, DashboardLoad } from "./dashboard_load.ts";

Deno.test("DashboardLoad counts events, polls the views and catches up on close()", async () => {
  const polled: string[] = [];
  let sendMore: () => void = () => {};
  const more = new Promise<void>((resolve) => sendMore = resolve);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const { pathname } = new URL(request.url);
    assert.equal(request.headers.get("authorization"), "Bearer t0k");
    if (pathname !== "/api/v1/events") {
      polled.push(pathname);
      return Response.json({ ok: true });
    }
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        const send = (text: string) => controller.enqueue(encoder.encode(text));
        send("retry: 1000\n: hello\n\n");
        send("id: 1.0\nevent: task\ndata: {}\n\nid: 1.1\nevent: worker\ndata: {}\n\n");
        await more;
        send("event: gap\ndata: {}\n\nid: 2.0\nevent: cluster\ndata: {}\n\n");
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  try {
    const base = `http://127.0.0.1:${server.addr.port}`;
    const load = await DashboardLoad.open({ base, node: "o1", token: "t0k", pollMs: 10 });
    while (load.eventsRead < 2 || polled.length < 2 * DASHBOARD_POLLED_PATHS.length) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    load.markEnd();
    sendMore();
    const report = await load.close();
    assert.equal(report.eventsReadByEnd, 2);
    assert.equal(report.eventsRead, 3);
    assert.deepEqual(report.byKind, { task: 1, worker: 1, gap: 1, cluster: 1 });
    assert.equal(report.pollFailures, 0);
    assert.ok(report.polls >= 4, `polls: ${report.polls}`);
    assert.deepEqual([...new Set(polled)].sort(), [...DASHBOARD_POLLED_PATHS].sort());
    assert.equal(report.streamError, null);
  } finally {
    await server.shutdown();
  }
});

// Proves that the OpenAPI document describes exactly the routes restApi() serves, each with its
// statuses, and that findOperation() matches concrete paths to them.
import assert from "node:assert/strict";
import { findOperation, openApiDocument, OPERATIONS } from "./openapi_document.ts";
import { restApi } from "./rest_api.ts";
import { GapEventSchema } from "./event_schemas.ts";
import { formatGap } from "./event_stream.ts";

Deno.test("the OpenAPI document lists every route of restApi() and no other", () => {
  const app = restApi({
    request: () => Promise.reject(new Error("unused")),
    forward: () => Promise.resolve(null),
    maxBodyBytes: 1,
    newKey: () => "k",
    cluster: {
      selfId: "o1",
      orchestrators: [],
      askPeer: () => Promise.reject(new Error("unused")),
    },
  });
  const served = new Set(
    app.routes.filter((r) => r.method !== "ALL").map((r) =>
      `${r.method.toLowerCase()} ${r.path.replace("/api/v1", "").replaceAll(/:([a-z]+)/g, "{$1}")}`
    ),
  );
  served.delete("get /openapi.json");
  const documented = new Set(OPERATIONS.map((op) => `${op.method} ${op.path}`));
  assert.deepEqual([...served].sort(), [...documented].sort());
});

Deno.test("openApiDocument() is OpenAPI 3.1 with a schema for every listed status", () => {
  const doc = openApiDocument() as {
    openapi: string;
    paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  };
  assert.equal(doc.openapi, "3.1.0");
  for (const op of OPERATIONS) {
    const responses = doc.paths[op.path][op.method].responses;
    for (const status of [...Object.keys(op.ok), ...op.errors.map(String)]) {
      assert.ok(status in responses, `${op.method} ${op.path} ${status}`);
    }
  }
  assert.doesNotThrow(() => JSON.stringify(doc));
});

Deno.test("findOperation() matches a concrete path to its operation", () => {
  assert.equal(findOperation("GET", "/tasks/t-4/result")?.path, "/tasks/{id}/result");
  assert.equal(findOperation("POST", "/tasks")?.path, "/tasks");
  assert.equal(findOperation("GET", "/tasks/t-4")?.path, "/tasks/{id}");
  assert.equal(findOperation("DELETE", "/tasks/t-4"), undefined);
});

Deno.test("the OpenAPI document describes GET /events and its event payloads", () => {
  const doc = openApiDocument() as {
    paths: Record<string, Record<string, Record<string, unknown>>>;
    components: { schemas: Record<string, { anyOf?: unknown[]; oneOf?: unknown[] }> };
  };
  const events = doc.paths["/events"].get as {
    parameters: Array<{ name: string; in: string }>;
    responses: Record<string, { content: Record<string, unknown> }>;
  };
  assert.deepEqual(
    events.parameters.map((p) => `${p.in} ${p.name}`),
    [
      "query task",
      "query user",
      "query kind",
      "query after",
      "query token",
      "header Last-Event-ID",
    ],
  );
  assert.ok("text/event-stream" in events.responses["200"].content);
  for (const status of ["400", "401", "403", "429"]) assert.ok(status in events.responses);
  const streamEvent = doc.components.schemas.StreamEvent;
  assert.equal((streamEvent.oneOf ?? streamEvent.anyOf)?.length, 3, "task, worker, cluster");
  assert.ok("GapEvent" in doc.components.schemas);
});

Deno.test("formatGap()'s data fits the GapEvent schema", () => {
  const text = formatGap({ index: 4, position: 1 }, { index: 9, position: 0 });
  const data = JSON.parse(/^data: (.*)$/m.exec(text)![1]);
  assert.ok(GapEventSchema.safeParse(data).success, text);
});

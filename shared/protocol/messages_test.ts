// Proves that messages.ts, the module every importer uses, re-exports every schema of the modules
// the wire messages are split into (the same objects, not copies), and that the private field
// schemas stay private.
import assert from "node:assert/strict";
import * as messages from "./messages.ts";
import * as clientReplies from "./client_replies.ts";
import * as clientRequests from "./client_requests.ts";
import * as connectionMessages from "./connection_messages.ts";
import * as datagrams from "./datagrams.ts";
import * as taskSchemas from "./task_schemas.ts";
import * as workerMessages from "./worker_messages.ts";

const PARTS = {
  clientReplies,
  clientRequests,
  connectionMessages,
  datagrams,
  taskSchemas,
  workerMessages,
};

Deno.test("messages.ts re-exports every export of every protocol module, as the same object", () => {
  for (const [part, module] of Object.entries(PARTS)) {
    for (const [name, value] of Object.entries(module)) {
      assert.ok(name in messages, `${part}.${name} is missing from messages.ts`);
      assert.equal((messages as Record<string, unknown>)[name], value, `${part}.${name} differs`);
    }
  }
});

Deno.test("messages.ts exports nothing but the protocol modules' exports", () => {
  const known = new Set(Object.values(PARTS).flatMap((module) => Object.keys(module)));
  assert.deepEqual(Object.keys(messages).filter((name) => !known.has(name)), []);
  assert.ok(!("envelope" in messages), "the field schemas stay private to shared/protocol");
});

Deno.test("each direction's union still parses its messages after the split", () => {
  const envelope = { v: messages.HelloSchema.shape.v.value, lamport: 0 };
  assert.ok(
    messages.HelloDirectionSchema.safeParse({ ...envelope, type: "hello", role: "client" }).success,
  );
  assert.ok(
    messages.ClientToOrchestratorSchema.safeParse({
      ...envelope,
      type: "workers",
      id: 1,
      token: "t",
    })
      .success,
  );
  assert.ok(
    messages.OrchestratorToClientSchema.safeParse({ ...envelope, type: "keepalive" }).success,
  );
  assert.ok(
    messages.OrchestratorToWorkerSchema.safeParse({ ...envelope, type: "keepalive" }).success,
  );
  assert.ok(messages.WorkerToOrchestratorSchema.safeParse({ ...envelope, type: "drain" }).success);
  assert.ok(
    !messages.WorkerToOrchestratorSchema.safeParse({ ...envelope, type: "keepalive" }).success,
  );
});

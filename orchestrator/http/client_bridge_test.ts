// Proves that ClientBridge steps a checked request into the node as a client request on a
// connection of its own, resolves with the reply sent there, and refuses invalid requests unsent.
import assert from "node:assert/strict";
import type { NodeInput } from "../core/mod.ts";
import { ClientBridge } from "./client_bridge.ts";

function bridgeWithInputs(maxAwaiting = 10) {
  const inputs: NodeInput[] = [];
  const bridge = new ClientBridge({
    step: (input) => inputs.push(input),
    maxAwaiting,
    replyTimeoutMs: 5000,
  });
  return { bridge, inputs };
}

Deno.test("ClientBridge.request() steps a clientRequest and resolves with its reply", async () => {
  const { bridge, inputs } = bridgeWithInputs();
  const pending = bridge.request({ type: "status", token: "tok", taskId: "t-1" }, "127.0.0.1");
  const input = inputs[0] as Extract<NodeInput, { type: "clientRequest" }>;
  assert.equal(input.type, "clientRequest");
  assert.ok(bridge.owns(input.conn));
  assert.equal(input.request.type, "status");
  assert.equal(input.tokenHash.length, 64);
  const reply = { v: 1, lamport: 3, type: "error", re: 1, code: "not_found", message: "no" };
  bridge.deliver({ conn: input.conn, message: reply as never });
  assert.deepEqual(await pending, reply);
  assert.deepEqual(inputs[1], {
    type: "connectionClosed",
    conn: input.conn,
    nowMs: inputs[1].nowMs,
  });
  assert.equal(bridge.awaiting, 0);
});

Deno.test("ClientBridge.request() steps a login with the client's address", async () => {
  const { bridge, inputs } = bridgeWithInputs();
  const pending = bridge.request({ type: "login", user: "ana", password: "pw" }, "10.0.0.1");
  const input = inputs[0] as Extract<NodeInput, { type: "login" }>;
  assert.equal(input.type, "login");
  assert.equal(input.source, "10.0.0.1");
  assert.equal(bridge.sourceOf(input.conn), "10.0.0.1");
  bridge.closeAll();
  assert.equal((await pending).type, "error");
});

Deno.test("ClientBridge.request() refuses invalid fields and a full bridge without stepping", async () => {
  const { bridge, inputs } = bridgeWithInputs(1);
  const invalid = await bridge.request({ type: "status", token: "tok", taskId: 5 }, "h");
  assert.equal(invalid.type === "error" && invalid.code, "bad_request");
  assert.equal(inputs.length, 0);
  const first = bridge.request({ type: "workers", token: "tok" }, "h");
  const second = await bridge.request({ type: "workers", token: "tok" }, "h");
  assert.equal(second.type === "error" && second.code, "rate_limited");
  bridge.closeAll();
  await first;
});

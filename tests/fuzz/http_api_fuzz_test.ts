// Proves, on seeded random and mutated HTTP requests, that the REST API never answers 500, always
// answers JSON (an error body for every 4xx and 5xx), and hands the node only requests the codec
// accepts: the HTTP target of the fuzz suite (async, so a test rather than a sync fuzz_runner
// target). A failure prints the seed and iteration that replay it.
import assert from "node:assert/strict";
import { ClientBridge } from "../../orchestrator/http/client_bridge.ts";
import { ErrorBodySchema, OPERATIONS } from "../../orchestrator/http/openapi_document.ts";
import { restApi } from "../../orchestrator/http/rest_api.ts";
import type { NodeInput } from "../../orchestrator/core/mod.ts";
import { ERROR_CODES } from "../../shared/errors.ts";
import { createPrng, type Rng } from "../../shared/prng.ts";
import { decodeValue, DIRECTIONS } from "../../shared/protocol/codec.ts";
import { hostileString, stringifyJson } from "./hostile_values.ts";
import { mutateJson } from "./json_mutator.ts";
import { generateMessage } from "./message_generators.ts";
import { mutateBytes } from "./byte_mutator.ts";

const ITERATIONS = 3000;
const ENV = { remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 } };
const ENVELOPE = ["v", "lamport", "id", "type", "token"];
/** The fake node's error codes: every one but "internal" (a 500 by design). */
const NODE_CODES = ERROR_CODES.filter((code) => code !== "internal");

/** A path: a documented one with its parameters filled in, or a random one. */
function randomPath(rng: Rng): string {
  if (rng.chance(0.1)) {
    return `/${encodeURIComponent(hostileString(rng).toWellFormed()).slice(0, 200)}`;
  }
  const op = rng.pick(OPERATIONS);
  const filled = op.path.replaceAll(
    /\{[a-z]+\}/g,
    () =>
      rng.chance(0.8)
        ? `t-${rng.int(1, 9)}`
        : encodeURIComponent(hostileString(rng).toWellFormed()),
  );
  const query = rng.chance(0.3)
    ? `?${rng.pick(["state", "limit", "after", "all", "attempt", "owner"])}=${
      encodeURIComponent(
        rng.chance(0.5) ? String(rng.int(-5, 50)) : hostileString(rng).toWellFormed(),
      )
    }`
    : "";
  return filled + query;
}

/** A body: a client request's fields without the envelope, valid or mutated, or raw bytes. */
function randomBody(rng: Rng): string | Uint8Array<ArrayBuffer> | undefined {
  if (rng.chance(0.15)) return undefined;
  const message = generateMessage(rng, "clientToOrchestrator");
  const fields = Object.fromEntries(
    Object.entries(message).filter(([key]) => !ENVELOPE.includes(key) || rng.chance(0.05)),
  );
  const roll = rng.next();
  if (roll < 0.4) return JSON.stringify(fields);
  if (roll < 0.8) return stringifyJson(mutateJson(rng, fields).value);
  return new Uint8Array(mutateBytes(rng, new TextEncoder().encode(JSON.stringify(fields))).bytes);
}

function randomHeaders(rng: Rng): Record<string, string> {
  const headers: Record<string, string> = {};
  if (rng.chance(0.8)) headers["content-type"] = rng.chance(0.9) ? "application/json" : "text/x";
  if (rng.chance(0.8)) {
    headers.authorization = rng.chance(0.8) ? "Bearer tok" : `Bearer ${rng.int(0, 9)} x`;
  }
  if (rng.chance(0.3)) headers["idempotency-key"] = rng.chance(0.8) ? "k" : "";
  return headers;
}

Deno.test("the REST API answers any request with JSON, never 500, and steps only valid requests", async () => {
  const seed = Number(Deno.env.get("FUZZ_SEED") ?? 20261205);
  const rng = createPrng(seed);
  const stepped: NodeInput[] = [];
  const bridge = new ClientBridge({
    step: (input) => {
      if (input.type !== "clientRequest" && input.type !== "login") return;
      stepped.push(input);
      // The node answers at once: an error of any code, or a plain "done".
      const message = rng.chance(0.5)
        ? { v: 1, lamport: 0, type: "error", re: 1, code: rng.pick(NODE_CODES), message: "x" }
        : { v: 1, lamport: 0, type: "done", re: 1, message: "done" };
      queueMicrotask(() => bridge.deliver({ conn: input.conn, message: message as never }));
    },
    maxAwaiting: 16,
    replyTimeoutMs: 1000,
  });
  const app = restApi({
    request: (fields, source) => bridge.request(fields, source),
    forward: () => Promise.resolve(null),
    maxBodyBytes: 4096,
    newKey: () => "generated",
    cluster: {
      selfId: "o1",
      orchestrators: [{ id: "o1", host: "127.0.0.1", port: 1 }, { id: "o2", host: "::1", port: 2 }],
      askPeer: () => Promise.resolve({ ok: false, error: "unreachable" }),
    },
  });
  let reached = 0;
  const statuses = new Set<number>();
  for (let i = 0; i < ITERATIONS; i++) {
    const where = `seed ${seed} iteration ${i} (FUZZ_SEED=${seed} to replay)`;
    const method = rng.pick(["GET", "POST", "POST", "DELETE", "PUT"]);
    const path = randomPath(rng);
    const body = method === "GET" ? undefined : randomBody(rng);
    const response = await app.fetch(
      new Request(`http://x/api/v1${path}`, { method, headers: randomHeaders(rng), body }),
      ENV,
    );
    const what = `${where}: ${method} ${path}`;
    assert.notEqual(response.status, 500, what);
    statuses.add(response.status);
    const answer = await response.json();
    if (response.status >= 400) {
      assert.ok(ErrorBodySchema.safeParse(answer).success, `${what}: ${JSON.stringify(answer)}`);
    }
    for (const input of stepped.splice(0)) {
      reached++;
      const request = (input as { request: unknown }).request;
      const decoded = decodeValue(request, DIRECTIONS.clientToOrchestrator);
      assert.ok(decoded.ok, `${what}: the node got an invalid request`);
    }
  }
  assert.equal(bridge.awaiting, 0);
  // The generator must reach the node often and be refused before it often, or it tests little.
  assert.ok(reached > ITERATIONS / 20, `only ${reached} requests reached the node`);
  for (const status of [400, 401, 404, 413, 415]) assert.ok(statuses.has(status), `no ${status}`);
});

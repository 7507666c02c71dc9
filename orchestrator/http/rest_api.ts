/**
 * The REST API under `/api/v1` (tasks, accounts and sessions, schedules, purge, workers, this
 * node's status and every orchestrator's, cluster_nodes.ts): each route turns an HTTP request into the client request the CLI would send, hands it to the node through the bridge (client_bridge.ts), and turns the reply
 * into JSON with an HTTP status. A follower's "not leader" reply is forwarded to the leader
 * (leader_forward.ts). Routing, middleware and the not-found and error answers are Hono's.
 * @module
 */
import { Hono } from "npm:hono@4.13.23";
import type { Context } from "npm:hono@4.13.23";
import type { ErrorCode } from "../../shared/errors.ts";
import { isFinalState, type OrchestratorToClient } from "../../shared/protocol/messages.ts";
import { retryRefusal, retrySubmission } from "../../shared/protocol/retry_submission.ts";
import type { OrchestratorAddress } from "../../shared/config/mod.ts";
import { readBoundedText } from "./bounded_body.ts";
import { gatherClusterNodes, type PeerStatus } from "./cluster_nodes.ts";
import type { BridgedRequest } from "./client_bridge.ts";
import { errorBody, errorStatus } from "./error_status.ts";
import { openApiDocument } from "./openapi_document.ts";

/** How long a request body may take to arrive when the server does not say (partialFrameTimeoutMs). */
const DEFAULT_BODY_TIMEOUT_MS = 10_000;

/** What the API needs from the server. */
export interface ApiPorts {
  /** Steps a request into the node and resolves with its reply (see ClientBridge). */
  request(fields: BridgedRequest, source: string): Promise<OrchestratorToClient>;
  /**
   * Sends the request on to the leader `leaderHint` names and resolves with its answer; null when
   * it cannot (no leader known, no HTTP port for it, or the request was forwarded already).
   */
  forward(request: Request, body: string, leaderHint: string | undefined): Promise<Response | null>;
  /** The largest request body accepted, in bytes (the cluster's `maxFrameBytes`). */
  maxBodyBytes: number;
  /** A request body must arrive whole within this time (default 10 s; slow clients). */
  bodyTimeoutMs?: number;
  /** Makes a fresh idempotency key for a submission sent without one. */
  newKey(): string;
  /** The cluster's orchestrators, for `GET /cluster/nodes` (cluster_nodes.ts). */
  cluster: {
    selfId: string;
    orchestrators: readonly OrchestratorAddress[];
    /** Another orchestrator's `/cluster` view, asked with the caller's Authorization header. */
    askPeer(
      orchestrator: OrchestratorAddress & { httpPort: number },
      authorization: string,
    ): Promise<PeerStatus>;
  };
}

/** Per request: the client's address (from Deno.serve) and the body read once. */
export type ApiEnv = {
  Bindings: { remoteAddr: Deno.Addr };
  Variables: { bodyText: string; body: Record<string, unknown> };
};
type Ctx = Context<ApiEnv>;

/** Fields a body may not set: the API sets them from the URL, the headers and the envelope. */
const RESERVED_FIELDS = ["v", "lamport", "id", "type", "token"];

/** Builds the `/api/v1` routes on `ports`. */
export function restApi(ports: ApiPorts): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>().basePath("/api/v1");
  app.use("*", (c, next) =>
    readBody(c, next, {
      maxBytes: ports.maxBodyBytes,
      timeoutMs: ports.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
    }));
  const ask = (c: Ctx, fields: BridgedRequest) => askNode(ports, c, fields);

  app.post("/login", async (c) => {
    const { user, password } = c.get("body");
    return answer(c, await ask(c, { type: "login", user, password }));
  });
  app.post(
    "/logout",
    (c) => withToken(c, async (token) => answer(c, await ask(c, { type: "logout", token }))),
  );
  app.post("/tasks", (c) => withToken(c, (token) => submit(c, token, ports, ask)));
  app.get(
    "/tasks",
    (c) => withToken(c, async (token) => answer(c, await ask(c, listRequest(c, token)))),
  );
  app.get("/tasks/:id", (c) =>
    withToken(c, async (token) => {
      return answer(c, await ask(c, { type: "status", token, taskId: c.req.param("id") }));
    }));
  app.get("/tasks/:id/result", (c) => withToken(c, (token) => result(c, token, ask)));
  app.get("/tasks/:id/logs", (c) =>
    withToken(c, async (token) => {
      const fields = {
        type: "logs" as const,
        token,
        taskId: c.req.param("id"),
        ...queryInts(c, ["attempt", "stdoutOffset", "stderrOffset"]),
      };
      return answer(c, await ask(c, fields));
    }));
  app.post("/tasks/:id/cancel", (c) =>
    withToken(c, async (token) => {
      return answer(c, await ask(c, { type: "cancel", token, taskId: c.req.param("id") }));
    }));
  app.post("/tasks/:id/retry", (c) => withToken(c, (token) => retryTask(c, token, ask)));
  app.get(
    "/workers",
    (c) => withToken(c, async (token) => answer(c, await ask(c, { type: "workers", token }))),
  );
  // This orchestrator's own view: every orchestrator answers it, so it is never forwarded.
  app.get("/cluster", (c) =>
    withToken(c, async (token) => {
      return answer(c, await ports.request({ type: "nodeStatus", token }, sourceOf(c)));
    }));

  // Every orchestrator's view at once (a dashboard's poll): this node checks the caller, then asks.
  app.get("/cluster/nodes", (c) =>
    withToken(c, async (token) => {
      const gathered = await gatherClusterNodes({
        selfId: ports.cluster.selfId,
        orchestrators: ports.cluster.orchestrators,
        askSelf: () => ports.request({ type: "nodeStatus", token }, sourceOf(c)),
        askPeer: (o) => ports.cluster.askPeer(o, c.req.header("authorization") ?? ""),
      });
      return "nodes" in gathered ? c.json(gathered) : answer(c, gathered.refused);
    }));

  accountRoutes(app, ask);
  scheduleRoutes(app, ask);
  app.post("/purge", simple(ask, (c, token) => ({ ...c.get("body"), type: "purge", token })));
  app.get("/openapi.json", (c) => c.json(openApiDocument()));

  app.notFound((c) =>
    fail(c, "not_found", `No such API route: ${c.req.method} ${new URL(c.req.url).pathname}`)
  );
  app.onError((error, c) => fail(c, "internal", `Internal error: ${error.message}`));
  return app;
}

type Ask = (c: Ctx, fields: BridgedRequest) => Promise<OrchestratorToClient | Response>;

/** A route that sends one request built from the URL and body, and answers with its reply. */
function simple(ask: Ask, build: (c: Ctx, token: string) => BridgedRequest) {
  return (c: Ctx) => withToken(c, async (token) => answer(c, await ask(c, build(c, token))));
}

/** Accounts and sessions, as `mutirao user …` and `mutirao token …` (admins, but a password). */
function accountRoutes(app: Hono<ApiEnv>, ask: Ask): void {
  app.get("/users", simple(ask, (_c, token) => ({ type: "userList", token })));
  app.post("/users", simple(ask, (c, token) => ({ ...c.get("body"), type: "userAdd", token })));
  app.delete(
    "/users/:name",
    simple(ask, (c, token) => ({ type: "userRemove", token, name: c.req.param("name") })),
  );
  app.post(
    "/users/:name/password",
    simple(ask, (c, token) => ({
      ...c.get("body"),
      type: "userPasswd",
      token,
      name: c.req.param("name"),
    })),
  );
  app.get("/tokens", simple(ask, (_c, token) => ({ type: "tokenList", token })));
  app.delete(
    "/tokens/:id",
    simple(ask, (c, token) => ({ type: "tokenRevoke", token, tokenId: c.req.param("id") })),
  );
}

/** Schedules, as `mutirao schedule …`; `owner` (admins) names another user's schedule. */
function scheduleRoutes(app: Hono<ApiEnv>, ask: Ask): void {
  const owner = (c: Ctx) => {
    const value = c.req.query("owner");
    return value === undefined ? {} : { owner: value };
  };
  app.get(
    "/schedules",
    simple(ask, (c, token) => ({
      type: "scheduleList",
      token,
      ...(c.req.query("all") === undefined ? {} : { all: c.req.query("all") === "true" }),
    })),
  );
  app.post(
    "/schedules",
    simple(ask, (c, token) => ({ ...c.get("body"), type: "scheduleAdd", token })),
  );
  app.delete(
    "/schedules/:name",
    simple(ask, (c, token) => ({
      type: "scheduleRemove",
      token,
      name: c.req.param("name"),
      ...owner(c),
    })),
  );
  for (const [verb, paused] of [["pause", true], ["resume", false]] as const) {
    app.post(
      `/schedules/:name/${verb}`,
      simple(ask, (c, token) => ({
        type: "schedulePause",
        token,
        name: c.req.param("name"),
        paused,
        ...owner(c),
      })),
    );
  }
}

/**
 * Reads a JSON body once (POST only), at most `maxBytes`: an object, sent as application/json;
 * else a 4xx.
 */
async function readBody(
  c: Ctx,
  next: () => Promise<void>,
  limits: { maxBytes: number; timeoutMs: number },
): Promise<Response | void> {
  c.set("bodyText", "");
  c.set("body", {});
  if (c.req.method !== "POST") return await next();
  const read = await readBoundedText(c.req.raw, limits);
  if ("refused" in read) {
    return read.refused === "tooLarge"
      ? fail(c, "frame_too_large", `Request body over ${limits.maxBytes} bytes; send less`)
      : fail(c, "bad_request", `Request body not received within ${limits.timeoutMs} ms`, 408);
  }
  const text = read.text;
  c.set("bodyText", text);
  if (text.trim() === "") return await next();
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    return fail(c, "bad_request", `Content-Type must be application/json, got "${type}"`, 415);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    return fail(c, "bad_request", `Request body is not JSON: ${(error as Error).message}`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return fail(c, "bad_request", "Request body must be a JSON object");
  }
  const reserved = RESERVED_FIELDS.find((field) => field in body);
  if (reserved !== undefined) {
    return fail(c, "bad_request", `Field "${reserved}" is not allowed in the body`);
  }
  c.set("body", body as Record<string, unknown>);
  await next();
}

/** The bearer token, or a 401 when there is none. */
function withToken(
  c: Ctx,
  then: (token: string) => Promise<Response>,
): Promise<Response> | Response {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match === null) {
    return fail(
      c,
      "unauthenticated",
      "Missing Authorization: Bearer TOKEN header; get a token from POST /api/v1/login",
    );
  }
  return then(match[1]);
}

/** The node's reply, or the leader's answer when this node is not the leader and could forward. */
async function askNode(
  ports: ApiPorts,
  c: Ctx,
  fields: BridgedRequest,
): Promise<OrchestratorToClient | Response> {
  const reply = await ports.request(fields, sourceOf(c));
  if (reply.type !== "error" || reply.code !== "not_leader") return reply;
  return await ports.forward(c.req.raw, c.get("bodyText"), reply.leaderHint) ?? reply;
}

async function submit(
  c: Ctx,
  token: string,
  ports: ApiPorts,
  ask: (c: Ctx, fields: BridgedRequest) => Promise<OrchestratorToClient | Response>,
): Promise<Response> {
  const body = c.get("body");
  const key = c.req.header("idempotency-key");
  if (!("tasks" in body)) {
    const idempotencyKey = key ?? body.idempotencyKey ?? ports.newKey();
    const reply = await ask(c, { ...body, type: "submit", token, idempotencyKey });
    const created = !(reply instanceof Response) && reply.type === "submitOk" && !reply.duplicate;
    return answer(c, reply, created ? 201 : 200);
  }
  if (!Array.isArray(body.tasks)) return fail(c, "bad_request", "tasks must be an array");
  // Each item's key: its own, or derived from the header's (a retried batch reuses them all).
  const tasks = body.tasks.map((item: unknown, i: number) =>
    typeof item === "object" && item !== null && !("idempotencyKey" in item)
      ? { idempotencyKey: key === undefined ? ports.newKey() : `${key}#${i}`, ...item }
      : item
  );
  return answer(c, await ask(c, { ...body, type: "submitBatch", token, tasks }));
}

async function result(
  c: Ctx,
  token: string,
  ask: (c: Ctx, fields: BridgedRequest) => Promise<OrchestratorToClient | Response>,
): Promise<Response> {
  const reply = await ask(c, { type: "status", token, taskId: c.req.param("id") });
  if (reply instanceof Response || reply.type !== "task") return answer(c, reply);
  const { id, state, result } = reply.task;
  if (!isFinalState(state)) {
    return fail(c, "conflict", `Task ${id} has not finished: it is ${state}`);
  }
  return c.json({ taskId: id, state, result });
}

/**
 * `POST /tasks/{id}/retry`, as `mutirao retry ID`: a new task with the ended one's spec and
 * options, under an idempotency key derived from its id (retry_submission.ts), so a retried call
 * answers the same new task. A follower forwards the whole call when either step needs the leader.
 */
async function retryTask(c: Ctx, token: string, ask: Ask): Promise<Response> {
  const status = await ask(c, { type: "status", token, taskId: c.req.param("id") });
  if (status instanceof Response || status.type !== "task") return answer(c, status);
  const refusal = retryRefusal(status.task);
  if (refusal !== null) return fail(c, "conflict", refusal);
  const reply = await ask(c, { ...retrySubmission(status.task), token });
  if (reply instanceof Response || reply.type !== "submitOk") return answer(c, reply);
  const { taskId, duplicate } = reply;
  return c.json({ taskId, duplicate, retryOf: status.task.id }, duplicate ? 200 : 201);
}

function listRequest(c: Ctx, token: string): BridgedRequest {
  const state = c.req.query("state");
  const states = state === undefined ? undefined : state.split(",");
  const all = c.req.query("all");
  return {
    type: "list",
    token,
    paged: true,
    ...(states === undefined ? {} : states.length === 1 ? { state: states[0] } : { states }),
    ...(c.req.query("after") === undefined ? {} : { after: c.req.query("after") }),
    ...(all === undefined ? {} : { all: all === "true" ? true : all }),
    ...queryInts(c, ["limit"]),
  };
}

/** Query parameters that must be integers: numbers when they are, else as given (then refused). */
function queryInts(c: Ctx, names: readonly string[]): Record<string, number | string> {
  const values: Record<string, number | string> = {};
  for (const name of names) {
    const raw = c.req.query(name);
    if (raw !== undefined) values[name] = /^[0-9]{1,15}$/.test(raw) ? Number(raw) : raw;
  }
  return values;
}

/** A reply as JSON: its fields without the envelope, or the error with its status. */
function answer(c: Ctx, reply: OrchestratorToClient | Response, okStatus = 200): Response {
  if (reply instanceof Response) return reply;
  if (reply.type === "error") {
    return fail(c, reply.code, reply.message, undefined, reply.leaderHint);
  }
  const { v: _v, lamport: _lamport, type: _type, ...rest } = reply;
  if ("re" in rest) delete (rest as { re?: unknown }).re;
  return c.json(rest, okStatus as 200);
}

function fail(
  c: Ctx,
  code: ErrorCode,
  message: string,
  status = errorStatus(code),
  leaderHint?: string,
): Response {
  return c.json(errorBody(code, message, leaderHint), status as 400);
}

function sourceOf(c: Ctx): string {
  const addr = c.env?.remoteAddr;
  return addr !== undefined && "hostname" in addr ? addr.hostname : "unknown";
}

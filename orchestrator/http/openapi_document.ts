/**
 * The OpenAPI 3.1 document of the REST API (`GET /api/v1/openapi.json`), generated from the same
 * zod schemas that check the TCP protocol: a request body is a client request without its
 * envelope, a response body is a reply without its envelope. The operation table here lists
 * every route with the statuses it may answer; rest_api_test.ts checks it matches the routes,
 * and the end-to-end tests check real answers against the document.
 * @module
 */
import { z } from "npm:zod@4.6.7";
import { ERROR_CODES } from "../../shared/errors.ts";
import { ClusterNodesSchema } from "./cluster_nodes.ts";
import { GapEventSchema, StreamEventSchema } from "./event_schemas.ts";
import {
  BatchItemSchema,
  DoneSchema,
  LoginOkSchema,
  LogsReplySchema,
  NodeStatusViewSchema,
  OutcomeSchema,
  PurgedSchema,
  PurgeSchema,
  ScheduleAddSchema,
  ScheduleListReplySchema,
  SubmitBatchOkSchema,
  SubmitOkSchema,
  SubmitSchema,
  TaskIdSchema,
  TaskStateSchema,
  TaskSummarySchema,
  TaskViewSchema,
  TokenListReplySchema,
  UserAddSchema,
  UserListReplySchema,
  UserPasswdSchema,
  WorkerViewSchema,
} from "../../shared/protocol/messages.ts";

const ENVELOPE = { v: true, lamport: true, type: true, re: true } as const;

/** Every error answer's body. */
export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    /** With not_leader: the leader's "host:port" when this node could not forward. */
    leaderHint: z.string().optional(),
  }).strict(),
}).strict();

const SubmitBodySchema = SubmitSchema.omit({
  v: true,
  lamport: true,
  type: true,
  id: true,
  token: true,
}).extend({
  /** Prefer the Idempotency-Key header; without either the server makes one (no retry safety). */
  idempotencyKey: z.string().min(1).optional(),
});
const BatchBodySchema = z.object({
  tasks: z.array(BatchItemSchema.extend({ idempotencyKey: z.string().min(1).optional() })),
}).strict();

/** The answer of a retry: the new task (a duplicate when retried before) and the one it retries. */
const RetryOkSchema = SubmitOkSchema.omit(ENVELOPE).extend({ retryOf: TaskIdSchema });

/** One operation: its route, what it takes, and each status it may answer with its body. */
export interface Operation {
  method: "get" | "post" | "delete";
  /** OpenAPI path under /api/v1, with `{id}` parameters. */
  path: string;
  summary: string;
  /** Needs `Authorization: Bearer TOKEN`. */
  auth: boolean;
  body?: z.ZodType;
  query?: ReadonlyArray<{ name: string; description: string; schema: z.ZodType }>;
  /** Successful answers by status; every operation also lists its error statuses. */
  ok: Readonly<Record<number, z.ZodType>>;
  errors: readonly number[];
}

/** Errors any authenticated operation may answer. */
const COMMON_ERRORS = [400, 401, 429, 500, 503];
const BODY_ERRORS = [408, 413, 415];
/** Path parameters by name. */
const PATH_PARAMETERS: Record<string, { description: string; schema: z.ZodType }> = {
  id: {
    description: "A task id such as t-42, or a session id from GET /tokens",
    schema: z.string(),
  },
  name: { description: "A user or schedule name", schema: z.string() },
};
const REQUEST_FIELDS = { v: true, lamport: true, type: true, id: true, token: true } as const;
const DONE = { 200: DoneSchema.omit(ENVELOPE) };
const OWNER = [{
  name: "owner",
  description: "Admins: the user whose schedule it is",
  schema: z.string(),
}];

/** Every operation of the API, in the order of the document. */
export const OPERATIONS: readonly Operation[] = [
  {
    method: "post",
    path: "/login",
    summary: "Log in: a token for the Authorization header",
    auth: false,
    body: z.object({ user: z.string(), password: z.string() }).strict(),
    ok: { 200: LoginOkSchema.omit(ENVELOPE) },
    errors: [...COMMON_ERRORS, ...BODY_ERRORS],
  },
  {
    method: "post",
    path: "/logout",
    summary: "End the session of the token",
    auth: true,
    ok: { 200: z.object({}).strict() },
    errors: COMMON_ERRORS,
  },
  {
    method: "post",
    path: "/tasks",
    summary: "Submit one task, or a batch as {tasks: [...]} (Idempotency-Key header)",
    auth: true,
    body: z.union([SubmitBodySchema, BatchBodySchema]),
    ok: {
      200: z.union([SubmitOkSchema.omit(ENVELOPE), SubmitBatchOkSchema.omit(ENVELOPE)]),
      201: SubmitOkSchema.omit(ENVELOPE),
    },
    errors: [...COMMON_ERRORS, ...BODY_ERRORS, 409],
  },
  {
    method: "get",
    path: "/tasks",
    summary: "List your tasks (admins: all=true for everyone's), newest first, a page at a time",
    auth: true,
    query: [
      { name: "state", description: "Only these states, comma-separated", schema: z.string() },
      { name: "limit", description: "At most this many", schema: z.int().positive() },
      { name: "after", description: "The `next` cursor of the previous page", schema: z.string() },
      { name: "all", description: "Admins: every user's tasks", schema: z.boolean() },
    ],
    ok: {
      200: z.object({
        tasks: z.array(TaskSummarySchema),
        total: z.int().nonnegative(),
        next: TaskIdSchema.nullable(),
      }).strict(),
    },
    errors: [...COMMON_ERRORS, 403],
  },
  {
    method: "get",
    path: "/tasks/{id}",
    summary: "A task: its state, attempts, result and Lamport-ordered history",
    auth: true,
    ok: { 200: z.object({ task: TaskViewSchema }).strict() },
    errors: [...COMMON_ERRORS, 404, 410],
  },
  {
    method: "get",
    path: "/tasks/{id}/result",
    summary: "A finished task's result (409 while it has not finished)",
    auth: true,
    ok: {
      200: z.object({
        taskId: TaskIdSchema,
        state: TaskStateSchema,
        result: OutcomeSchema.nullable(),
      }).strict(),
    },
    errors: [...COMMON_ERRORS, 404, 409, 410],
  },
  {
    method: "get",
    path: "/tasks/{id}/logs",
    summary: "A task's output: live while it runs, kept once it is final",
    auth: true,
    query: [
      { name: "attempt", description: "The attempt the offsets are of", schema: z.int() },
      { name: "stdoutOffset", description: "Characters of stdout already read", schema: z.int() },
      { name: "stderrOffset", description: "Characters of stderr already read", schema: z.int() },
    ],
    ok: { 200: LogsReplySchema.omit(ENVELOPE) },
    errors: [...COMMON_ERRORS, 404, 410],
  },
  {
    method: "post",
    path: "/tasks/{id}/cancel",
    summary: "Cancel a task (idempotent; 409 once it finished otherwise)",
    auth: true,
    ok: { 200: z.object({ task: TaskViewSchema }).strict() },
    errors: [...COMMON_ERRORS, 404, 409, 410],
  },
  {
    method: "post",
    path: "/tasks/{id}/retry",
    summary: "Retry a failed, cancelled or expired task as a new task (idempotent; 409 otherwise)",
    auth: true,
    ok: { 200: RetryOkSchema, 201: RetryOkSchema },
    errors: [...COMMON_ERRORS, 404, 409, 410],
  },
  {
    method: "get",
    path: "/workers",
    summary: "Admins: the workers, their slots, load and heartbeats",
    auth: true,
    ok: { 200: z.object({ workers: z.array(WorkerViewSchema) }).strict() },
    errors: [...COMMON_ERRORS, 403],
  },
  {
    method: "get",
    path: "/cluster",
    summary: "Admins: where this orchestrator stands (role, term, commit, followers, disk)",
    auth: true,
    ok: { 200: z.object({ node: NodeStatusViewSchema }).strict() },
    errors: [...COMMON_ERRORS, 403],
  },
  {
    method: "get",
    path: "/cluster/nodes",
    summary: "Admins: every orchestrator of the cluster file, each with its view of /cluster or " +
      "why it gave none (asked at once, 1.5 s at most each)",
    auth: true,
    ok: { 200: ClusterNodesSchema },
    errors: [...COMMON_ERRORS, 403],
  },
  {
    method: "get",
    path: "/users",
    summary: "Admins: the accounts",
    auth: true,
    ok: { 200: UserListReplySchema.omit(ENVELOPE) },
    errors: [...COMMON_ERRORS, 403],
  },
  {
    method: "post",
    path: "/users",
    summary: "Admins: add an account",
    auth: true,
    body: UserAddSchema.omit(REQUEST_FIELDS),
    ok: DONE,
    errors: [...COMMON_ERRORS, ...BODY_ERRORS, 403, 409],
  },
  {
    method: "delete",
    path: "/users/{name}",
    summary: "Admins: remove an account and revoke its sessions",
    auth: true,
    ok: DONE,
    errors: [...COMMON_ERRORS, 403, 404, 409],
  },
  {
    method: "post",
    path: "/users/{name}/password",
    summary: "Change a password: your own (with currentPassword), or an admin anyone's",
    auth: true,
    body: UserPasswdSchema.omit({ ...REQUEST_FIELDS, name: true }),
    ok: DONE,
    errors: [...COMMON_ERRORS, ...BODY_ERRORS, 403, 404],
  },
  {
    method: "get",
    path: "/tokens",
    summary: "Admins: the open sessions",
    auth: true,
    ok: { 200: TokenListReplySchema.omit(ENVELOPE) },
    errors: [...COMMON_ERRORS, 403],
  },
  {
    method: "delete",
    path: "/tokens/{id}",
    summary: "Admins: revoke a session by its id from GET /tokens",
    auth: true,
    ok: DONE,
    errors: [...COMMON_ERRORS, 403, 404],
  },
  {
    method: "get",
    path: "/schedules",
    summary: "Your schedules (admins: all=true for everyone's)",
    auth: true,
    query: [{ name: "all", description: "Admins: every user's", schema: z.boolean() }],
    ok: { 200: ScheduleListReplySchema.omit(ENVELOPE) },
    errors: [...COMMON_ERRORS, 403],
  },
  {
    method: "post",
    path: "/schedules",
    summary: "Create or replace a schedule: its task is submitted at each cron tick",
    auth: true,
    body: ScheduleAddSchema.omit(REQUEST_FIELDS),
    ok: DONE,
    errors: [...COMMON_ERRORS, ...BODY_ERRORS, 403, 409],
  },
  {
    method: "delete",
    path: "/schedules/{name}",
    summary: "Remove a schedule",
    auth: true,
    query: OWNER,
    ok: DONE,
    errors: [...COMMON_ERRORS, 403, 404],
  },
  {
    method: "post",
    path: "/schedules/{name}/pause",
    summary: "Pause a schedule",
    auth: true,
    query: OWNER,
    ok: DONE,
    errors: [...COMMON_ERRORS, 403, 404],
  },
  {
    method: "post",
    path: "/schedules/{name}/resume",
    summary: "Resume a paused schedule",
    auth: true,
    query: OWNER,
    ok: DONE,
    errors: [...COMMON_ERRORS, 403, 404],
  },
  {
    method: "post",
    path: "/purge",
    summary: "Admins: remove finished tasks matching a filter now (at most `limit` per call)",
    auth: true,
    body: PurgeSchema.omit(REQUEST_FIELDS),
    ok: { 200: PurgedSchema.omit(ENVELOPE) },
    errors: [...COMMON_ERRORS, ...BODY_ERRORS, 403],
  },
];

let cached: Record<string, unknown> | null = null;

/** The OpenAPI 3.1 document (built once). */
export function openApiDocument(): Record<string, unknown> {
  cached ??= buildDocument();
  return cached;
}

function buildDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    paths[op.path] ??= {};
    paths[op.path][op.method] = operationObject(op);
  }
  // Served beside the Hono routes (http_server.ts), so not in OPERATIONS.
  paths["/events"] = { get: eventsOperation() };
  return {
    openapi: "3.1.0",
    info: {
      title: "Mutirão API",
      version: "1",
      description: "The REST API of a Mutirão orchestrator. Any orchestrator answers: " +
        "a follower forwards what only the leader can serve. Errors are " +
        "{ error: { code, message } } with the codes of the TCP protocol.",
    },
    servers: [{ url: "/api/v1" }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Error: jsonSchema(ErrorBodySchema, "output"),
        StreamEvent: jsonSchema(StreamEventSchema, "output"),
        GapEvent: jsonSchema(GapEventSchema, "output"),
      },
    },
    paths,
  };
}

function operationObject(op: Operation): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [status, schema] of Object.entries(op.ok)) {
    responses[status] = {
      description: "OK",
      content: { "application/json": { schema: jsonSchema(schema, "output") } },
    };
  }
  for (const status of op.errors) {
    responses[String(status)] = {
      description: "Error",
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
    };
  }
  const parameters = [
    ...[...op.path.matchAll(/\{([a-z]+)\}/g)].map(([, name]) => ({
      ...param({ name, ...PATH_PARAMETERS[name] }),
      in: "path",
      required: true,
    })),
    ...(op.query ?? []).map((p) => ({ ...param(p), in: "query", required: false })),
    ...(op.method === "post" && op.path === "/tasks"
      ? [{ name: "Idempotency-Key", in: "header", required: false, schema: { type: "string" } }]
      : []),
  ];
  return {
    summary: op.summary,
    operationId: `${op.method}${
      op.path.replaceAll(/[^A-Za-z]+(.)?/g, (_, c) => (c ?? "").toUpperCase())
    }`,
    ...(op.auth ? { security: [{ bearer: [] }] } : { security: [] }),
    ...(parameters.length === 0 ? {} : { parameters }),
    ...(op.body === undefined ? {} : {
      requestBody: {
        required: true,
        content: { "application/json": { schema: jsonSchema(op.body, "input") } },
      },
    }),
    responses,
  };
}

/** Query parameters of `GET /events`. */
const EVENT_QUERY = [
  { name: "task", description: "Only this task's events (from the oldest still held)" },
  { name: "user", description: "Only this user's tasks' events (admins; users see their own)" },
  {
    name: "kind",
    description: "Comma-separated kinds: task, worker, cluster, or kind.event (task.succeeded)",
  },
  { name: "after", description: "Resume after this event id (Last-Event-ID wins when sent)" },
  {
    name: "token",
    description: "The session token, for clients that cannot set headers (browser EventSource)",
  },
];

/**
 * `GET /events`: Server-Sent Events, each `id: <event id>`, `event: <kind>` and one JSON `data`
 * line: a StreamEvent (task, worker, cluster), a GapEvent, or `event: error` with an Error body
 * when the session ends mid-stream.
 */
function eventsOperation(): Record<string, unknown> {
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const responses: Record<string, unknown> = {
    200: {
      description: "The event stream: `event: task|worker|cluster` with a StreamEvent, " +
        "`event: gap` with a GapEvent, `event: error` with an Error (then the stream ends); " +
        "comment lines keep it alive; a block with only `id:` (at the start, and with a keepalive) " +
        "moves the resume point past events this reader is not shown",
      content: {
        "text/event-stream": {
          schema: { type: "string" },
          "x-sse-data": { oneOf: [ref("StreamEvent"), ref("GapEvent"), ref("Error")] },
        },
      },
    },
  };
  for (const status of [400, 401, 403, 405, 429, 500, 503]) {
    responses[String(status)] = {
      description: "Error",
      content: { "application/json": { schema: ref("Error") } },
    };
  }
  return {
    summary: "Follow task, worker and cluster events as Server-Sent Events (any orchestrator)",
    operationId: "getEvents",
    security: [{ bearer: [] }, {}],
    parameters: [
      ...EVENT_QUERY.map((p) => ({
        ...p,
        in: "query",
        required: false,
        schema: { type: "string" },
      })),
      {
        name: "Last-Event-ID",
        in: "header",
        required: false,
        description: "Resume after this event id, on any orchestrator",
        schema: { type: "string" },
      },
    ],
    responses,
  };
}

function param(p: { name: string; description: string; schema: z.ZodType }) {
  return { name: p.name, description: p.description, schema: jsonSchema(p.schema, "input") };
}

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { unrepresentable: "any", io });
  return rest;
}

/**
 * The operation of the table serving `method` and `path` (under /api/v1, without the query), or
 * undefined when none does.
 */
export function findOperation(method: string, path: string): Operation | undefined {
  return OPERATIONS.find((op) =>
    op.method === method.toLowerCase() &&
    new RegExp(`^${op.path.replaceAll(/\{[^}]+\}/g, "[^/]+")}$`).test(path)
  );
}

/**
 * The only place where bytes become typed messages. Every decoded message is
 * checked field by field against its schema; a failure is a {@link ProtocolError}
 * naming the field, the expectation and what was seen.
 * @module
 */
import { checkAppendEntries } from "./append_entries_check.ts";
import { CommandSchema } from "./commands.ts";
import { stringifyWithEntries } from "./entry_json.ts";
import type { z } from "npm:zod@4.6.7";
import type { ErrorCode } from "../errors.ts";
import { PROTOCOL_VERSION } from "../limits.ts";
import {
  AnnouncementDatagramSchema,
  ClientToOrchestratorSchema,
  HeartbeatDatagramSchema,
  HelloDirectionSchema,
  OrchestratorToClientSchema,
  OrchestratorToWorkerSchema,
  WorkerToOrchestratorSchema,
} from "./messages.ts";
import { PeerMessageSchema } from "./peer_messages.ts";

/** A decoding failure, with the error code to reply with. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
  readonly code: ErrorCode;
  /** The request id, when it could be read, so the error reply can be correlated. */
  readonly requestId: number | null;

  constructor(code: ErrorCode, message: string, requestId: number | null = null) {
    super(message);
    this.code = code;
    this.requestId = requestId;
  }
}

/** Result of decoding: a message, or the reason there is none. */
export type Decoded<T> = { ok: true; message: T } | { ok: false; error: ProtocolError };

// deno-lint-ignore no-explicit-any
type UnionSchema = z.ZodDiscriminatedUnion<any, "type">;

/** The messages one kind of receiver accepts, e.g. what an orchestrator accepts from a client. */
export interface Direction<T> {
  /** Names the stream in error messages: "client request", "worker message". */
  readonly name: string;
  readonly schema: UnionSchema;
  readonly types: ReadonlySet<string>;
  /**
   * Message types checked by a function instead of the schema (null: the shape is right; else
   * what is wrong). Only for hot messages from authenticated nodes: see append_entries_check.ts.
   */
  readonly checks?: Readonly<Record<string, (record: Record<string, unknown>) => string | null>>;
  /** Phantom field carrying the decoded type. */
  readonly _type?: T;
}

function direction<S extends UnionSchema>(name: string, schema: S): Direction<z.infer<S>> {
  const types = new Set<string>(
    // deno-lint-ignore no-explicit-any
    schema.options.map((option: any) => String(option.shape.type.value)),
  );
  return { name, schema, types };
}

/** Every command type of the log, for the AppendEntries check. */
const COMMAND_TYPES: ReadonlySet<string> = new Set(
  // deno-lint-ignore no-explicit-any
  CommandSchema.options.map((option: any) => String(option.shape.type.value)),
);

/** Every direction on the wire. */
export const DIRECTIONS = {
  hello: direction("connection opening", HelloDirectionSchema),
  clientToOrchestrator: direction("client request", ClientToOrchestratorSchema),
  orchestratorToClient: direction("orchestrator reply", OrchestratorToClientSchema),
  workerToOrchestrator: direction("worker message", WorkerToOrchestratorSchema),
  orchestratorToWorker: direction("orchestrator message", OrchestratorToWorkerSchema),
  heartbeat: direction("heartbeat datagram", HeartbeatDatagramSchema),
  peer: {
    ...direction("peer message", PeerMessageSchema),
    checks: {
      appendEntries: (record: Record<string, unknown>) => checkAppendEntries(record, COMMAND_TYPES),
    },
  },
  announcement: direction("leader announcement", AnnouncementDatagramSchema),
} as const;

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

/**
 * Decodes one frame payload (or datagram) into a message of `dir`.
 * Never throws: every problem comes back as a {@link ProtocolError}.
 */
export function decodeMessage<T>(payload: Uint8Array, dir: Direction<T>): Decoded<T> {
  let value: unknown;
  try {
    value = JSON.parse(utf8Decoder.decode(payload));
  } catch (error) {
    // SyntaxError for bad JSON or bad UTF-8, RangeError for nesting too deep to parse.
    const why = error instanceof Error ? error.message : String(error);
    return fail("malformed_frame", `Cannot decode ${dir.name}: not valid UTF-8 JSON (${why})`);
  }
  return decodeValue(value, dir);
}

/** Like {@link decodeMessage}, for a value already parsed from JSON. */
export function decodeValue<T>(value: unknown, dir: Direction<T>): Decoded<T> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const seen = value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
    return fail(
      "malformed_frame",
      `Cannot decode ${dir.name}: expected a JSON object, got ${seen}`,
    );
  }
  const record = value as Record<string, unknown>;
  const requestId = readRequestId(record);
  if (record.v === undefined) {
    return fail(
      "bad_request",
      `Invalid ${dir.name}: missing field "v" (protocol version ${PROTOCOL_VERSION})`,
      requestId,
    );
  }
  if (record.v !== PROTOCOL_VERSION) {
    return fail(
      "unsupported_version",
      `Unsupported protocol version ${
        describeSeen(record.v)
      }: this node speaks version ${PROTOCOL_VERSION}`,
      requestId,
    );
  }
  if (record.type === undefined) {
    return fail("bad_request", `Invalid ${dir.name}: missing field "type"`, requestId);
  }
  if (typeof record.type !== "string" || !dir.types.has(record.type)) {
    const expected = [...dir.types].join(", ");
    const seen = typeof record.type === "string"
      ? `"${truncate(record.type)}"`
      : `of JSON type ${record.type === null ? "null" : typeof record.type}`;
    return fail(
      "bad_request",
      `Invalid ${dir.name}: unknown message type ${seen} (expected one of: ${expected})`,
      requestId,
    );
  }
  const check = dir.checks?.[record.type];
  if (check !== undefined) {
    const problem = check(record);
    if (problem !== null) {
      return fail("bad_request", `Invalid ${record.type} ${dir.name}: ${problem}`, requestId);
    }
    return { ok: true, message: record as T };
  }
  const parsed = dir.schema.safeParse(record);
  if (!parsed.success) {
    return fail(
      "bad_request",
      `Invalid ${record.type} ${dir.name}: ${describeIssue(parsed.error.issues[0], record)}`,
      requestId,
    );
  }
  return { ok: true, message: parsed.data as T };
}

/** Encodes a message as a frame payload (UTF-8 JSON). */
export function encodeMessage(message: object): Uint8Array {
  const entries = (message as { entries?: unknown }).entries;
  // AppendEntries: each entry's text is computed once, for every follower and the leader's log.
  const json = Array.isArray(entries) && (message as { type?: unknown }).type === "appendEntries"
    ? stringifyWithEntries(message as { entries: object[] })
    : JSON.stringify(message);
  return utf8Encoder.encode(json);
}

function fail<T>(code: ErrorCode, message: string, requestId: number | null = null): Decoded<T> {
  return { ok: false, error: new ProtocolError(code, message, requestId) };
}

function readRequestId(record: Record<string, unknown>): number | null {
  const id = record.id;
  return typeof id === "number" && Number.isSafeInteger(id) && id >= 0 ? id : null;
}

function describeIssue(issue: z.core.$ZodIssue, record: Record<string, unknown>): string {
  if (issue.code === "unrecognized_keys") {
    const where = issue.path.length > 0 ? ` in "${issue.path.join(".")}"` : "";
    return `unexpected field${issue.keys.length > 1 ? "s" : ""} ${
      issue.keys.map((k) => `"${truncate(k)}"`).join(", ")
    }${where}`;
  }
  const path = issue.path.map(String).join(".");
  const seen = valueAt(record, issue.path);
  const seenText = seen === undefined ? "missing" : `got ${describeSeen(seen)}`;
  return `field "${path}": ${issue.message.replace(/^Invalid input: /, "")} (${seenText})`;
}

function valueAt(record: unknown, path: readonly PropertyKey[]): unknown {
  let current = record;
  for (const key of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** A short description of a value for an error message: never the whole of a large value. */
function describeSeen(value: unknown): string {
  if (typeof value === "object" && value !== null) {
    return Array.isArray(value) ? "an array" : "an object";
  }
  if (typeof value === "string") return `"${truncate(value)}"`;
  return truncate(String(value));
}

function truncate(text: string, max = 60): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/**
 * AppendEntries checked as strictly as its schema, faster: the envelope and each entry by hand,
 * each command by a hand-written check for the frequent types (hot_commands_check.ts) and by
 * its schema for the rest. Running the whole message through the schema was a fifth of a
 * follower's work under load (issue 12).
 * @module
 */
import { LAMPORT_MAX, PROTOCOL_VERSION } from "../limits.ts";
import { CommandSchema } from "./commands.ts";
import { HOT_COMMAND_CHECKS } from "./hot_commands_check.ts";

/** Terms and indexes stay below 2^52, as in peer_messages.ts. */
const RAFT_NUMBER_MAX = 2 ** 52;
const MESSAGE_FIELDS = new Set([
  "v",
  "lamport",
  "type",
  "term",
  "prevLogIndex",
  "prevLogTerm",
  "entries",
  "leaderCommit",
  "readCtx",
]);

function isCount(value: unknown, max: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= max;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Null when `message` has the shape of an AppendEntries; else what is wrong, for the error. */
export function checkAppendEntries(
  message: Record<string, unknown>,
  commandTypes: ReadonlySet<string>,
): string | null {
  for (const key of Object.keys(message)) {
    if (!MESSAGE_FIELDS.has(key)) return `unexpected field "${key}"`;
  }
  if (message.v !== PROTOCOL_VERSION) return `field "v": expected ${PROTOCOL_VERSION}`;
  if (message.type !== "appendEntries") return `field "type": expected "appendEntries"`;
  if (!isCount(message.lamport, LAMPORT_MAX)) return `field "lamport": not a Lamport time`;
  for (const key of ["term", "prevLogIndex", "prevLogTerm", "leaderCommit"]) {
    if (!isCount(message[key], RAFT_NUMBER_MAX)) return `field "${key}": not a count below 2^52`;
  }
  if (!isCount(message.readCtx, Number.MAX_SAFE_INTEGER)) return `field "readCtx": not a count`;
  const entries = message.entries;
  if (!Array.isArray(entries)) return `field "entries": not an array`;
  for (let i = 0; i < entries.length; i++) {
    const entry: unknown = entries[i];
    if (!isPlainObject(entry)) return `field "entries.${i}": not an object`;
    for (const key of Object.keys(entry)) {
      if (key !== "index" && key !== "term" && key !== "command") {
        return `field "entries.${i}": unexpected field "${key}"`;
      }
    }
    // As the schema's: positive safe integers (the envelope's numbers are the ones capped at 2^52).
    if (!isCount(entry.index, Number.MAX_SAFE_INTEGER) || entry.index === 0) {
      return `field "entries.${i}.index": not a positive index`;
    }
    if (!isCount(entry.term, Number.MAX_SAFE_INTEGER) || entry.term === 0) {
      return `field "entries.${i}.term": not a positive term`;
    }
    const command = entry.command;
    if (!isPlainObject(command)) return `field "entries.${i}.command": not an object`;
    if (typeof command.type !== "string" || !commandTypes.has(command.type)) {
      return `field "entries.${i}.command.type": not a known command`;
    }
    const check = HOT_COMMAND_CHECKS[command.type];
    if (check !== undefined ? !check(command) : !CommandSchema.safeParse(command).success) {
      // The schema says precisely what is wrong; this path is only taken for a broken message.
      const issue = CommandSchema.safeParse(command).error?.issues[0];
      const where = issue === undefined ? "" : `.${issue.path.join(".")}`;
      return `field "entries.${i}.command${where}": ${issue?.message ?? "invalid"}`;
    }
  }
  return null;
}

// Proves that the hand-written checks of the frequent commands accept exactly what their schemas
// accept, on valid commands and on thousands of mutations of them.
import assert from "node:assert/strict";
import { createPrng } from "../prng.ts";
import { CommandSchema } from "./commands.ts";
import { HOT_COMMAND_CHECKS } from "./hot_commands_check.ts";

const STAMP = { atMs: 5, lamport: 9, node: "o1" };
const OUTCOME = {
  status: "succeeded",
  exitCode: 0,
  stdout: "ok",
  stderr: "",
  error: null,
  durationMs: 3,
};
const VALID: Record<string, unknown>[] = [
  { type: "noop", atMs: 1 },
  {
    type: "taskSubmitted",
    owner: "alice",
    idempotencyKey: "k",
    spec: { kind: "sleep", description: "d", durationMs: 0 },
    maxAttempts: 3,
    ...STAMP,
  },
  {
    type: "taskSubmitted",
    owner: "bob",
    idempotencyKey: "k2",
    spec: { kind: "exec", description: "", argv: ["ls", "-l"], timeoutMs: 1000 },
    maxAttempts: 1,
    ...STAMP,
  },
  {
    type: "taskSubmitted",
    owner: "carol",
    idempotencyKey: "k3",
    spec: { kind: "handler", handler: "resize", description: "", payload: '{"w":3}', timeoutMs: 9 },
    maxAttempts: 2,
    retry: { retries: 3, backoff: "exponential", delayMs: 1000, maxDelayMs: 60_000 },
    notBeforeMs: 77,
    priority: -5,
    queue: "images",
    after: ["t-1", "t-22"],
    queueDeadlineMs: 5000,
    ...STAMP,
  },
  {
    type: "taskSubmitted",
    owner: "dave",
    idempotencyKey: "k4",
    spec: { kind: "sleep", description: "", durationMs: 10, timeoutMs: 5 },
    maxAttempts: 1,
    ...STAMP,
  },
  {
    type: "taskFinished",
    taskId: "t-2",
    attempt: 1,
    workerId: "w",
    outcome: { ...OUTCOME, value: '{"sum":3}' },
    ...STAMP,
  },
  {
    type: "taskFinished",
    taskId: "t-2",
    attempt: 1,
    workerId: "w",
    outcome: { ...OUTCOME, status: "failed", error: "timed out", timedOut: true },
    ...STAMP,
  },
  { type: "taskAssigned", taskId: "t-1", attempt: 1, workerId: "w", incarnation: "i", ...STAMP },
  { type: "taskStarted", taskId: "t-1", attempt: 2, workerId: "w", ...STAMP },
  { type: "taskFinished", taskId: "t-1", attempt: 1, workerId: "w", outcome: OUTCOME, ...STAMP },
  {
    type: "taskFinished",
    taskId: "t-1",
    attempt: 1,
    workerId: "w",
    outcome: { ...OUTCOME, status: "failed", exitCode: null, error: "x", stdoutTruncated: true },
    includesStart: true,
    ...STAMP,
  },
];

const ODD_VALUES: unknown[] = [
  undefined,
  null,
  0,
  -1,
  1.5,
  2 ** 53,
  "",
  "x",
  "x".repeat(5000),
  true,
  false,
  [],
  ["ls"],
  [""],
  {},
  { kind: "sleep", description: "d", durationMs: 1 },
  "succeeded",
  "failed",
  "sleep",
  "exec",
  "handler",
  "fixed",
  "Bad kind",
  true,
  1001,
  "default",
];

function agrees(command: Record<string, unknown>): void {
  const check = HOT_COMMAND_CHECKS[String(command.type)];
  if (check === undefined) return;
  const expected = CommandSchema.safeParse(command).success;
  assert.equal(check(command), expected, JSON.stringify(command).slice(0, 300));
}

/** A copy of `value` with one field (at any depth) set to an odd value, added or removed. */
function mutate(value: unknown, rng: ReturnType<typeof createPrng>): unknown {
  if (Array.isArray(value)) {
    const copy = [...value];
    if (copy.length > 0 && rng.chance(0.7)) {
      const i = rng.int(0, copy.length - 1);
      copy[i] = rng.chance(0.5) ? mutate(copy[i], rng) : rng.pick(ODD_VALUES);
    } else copy.push(rng.pick(ODD_VALUES));
    return copy;
  }
  if (typeof value !== "object" || value === null) return rng.pick(ODD_VALUES);
  const copy: Record<string, unknown> = { ...value as Record<string, unknown> };
  const keys = Object.keys(copy);
  const roll = rng.next();
  if (roll < 0.1) copy[rng.pick(["extra", "v", "kind", "status"])] = rng.pick(ODD_VALUES);
  else if (roll < 0.2 && keys.length > 0) delete copy[rng.pick(keys)];
  else if (keys.length > 0) {
    const key = rng.pick(keys);
    if (key === "type" && rng.chance(0.8)) return copy; // keep it a command of its type
    copy[key] = rng.chance(0.4) ? mutate(copy[key], rng) : rng.pick(ODD_VALUES);
  }
  return copy;
}

Deno.test("the hot command checks accept every valid command", () => {
  for (const command of VALID) {
    assert.equal(CommandSchema.safeParse(command).success, true, "a valid fixture");
    agrees(command);
  }
});

Deno.test("the hot command checks refuse exactly what the schemas refuse, over 20,000 mutations", () => {
  const rng = createPrng(12);
  for (let i = 0; i < 20_000; i++) {
    let command = rng.pick(VALID);
    for (let depth = rng.int(1, 3); depth > 0; depth--) {
      command = mutate(command, rng) as Record<string, unknown>;
    }
    agrees(command);
  }
});

/**
 * Seeded generators of valid wire messages: every type of every direction in
 * shared/protocol/codec.ts (DIRECTIONS), with every optional field sometimes present and
 * values anywhere in their valid ranges, limits included. Identifiers come from {@link Pools},
 * so a stateful target can aim them at tasks, sessions and workers that exist.
 * @module
 */
import { ERROR_CODES } from "../../shared/errors.ts";
import { LAMPORT_MAX, LIMITS, PROTOCOL_VERSION } from "../../shared/limits.ts";
import type { Rng } from "../../shared/prng.ts";
import { type Direction, DIRECTIONS } from "../../shared/protocol/codec.ts";
import { TASK_EVENTS, TASK_STATES } from "../../shared/protocol/messages.ts";
import { ODD_STRINGS, randomCodeUnits } from "./hostile_values.ts";

/** A direction of the wire protocol, by its name in DIRECTIONS. */
export type DirectionName = keyof typeof DIRECTIONS;

/** The codec direction called `name`, untyped (for code that handles every direction alike). */
export function directionOf(name: DirectionName): Direction<unknown> {
  return DIRECTIONS[name] as Direction<unknown>;
}

/** Every direction name. */
export const DIRECTION_NAMES = Object.keys(DIRECTIONS) as DirectionName[];

/** A generated message: plain JSON data. */
export type Json = Record<string, unknown>;

/** Where generated identifiers come from; a stateful target points them at what exists. */
export interface Pools {
  token(rng: Rng): string;
  taskId(rng: Rng): string;
  userName(rng: Rng): string;
  workerName(rng: Rng): string;
  incarnation(rng: Rng): string;
  idempotencyKey(rng: Rng): string;
  attempt(rng: Rng): number;
  requestId(rng: Rng): number;
  lamport(rng: Rng): number;
}

const LOWER_HEX = "0123456789abcdef";
const NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.@-";
const BASE64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** A string of `length` characters from `alphabet`. */
export function charsFrom(rng: Rng, alphabet: string, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[rng.int(0, alphabet.length - 1)];
  return out;
}

/** A length in [min, max], usually short, sometimes exactly a bound. */
function lengthIn(rng: Rng, min: number, max: number): number {
  const roll = rng.next();
  if (roll < 0.05) return min;
  if (roll < 0.1) return max;
  return rng.int(min, Math.min(max, min + 24));
}

/**
 * Any string of `min`..`max` characters as the schemas count them (code points: zod counts a
 * surrogate pair as one): mostly readable, sometimes odd (lone surrogates, controls) but valid.
 */
export function anyString(rng: Rng, min: number, max: number): string {
  const length = lengthIn(rng, min, max);
  if (rng.chance(0.15)) {
    const odd = rng.pick(ODD_STRINGS);
    const points = [...odd].length;
    if (points >= min && points <= max) return odd;
  }
  if (rng.chance(0.2)) return fitCodePoints(randomCodeUnits(rng, length), min, max);
  return charsFrom(rng, NAME_CHARS, length);
}

/** `text` cut or padded to `min`..`max` code points. */
function fitCodePoints(text: string, min: number, max: number): string {
  const points = [...text];
  if (points.length > max) return points.slice(0, max).join("");
  return points.length < min ? text + "a".repeat(min - points.length) : text;
}

/** An integer in [min, max], biased to the bounds. */
export function intIn(rng: Rng, min: number, max: number): number {
  const roll = rng.next();
  if (roll < 0.1) return min;
  if (roll < 0.2) return max;
  if (roll < 0.6) return rng.int(min, Math.min(max, min + 100));
  return Math.min(max, min + Math.floor(rng.next() * (max - min + 1)));
}

/** Pools of made-up identifiers, for stateless targets. */
export const RANDOM_POOLS: Pools = {
  token: (rng) => anyString(rng, 1, 512),
  taskId: (rng) => rng.chance(0.5) ? `t-${rng.int(1, 50)}` : anyString(rng, 1, LIMITS.taskIdChars),
  userName: (rng) => charsFrom(rng, NAME_CHARS, lengthIn(rng, 1, LIMITS.userNameChars)),
  workerName: (rng) => anyString(rng, 1, LIMITS.workerNameChars),
  incarnation: (rng) => anyString(rng, 1, 64),
  idempotencyKey: (rng) => anyString(rng, 1, LIMITS.idempotencyKeyChars),
  attempt: (rng) => intIn(rng, 1, Number.MAX_SAFE_INTEGER),
  requestId: (rng) => intIn(rng, 0, Number.MAX_SAFE_INTEGER),
  lamport: (rng) => intIn(rng, 0, LAMPORT_MAX),
};

/** Builds valid field values from a PRNG and pools. */
class Gen {
  readonly rng: Rng;
  readonly pools: Pools;

  constructor(rng: Rng, pools: Pools) {
    this.rng = rng;
    this.pools = pools;
  }

  env(type: string): Json {
    return { v: PROTOCOL_VERSION, lamport: this.pools.lamport(this.rng), type };
  }

  str(min: number, max: number): string {
    return anyString(this.rng, min, max);
  }

  nonNeg(): number {
    return intIn(this.rng, 0, Number.MAX_SAFE_INTEGER);
  }

  positive(max = Number.MAX_SAFE_INTEGER): number {
    return intIn(this.rng, 1, max);
  }

  bool(): boolean {
    return this.rng.chance(0.5);
  }

  /** Sets `key` to `make()` about half the time (an optional field). */
  maybe(target: Json, key: string, make: () => unknown): Json {
    if (this.rng.chance(0.5)) target[key] = make();
    return target;
  }

  nonce(): string {
    return charsFrom(this.rng, BASE64_CHARS, intIn(this.rng, 16, 128));
  }

  /** A schedule name from a small set, so commands name the same schedules often. */
  scheduleName(): string {
    return this.rng.pick(["s1", "s2", "nightly"]);
  }

  userName(): string {
    return this.pools.userName(this.rng);
  }

  spec(): Json {
    const description = this.str(0, LIMITS.descriptionChars);
    if (this.rng.chance(0.7)) {
      return {
        kind: "sleep",
        description,
        durationMs: intIn(this.rng, 0, LIMITS.taskDurationMsMax),
      };
    }
    return {
      kind: "exec",
      description,
      argv: Array.from(
        { length: intIn(this.rng, 1, this.rng.chance(0.95) ? 4 : LIMITS.argvItems) },
        () => this.str(1, LIMITS.argChars),
      ),
      timeoutMs: intIn(this.rng, 1, LIMITS.taskDurationMsMax),
    };
  }

  outcome(): Json {
    return {
      status: this.rng.pick(["succeeded", "failed"]),
      exitCode: this.rng.chance(0.3) ? null : intIn(this.rng, -(2 ** 31), 2 ** 31),
      stdout: this.str(0, 200),
      stderr: this.str(0, 200),
      error: this.rng.chance(0.7) ? null : this.str(0, 200),
      durationMs: this.nonNeg(),
    };
  }

  taskRef(): Json {
    return { taskId: this.pools.taskId(this.rng), attempt: this.pools.attempt(this.rng) };
  }

  taskEvent(): Json {
    return {
      event: this.rng.pick(TASK_EVENTS),
      lamport: this.nonNeg(),
      node: this.str(0, 20),
      atMs: this.nonNeg(),
      attempt: this.nonNeg(),
      workerId: this.rng.chance(0.5) ? null : this.str(0, 20),
      detail: this.rng.chance(0.5) ? null : this.str(0, 40),
    };
  }

  taskView(): Json {
    return {
      id: this.pools.taskId(this.rng),
      owner: this.str(0, 20),
      state: this.rng.pick(TASK_STATES),
      spec: this.spec(),
      attempt: this.nonNeg(),
      maxAttempts: this.positive(),
      workerId: this.rng.chance(0.5) ? null : this.str(0, 20),
      submittedAtMs: this.nonNeg(),
      finishedAtMs: this.rng.chance(0.5) ? null : this.nonNeg(),
      result: this.rng.chance(0.5) ? null : this.outcome(),
      waitingReason: this.rng.chance(0.5) ? null : this.str(0, 40),
      history: Array.from({ length: this.rng.int(0, 3) }, () => this.taskEvent()),
    };
  }

  workerInfo(): Json {
    const info: Json = {
      name: this.pools.workerName(this.rng),
      incarnation: this.pools.incarnation(this.rng),
      slots: intIn(this.rng, 1, LIMITS.workerSlotsMax),
      canExec: this.bool(),
    };
    return this.maybe(
      info,
      "execAllow",
      () =>
        this.rng.chance(0.3)
          ? null
          : Array.from({ length: this.rng.int(0, 3) }, () => this.str(1, LIMITS.argChars)),
    );
  }

  batchItem(): Json {
    const item: Json = { idempotencyKey: this.pools.idempotencyKey(this.rng), task: this.spec() };
    return this.maybe(item, "maxAttempts", () => intIn(this.rng, 1, LIMITS.maxAttemptsMax));
  }

  passwordHash(): string {
    return `scrypt$${this.str(0, 40)}`;
  }

  command(): Json {
    const stamp = () => ({
      atMs: this.nonNeg(),
      // Log entries' stamps are bounded at half the clock's range (shared/protocol/commands.ts).
      lamport: Math.floor(this.pools.lamport(this.rng) / 2),
      node: this.str(1, LIMITS.workerNameChars),
    });
    const tokenHash = () => charsFrom(this.rng, LOWER_HEX, 64);
    const name = () => this.userName();
    switch (this.rng.int(0, 19)) {
      case 0:
        return {
          type: "userAdded",
          name: name(),
          role: this.rng.pick(["admin", "user"]),
          passwordHash: this.passwordHash(),
          atMs: this.nonNeg(),
        };
      case 1:
        return {
          type: "userPasswordChanged",
          name: name(),
          passwordHash: this.passwordHash(),
          atMs: this.nonNeg(),
        };
      case 2:
        return { type: "userRemoved", name: name(), atMs: this.nonNeg() };
      case 3:
        return {
          type: "sessionOpened",
          tokenHash: tokenHash(),
          user: this.str(1, LIMITS.userNameChars),
          expiresAtMs: this.nonNeg(),
          atMs: this.nonNeg(),
        };
      case 4:
        return { type: "sessionClosed", tokenHash: tokenHash(), atMs: this.nonNeg() };
      case 5:
        return {
          type: "taskSubmitted",
          owner: this.str(1, LIMITS.userNameChars),
          idempotencyKey: this.pools.idempotencyKey(this.rng),
          spec: this.spec(),
          maxAttempts: intIn(this.rng, 1, LIMITS.maxAttemptsMax),
          ...stamp(),
        };
      case 6:
        return {
          type: "taskAssigned",
          taskId: this.pools.taskId(this.rng),
          attempt: this.pools.attempt(this.rng),
          workerId: this.pools.workerName(this.rng),
          incarnation: this.pools.incarnation(this.rng),
          ...stamp(),
        };
      case 7:
        return {
          type: "taskStarted",
          taskId: this.pools.taskId(this.rng),
          attempt: this.pools.attempt(this.rng),
          workerId: this.pools.workerName(this.rng),
          ...stamp(),
        };
      case 8:
        return {
          type: "taskFinished",
          taskId: this.pools.taskId(this.rng),
          attempt: this.pools.attempt(this.rng),
          workerId: this.pools.workerName(this.rng),
          outcome: this.outcome(),
          ...stamp(),
        };
      case 9:
        return {
          type: "taskCancelled",
          taskId: this.pools.taskId(this.rng),
          by: this.str(1, LIMITS.userNameChars),
          ...stamp(),
        };
      case 10:
        return {
          type: "taskHandedBack",
          taskId: this.pools.taskId(this.rng),
          attempt: this.pools.attempt(this.rng),
          workerId: this.pools.workerName(this.rng),
          reason: this.str(0, LIMITS.descriptionChars),
          ...stamp(),
        };
      case 11: {
        const joined: Json = {
          type: "workerJoined",
          workerId: this.pools.workerName(this.rng),
          incarnation: this.pools.incarnation(this.rng),
          slots: intIn(this.rng, 1, LIMITS.workerSlotsMax),
          canExec: this.bool(),
          ...stamp(),
        };
        return this.maybe(joined, "execAllow", () => this.rng.chance(0.5) ? null : ["ls"]);
      }
      case 12:
        return {
          type: "workerDraining",
          workerId: this.pools.workerName(this.rng),
          incarnation: this.pools.incarnation(this.rng),
          ...stamp(),
        };
      case 13:
        return {
          type: "workerLost",
          workerId: this.pools.workerName(this.rng),
          incarnation: this.pools.incarnation(this.rng),
          reason: this.str(0, 100),
          ...stamp(),
        };
      case 14:
        return {
          type: "tasksRemoved",
          taskIds: Array.from({ length: this.rng.int(1, 5) }, () => `t-${this.rng.int(1, 99)}`),
          reason: this.rng.pick(["retention", "purge"]),
          by: this.rng.chance(0.5) ? null : this.str(1, LIMITS.userNameChars),
          ...stamp(),
        };
      case 16:
        return {
          type: "scheduleSet",
          name: this.scheduleName(),
          owner: name(),
          cron: this.rng.pick(CRONS),
          task: { spec: this.spec(), maxAttempts: intIn(this.rng, 1, LIMITS.maxAttemptsMax) },
          ...stamp(),
        };
      case 17:
        return {
          type: "scheduleFired",
          name: this.scheduleName(),
          owner: name(),
          tickMs: this.rng.chance(0.5) ? this.rng.int(0, 20) * 1000 : this.nonNeg(),
          ...stamp(),
        };
      case 18:
        return {
          type: "schedulePaused",
          name: this.scheduleName(),
          owner: name(),
          paused: this.bool(),
          ...stamp(),
        };
      case 19:
        return {
          type: "scheduleRemoved",
          name: this.scheduleName(),
          owner: name(),
          by: name(),
          ...stamp(),
        };
      default:
        return { type: "noop", atMs: this.nonNeg() };
    }
  }

  /** Log entries numbered from `from` with non-decreasing terms from `term` (none past 2^53). */
  entries(from: number, term: number, count: number): Json[] {
    const max = Number.MAX_SAFE_INTEGER;
    let t = Math.min(max, Math.max(1, term));
    const fitting = Math.max(0, Math.min(count, max - from + 1));
    return Array.from({ length: fitting }, (_, i) => {
      if (this.rng.chance(0.1)) t = Math.min(max, t + 1);
      return { index: Math.max(1, from + i), term: t, command: this.command() };
    });
  }
}

type Builder = (g: Gen) => Json;

const withToken = (g: Gen, type: string): Json => ({
  ...g.env(type),
  id: g.pools.requestId(g.rng),
  token: g.pools.token(g.rng),
});

/** Cron expressions the generators use: valid ones (the codec does not parse them) and not. */
const CRONS = ["*/1 * * * * *", "0 2 * * *", "@hourly", "61 * * * *", "x"];

const CLIENT_REQUESTS: Record<string, Builder> = {
  scheduleAdd: (g) => {
    const message: Json = {
      ...withToken(g, "scheduleAdd"),
      name: g.scheduleName(),
      cron: g.rng.pick(CRONS),
      task: g.spec(),
    };
    if (g.bool()) message.timezone = g.rng.pick(["UTC", "Europe/Berlin", "Mars/Base"]);
    if (g.bool()) message.maxAttempts = intIn(g.rng, 1, LIMITS.maxAttemptsMax);
    return message;
  },
  scheduleList: (g) => g.maybe(withToken(g, "scheduleList"), "all", () => g.bool()),
  scheduleRemove: (g) =>
    g.maybe(
      { ...withToken(g, "scheduleRemove"), name: g.scheduleName() },
      "owner",
      () => g.userName(),
    ),
  schedulePause: (g) =>
    g.maybe(
      { ...withToken(g, "schedulePause"), name: g.scheduleName(), paused: g.bool() },
      "owner",
      () => g.userName(),
    ),
  login: (g) => ({
    ...g.env("login"),
    id: g.pools.requestId(g.rng),
    user: g.userName(),
    password: g.str(1, LIMITS.passwordChars),
  }),
  logout: (g) => withToken(g, "logout"),
  submit: (g) =>
    g.maybe(
      {
        ...withToken(g, "submit"),
        idempotencyKey: g.pools.idempotencyKey(g.rng),
        task: g.spec(),
      },
      "maxAttempts",
      () => intIn(g.rng, 1, LIMITS.maxAttemptsMax),
    ),
  submitBatch: (g) => {
    const message = withToken(g, "submitBatch");
    if (g.rng.chance(0.005)) {
      // The largest batch, of one small item repeated: 5,000 distinct ones are slow to make,
      // and 5,000 large ones (up to 2 MB of argv each) would not even fit in a string.
      const item = {
        idempotencyKey: g.pools.idempotencyKey(g.rng),
        task: { kind: "sleep", description: g.str(0, 16), durationMs: intIn(g.rng, 0, 1000) },
      };
      return { ...message, tasks: Array.from({ length: LIMITS.batchTasksMax }, () => item) };
    }
    return { ...message, tasks: Array.from({ length: g.rng.int(1, 5) }, () => g.batchItem()) };
  },
  status: (g) => ({ ...withToken(g, "status"), taskId: g.pools.taskId(g.rng) }),
  list: (g) => {
    const list = withToken(g, "list");
    g.maybe(list, "state", () => g.rng.pick(TASK_STATES));
    g.maybe(list, "limit", () => intIn(g.rng, 1, LIMITS.listLimitMax));
    return g.maybe(list, "all", () => g.bool());
  },
  workers: (g) => withToken(g, "workers"),
  cancel: (g) => ({ ...withToken(g, "cancel"), taskId: g.pools.taskId(g.rng) }),
  wait: (g) => ({
    ...withToken(g, "wait"),
    taskId: g.pools.taskId(g.rng),
    timeoutMs: intIn(g.rng, 1, LIMITS.waitTimeoutMsMax),
  }),
  nodeStatus: (g) => withToken(g, "nodeStatus"),
  logs: (g) => {
    const message: Json = { ...withToken(g, "logs"), taskId: g.pools.taskId(g.rng) };
    if (g.bool()) message.attempt = g.positive();
    if (g.bool()) message.stdoutOffset = g.nonNeg();
    if (g.bool()) message.stderrOffset = g.nonNeg();
    return message;
  },
  userAdd: (g) => ({
    ...withToken(g, "userAdd"),
    name: g.userName(),
    role: g.rng.pick(["admin", "user"]),
    password: g.str(1, LIMITS.passwordChars),
  }),
  userPasswd: (g) => ({
    ...withToken(g, "userPasswd"),
    name: g.userName(),
    password: g.str(1, LIMITS.passwordChars),
    ...(g.rng.chance(0.5) ? { currentPassword: g.str(1, LIMITS.passwordChars) } : {}),
  }),
  userRemove: (g) => ({ ...withToken(g, "userRemove"), name: g.userName() }),
  userList: (g) => withToken(g, "userList"),
  tokenList: (g) => withToken(g, "tokenList"),
  tokenRevoke: (g) => ({
    ...withToken(g, "tokenRevoke"),
    tokenId: charsFrom(g.rng, LOWER_HEX, intIn(g.rng, 8, 64)),
  }),
  purge: (g) => {
    const message: Json = { ...withToken(g, "purge") };
    if (g.bool()) message.states = [g.rng.pick(["succeeded", "failed", "cancelled"])];
    if (g.bool()) message.owner = g.userName();
    if (g.bool()) message.olderThanMs = g.nonNeg();
    if (g.bool()) message.limit = intIn(g.rng, 1, 10_000);
    if (g.bool()) message.dryRun = g.bool();
    return message;
  },
};

const welcome: Builder = (g) => {
  const message: Json = { ...g.env("welcome"), nodeId: g.str(0, 20), clusterId: g.str(0, 20) };
  if (g.bool()) Object.assign(message, { nonce: g.nonce(), proof: g.nonce() });
  return message;
};

const errorReply: Builder = (g) =>
  g.maybe(
    {
      ...g.env("error"),
      re: g.rng.chance(0.2) ? null : g.pools.requestId(g.rng),
      code: g.rng.pick(ERROR_CODES),
      message: g.str(0, 200),
    },
    "leaderHint",
    () => g.str(0, 40),
  );

const reply = (g: Gen, type: string): Json => ({ ...g.env(type), re: g.pools.requestId(g.rng) });

const ORCHESTRATOR_REPLIES: Record<string, Builder> = {
  keepalive: (g) => g.env("keepalive"),
  welcome,
  loginOk: (g) => ({
    ...reply(g, "loginOk"),
    user: g.str(0, 20),
    token: g.str(1, 512),
    expiresAtMs: g.nonNeg(),
  }),
  logoutOk: (g) => reply(g, "logoutOk"),
  submitOk: (g) => ({
    ...reply(g, "submitOk"),
    taskId: g.pools.taskId(g.rng),
    duplicate: g.bool(),
  }),
  task: (g) => ({ ...reply(g, "task"), task: g.taskView() }),
  taskList: (g) => ({
    ...reply(g, "taskList"),
    tasks: Array.from({ length: g.rng.int(0, 3) }, () => ({
      id: g.pools.taskId(g.rng),
      owner: g.str(0, 20),
      state: g.rng.pick(TASK_STATES),
      description: g.str(0, 100),
      kind: g.rng.pick(["sleep", "exec"]),
      attempt: g.nonNeg(),
      workerId: g.rng.chance(0.5) ? null : g.str(0, 20),
      submittedAtMs: g.nonNeg(),
      finishedAtMs: g.rng.chance(0.5) ? null : g.nonNeg(),
    })),
  }),
  workerList: (g) => ({
    ...reply(g, "workerList"),
    workers: Array.from({ length: g.rng.int(0, 3) }, () => ({
      id: g.pools.workerName(g.rng),
      incarnation: g.str(0, 20),
      status: g.rng.pick(["alive", "draining"]),
      slots: g.positive(),
      running: g.nonNeg(),
      canExec: g.bool(),
      execAllow: g.rng.chance(0.5) ? null : [g.str(0, 10)],
      lastHeartbeatAgoMs: g.rng.chance(0.3) ? null : g.nonNeg(),
      completed: g.nonNeg(),
    })),
  }),
  error: errorReply,
  nodeStatusReply: (g) => ({
    ...reply(g, "nodeStatusReply"),
    node: {
      id: g.str(0, 10),
      role: g.rng.pick(["leader", "follower", "candidate"]),
      term: g.nonNeg(),
      leaderId: g.rng.chance(0.3) ? null : g.str(0, 10),
      commitIndex: g.nonNeg(),
      appliedIndex: g.nonNeg(),
      lastIndex: g.nonNeg(),
      followers: Array.from({ length: g.rng.int(0, 2) }, () => ({
        id: g.str(0, 10),
        matchIndex: g.nonNeg(),
        lastContactAgoMs: g.rng.chance(0.3) ? null : g.nonNeg(),
      })),
      droppedDatagrams: {
        malformed: g.nonNeg(),
        forged: g.nonNeg(),
        stale: g.nonNeg(),
        replayed: g.nonNeg(),
      },
    },
  }),
  submitBatchOk: (g) => ({
    ...reply(g, "submitBatchOk"),
    results: Array.from(
      { length: g.rng.int(0, 3) },
      () => ({ taskId: g.pools.taskId(g.rng), duplicate: g.bool() }),
    ),
  }),
  done: (g) => ({ ...reply(g, "done"), message: g.str(0, 100) }),
  scheduleList: (g) => ({
    ...reply(g, "scheduleList"),
    schedules: Array.from({ length: g.rng.int(0, 2) }, () => ({
      name: g.scheduleName(),
      owner: g.userName(),
      cron: g.rng.pick(CRONS),
      timezone: g.rng.chance(0.5) ? null : "UTC",
      task: { spec: g.spec(), maxAttempts: intIn(g.rng, 1, LIMITS.maxAttemptsMax) },
      paused: g.bool(),
      createdAtMs: g.nonNeg(),
      nextTickMs: g.rng.chance(0.3) ? null : g.nonNeg(),
      lastTickMs: g.rng.chance(0.3) ? null : g.nonNeg(),
      lastTaskId: g.rng.chance(0.3) ? null : g.pools.taskId(g.rng),
      fired: g.nonNeg(),
      missedTicks: g.nonNeg(),
    })),
  }),
  purged: (g) => ({
    ...reply(g, "purged"),
    matched: g.nonNeg(),
    removed: g.nonNeg(),
    dryRun: g.bool(),
  }),
  logs: (g) => {
    const isFinal = g.bool();
    const text = () => {
      // Room for the text after the offset: `next` is an offset too.
      const offset = Math.max(0, g.nonNeg() - 100);
      const body = g.str(0, 100);
      return { offset, text: body, next: isFinal ? null : offset + body.length };
    };
    return {
      ...reply(g, "logs"),
      taskId: g.pools.taskId(g.rng),
      state: g.rng.pick(TASK_STATES),
      attempt: g.nonNeg(),
      isFinal,
      stdout: text(),
      stderr: text(),
      error: g.bool() ? null : g.str(0, 100),
    };
  },
  userList: (g) => ({
    ...reply(g, "userList"),
    users: Array.from({ length: g.rng.int(0, 3) }, () => ({
      name: g.str(0, 20),
      role: g.rng.pick(["admin", "user"]),
      createdAtMs: g.nonNeg(),
      sessions: g.nonNeg(),
    })),
  }),
  tokenList: (g) => ({
    ...reply(g, "tokenList"),
    tokens: Array.from({ length: g.rng.int(0, 3) }, () => ({
      id: g.str(0, 12),
      user: g.str(0, 20),
      issuedAtMs: g.nonNeg(),
      expiresAtMs: g.nonNeg(),
    })),
  }),
};

const WORKER_MESSAGES: Record<string, Builder> = {
  register: (g) => ({
    ...g.env("register"),
    worker: g.workerInfo(),
    running: Array.from(
      { length: g.rng.chance(0.005) ? LIMITS.workerSlotsMax : g.rng.int(0, 3) },
      () => g.taskRef(),
    ),
  }),
  started: (g) => ({ ...g.env("started"), ...g.taskRef() }),
  finished: (g) => ({ ...g.env("finished"), ...g.taskRef(), outcome: g.outcome() }),
  handBack: (g) => ({
    ...g.env("handBack"),
    ...g.taskRef(),
    reason: g.str(0, LIMITS.descriptionChars),
  }),
  drain: (g) => g.env("drain"),
  output: (g) => ({
    ...g.env("output"),
    ...g.taskRef(),
    stream: g.rng.pick(["stdout", "stderr"]),
    offset: g.nonNeg(),
    text: g.str(1, g.rng.chance(0.01) ? LIMITS.liveOutputMessageChars : 200),
  }),
};

const ORCHESTRATOR_TO_WORKER: Record<string, Builder> = {
  welcome,
  keepalive: (g) => g.env("keepalive"),
  registered: (g) => ({
    ...g.env("registered"),
    workerId: g.pools.workerName(g.rng),
    heartbeatIntervalMs: g.positive(),
  }),
  assign: (g) => ({ ...g.env("assign"), ...g.taskRef(), spec: g.spec() }),
  abort: (g) => ({ ...g.env("abort"), ...g.taskRef(), reason: g.str(0, 40) }),
  finishedAck: (g) => ({ ...g.env("finishedAck"), ...g.taskRef() }),
  evicted: (g) => ({ ...g.env("evicted"), reason: g.str(0, 40) }),
  error: errorReply,
};

const HELLO_MESSAGES: Record<string, Builder> = {
  hello: (g) => {
    const hello: Json = { ...g.env("hello"), role: g.rng.pick(["client", "worker", "peer"]) };
    g.maybe(hello, "nodeId", () => g.str(1, 64));
    g.maybe(hello, "clusterId", () => g.str(1, 64));
    return g.maybe(hello, "nonce", () => g.nonce());
  },
  authenticate: (g) => ({ ...g.env("authenticate"), proof: g.nonce() }),
};

const HEARTBEATS: Record<string, Builder> = {
  heartbeat: (g) =>
    g.maybe(
      {
        ...g.env("heartbeat"),
        workerId: g.pools.workerName(g.rng),
        incarnation: g.pools.incarnation(g.rng),
        seq: g.nonNeg(),
        running: g.nonNeg(),
        slots: g.positive(),
        sentAtMs: g.nonNeg(),
      },
      "mac",
      () => charsFrom(g.rng, LOWER_HEX, intIn(g.rng, 0, 64)),
    ),
};

/**
 * The largest term or index peer_messages.ts accepts (2^52; builds before that bound accepted
 * up to 2^53-1, which mutations still produce).
 */
const RAFT_NUMBER_MAX = 2 ** 52;

/** Raft numbers: mostly small (so they meet the receiver's state), sometimes huge. */
function raftNumber(g: Gen): number {
  return g.rng.chance(0.8) ? g.rng.int(0, 12) : intIn(g.rng, 0, RAFT_NUMBER_MAX);
}

const PEER_MESSAGES: Record<string, Builder> = {
  requestVote: (g) => ({
    ...g.env("requestVote"),
    term: raftNumber(g),
    lastLogIndex: raftNumber(g),
    lastLogTerm: raftNumber(g),
    preVote: g.bool(),
  }),
  voteResponse: (g) => ({
    ...g.env("voteResponse"),
    term: raftNumber(g),
    granted: g.bool(),
    preVote: g.bool(),
  }),
  appendEntries: (g) => {
    const prevLogIndex = raftNumber(g);
    const term = raftNumber(g);
    return {
      ...g.env("appendEntries"),
      term,
      prevLogIndex,
      prevLogTerm: raftNumber(g),
      entries: g.entries(prevLogIndex + 1, term, g.rng.int(0, 3)),
      leaderCommit: raftNumber(g),
      readCtx: raftNumber(g),
    };
  },
  appendResponse: (g) => ({
    ...g.env("appendResponse"),
    term: raftNumber(g),
    success: g.bool(),
    matchIndex: raftNumber(g),
    conflictIndex: raftNumber(g),
    readCtx: raftNumber(g),
  }),
  installSnapshot: (g) => ({
    ...g.env("installSnapshot"),
    term: raftNumber(g),
    snapshotIndex: raftNumber(g),
    snapshotTerm: raftNumber(g),
    offset: g.rng.chance(0.7) ? 0 : raftNumber(g),
    data: g.rng.chance(0.5) ? charsFrom(g.rng, BASE64_CHARS, g.rng.int(0, 64)) : g.str(0, 64),
    done: g.bool(),
  }),
  snapshotResponse: (g) => ({
    ...g.env("snapshotResponse"),
    term: raftNumber(g),
    snapshotIndex: raftNumber(g),
    received: raftNumber(g),
    done: g.bool(),
  }),
};

const ANNOUNCEMENTS: Record<string, Builder> = {
  leaderAnnouncement: (g) =>
    g.maybe(
      {
        ...g.env("leaderAnnouncement"),
        clusterId: g.str(1, 64),
        nodeId: g.str(1, 64),
        term: g.nonNeg(),
        address: g.str(3, 300),
        seq: g.nonNeg(),
        sentAtMs: g.nonNeg(),
      },
      "mac",
      () => charsFrom(g.rng, LOWER_HEX, 64),
    ),
};

/** Every builder, by direction and message type. */
export const BUILDERS: Record<DirectionName, Record<string, Builder>> = {
  hello: HELLO_MESSAGES,
  clientToOrchestrator: CLIENT_REQUESTS,
  orchestratorToClient: ORCHESTRATOR_REPLIES,
  workerToOrchestrator: WORKER_MESSAGES,
  orchestratorToWorker: ORCHESTRATOR_TO_WORKER,
  heartbeat: HEARTBEATS,
  peer: PEER_MESSAGES,
  announcement: ANNOUNCEMENTS,
};

/**
 * A valid message of `direction`: of `type` when given, else of a random type.
 * @throws {RangeError} for a type the direction does not have.
 */
export function generateMessage(
  rng: Rng,
  direction: DirectionName,
  options: { type?: string; pools?: Pools } = {},
): Json {
  const builders = BUILDERS[direction];
  const type = options.type ?? rng.pick(Object.keys(builders));
  const build = builders[type];
  if (build === undefined) {
    throw new RangeError(`No generator for ${type} messages of direction ${direction}`);
  }
  return build(new Gen(rng, options.pools ?? RANDOM_POOLS));
}

/** Log entries with the given first index and term, for stateful Raft targets. */
export function generateEntries(
  rng: Rng,
  options: { from: number; term: number; count: number; pools?: Pools },
): Json[] {
  return new Gen(rng, options.pools ?? RANDOM_POOLS).entries(
    options.from,
    options.term,
    options.count,
  );
}

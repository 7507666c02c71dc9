/**
 * The cluster file: one JSON document shared by orchestrators, workers and
 * clients. It lists the orchestrators and the cluster's timeouts and users.
 * Every field is validated on load; unknown fields are errors (a typo must
 * not silently fall back to a default). The schema is documented in the
 * README ("Configuration").
 * @module
 */
import { fileURLToPath } from "node:url";
import { z } from "npm:zod@4.6.7";
import { isPasswordHash } from "../auth/mod.ts";
import { DEFAULT_MAX_FRAME_BYTES, LIMITS } from "../limits.ts";
import { QueueNameSchema } from "../protocol/task_schemas.ts";

const DAY_MS = 24 * 3600 * 1000;

export const OrchestratorAddressSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, '.', '_' or '-' (1-64)"),
  host: z.string().min(1).max(255),
  port: z.number().int().min(0).max(65535),
  /** Where it serves the HTTP API and /metrics (TLS as the TCP port); absent: no HTTP. */
  httpPort: z.number().int().min(0).max(65535).optional(),
}).strict();
export type OrchestratorAddress = z.infer<typeof OrchestratorAddressSchema>;

export const UserSchema = z.object({
  name: z.string().regex(
    /^[A-Za-z0-9_.@-]+$/,
    "letters, digits, '_', '.', '@' or '-'",
  ).max(LIMITS.userNameChars),
  passwordHash: z.string().refine(
    isPasswordHash,
    "must be an scrypt hash from `deno task add-user`",
  ),
  /** "admin" may manage users and tokens and see every task; default "user". */
  role: z.enum(["admin", "user"]).default("user"),
}).strict();
export type UserEntry = z.infer<typeof UserSchema>;

const RetentionLimitsSchema = {
  keepFinishedForMs: z.number().int().min(0).max(100 * 365 * DAY_MS),
  keepFinishedTasks: z.number().int().min(0).max(1_000_000_000),
};

export const RetentionSchema = z.object({
  keepFinishedForMs: RetentionLimitsSchema.keepFinishedForMs.default(7 * DAY_MS),
  keepFinishedTasks: RetentionLimitsSchema.keepFinishedTasks.default(1_000_000),
  /** A sweep that found nothing to remove runs again after this long. */
  sweepIntervalMs: z.number().int().min(10).max(3_600_000).default(1000),
  users: z.record(
    z.string().regex(/^[A-Za-z0-9_.@-]+$/, "letters, digits, '_', '.', '@' or '-'")
      .max(LIMITS.userNameChars),
    z.object({
      keepFinishedForMs: RetentionLimitsSchema.keepFinishedForMs.optional(),
      keepFinishedTasks: RetentionLimitsSchema.keepFinishedTasks.optional(),
    }).strict(),
  ).default({}),
}).strict();

export const ClusterConfigSchema = z.object({
  /** Names the cluster; nodes of another cluster are refused. */
  clusterId: z.string().min(1).max(64).default("mutirao"),
  orchestrators: z.array(OrchestratorAddressSchema).min(1).max(15),
  /** Workers send a UDP heartbeat this often. */
  heartbeatIntervalMs: z.number().int().min(20).max(60_000).default(500),
  /** A worker is declared dead after this many intervals without a heartbeat. */
  missedHeartbeats: z.number().int().min(2).max(100).default(3),
  scheduler: z.enum(["round-robin", "least-loaded"]).default("round-robin"),
  /** How long a login token stays valid. */
  tokenTtlMs: z.number().int().min(1000).max(365 * DAY_MS).default(DAY_MS),
  maxFrameBytes: z.number().int().min(4096).max(64 * 1024 * 1024).default(DEFAULT_MAX_FRAME_BYTES),
  /** The Raft leader's heartbeat to the other orchestrators. */
  raftHeartbeatIntervalMs: z.number().int().min(10).max(10_000).default(100),
  /** A follower that hears no leader for a random time in [min, max] starts an election. */
  electionTimeoutMinMs: z.number().int().min(50).max(60_000).default(500),
  electionTimeoutMaxMs: z.number().int().min(60).max(120_000).default(1000),
  /** A snapshot is taken after this many log entries, bounding restart time. */
  snapshotEveryEntries: z.number().int().min(10).max(10_000_000).default(10_000),
  /**
   * Log entries kept behind the latest snapshot, so a follower that is only a little behind
   * catches up from the log; one further behind is sent the snapshot.
   */
  snapshotCatchUpEntries: z.number().int().min(0).max(10_000_000).default(5000),
  /**
   * Submissions per second one user may make (a token bucket with `submitBurstPerUser`);
   * beyond it they get a "slow down" error. 0 = unlimited.
   */
  submitRatePerUser: z.number().int().min(0).max(10_000_000).default(1000),
  submitBurstPerUser: z.number().int().min(0).max(100_000_000).default(10_000),
  /**
   * Tasks one user may have queued or running at once; beyond it submissions are refused with
   * "quota". 0 = unlimited.
   */
  maxActiveTasksPerUser: z.number().int().min(0).max(100_000_000).default(10_000),
  /**
   * Tasks one user may have running at once (the scheduler leaves the rest queued, with that
   * reason). 0 = unlimited.
   */
  maxRunningTasksPerUser: z.number().int().min(0).max(100_000_000).default(0),
  /**
   * Named queues' settings: `maxRunning` tasks of the queue run at once, cluster-wide (the rest
   * wait). Queues need no declaration: a task names one with `submit --queue`, a worker takes
   * from those it lists with `--queues`.
   */
  /**
   * A task that has waited this long since it was submitted goes ahead of every priority of its
   * queue, oldest first: no task starves behind a stream of higher priorities. 0: strict priorities.
   */
  priorityAgingMs: z.number().int().min(0).max(365 * DAY_MS).default(60_000),
  queues: z.record(
    QueueNameSchema,
    z.object({ maxRunning: z.number().int().min(1).max(100_000_000) }).strict(),
  ).default({}),
  /**
   * Tasks the cluster keeps for one user, in any state (finished ones count until `retention`
   * removes them). 0 = unlimited.
   */
  maxRetainedTasksPerUser: z.number().int().min(0).max(1_000_000_000).default(1_000_000),
  /**
   * How long finished (succeeded, failed, cancelled) tasks are kept: the leader removes them,
   * with their idempotency keys, once older than `keepFinishedForMs` or beyond the newest
   * `keepFinishedTasks` (0 = no limit of that kind). `users` overrides either limit per user.
   * Queued and running tasks are never removed. `status` of a removed task says "expired".
   */
  retention: RetentionSchema.default({
    keepFinishedForMs: 7 * DAY_MS,
    keepFinishedTasks: 1_000_000,
    sweepIntervalMs: 1000,
    users: {},
  }),
  /**
   * When set, `/metrics` on the HTTP port answers only `Authorization: Bearer <metricsToken>`
   * (401 otherwise); absent: no auth, as Prometheus scrapes by default (SECURITY.md).
   */
  metricsToken: z.string().min(16).max(4096).regex(/^[\x21-\x7e]+$/).optional(),
  /** Defences against hostile or broken clients (SECURITY.md, "Hostile input"). */
  maxConnectionsPerSource: z.number().int().min(1).max(1_000_000).default(256),
  maxInflightPerConnection: z.number().int().min(1).max(1_000_000).default(256),
  /** A connection must say hello within this time. */
  helloTimeoutMs: z.number().int().min(100).max(3_600_000).default(10_000),
  /** A frame must arrive whole within this time once begun (slowloris). */
  partialFrameTimeoutMs: z.number().int().min(100).max(3_600_000).default(10_000),
  /** Attempts a task gets when workers die under it (or hand it back) before it fails. */
  defaultMaxAttempts: z.number().int().min(1).max(LIMITS.maxAttemptsMax).default(5),
  /**
   * Accounts the leader applies once per password hash (SECURITY.md, "Accounts and passwords"):
   * a new name is created, a new hash sets the password; `mutirao user ...` changes made since
   * are not undone.
   */
  users: z.array(UserSchema).default([]),
  /**
   * "GROUP:PORT": the leader announces itself there so workers and clients can find it without
   * a static list. Off (null) unless set; only for networks meant for multicast.
   */
  multicast: z.string().nullable().default(null),
  /** Local interface address to join the multicast group on. */
  multicastInterface: z.string().default("127.0.0.1"),
  /**
   * The cluster secret (`deno task cluster-secret FILE` makes one, mode 0600): when set, workers
   * and orchestrators must prove they hold it on every connection, and heartbeats and leader
   * announcements carry its HMAC. Clients (users) do not need it.
   */
  clusterSecretFile: z.string().min(1).nullable().default(null),
  /**
   * TLS for every TCP connection: orchestrators serve with certFile/keyFile; everyone verifies
   * orchestrators against caFile. Off (null) by default.
   */
  tls: z.object({
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    caFile: z.string().min(1),
  }).strict().nullable().default(null),
  /** Marks a configuration with well-known demo passwords; each orchestrator says so once at start. */
  demo: z.boolean().default(false),
}).strict().superRefine((config, ctx) => {
  if (
    config.raftHeartbeatIntervalMs >= config.electionTimeoutMinMs ||
    config.electionTimeoutMinMs >= config.electionTimeoutMaxMs
  ) {
    ctx.addIssue({
      code: "custom",
      path: ["electionTimeoutMinMs"],
      message: "need raftHeartbeatIntervalMs < electionTimeoutMinMs < electionTimeoutMaxMs",
    });
  }
  // Two listeners on one host and port cannot both bind: say so now, not at the second's start.
  const taken = new Set<string>(config.orchestrators.map((o) => `${o.host}:${o.port}`));
  for (const [i, o] of config.orchestrators.entries()) {
    if (o.httpPort === undefined || o.httpPort === 0) continue;
    const address = `${o.host}:${o.httpPort}`;
    if (taken.has(address)) {
      ctx.addIssue({
        code: "custom",
        path: ["orchestrators", i, "httpPort"],
        message: `${address} is already another port of an orchestrator`,
      });
    }
    taken.add(address);
  }
  const ids = new Set<string>();
  for (const [i, o] of config.orchestrators.entries()) {
    if (ids.has(o.id)) {
      ctx.addIssue({
        code: "custom",
        path: ["orchestrators", i, "id"],
        message: `duplicate id "${o.id}"`,
      });
    }
    ids.add(o.id);
  }
  const names = new Set<string>();
  for (const [i, u] of config.users.entries()) {
    if (names.has(u.name)) {
      ctx.addIssue({
        code: "custom",
        path: ["users", i, "name"],
        message: `duplicate user "${u.name}"`,
      });
    }
    names.add(u.name);
  }
});
export type ClusterConfig = z.infer<typeof ClusterConfigSchema>;

/** The cluster file used when none is given: the demo cluster in this repository. */
export const DEFAULT_CONFIG_PATH: string = fileURLToPath(
  new URL("../../config/demo.json", import.meta.url),
);

/**
 * Validates a parsed cluster file.
 * @throws {TypeError} naming the first invalid field.
 */
export function parseClusterConfig(value: unknown, source: string): ClusterConfig {
  const parsed = ClusterConfigSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.path.length > 0 ? `field "${issue.path.join(".")}": ` : "";
    throw new TypeError(`Invalid cluster file ${source}: ${path}${issue.message}`);
  }
  return parsed.data;
}

/**
 * Reads and validates a cluster file.
 * @throws {Error} when the file cannot be read or parsed, or is invalid; the message names the file.
 */
export async function loadClusterConfig(path: string): Promise<ClusterConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(`Cannot read cluster file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`Cluster file ${path} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseClusterConfig(value, path);
}

/** "host:port" of an orchestrator. */
export function addressOf(o: { host: string; port: number }): string {
  return `${o.host}:${o.port}`;
}

/**
 * Parses "host:port[,host:port...]" (the --orchestrators flag and $MUTIRAO_ORCHESTRATORS).
 * @throws {TypeError} naming the bad item.
 */
export function parseAddressList(text: string): OrchestratorAddress[] {
  return text.split(",").map((item, i) => {
    const trimmed = item.trim();
    const match = /^(.+):(\d{1,5})$/.exec(trimmed);
    const port = match === null ? NaN : Number(match[2]);
    if (match === null || port < 1 || port > 65535) {
      throw new TypeError(`Invalid orchestrator address "${trimmed}": expected HOST:PORT`);
    }
    return { id: `o${i + 1}`, host: match[1], port };
  });
}

/**
 * Every bound the protocol enforces, in one place. Decoders, the CLI and the
 * cores read these; nothing else hard-codes a limit.
 * @module
 */

/** The wire protocol version this build speaks. */
export const PROTOCOL_VERSION = 1;

/** Largest frame payload accepted by default (configurable per cluster). */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

/**
 * Largest frame a client or worker accepts from an orchestrator. Replies may legitimately exceed
 * what an orchestrator accepts from clients (a task view holds its spec plus 2 x 64 KiB of
 * output), and orchestrators are who the client chose to trust.
 */
export const MAX_REPLY_FRAME_BYTES = 16 * 1024 * 1024;

/** Characters of a task's description shown in lists (the whole one is in `status`). */
export const SUMMARY_DESCRIPTION_CHARS = 200;

/** Largest datagram we send or accept (heartbeats are far smaller). */
export const MAX_DATAGRAM_BYTES = 8 * 1024;

/**
 * Largest Lamport time accepted on the wire or by a clock. 2^52 leaves 2^52 local ticks of
 * headroom below Number.MAX_SAFE_INTEGER, more than any cluster will use.
 */
export const LAMPORT_MAX = 2 ** 52;

/**
 * Largest forward jump an orchestrator takes from a client's Lamport time. Clients are not
 * trusted: without a bound, one request stamped near LAMPORT_MAX would exhaust every clock.
 * Legitimate clients are never this far ahead (their clocks follow the cluster's).
 */
export const LAMPORT_CLIENT_JUMP_MAX = 2 ** 20;

/** Bounds on task fields and requests. */
export const LIMITS = {
  descriptionChars: 4096,
  argvItems: 256,
  argChars: 8192,
  /** Maximum run time of one task (sleep duration or exec time limit): 7 days. */
  taskDurationMsMax: 7 * 24 * 3600 * 1000,
  /** How much of a task's stdout and of its stderr is kept: the last 64 KiB of each. */
  outputTailBytes: 64 * 1024,
  /**
   * Live output (`logs --follow`): characters of a running attempt's stdout, and of its stderr,
   * the leader keeps (the newest; UTF-16 code units, so at most 128 KiB of memory each).
   */
  liveOutputTailChars: 64 * 1024,
  /** Characters of output one `output` message from a worker carries (one stream's batch). */
  liveOutputMessageChars: 32 * 1024,
  /**
   * Characters of live output the leader keeps in all, across running attempts: past it, the
   * attempts written to least recently lose what they kept (their offsets go on).
   */
  liveOutputTotalChars: 32 * 1024 * 1024,
  userNameChars: 64,
  passwordChars: 1024,
  idempotencyKeyChars: 128,
  taskIdChars: 64,
  workerNameChars: 256,
  workerSlotsMax: 1024,
  /** Tasks a worker may hold assigned beyond its slots, started as slots free (`--prefetch`). */
  workerPrefetchMax: 1024,
  listLimitDefault: 50,
  listLimitMax: 1000,
  waitTimeoutMsMax: 10 * 60 * 1000,
  maxAttemptsMax: 100,
  /** A task kind served by handlers (`--kind`): a short name, e.g. "resize" or "mail.send". */
  kindChars: 64,
  /** Largest payload of a handler task, as JSON text (a frame holds the submission too). */
  payloadBytesMax: 256 * 1024,
  /** Largest result of a handler task, as JSON text, unless the worker is given a smaller one. */
  resultBytesMax: 256 * 1024,
  /** Retries of a failed attempt a task may ask for (`--retries`). */
  retriesMax: 100,
  /** Longest pause before a retry (`--backoff`, and the cap of exponential backoff): 1 day. */
  backoffMsMax: 24 * 3600 * 1000,
  /** Furthest ahead a task may be put off (`--delay`, `--at`): 1 year. */
  delayMsMax: 366 * 24 * 3600 * 1000,
  /** Handler kinds one worker may serve. */
  workerKindsMax: 256,
  /** Task priorities run from -priorityMax to priorityMax (higher first; default 0). */
  priorityMax: 1000,
  /** Queue names (`--queue`), like task kinds. */
  queueNameChars: 64,
  /**
   * Latest time a task may name (`--at`, and the not-before and queue-deadline times derived from
   * it), in ms since 1970: year 2999, well inside what a Date holds (8.64e15).
   */
  timeMsMax: 32_503_680_000_000,
  /** Longest queue timeout (`--queue-timeout`): 1 year. */
  queueTimeoutMsMax: 366 * 24 * 3600 * 1000,
  /** Tasks one task may wait for (`--after`). */
  afterTasksMax: 100,
  /** Queues one worker may serve (`--queues`). */
  workerQueuesMax: 64,
  /** Tasks in one `submitBatch` request (one round trip, one replicated log batch). */
  batchTasksMax: 5000,
  /** Pending `wait` requests one orchestrator holds at once, in all. */
  waitersMax: 100_000,
  /** ... and from one user: one user's waits must not crowd out everyone else's. */
  waitersPerUserMax: 1000,
  /** Schedules one user may have (`schedule add`). */
  schedulesPerUserMax: 100,
  /** Shortest time between two ticks of a schedule's cron expression. */
  scheduleIntervalMsMin: 1000,
  /** A schedule's name: a letter, then letters, digits, `_`, `.`, `:` or `-` (like a task kind). */
  scheduleNameChars: 64,
  /** A schedule's cron expression. */
  cronChars: 256,
  /** A schedule's IANA time zone name. */
  timeZoneChars: 64,
} as const;

/**
 * Inputs and effects of the orchestrator node. Every input carries the time;
 * effects are plain data the shell carries out in the documented order.
 * @module
 */
import type { ProtocolError } from "../../shared/protocol/codec.ts";
import type {
  ClientToOrchestrator,
  Heartbeat,
  Hello,
  OrchestratorToClient,
  OrchestratorToWorker,
  WorkerToOrchestrator,
} from "../../shared/protocol/messages.ts";
import type { PeerMessage } from "../../shared/protocol/peer_messages.ts";
import type { LogEntry, TaskStateMachine } from "../tasks/mod.ts";
import type { HardState, StoredSnapshot } from "../raft/mod.ts";

/** The shell's handle for one TCP connection. */
export type ConnId = number;

export type NodeInput =
  /** Timers: failure detection, wait timeouts, elections. */
  | { type: "tick"; nowMs: number }
  | {
    type: "hello";
    conn: ConnId;
    hello: Hello;
    /** With a cluster secret: the shell's nonce and proof, sent back in the welcome. */
    challenge?: { nonce: string; proof: string };
    nowMs: number;
  }
  /** The shell dropped a UDP datagram (counted, reported by `cluster`). */
  | {
    type: "datagramRejected";
    reason: "malformed" | "forged" | "stale" | "replayed";
    nowMs: number;
  }
  /**
   * A decoded client request. The shell hashes the request's token (SHA-256)
   * into `tokenHash`, so the core never needs crypto.
   */
  | {
    type: "clientRequest";
    conn: ConnId;
    request: Exclude<ClientToOrchestrator, { type: "login" }>;
    tokenHash: string;
    /**
     * For userAdd/userPasswd: the scrypt hash of the request's password, computed by the shell
     * when the node asked for it (`passwordWork`). Without it the node asks, once the request
     * is authenticated, routed and authorized: no scrypt for a bad token or on a follower.
     */
    passwordHash?: string;
    /** For a change of one's own password: the shell's check of `currentPassword`. */
    currentPasswordCheck?: CurrentPasswordCheck;
    nowMs: number;
  }
  /**
   * A decoded login. A leader that can serve clients asks for the password check (`loginWork`,
   * with the account's current hash); any other node answers at once as for a refused check.
   */
  | {
    type: "login";
    conn: ConnId;
    request: Extract<ClientToOrchestrator, { type: "login" }>;
    /** The client's address, for the login throttle and the log. */
    source: string;
    nowMs: number;
  }
  /** The shell checked a login's password (scrypt is slow and belongs outside the core). */
  | {
    type: "loginChecked";
    conn: ConnId;
    requestId: number;
    lamport: number;
    user: string;
    /** Null when the credentials were wrong (or the attempt was throttled). */
    session: { token: string; tokenHash: string; expiresAtMs: number } | null;
    /** Set when the attempt was refused without checking: too many recent failures. */
    retryAfterMs?: number;
    /**
     * The account's password hash the attempt was checked against (null: no such user). A
     * refusal stands only if the linearizable state still has that hash; a session opens only if
     * the account still has it when its entry applies.
     */
    checkedPasswordHash?: string | null;
    /** The client's address, for the log (never the password or token). */
    source?: string;
    nowMs: number;
  }
  | { type: "workerMessage"; conn: ConnId; message: WorkerToOrchestrator; nowMs: number }
  | { type: "heartbeat"; heartbeat: Heartbeat; nowMs: number }
  /** A frame that did not decode; the node replies with the error (and logs it). */
  | { type: "protocolError"; conn: ConnId; error: ProtocolError; nowMs: number }
  | { type: "connectionClosed"; conn: ConnId; nowMs: number }
  /** Everything staged up to entry `index` (of term `term`), and what was staged with it, is durable. */
  | { type: "persisted"; index: number; term: number; nowMs: number }
  /** The connection from another orchestrator closed (it may have died). */
  | { type: "peerDisconnected"; from: string; nowMs: number }
  /** A decoded message from another orchestrator. */
  | { type: "peerMessage"; from: string; message: PeerMessage; nowMs: number };

/** How the shell found a password change's `currentPassword` (scrypt, login throttle). */
export type CurrentPasswordCheck =
  /** Right for `checkedPasswordHash`: it stands only if the account still has that hash. */
  | { verdict: "ok"; checkedPasswordHash: string }
  /** Wrong for `checkedPasswordHash` (null: no such account). */
  | { verdict: "wrong"; checkedPasswordHash: string | null }
  /** Refused unchecked: too many recent failures (or attempts at once). */
  | { verdict: "throttled"; retryAfterMs: number };

/**
 * An authorized userAdd/userPasswd the node needs scrypt for: the shell checks the current
 * password when `verifyCurrentOf` names an account, then (if it is right) hashes the new one,
 * and steps the request again as a `clientRequest` carrying the results.
 */
export interface PasswordWork {
  conn: ConnId;
  request: Extract<ClientToOrchestrator, { type: "userAdd" | "userPasswd" }>;
  tokenHash: string;
  /** The account whose current password `request.currentPassword` must be; null: none. */
  verifyCurrentOf: string | null;
  /** That account's password hash when the node asked (null: no such account). */
  currentPasswordHash?: string | null;
}

/**
 * A login's password to check (scrypt, throttled, through the hash gate), then step the result
 * as `loginChecked`. `passwordHash` is the account's hash when the node asked (null: no such
 * account); the node opens a session only if the account still has it.
 */
export interface LoginWork {
  conn: ConnId;
  request: Extract<ClientToOrchestrator, { type: "login" }>;
  source: string;
  passwordHash: string | null;
}

export interface Outbound {
  conn: ConnId;
  message: OrchestratorToClient | OrchestratorToWorker;
}

/** A message for another orchestrator. */
export interface PeerOutbound {
  to: string;
  message: PeerMessage;
}

export interface LogLine {
  level: "debug" | "info" | "warn" | "error";
  message: string;
}

/**
 * What the shell must do with the result of one step:
 * - `persist`: save the snapshot (if any, first; with `discardLog` also drop
 *   the log after it), append the entries and hard state durably (write +
 *   fsync), then report `persisted` with the last entry written. Batch several
 *   steps' worth into one fsync (group commit);
 * - `peerSend`: send to other orchestrators at once;
 * - `peerSendAfterPersist`: send only once everything staged so far is
 *   durable — this step's `persist` and any earlier step's still being written
 *   (votes and acknowledgements promise durability);
 * - `send`: deliver at once. No message here depends on this step's `persist`:
 *   replies that need durability are only produced after `persisted` (for
 *   example a submission is acknowledged once its entry is committed);
 * - `close`: close these connections after writing what is queued for them;
 * - `log`: write these lines to the node's log;
 * - `passwordWork`: run scrypt for these requests (bounded), then step each again;
 * - `loginWork`: check these logins' passwords (bounded), then step each `loginChecked`;
 * - `snapshotDue`: a local snapshot is due: encode `state` as of `index` (off the step; skip it
 *   if one is still being taken), write it through the persistence queue behind this step's
 *   `persist`, then call `snapshotTaken`;
 * - `announce`: tell the multicast group (if any) that this node leads in `term` (last: it
 *   reports the state after everything above).
 */
export interface NodeEffects {
  persist: {
    snapshot: (StoredSnapshot & { discardLog: boolean }) | null;
    entries: LogEntry[];
    hardState: HardState | null;
  };
  peerSend: PeerOutbound[];
  peerSendAfterPersist: PeerOutbound[];
  send: Outbound[];
  close: ConnId[];
  log: LogLine[];
  passwordWork: PasswordWork[];
  loginWork: LoginWork[];
  snapshotDue: SnapshotDue | null;
  announce: LeaderAnnouncementDue | null;
}

/** What a due local snapshot holds: the state as applied up to entry `index` of term `term`. */
export interface SnapshotDue {
  index: number;
  term: number;
  /** The live state machine: the shell must capture it before the node's next step. */
  state: TaskStateMachine;
}

/** A leader's announcement is due (see announce_schedule.ts); the shell adds where it listens. */
export interface LeaderAnnouncementDue {
  term: number;
  lamport: number;
}

export function emptyEffects(): NodeEffects {
  return {
    persist: { snapshot: null, entries: [], hardState: null },
    peerSend: [],
    peerSendAfterPersist: [],
    send: [],
    close: [],
    log: [],
    passwordWork: [],
    loginWork: [],
    snapshotDue: null,
    announce: null,
  };
}

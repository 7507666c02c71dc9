/**
 * Drives an in-process OrchestratorNode the way its shell does, and checks it after every step.
 * Built like the Driver of orchestrator/core/orchestrator_node_test.ts: a RaftLog (one voter by
 * default, so it elects itself and commits what it persists), bootstrap users, every staged
 * entry reported back as `persisted`, snapshots taken every few hundred entries (which lets the
 * log compact, as the shell's do), and restarts from snapshot plus log tail on demand.
 *
 * Checked after every step: nothing throws; `findInvariantViolations(node.sm)` is empty; every
 * message sent decodes with the receiver's schema (codec.ts) and fits in one frame; Lamport
 * times sent only grow; every entry staged decodes as a log entry (followers check them); and,
 * at quiescent points, every client request got exactly one reply (reply_ledger.ts).
 * @module
 */
import type { ConnId, NodeEffects, NodeInput, NodeOptions } from "../../orchestrator/core/mod.ts";
import type { PasswordWork, PeerOutbound } from "../../orchestrator/core/node_io.ts";
import { buildNode, type OrchestratorNode } from "../../orchestrator/core/mod.ts";
import {
  encodeSnapshot,
  findInvariantViolations,
  type LogEntry,
  takeSnapshot,
  type TaskStateMachine,
} from "../../orchestrator/tasks/mod.ts";
import {
  bytesSnapshotRef,
  type HardState,
  type StoredSnapshot,
} from "../../orchestrator/storage/mod.ts";
import { PEER_MAX_FRAME_BYTES } from "../../orchestrator/shell/peer_links.ts";
import * as limits from "../../shared/limits.ts";
import { createPrng } from "../../shared/prng.ts";
import { decodeValue, DIRECTIONS, encodeMessage } from "../../shared/protocol/codec.ts";
import { directionOf } from "./message_generators.ts";
import { LogEntrySchema } from "../../shared/protocol/commands.ts";
import { canonicalJson } from "../sim/canonical_json.ts";
import { FuzzViolation } from "./fuzz_violation.ts";
import { ReplyLedger } from "./reply_ledger.ts";

/** Accounts every fuzzed node starts with: one admin, one plain user. */
export const BOOTSTRAP_USERS = [
  { name: "alice", role: "admin" as const, passwordHash: "scrypt$fuzz$alice" },
  { name: "bob", role: "user" as const, passwordHash: "scrypt$fuzz$bob" },
];

/**
 * The largest frame clients and workers accept from an orchestrator: MAX_REPLY_FRAME_BYTES in
 * builds that have it (replies may exceed what clients may send), else the request limit.
 * Read by name because that constant is being introduced while this suite is written.
 */
export const REPLY_FRAME_LIMIT: number =
  (limits as { MAX_REPLY_FRAME_BYTES?: number }).MAX_REPLY_FRAME_BYTES ??
    limits.DEFAULT_MAX_FRAME_BYTES;

/** Peer messages kept for a scenario to answer. */
const MAX_PEER_OUTBOX = 256;

/** Client connection ids are below this; worker connection ids from it. */
export const FIRST_WORKER_CONN = 1_000_000;

export interface NodeHarnessOptions {
  /** Raft voters; this node is the first. Default: one voter. */
  voters?: readonly string[];
  nowMs?: number;
  /** Entries between snapshots (which compact the log). */
  snapshotEveryEntries?: number;
  node?: Partial<NodeOptions>;
  /** Counts every message the node sends, by type (errors by code), for the summary. */
  tally?: (outcome: string) => void;
}

const decoder = new TextDecoder();

/** The durable state a restart recovers from. */
interface Disk {
  hardState: HardState;
  snapshot: StoredSnapshot | null;
  entries: LogEntry[];
}

export class NodeHarness {
  node: OrchestratorNode;
  /** The latest time fed (the node never goes back in time, whatever the input says). */
  nowMs: number;
  /** When the last tick was fed. */
  lastTickMs: number;
  readonly ledger = new ReplyLedger();
  readonly options: NodeHarnessOptions;
  readonly nodeOptions: NodeOptions;
  /** Entries staged for persistence and not yet reported durable. */
  #staged: LogEntry[] = [];
  #stagedHardState: HardState | null = null;
  #disk: Disk = { hardState: { term: 0, votedFor: null }, snapshot: null, entries: [] };
  #lastSentLamport = 0;
  #restarts = 0;
  /** Messages the node sent to other orchestrators, oldest first (the last few hundred). */
  readonly peerOutbox: PeerOutbound[] = [];
  /** scrypt work the node asked for and the scenario has not carried out yet. */
  readonly passwordWork: PasswordWork[] = [];
  /** The local snapshot the node asked for, encoded when asked, written after the step. */
  #due: StoredSnapshot | null = null;

  constructor(options: NodeHarnessOptions = {}) {
    this.options = options;
    this.nowMs = options.nowMs ?? 1_000_000;
    this.lastTickMs = this.nowMs;
    this.nodeOptions = {
      nodeId: "o1",
      clusterId: "fuzz",
      heartbeatIntervalMs: 1000,
      missedHeartbeats: 3,
      schedulerPolicy: "round-robin",
      defaultMaxAttempts: 3,
      bootstrapUsers: BOOTSTRAP_USERS,
      peers: (options.voters ?? ["o1"]).map((id) => ({ id, address: `${id}.fuzz:7700` })),
      // The node decides when a local snapshot is due (snapshotDue), as with the shell.
      snapshotEveryEntries: options.snapshotEveryEntries ?? 200,
      ...options.node,
    };
    this.node = this.#boot();
  }

  get isLeader(): boolean {
    return this.node.isLeader;
  }

  /** The term of the entry at `index` in the node's log as staged or durable, if known. */
  termAt(index: number): number | undefined {
    const staged = this.#staged.find((e) => e.index === index);
    if (staged !== undefined) return staged.term;
    const durable = this.#disk.entries.find((e) => e.index === index);
    if (durable !== undefined) return durable.term;
    const snapshot = this.#disk.snapshot;
    if (snapshot !== null && snapshot.index === index) return snapshot.term;
    return index === 0 ? 0 : undefined;
  }

  /** Starts a node from what is on the (simulated) disk. */
  #boot(): OrchestratorNode {
    const disk = this.#disk;
    // As orchestrator_server.ts builds it (a leader's snapshot must cover what it says).
    const { node } = buildNode({
      node: this.nodeOptions,
      raft: {
        nodeId: "o1",
        voters: this.options.voters ?? ["o1"],
        electionTimeoutMinMs: 1000,
        electionTimeoutMaxMs: 2000,
        heartbeatIntervalMs: 100,
        catchUpEntries: 50,
        rng: createPrng(this.#restarts + 1),
      },
      recovered: { hardState: disk.hardState, snapshot: disk.snapshot, entries: disk.entries },
      nowMs: this.nowMs,
    });
    this.#collect(node.takeEffects(), "recovery");
    return node;
  }

  /**
   * Feeds one input and checks the result.
   * @throws {FuzzViolation} when the node threw or broke a checked property.
   */
  step(input: NodeInput): NodeEffects {
    this.nowMs = Math.max(this.nowMs, input.nowMs);
    if (input.type === "tick") this.lastTickMs = this.nowMs;
    this.#recordRequest(input);
    let effects: NodeEffects;
    try {
      effects = this.node.step(input);
    } catch (error) {
      throw new FuzzViolation("nodeThrew", `node.step(${input.type}) threw ${describe(error)}`, {
        cause: error,
      });
    }
    this.#collect(effects, input.type);
    if (input.type === "connectionClosed") this.ledger.closed(input.conn);
    this.#checkState(input.type);
    return effects;
  }

  /** Reports everything staged as durable (the shell's fsync), until nothing more is staged. */
  persistAll(): void {
    for (let round = 0; this.#staged.length > 0 || this.#stagedHardState !== null; round++) {
      if (round > 100) throw new FuzzViolation("persistLoop", "persisting never settles");
      const last = this.#staged.at(-1);
      this.#writeStaged();
      if (last !== undefined) {
        this.step({ type: "persisted", index: last.index, term: last.term, nowMs: this.nowMs });
      }
    }
    this.#maybeSnapshot();
  }

  /**
   * Checks what must hold once everything is durable: every request answered (waits by their
   * deadline).
   * @throws {FuzzViolation} naming the first request left without a reply.
   */
  checkQuiescent(): void {
    const overdue = this.ledger.overdue(this.lastTickMs);
    if (overdue.length > 0) {
      const r = overdue[0];
      throw new FuzzViolation(
        "noReply",
        `${r.type} request ${r.id} on connection ${r.conn} got no reply ` +
          `(${overdue.length} request(s) unanswered)`,
      );
    }
  }

  /**
   * Restarts the node from its disk (snapshot plus durable tail), as after a crash: every
   * connection is gone. Checks the restarted node rebuilds the same tasks, workers and sessions.
   * @throws {FuzzViolation} when recovery throws or rebuilds a different state.
   */
  restart(): void {
    this.persistAll();
    const before = comparableState(this.node.sm);
    this.#restarts += 1;
    this.ledger.clear();
    this.passwordWork.length = 0; // its connections died with the node
    this.#due = null; // a snapshot not taken before the crash is simply not there
    // The clock is not persisted: a restarted node starts from the highest Lamport time in its
    // state, which may be below what it sent before (no one can tell: those connections died).
    this.#lastSentLamport = 0;
    try {
      this.node = this.#boot();
    } catch (error) {
      throw new FuzzViolation("restartThrew", `restarting the node threw ${describe(error)}`, {
        cause: error,
      });
    }
    this.persistAll();
    const after = comparableState(this.node.sm);
    if (after !== before) {
      throw new FuzzViolation("restartDiverged", "the restarted node rebuilt a different state");
    }
  }

  #recordRequest(input: NodeInput): void {
    switch (input.type) {
      case "clientRequest":
        // A request stepped again with the scrypt work it asked for is the same request.
        if (input.passwordHash !== undefined || input.currentPasswordCheck !== undefined) return;
        this.ledger.request({
          conn: input.conn,
          id: input.request.id,
          type: input.request.type,
          sentAtMs: this.nowMs,
          deadlineMs: input.request.type === "wait" ? this.nowMs + input.request.timeoutMs : null,
        });
        return;
      case "loginChecked":
        this.ledger.request({
          conn: input.conn,
          id: input.requestId,
          type: "login",
          sentAtMs: this.nowMs,
          deadlineMs: null,
        });
        return;
      case "protocolError":
        if (input.error.requestId !== null && input.conn < FIRST_WORKER_CONN) {
          this.ledger.request({
            conn: input.conn,
            id: input.error.requestId,
            type: `rejected frame (${input.error.code})`,
            sentAtMs: this.nowMs,
            deadlineMs: null,
          });
        }
        return;
      default:
        return;
    }
  }

  #collect(effects: NodeEffects, cause: string): void {
    for (const { conn, message } of effects.send) this.#checkSent(conn, message, cause);
    // The shell's scrypt work: the scenario carries it out (it knows the passwords).
    this.passwordWork.push(...effects.passwordWork);
    // Captured before the node's next step, as the shell must (the state is live).
    if (effects.snapshotDue !== null) {
      const due = effects.snapshotDue;
      this.#due = { index: due.index, term: due.term, data: encodeSnapshot(due.state) };
    }
    for (const outbound of [...effects.peerSend, ...effects.peerSendAfterPersist]) {
      this.#checkPeerMessage(outbound.message, cause);
      this.peerOutbox.push(outbound);
      if (this.peerOutbox.length > MAX_PEER_OUTBOX) this.peerOutbox.shift();
    }
    const { persist } = effects;
    if (persist.snapshot !== null) {
      // A snapshot from a leader (Raft only): it replaces the log up to its index.
      this.#writeStaged();
      this.#disk.snapshot = persist.snapshot;
      this.#disk.entries = persist.snapshot.discardLog
        ? []
        : this.#disk.entries.filter((e) => e.index > persist.snapshot!.index);
    }
    for (const entry of persist.entries) {
      // Followers check entries with this schema (inside appendEntries) and drop what fails.
      const checked = LogEntrySchema.safeParse(entry);
      if (!checked.success) {
        const issue = checked.error.issues[0];
        throw new FuzzViolation(
          "invalidEntry",
          `after ${cause}, the node staged entry ${entry.index} (${entry.command.type}) that ` +
            `followers would refuse: field "${issue.path.join(".")}": ${issue.message}`,
        );
      }
      this.#staged.push(entry);
    }
    if (persist.hardState !== null) this.#stagedHardState = persist.hardState;
  }

  #checkSent(conn: ConnId, message: { type: string; lamport: number }, cause: string): void {
    const toWorker = conn >= FIRST_WORKER_CONN;
    const direction = directionOf(toWorker ? "orchestratorToWorker" : "orchestratorToClient");
    const payload = encodeMessage(message);
    const decoded = decodeValue(JSON.parse(decoder.decode(payload)), direction);
    if (!decoded.ok) {
      throw new FuzzViolation(
        "invalidReply",
        `after ${cause}, the node sent connection ${conn} a ${message.type} its receiver ` +
          `cannot decode: ${decoded.error.message}`,
      );
    }
    if (payload.length > REPLY_FRAME_LIMIT) {
      throw new FuzzViolation(
        "replyTooLarge",
        `after ${cause}, the node sent connection ${conn} a ${message.type} of ` +
          `${payload.length} bytes, over the ${REPLY_FRAME_LIMIT}-byte frame limit ` +
          `its receiver enforces`,
      );
    }
    if (message.lamport <= this.#lastSentLamport) {
      throw new FuzzViolation(
        "lamportBackwards",
        `after ${cause}, a ${message.type} went out at Lamport ${message.lamport}, not after ` +
          `${this.#lastSentLamport}`,
      );
    }
    this.#lastSentLamport = message.lamport;
    const code = (message as { code?: string }).code;
    this.options.tally?.(`out:${message.type}${code === undefined ? "" : `:${code}`}`);
    const re = (message as { re?: number | null }).re;
    if (!toWorker && re !== undefined && re !== null) {
      const problem = this.ledger.reply(conn, re, message.type);
      if (problem !== null) throw new FuzzViolation("extraReply", `after ${cause}, ${problem}`);
    }
  }

  #checkPeerMessage(message: { type: string }, cause: string): void {
    const payload = encodeMessage(message);
    const decoded = decodeValue(JSON.parse(decoder.decode(payload)), DIRECTIONS.peer);
    if (!decoded.ok) {
      throw new FuzzViolation(
        "invalidPeerMessage",
        `after ${cause}, the node sent a ${message.type} its peers cannot decode: ` +
          decoded.error.message,
      );
    }
    if (payload.length > PEER_MAX_FRAME_BYTES) {
      throw new FuzzViolation("peerMessageTooLarge", `a ${message.type} over the peer frame limit`);
    }
  }

  #checkState(cause: string): void {
    const problems = findInvariantViolations(this.node.sm);
    if (problems.length > 0) {
      throw new FuzzViolation(
        "invariant",
        `after ${cause}: ${problems.slice(0, 3).join("; ")}`,
      );
    }
  }

  #writeStaged(): void {
    for (const entry of this.#staged) {
      // An entry at or below the last one truncates the log there (ConsensusOutput.entries).
      const disk = this.#disk.entries;
      while (disk.length > 0 && disk[disk.length - 1].index >= entry.index) disk.pop();
      disk.push(entry);
    }
    this.#staged = [];
    if (this.#stagedHardState !== null) this.#disk.hardState = this.#stagedHardState;
    this.#stagedHardState = null;
  }

  /** Takes the snapshot the node said is due (snapshotDue), once what precedes it is durable. */
  #maybeSnapshot(): void {
    const snapshot = this.#due;
    if (snapshot === null) return;
    this.#due = null;
    if ((this.#disk.snapshot?.index ?? 0) >= snapshot.index) return;
    this.#disk.snapshot = snapshot;
    this.#disk.entries = this.#disk.entries.filter((e) => e.index > snapshot.index);
    try {
      this.node.snapshotTaken(bytesSnapshotRef(snapshot));
    } catch (error) {
      throw new FuzzViolation("snapshotThrew", `snapshotTaken threw ${describe(error)}`, {
        cause: error,
      });
    }
  }
}

/** The replicated state a restart must rebuild, as canonical JSON (accounts aside: bootstrap). */
function comparableState(sm: TaskStateMachine): string {
  const { appliedIndex: _i, appliedTerm: _t, users: _u, ...rest } = takeSnapshot(sm);
  return canonicalJson(rest);
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    return `${error.name}: ${error.message}\n    ${
      error.stack?.split("\n").slice(1, 5).map((l) => l.trim()).join("\n    ")
    }`;
  }
  return String(error);
}

/**
 * What one step of the node produces, as it is produced: messages stamped with the node's
 * Lamport clock, errors, log lines and closes, gathered into the step's {@link NodeEffects}.
 * Nothing goes out while the node recovers, and log lines are silenced while entries already on
 * disk are re-applied, or kept at debug while a catching-up follower applies history.
 * @module
 */
import type { ErrorCode } from "../../shared/errors.ts";
import type { LamportClock } from "../../shared/lamport_clock.ts";
import { PROTOCOL_VERSION } from "../../shared/limits.ts";
import type {
  OrchestratorToClient,
  OrchestratorToWorker,
  Unstamped,
} from "../../shared/protocol/messages.ts";
import { type ConnId, emptyEffects, type LogLine, type NodeEffects } from "./node_io.ts";

export class NodeOutput {
  readonly #clock: LamportClock;
  #effects: NodeEffects = emptyEffects();
  /** Set while recovery applies what the disk held: nothing is sent or logged. */
  recovering = true;
  /** Set while re-applying entries that were on disk at start: no log lines. */
  quietLogs = false;
  /** Set while applying entries committed before they arrived: log lines at debug. */
  historyLogs = false;

  constructor(clock: LamportClock) {
    this.#clock = clock;
  }

  /** The effects gathered so far in this step (persistence and peer sends are added directly). */
  get effects(): NodeEffects {
    return this.#effects;
  }

  /** Hands over what was gathered and starts afresh. */
  take(): NodeEffects {
    const effects = this.#effects;
    this.#effects = emptyEffects();
    return effects;
  }

  /** Sends a message to a client connection. */
  send(conn: ConnId, message: Unstamped<OrchestratorToClient>): void {
    this.#stampAndSend(conn, message);
  }

  /** Sends a message to a worker connection. */
  sendRaw(conn: ConnId, message: Unstamped<OrchestratorToWorker>): void {
    this.#stampAndSend(conn, message);
  }

  /** Stamps a message (protocol version, a fresh Lamport time) and queues it; none while replaying. */
  #stampAndSend(
    conn: ConnId,
    message: Unstamped<OrchestratorToClient> | Unstamped<OrchestratorToWorker>,
  ): void {
    if (this.recovering) return;
    this.#effects.send.push({
      conn,
      message: { ...message, v: PROTOCOL_VERSION, lamport: this.#clock.tick() } as
        | OrchestratorToClient
        | OrchestratorToWorker,
    });
  }

  sendError(
    conn: ConnId,
    requestId: number | null,
    code: ErrorCode,
    message: string,
    leaderHint?: string,
  ): void {
    this.send(conn, {
      type: "error",
      re: requestId,
      code,
      message,
      ...(leaderHint === undefined ? {} : { leaderHint }),
    });
  }

  /** Closes a connection after what is queued for it is written. */
  close(conn: ConnId): void {
    this.#effects.close.push(conn);
  }

  log(level: LogLine["level"], message: string): void {
    if (this.recovering || this.quietLogs) return;
    // History a catching-up follower applies is not news: kept at debug (errors stay errors).
    const shown = this.historyLogs && level !== "error" ? "debug" : level;
    this.#effects.log.push({ level: shown, message });
  }
}

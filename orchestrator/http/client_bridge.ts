/**
 * HTTP requests as client requests: each one gets a connection id of its own (negative, so it
 * never meets a TCP connection's), goes to the node as the same `login` or `clientRequest` input
 * a TCP frame becomes, and waits for the one reply the node owes it. Roles, visibility,
 * linearizable reads and errors are therefore those of the TCP protocol, by construction.
 * @module
 */
import { hashToken } from "../../shared/auth/mod.ts";
import { PROTOCOL_VERSION } from "../../shared/limits.ts";
import { decodeValue, DIRECTIONS } from "../../shared/protocol/codec.ts";
import type {
  ClientToOrchestrator,
  ErrorReply,
  OrchestratorToClient,
} from "../../shared/protocol/messages.ts";
import type { ConnId, NodeInput, Outbound } from "../core/mod.ts";

/** The request id every bridged request carries: each has a connection of its own. */
const REQUEST_ID = 1;

/** What the bridge needs from the server. */
export interface BridgePorts {
  step(input: NodeInput): void;
  /** Requests awaiting replies at once; beyond it a request is refused `rate_limited`. */
  maxAwaiting: number;
  /** A reply not come by then is answered `unavailable` (the node lost its way to answer). */
  replyTimeoutMs: number;
}

/** A request's fields without the envelope the bridge adds (`v`, `lamport`, `id`). */
export type BridgedRequest = Record<string, unknown> & { type: ClientToOrchestrator["type"] };

export class ClientBridge {
  readonly #ports: BridgePorts;
  readonly #awaiting = new Map<ConnId, (reply: OrchestratorToClient) => void>();
  /** Each waiting request's client address (the password checks throttle by it). */
  readonly #sources = new Map<ConnId, string>();
  #nextConnId = -1;

  constructor(ports: BridgePorts) {
    this.#ports = ports;
  }

  /** Whether a connection id is one of the bridge's (the shell routes its output here). */
  owns(conn: ConnId): boolean {
    return conn < 0;
  }

  /** The client address of a waiting request, or "unknown" once it was answered. */
  sourceOf(conn: ConnId): string {
    return this.#sources.get(conn) ?? "unknown";
  }

  /** Requests awaiting replies now. */
  get awaiting(): number {
    return this.#awaiting.size;
  }

  /** Hands a reply the node sent to a bridged connection to its request. */
  deliver({ conn, message }: Outbound): void {
    if (!("re" in message)) return; // keepalives and welcomes: bridged connections get none
    this.#awaiting.get(conn)?.(message as OrchestratorToClient);
  }

  /**
   * Checks `fields` as the codec checks a client frame, steps them into the node and resolves
   * with the node's reply (an error reply when the fields are invalid, the bridge is full or no
   * reply came in time). `source` is the client's address, for the login throttle.
   */
  async request(fields: BridgedRequest, source: string): Promise<OrchestratorToClient> {
    const decoded = decodeValue(
      { ...fields, v: PROTOCOL_VERSION, lamport: 0, id: REQUEST_ID },
      DIRECTIONS.clientToOrchestrator,
    );
    if (!decoded.ok) return errorReply("bad_request", decoded.error.message);
    if (this.#awaiting.size >= this.#ports.maxAwaiting) {
      return errorReply(
        "rate_limited",
        `Too many HTTP requests awaiting replies on this orchestrator (at most ${this.#ports.maxAwaiting}); retry in a moment`,
      );
    }
    const request = decoded.message;
    const conn = this.#nextConnId--;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reply = new Promise<OrchestratorToClient>((resolve) => {
      this.#awaiting.set(conn, resolve);
      this.#sources.set(conn, source);
      timer = setTimeout(() => {
        resolve(errorReply(
          "unavailable",
          `No reply within ${
            this.#ports.replyTimeoutMs / 1000
          } s; the cluster may be electing a leader, retry`,
        ));
      }, this.#ports.replyTimeoutMs);
    });
    const nowMs = Date.now();
    if (request.type === "login") {
      this.#ports.step({ type: "login", conn, request, source, nowMs });
    } else {
      this.#ports.step({
        type: "clientRequest",
        conn,
        request,
        tokenHash: hashToken(request.token),
        nowMs,
      });
    }
    try {
      return await reply;
    } finally {
      clearTimeout(timer);
      this.#awaiting.delete(conn);
      this.#sources.delete(conn);
      // As a TCP connection closing would: waits and the like held for it are dropped.
      this.#ports.step({ type: "connectionClosed", conn, nowMs: Date.now() });
    }
  }

  /** Answers every request still waiting (the server is stopping). */
  closeAll(): void {
    for (const resolve of this.#awaiting.values()) {
      resolve(errorReply("unavailable", "The orchestrator is shutting down; retry another one"));
    }
    this.#awaiting.clear();
  }
}

function errorReply(code: ErrorReply["code"], message: string): ErrorReply {
  return { v: PROTOCOL_VERSION, lamport: 0, type: "error", re: REQUEST_ID, code, message };
}

/**
 * The scrypt work the shell does for the node, off its step: a login's password check, and a
 * password change's current-password check and new hash. Each runs through the one HashGate that
 * bounds scrypt work, and its result goes back to the node as an input; a full gate refuses the
 * request unchecked ("busy").
 * @module
 */
import { hashPassword } from "../../shared/auth/mod.ts";
import { ProtocolError } from "../../shared/protocol/codec.ts";
import type {
  ConnId,
  CurrentPasswordCheck,
  LoginWork,
  NodeInput,
  PasswordWork,
} from "../core/mod.ts";
import { HashGate } from "./hash_gate.ts";
import { LoginChecker } from "./login_checker.ts";

/** What the password checks need from the server. */
export interface PasswordCheckPorts {
  tokenTtlMs: number;
  /** The remote host of a connection, for the login throttle. */
  remoteHost(conn: ConnId): string;
  isStopped(): boolean;
  step(input: NodeInput): void;
}

export class PasswordChecks {
  readonly #ports: PasswordCheckPorts;
  readonly #loginChecker: LoginChecker;
  /** Bounds scrypt work: logins, current-password checks and new password hashes share it. */
  readonly #hashGate = new HashGate();

  constructor(ports: PasswordCheckPorts) {
    this.#ports = ports;
    this.#loginChecker = new LoginChecker({ tokenTtlMs: ports.tokenTtlMs, gate: this.#hashGate });
  }

  /** Checks the password of a login the node asked about, then hands the outcome back. */
  async login(work: LoginWork): Promise<void> {
    const { conn: connId, request, source } = work;
    const outcome = await this.#loginChecker.check({
      user: request.user,
      password: request.password,
      source,
      passwordHash: work.passwordHash,
    });
    if (this.#ports.isStopped()) return;
    if (outcome.kind === "busy") {
      this.#refuseBusy(connId, request.id);
      return;
    }
    this.#ports.step({
      type: "loginChecked",
      conn: connId,
      requestId: request.id,
      lamport: request.lamport,
      user: request.user,
      session: outcome.kind === "ok" ? outcome.session : null,
      ...(outcome.kind === "throttled" ? { retryAfterMs: outcome.retryAfterMs } : {}),
      ...((outcome.kind === "wrong" || outcome.kind === "ok") &&
          outcome.checkedPasswordHash !== undefined
        ? { checkedPasswordHash: outcome.checkedPasswordHash }
        : {}),
      source,
      nowMs: Date.now(),
    });
  }

  /**
   * The scrypt work the node asked for, for a request it has already authenticated, routed and
   * authorized: the current password checked (throttled like a login), then the new one hashed
   * (only if the current one was right), both through the hash gate; then the request again.
   */
  async doPasswordWork(work: PasswordWork): Promise<void> {
    const { conn, request, tokenHash } = work;
    let currentPasswordCheck: CurrentPasswordCheck | undefined;
    if (work.verifyCurrentOf !== null) {
      const source = this.#ports.remoteHost(conn);
      const verdict = await this.#loginChecker.verify({
        user: work.verifyCurrentOf,
        password: request.type === "userPasswd" ? request.currentPassword ?? "" : "",
        source,
        passwordHash: work.currentPasswordHash ?? null,
      });
      if (verdict.kind === "busy") return this.#refuseBusy(conn, request.id);
      currentPasswordCheck = verdict.kind === "throttled"
        ? { verdict: "throttled", retryAfterMs: verdict.retryAfterMs }
        : verdict.kind === "ok"
        ? { verdict: "ok", checkedPasswordHash: verdict.checkedPasswordHash }
        : { verdict: "wrong", checkedPasswordHash: verdict.checkedPasswordHash };
    }
    let passwordHash: string | undefined;
    if (currentPasswordCheck === undefined || currentPasswordCheck.verdict === "ok") {
      const hashed = await this.#hashGate.run(() => hashPassword(request.password));
      if (hashed === null) return this.#refuseBusy(conn, request.id);
      passwordHash = hashed.value;
    }
    if (this.#ports.isStopped()) return;
    this.#ports.step({
      type: "clientRequest",
      conn,
      request,
      tokenHash,
      ...(passwordHash === undefined ? {} : { passwordHash }),
      ...(currentPasswordCheck === undefined ? {} : { currentPasswordCheck }),
      nowMs: Date.now(),
    });
  }

  /** Refuses a request unchecked: the hash gate's queue is full (a flood of password checks). */
  #refuseBusy(conn: ConnId, requestId: number): void {
    const error = new ProtocolError(
      "rate_limited",
      "Too many password checks in progress on this orchestrator; retry in a moment",
      requestId,
    );
    this.#ports.step({ type: "protocolError", conn, error, nowMs: Date.now() });
  }
}

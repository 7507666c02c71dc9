/**
 * The node's Lamport clock and the rules for moving it: senders that are not trusted (clients,
 * workers' datagrams, peers) may push it forward only by a bounded jump per message and in total
 * over time; applied entries move it at most as far; what the node stamps ticks it.
 * @module
 */
import type { LamportClock } from "../../shared/lamport_clock.ts";
import { LAMPORT_CLIENT_JUMP_MAX, PROTOCOL_VERSION } from "../../shared/limits.ts";
import type { PeerMessage } from "../../shared/protocol/peer_messages.ts";
import type { PeerEnvelope } from "../raft/mod.ts";
import type { Command, Stamp } from "../tasks/mod.ts";
import { JumpBudget } from "./jump_budget.ts";

export class NodeClock {
  readonly #clock: LamportClock;
  readonly #jumpBudget = new JumpBudget();

  /** Shares `clock` with whatever else stamps (the node's output). */
  constructor(clock: LamportClock) {
    this.#clock = clock;
  }

  get value(): number {
    return this.#clock.value;
  }

  /**
   * Lamport receive rule for untrusted senders: the jump forward is bounded per message
   * (LAMPORT_CLIENT_JUMP_MAX) and in total over time (JumpBudget), so no flood of frames can
   * exhaust the clock. Nothing they send becomes a stamp in the log, so clipping is safe.
   */
  receiveUntrusted(lamport: number, nowMs: number): void {
    const ahead = Math.min(lamport, this.#clock.value + LAMPORT_CLIENT_JUMP_MAX) -
      this.#clock.value;
    const granted = ahead > 0 ? this.#jumpBudget.take(ahead, nowMs) : 0;
    this.#clock.receive(this.#clock.value + granted);
  }

  /** True when `lamport` is implausibly far ahead of this clock (no honest sender is). */
  isImplausible(lamport: number): boolean {
    return lamport > this.#clock.value + LAMPORT_CLIENT_JUMP_MAX;
  }

  /** Lamport receive rule, for a sender whose time is plausible (see {@link isImplausible}). */
  receive(lamport: number): void {
    this.#clock.receive(lamport);
  }

  /**
   * Follows the state's latest stamp, bounded like a receive: an entry stamped absurdly far
   * ahead (a broken leader) must not exhaust this node's clock; histories stay ordered whatever
   * the stamps.
   */
  observeApplied(maxLamport: number): void {
    this.#clock.observe(Math.min(maxLamport, this.#clock.value + LAMPORT_CLIENT_JUMP_MAX));
  }

  /** A fresh stamp for an entry this node proposes. */
  stamp(nowMs: number, node: string): Stamp {
    return { atMs: nowMs, lamport: this.#clock.tick(), node };
  }

  /** Stamps a message for another orchestrator. */
  stampPeer(message: PeerEnvelope<Command>["message"]): PeerMessage {
    return { ...message, v: PROTOCOL_VERSION, lamport: this.#clock.tick() } as PeerMessage;
  }
}

// Proves runEffects carries out a step's effects in the order NodeEffects documents: log lines,
// peer sends, persistence (with after-persist sends riding the queue), sends, closes, password
// work, login work, a due snapshot, then the leader's announcement.
import assert from "node:assert/strict";
import { emptyEffects, type NodeEffects, type PeerOutbound } from "../core/mod.ts";
import type { PeerMessage } from "../../shared/protocol/peer_messages.ts";
import type { OrchestratorToClient } from "../../shared/protocol/messages.ts";
import { type EffectPorts, runEffects } from "./effect_runner.ts";

const PEER_MESSAGE = { type: "timeoutNow" } as unknown as PeerMessage;
const REPLY = { type: "logoutOk", re: 1, v: 1, lamport: 1 } as unknown as OrchestratorToClient;

/** Ports that record what they were asked, in order; the queue runs its callbacks on `flush`. */
function recordingPorts(): { ports: EffectPorts; calls: string[]; flush: () => void } {
  const calls: string[] = [];
  const queued: Array<readonly PeerOutbound[]> = [];
  const ports: EffectPorts = {
    log: (line) => calls.push(`log ${line.message}`),
    sendPeer: (to) => calls.push(`peer ${to}`),
    snapshotInstalled: (index) => calls.push(`snapshot ${index}`),
    enqueue: (persist, peerMessages) => {
      calls.push(`enqueue ${persist.entries.length}`);
      queued.push(peerMessages);
    },
    send: ({ conn }) => calls.push(`send ${conn}`),
    close: (conn) => calls.push(`close ${conn}`),
    passwordWork: (work) => calls.push(`password ${work.conn}`),
    loginWork: (work) => calls.push(`login ${work.conn}`),
    snapshotDue: ({ index }) => calls.push(`snapshotDue ${index}`),
    announce: ({ term }) => calls.push(`announce ${term}`),
  };
  // As GroupCommit does once the queued jobs are durable.
  const flush = () => {
    for (const messages of queued.splice(0)) {
      for (const { to } of messages) calls.push(`peer ${to}`);
    }
  };
  return { ports, calls, flush };
}

Deno.test("runEffects carries out each kind of effect in the documented order", () => {
  const effects: NodeEffects = emptyEffects();
  effects.log.push({ level: "info", message: "a" });
  effects.peerSend.push({ to: "o2", message: PEER_MESSAGE });
  effects.peerSendAfterPersist.push({ to: "o3", message: PEER_MESSAGE });
  effects.persist.snapshot = { index: 7, term: 1, data: new Uint8Array(), discardLog: true };
  effects.send.push({ conn: 4, message: REPLY });
  effects.close.push(5);
  effects.passwordWork.push({
    conn: 6,
    request: {} as never,
    tokenHash: "h",
    verifyCurrentOf: null,
  });
  effects.loginWork.push({ conn: 7, request: {} as never, source: "s", passwordHash: null });
  effects.snapshotDue = { index: 8, term: 1, state: {} as never };
  effects.announce = { term: 3, lamport: 9 };
  const { ports, calls, flush } = recordingPorts();
  runEffects(effects, ports);
  assert.deepEqual(calls, [
    "log a",
    "peer o2",
    "snapshot 7",
    "enqueue 0",
    "send 4",
    "close 5",
    "password 6",
    "login 7",
    "snapshotDue 8",
    "announce 3",
  ]);
  flush();
  assert.equal(calls.at(-1), "peer o3", "an after-persist send waits for the queue");
});

Deno.test("runEffects queues after-persist sends even when the step staged nothing", () => {
  const effects = emptyEffects();
  effects.peerSendAfterPersist.push({ to: "o2", message: PEER_MESSAGE });
  const { ports, calls, flush } = recordingPorts();
  runEffects(effects, ports);
  assert.deepEqual(calls, ["enqueue 0"]);
  flush();
  assert.deepEqual(calls, ["enqueue 0", "peer o2"]);
});

Deno.test("runEffects touches no port for an empty step", () => {
  const { ports, calls } = recordingPorts();
  runEffects(emptyEffects(), ports);
  assert.deepEqual(calls, []);
});

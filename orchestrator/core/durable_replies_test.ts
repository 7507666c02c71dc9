import assert from "node:assert/strict";
import type { PeerMessage } from "../../shared/protocol/peer_messages.ts";
import { mergeDurableReplies } from "./durable_replies.ts";
import type { PeerOutbound } from "./node_io.ts";

function ok(to: string, term: number, matchIndex: number, readCtx = 0): PeerOutbound {
  const message = {
    v: 1,
    lamport: matchIndex,
    type: "appendResponse",
    term,
    success: true,
    matchIndex,
    conflictIndex: 0,
    readCtx,
  } as PeerMessage;
  return { to, message };
}

function describe(list: readonly PeerOutbound[]): string[] {
  return list.map(({ to, message }) =>
    message.type === "appendResponse"
      ? `${to} t${message.term} ${
        message.success ? "ok" : "no"
      } ${message.matchIndex}/${message.readCtx}`
      : `${to} ${message.type}`
  );
}

Deno.test("one sync's acknowledgements to a leader become one, with the highest match and read context", () => {
  const vote = { to: "o3", message: { type: "voteResponse", term: 2 } as PeerMessage };
  const refusal = ok("o1", 2, 0);
  if (refusal.message.type === "appendResponse") refusal.message.success = false;
  const merged = mergeDurableReplies([
    ok("o1", 2, 10, 4),
    vote,
    ok("o1", 2, 12, 3),
    refusal,
    ok("o2", 2, 7),
    ok("o1", 3, 12),
  ]);
  assert.deepEqual(describe(merged), [
    "o3 voteResponse",
    "o1 t2 ok 12/4",
    "o1 t2 no 0/0",
    "o2 t2 ok 7/0",
    "o1 t3 ok 12/0",
  ]);
});

Deno.test("replies with nothing to merge are kept as they are", () => {
  const list = [ok("o1", 2, 10), ok("o2", 2, 11)];
  assert.deepEqual(mergeDurableReplies(list), list);
  assert.deepEqual(mergeDurableReplies([]), []);
});

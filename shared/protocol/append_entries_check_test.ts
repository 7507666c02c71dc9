import assert from "node:assert/strict";
import { decodeMessage, DIRECTIONS, encodeMessage } from "./codec.ts";

const APPEND = {
  v: 1,
  lamport: 4,
  type: "appendEntries",
  term: 2,
  prevLogIndex: 1,
  prevLogTerm: 1,
  entries: [
    { index: 2, term: 2, command: { type: "noop", atMs: 1 } },
    { index: 3, term: 2, command: { type: "sessionClosed", tokenHash: "a".repeat(64), atMs: 1 } },
  ],
  leaderCommit: 1,
  readCtx: 0,
};

function decode(message: object) {
  return decodeMessage(encodeMessage(message), DIRECTIONS.peer);
}

Deno.test("AppendEntries is checked field by field, hot commands by hand and the rest by schema", () => {
  assert.equal(decode(APPEND).ok, true);
  const cases: Array<[object, RegExp]> = [
    [{ ...APPEND, extra: 1 }, /unexpected field "extra"/],
    [{ ...APPEND, term: -1 }, /field "term"/],
    [
      { ...APPEND, entries: [{ index: 0, term: 1, command: { type: "noop", atMs: 1 } }] },
      /entries\.0\.index/,
    ],
    [
      { ...APPEND, entries: [{ index: 2, term: 2, command: { type: "nope" } }] },
      /not a known command/,
    ],
    [
      { ...APPEND, entries: [{ index: 2, term: 2, command: { type: "noop" } }] },
      /entries\.0\.command\.atMs/,
    ],
    [
      { ...APPEND, entries: [{ index: 2, term: 2, command: { type: "sessionClosed", atMs: 1 } }] },
      /entries\.0\.command\.tokenHash/,
    ],
  ];
  for (const [message, expected] of cases) {
    const decoded = decode(message);
    assert.equal(decoded.ok, false, JSON.stringify(message));
    if (!decoded.ok) {
      assert.equal(decoded.error.code, "bad_request");
      assert.match(decoded.error.message, expected);
    }
  }
});

// Proves that --rejoin starts only from an empty data directory or a rejoin under way, and only
// with peers, and that a refusal says what the directory holds and what to do.
import assert from "node:assert/strict";
import type { RecoveredLog } from "../storage/mod.ts";
import { rejoinRefusal } from "./rejoin_check.ts";

const EMPTY: RecoveredLog = {
  hardState: { term: 0, votedFor: null },
  snapshot: null,
  entries: [],
  repairedBytes: 0,
};
const options = { dataDir: "/var/lib/mutirao/o2", voters: 3 };

Deno.test("rejoinRefusal() allows an empty data directory and a rejoin under way", () => {
  assert.equal(rejoinRefusal(EMPTY, options), null);
  const underWay = { ...EMPTY, hardState: { term: 7, votedFor: null, rejoining: true } };
  assert.equal(rejoinRefusal(underWay, options), null);
});

Deno.test("rejoinRefusal() refuses a data directory that holds a log, naming it", () => {
  const used: RecoveredLog = {
    ...EMPTY,
    hardState: { term: 4, votedFor: "o1" },
    snapshot: { index: 10, term: 3, data: new Uint8Array() },
    entries: [{ index: 11, term: 4, command: { type: "noop", atMs: 1 } }],
  };
  const refusal = rejoinRefusal(used, options);
  assert.match(refusal ?? "", /^Cannot rejoin: \/var\/lib\/mutirao\/o2 already holds a log/);
  assert.match(refusal ?? "", /term 4, 1 entry, a snapshot at index 10/);
  assert.match(refusal ?? "", /move this one aside first/);
});

Deno.test("rejoinRefusal() refuses a cluster of one orchestrator", () => {
  assert.match(rejoinRefusal(EMPTY, { ...options, voters: 1 }) ?? "", /no leader to catch up from/);
});

import assert from "node:assert/strict";
import { entryJson, stringifyWithEntries, takeEntryJson } from "./entry_json.ts";

const ENTRIES = [
  { index: 7, term: 2, command: { type: "noop", atMs: 1 } },
  {
    index: 8,
    term: 2,
    command: { type: "taskSubmitted", owner: 'a"b', spec: { description: "é ✓ \u2028" } },
  },
];

Deno.test("stringifyWithEntries writes the very text JSON.stringify writes", () => {
  const message = {
    type: "appendEntries",
    term: 2,
    prevLogIndex: 6,
    prevLogTerm: 1,
    entries: ENTRIES,
    leaderCommit: 5,
    readCtx: 0,
    v: 1,
    lamport: 99,
  };
  assert.equal(stringifyWithEntries(message), JSON.stringify(message));
  assert.equal(
    stringifyWithEntries({ ...message, entries: [] }),
    JSON.stringify({ ...message, entries: [] }),
  );
});

Deno.test("entryJson computes an entry's text once and serves it again", () => {
  const entry = { index: 1, term: 1, command: { type: "noop", atMs: 5 } };
  const first = entryJson(entry);
  assert.equal(first, JSON.stringify(entry));
  assert.equal(entryJson(entry), first);
  assert.equal(entryJson({ ...entry }), first, "another object with the same content: same text");
});

Deno.test("takeEntryJson serves the cached text once, then computes it without caching", () => {
  const entry = { index: 2, term: 1, command: { type: "noop", atMs: 6 } };
  const sent = entryJson(entry);
  assert.equal(takeEntryJson(entry), sent, "the text computed when it was sent");
  // Mutated after its text was taken (never done in the product; here only to observe the cache):
  entry.command.atMs = 7;
  assert.equal(takeEntryJson(entry), JSON.stringify(entry), "nothing cached any more");
  assert.equal(takeEntryJson(entry), JSON.stringify(entry), "and taking does not cache");
});

// Proves that accounts from the cluster file apply once per password hash (a removal or a password
// change made afterwards sticks, an older file cannot undo a newer one) and that no command can
// leave the cluster without an admin (issue 14, bug 4).
import assert from "node:assert/strict";
import type { ApplyResult } from "./commands.ts";
import { findInvariantViolations } from "./invariants.ts";
import { restoreSnapshot, takeSnapshot } from "./state_snapshot.ts";
import { SESSIONS_PER_USER_MAX } from "./task_state_machine.ts";
import { Harness } from "./_task_fixtures_test.ts";

const HASH_1 = "scrypt$1$1$1$AAAA$1111";
const HASH_2 = "scrypt$1$1$1$AAAA$2222";
const HASH_CLI = "scrypt$1$1$1$AAAA$CCCC";

function configure(h: Harness, name: string, hash: string, role: "admin" | "user" = "user") {
  return h.apply({ type: "accountConfigured", name, role, passwordHash: hash, atMs: h.nowMs });
}

function assertRejected(result: ApplyResult, reason: string): void {
  assert.deepEqual(result, { type: "rejected", reason });
}

/** A cluster whose file made "root" an admin and "bob" a user. */
function configured(): Harness {
  const h = new Harness();
  assert.equal(configure(h, "root", HASH_1, "admin").type, "ok");
  assert.equal(configure(h, "bob", HASH_1).type, "ok");
  return h;
}

Deno.test("accountConfigured creates an account the first time its hash is seen", () => {
  const h = configured();
  assert.equal(h.sm.users.get("bob")?.passwordHash, HASH_1);
  assert.equal(h.sm.users.get("root")?.role, "admin");
});

Deno.test("accountConfigured does not re-create an account removed after it was applied", () => {
  const h = configured();
  assert.equal(h.apply({ type: "userRemoved", name: "bob", atMs: h.nowMs }).type, "ok");
  // What every new leader proposes from the same cluster file.
  assertRejected(configure(h, "bob", HASH_1), "already applied");
  assert.equal(h.sm.users.has("bob"), false);
});

Deno.test("accountConfigured does not undo a password changed after it was applied", () => {
  const h = configured();
  h.apply({ type: "userPasswordChanged", name: "bob", passwordHash: HASH_CLI, atMs: h.nowMs });
  assertRejected(configure(h, "bob", HASH_1), "already applied");
  assert.equal(h.sm.users.get("bob")?.passwordHash, HASH_CLI);
});

Deno.test("accountConfigured with a new hash sets the password and revokes the sessions", () => {
  const h = configured();
  h.login("aa".repeat(32), "bob", h.nowMs + 60_000);
  assert.equal(configure(h, "bob", HASH_2).type, "ok");
  assert.equal(h.sm.users.get("bob")?.passwordHash, HASH_2);
  assert.equal(h.sm.sessions.size, 0);
  // An orchestrator still running the older file cannot put the old password back.
  assertRejected(configure(h, "bob", HASH_1), "already applied");
  assert.equal(h.sm.users.get("bob")?.passwordHash, HASH_2);
});

Deno.test("accountConfigured with a new hash re-creates an account removed earlier", () => {
  const h = configured();
  h.apply({ type: "userRemoved", name: "bob", atMs: h.nowMs });
  assert.equal(configure(h, "bob", HASH_2).type, "ok");
  assert.equal(h.sm.users.get("bob")?.passwordHash, HASH_2);
});

Deno.test("the last admin cannot be removed", () => {
  const h = configured();
  assertRejected(
    h.apply({ type: "userRemoved", name: "root", atMs: h.nowMs }),
    "it would leave the cluster without an admin",
  );
  assert.equal(h.sm.users.get("root")?.role, "admin");
  h.apply({
    type: "userAdded",
    name: "ops",
    role: "admin",
    passwordHash: HASH_2,
    atMs: h.nowMs,
  });
  assert.equal(h.apply({ type: "userRemoved", name: "root", atMs: h.nowMs }).type, "ok");
});

Deno.test("the last admin cannot be demoted by the cluster file, and the file may try again", () => {
  const h = configured();
  assertRejected(
    configure(h, "root", HASH_2, "user"),
    "it would leave the cluster without an admin",
  );
  assert.equal(h.sm.users.get("root")?.role, "admin");
  assert.equal(h.sm.isConfigured("root", HASH_2), false);
});

Deno.test("applied cluster-file hashes survive a snapshot", () => {
  const h = configured();
  h.apply({ type: "userRemoved", name: "bob", atMs: h.nowMs });
  const restored = new Harness(restoreSnapshot(structuredClone(takeSnapshot(h.sm))));
  assertRejected(configure(restored, "bob", HASH_1), "already applied");
  assert.equal(restored.sm.users.has("bob"), false);
});

Deno.test("a session checked against a password hash that was replaced meanwhile does not open", () => {
  const h = configured();
  h.apply({ type: "userPasswordChanged", name: "bob", passwordHash: HASH_CLI, atMs: h.nowMs });
  const tokenHash = "bb".repeat(32);
  const result = h.apply({
    type: "sessionOpened",
    tokenHash,
    user: "bob",
    expiresAtMs: h.nowMs + 60_000,
    atMs: h.nowMs,
    passwordHash: HASH_1,
  });
  assertRejected(result, "the account changed while its password was checked");
  assert.equal(h.sm.sessions.has(tokenHash), false);
});

Deno.test("a session checked against a removed account does not open", () => {
  const h = configured();
  h.apply({ type: "userRemoved", name: "bob", atMs: h.nowMs });
  const result = h.apply({
    type: "sessionOpened",
    tokenHash: "cc".repeat(32),
    user: "bob",
    expiresAtMs: h.nowMs + 60_000,
    atMs: h.nowMs,
    passwordHash: HASH_1,
  });
  assertRejected(result, "the account changed while its password was checked");
});

Deno.test("a user holds at most SESSIONS_PER_USER_MAX sessions; a login beyond closes the oldest", () => {
  const h = configured();
  const hashOf = (i: number) => i.toString(16).padStart(64, "0");
  for (let i = 0; i <= SESSIONS_PER_USER_MAX; i++) {
    assert.equal(h.login(hashOf(i), "bob", h.nowMs + 3_600_000).type, "ok");
  }
  h.login("ee".repeat(32), "root", h.nowMs + 3_600_000);
  assert.equal(h.sm.sessionCountOf("bob"), SESSIONS_PER_USER_MAX);
  assert.equal(h.sm.sessions.has(hashOf(0)), false, "the oldest session was not closed");
  assert.equal(h.sm.sessions.has(hashOf(SESSIONS_PER_USER_MAX)), true);
  assert.equal(h.sm.sessionCountOf("root"), 1, "another user's sessions were touched");
  assert.deepEqual(findInvariantViolations(h.sm), []);
  const restored = restoreSnapshot(structuredClone(takeSnapshot(h.sm)));
  assert.equal(restored.sessionCountOf("bob"), SESSIONS_PER_USER_MAX);
});

Deno.test("a change of one's own password does not overwrite a change that committed meanwhile", () => {
  const h = configured();
  // An admin reset bob's password while bob's own change (checked against HASH_1) was on its way.
  h.apply({ type: "userPasswordChanged", name: "bob", passwordHash: HASH_CLI, atMs: h.nowMs });
  const result = h.apply({
    type: "userPasswordChanged",
    name: "bob",
    passwordHash: HASH_2,
    expectedPasswordHash: HASH_1,
    atMs: h.nowMs,
  });
  assertRejected(result, "the password was changed meanwhile; check the current one again");
  assert.equal(h.sm.users.get("bob")?.passwordHash, HASH_CLI);
  // Checked against the current hash, it applies.
  const ok = h.apply({
    type: "userPasswordChanged",
    name: "bob",
    passwordHash: HASH_2,
    expectedPasswordHash: HASH_CLI,
    atMs: h.nowMs,
  });
  assert.equal(ok.type, "ok");
});

Deno.test("a retried password change (same change id) is done once: sessions opened since stay", () => {
  const h = configured();
  const change = {
    type: "userPasswordChanged" as const,
    name: "bob",
    passwordHash: HASH_2,
    changeId: "c-1",
    atMs: h.nowMs,
  };
  assert.equal(h.apply(change).type, "ok");
  h.login("dd".repeat(32), "bob", h.nowMs + 60_000); // with the new password
  assert.equal(h.apply(change).type, "ok", "the retry is answered done");
  assert.equal(h.sm.sessions.has("dd".repeat(32)), true, "the retry revoked a newer session");
  // Another change (another id) applies and revokes as always.
  h.apply({ ...change, passwordHash: HASH_CLI, changeId: "c-2" });
  assert.equal(h.sm.sessions.size, 0);
});

// Proves that AccountCommands works on any AccountState (not only the task state machine): it adds
// and removes users, keeps the last admin, and opens, counts, bounds and sweeps sessions, reading
// the state's maps afresh on every call so a restore that replaces them is seen.
import assert from "node:assert/strict";
import {
  ACCOUNT_CHANGED,
  AccountCommands,
  type AccountState,
  LAST_ADMIN,
  SESSIONS_PER_USER_MAX,
} from "./account_commands.ts";

const HASH_1 = "scrypt$1$1$1$AAAA$1111";
const HASH_2 = "scrypt$1$1$1$AAAA$2222";

function emptyState(): AccountState {
  return {
    users: new Map(),
    sessions: new Map(),
    configuredAccounts: new Map(),
    loginsSinceSweep: 0,
  };
}

function tokenHash(n: number): string {
  return n.toString(16).padStart(64, "0");
}

function withAdmin(): { state: AccountState; accounts: AccountCommands } {
  const state = emptyState();
  const accounts = new AccountCommands(state);
  assert.equal(
    accounts.apply({
      type: "userAdded",
      name: "root",
      role: "admin",
      passwordHash: HASH_1,
      atMs: 1,
    })
      .type,
    "ok",
  );
  return { state, accounts };
}

Deno.test("an added user gets its role, and a second add of the same name is rejected", () => {
  const { state, accounts } = withAdmin();
  assert.equal(accounts.roleOf("root"), "admin");
  assert.equal(state.users.get("root")?.createdAtMs, 1);
  assert.deepEqual(
    accounts.apply({
      type: "userAdded",
      name: "root",
      role: "user",
      passwordHash: HASH_2,
      atMs: 2,
    }),
    { type: "rejected", reason: "user exists" },
  );
  assert.equal(accounts.roleOf("nobody"), null);
});

Deno.test("the last admin can be neither removed nor demoted by the cluster file", () => {
  const { accounts } = withAdmin();
  assert.ok(accounts.isLastAdmin("root"));
  assert.deepEqual(accounts.apply({ type: "userRemoved", name: "root", atMs: 2 }), {
    type: "rejected",
    reason: LAST_ADMIN,
  });
  assert.deepEqual(
    accounts.apply({
      type: "accountConfigured",
      name: "root",
      role: "user",
      passwordHash: HASH_2,
      atMs: 3,
    }),
    { type: "rejected", reason: LAST_ADMIN },
  );
  assert.ok(!accounts.isConfigured("root", HASH_2), "a refused configuration is not recorded");
});

Deno.test("a session opens for the current password only and closes once", () => {
  const { state, accounts } = withAdmin();
  const open = (passwordHash: string) =>
    accounts.apply({
      type: "sessionOpened",
      tokenHash: tokenHash(1),
      user: "root",
      expiresAtMs: 100,
      atMs: 10,
      passwordHash,
    });
  assert.deepEqual(open(HASH_2), { type: "rejected", reason: ACCOUNT_CHANGED });
  assert.equal(open(HASH_1).type, "ok");
  assert.equal(accounts.sessionUser(tokenHash(1), 99), "root");
  assert.equal(accounts.sessionUser(tokenHash(1), 100), null, "expired at expiresAtMs");
  assert.equal(accounts.sessionCountOf("root"), 1);
  assert.equal(
    accounts.apply({ type: "sessionClosed", tokenHash: tokenHash(1), atMs: 11 }).type,
    "ok",
  );
  assert.deepEqual(accounts.apply({ type: "sessionClosed", tokenHash: tokenHash(1), atMs: 12 }), {
    type: "rejected",
    reason: "no such session",
  });
  assert.equal(accounts.sessionCountOf("root"), 0);
  assert.equal(state.sessions.size, 0);
});

Deno.test("a user holds at most SESSIONS_PER_USER_MAX sessions: the oldest one closes", () => {
  const { state, accounts } = withAdmin();
  for (let i = 0; i <= SESSIONS_PER_USER_MAX; i++) {
    accounts.apply({
      type: "sessionOpened",
      tokenHash: tokenHash(i),
      user: "root",
      expiresAtMs: 1_000_000,
      atMs: 10 + i,
    });
  }
  assert.equal(accounts.sessionCountOf("root"), SESSIONS_PER_USER_MAX);
  assert.equal(state.sessions.size, SESSIONS_PER_USER_MAX);
  assert.ok(!state.sessions.has(tokenHash(0)), "the oldest session was closed");
});

Deno.test("a password change revokes the user's sessions, and its retry is done once", () => {
  const { state, accounts } = withAdmin();
  accounts.apply({
    type: "sessionOpened",
    tokenHash: tokenHash(1),
    user: "root",
    expiresAtMs: 100,
    atMs: 10,
  });
  const change = {
    type: "userPasswordChanged" as const,
    name: "root",
    passwordHash: HASH_2,
    atMs: 20,
    changeId: "c-1",
  };
  assert.equal(accounts.apply(change).type, "ok");
  assert.equal(state.sessions.size, 0);
  accounts.apply({
    type: "sessionOpened",
    tokenHash: tokenHash(2),
    user: "root",
    expiresAtMs: 100,
    atMs: 30,
  });
  assert.equal(accounts.apply(change).type, "ok");
  assert.equal(state.sessions.size, 1, "the retried change does not revoke the newer session");
});

Deno.test("the counts follow sessions replaced by a restore once recounted", () => {
  const { state, accounts } = withAdmin();
  state.sessions = new Map([
    [tokenHash(1), { user: "root", issuedAtMs: 1, expiresAtMs: 100 }],
    [tokenHash(2), { user: "root", issuedAtMs: 2, expiresAtMs: 100 }],
  ]);
  accounts.recountSessions();
  assert.equal(accounts.sessionCountOf("root"), 2);
  assert.equal(accounts.sessionUser(tokenHash(2), 50), "root");
});

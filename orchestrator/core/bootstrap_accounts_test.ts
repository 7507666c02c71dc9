// Proves a leader configures the cluster file's accounts the cluster has not applied with that
// password hash, and leaves alone those it has (even if changed or removed since).
import assert from "node:assert/strict";
import { Harness } from "../tasks/_task_fixtures_test.ts";
import { accountsToConfigure } from "./bootstrap_accounts.ts";

const ALICE = { name: "alice", role: "admin" as const, passwordHash: "h1" };

Deno.test("a new account is created, then left alone once configured", () => {
  const h = new Harness();
  assert.deepEqual(accountsToConfigure(h.sm, [ALICE]).map((d) => d.line), [
    'Creating account "alice" (admin) from the cluster configuration',
  ]);
  h.apply({ type: "accountConfigured", ...ALICE, atMs: 0 });
  assert.deepEqual(accountsToConfigure(h.sm, [ALICE]), []);
});

Deno.test("a new password hash in the file updates the account", () => {
  const h = new Harness();
  h.apply({ type: "accountConfigured", ...ALICE, atMs: 0 });
  const due = accountsToConfigure(h.sm, [{ ...ALICE, passwordHash: "h2" }]);
  assert.deepEqual(due.map((d) => d.line), [
    'Updating account "alice" (admin) from the cluster configuration',
  ]);
});

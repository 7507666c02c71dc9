import assert from "node:assert/strict";
import { checkSession, sessionRefusal, UNKNOWN_SESSION } from "./session_check.ts";

const sm = {
  sessions: new Map([
    ["live", { user: "alice", issuedAtMs: 0, expiresAtMs: 2_000 }],
    ["old", { user: "alice", issuedAtMs: 0, expiresAtMs: 500 }],
    ["gone", { user: "bob", issuedAtMs: 0, expiresAtMs: 2_000 }],
  ]),
  roleOf: (user: string) => user === "alice" ? "user" as const : null,
} as never;
const leader = { canServeClients: true, nodeId: "o1" };
const follower = { canServeClients: false, nodeId: "o2" };

Deno.test("checkSession() finds the caller, or says why not", () => {
  assert.deepEqual(checkSession(sm, { tokenHash: "live", nowMs: 1_000 }), {
    user: "alice",
    role: "user",
  });
  assert.equal(checkSession(sm, { tokenHash: "nope", nowMs: 1_000 }), UNKNOWN_SESSION);
  assert.match(checkSession(sm, { tokenHash: "old", nowMs: 1_000 }) as string, /expired/);
  assert.match(checkSession(sm, { tokenHash: "gone", nowMs: 1_000 }) as string, /no longer exists/);
});

Deno.test("sessionRefusal(): only an unknown session on a lagging node is worth a retry", () => {
  assert.equal(sessionRefusal(UNKNOWN_SESSION, leader).code, "unauthenticated");
  const lagging = sessionRefusal(UNKNOWN_SESSION, follower);
  assert.equal(lagging.code, "unavailable");
  assert.match(lagging.message, /o2 does not know this session yet .*retry/);
  for (
    const reason of ["Session token expired; log in again", "The session's user no longer exists"]
  ) {
    assert.deepEqual(sessionRefusal(reason, follower), {
      code: "unauthenticated",
      message: reason,
    });
  }
});

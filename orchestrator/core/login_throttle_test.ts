// Proves login throttling: attempts count from the moment they start (so a burst cannot outrun
// it), waits double and lock out per (user, address), an attacker's address cannot lock the owner
// out, the per-user brake on guessing from many addresses is capped, failures decay, and the
// tables stay bounded.
import assert from "node:assert/strict";
import {
  DEFAULT_LOGIN_THROTTLE,
  type LoginAttempt,
  LoginThrottle,
  type ThrottleTier,
} from "./login_throttle.ts";

const MINUTE = 60_000;

/** Admits an attempt or fails the test. */
function admit(t: LoginThrottle, user: string, source: string, nowMs: number): LoginAttempt {
  const admission = t.begin(user, source, nowMs);
  assert.equal(admission.kind, "admitted", `${user} from ${source} at ${nowMs} ms was throttled`);
  return (admission as { attempt: LoginAttempt }).attempt;
}

/** One wrong password, start to end, at `nowMs`. */
function fail(t: LoginThrottle, user: string, source: string, nowMs: number): void {
  t.finish(admit(t, user, source, nowMs), false, nowMs);
}

/** The wait a new attempt would be told (0: it would be admitted). */
function waitOf(t: LoginThrottle, user: string, source: string, nowMs: number): number {
  return t.waitMs(user, source, nowMs);
}

Deno.test("LoginThrottle admits only a bounded number of attempts at once for one user and address", () => {
  const t = new LoginThrottle();
  const verdicts = Array.from({ length: 60 }, () => t.begin("alice", "10.0.0.9", 0));
  const admitted = verdicts.filter((v) => v.kind === "admitted");
  assert.equal(admitted.length, DEFAULT_LOGIN_THROTTLE.pair.maxPending);
  for (const v of verdicts) if (v.kind === "throttled") assert.equal(v.retryAfterMs, 1000);
});

Deno.test("LoginThrottle counts pending attempts as failures, so a burst waits like a sequence", () => {
  const pair: ThrottleTier = { ...DEFAULT_LOGIN_THROTTLE.pair, maxPending: 100 };
  const t = new LoginThrottle({ pair });
  for (let i = 0; i < 4; i++) admit(t, "alice", "x", 0); // three free, and the fourth started
  assert.equal(waitOf(t, "alice", "x", 0), 1000, "the fifth waits, though none has failed yet");
});

Deno.test("LoginThrottle bounds concurrent attempts from one address across user names", () => {
  const t = new LoginThrottle();
  for (let i = 0; i < DEFAULT_LOGIN_THROTTLE.source.maxPending; i++) admit(t, `u${i}`, "x", 0);
  assert.equal(waitOf(t, "another", "x", 0), 1000);
  assert.equal(waitOf(t, "another", "y", 0), 0, "another address is not affected");
});

Deno.test("LoginThrottle allows three free failures per user and address, then doubles the wait, capped", () => {
  const t = new LoginThrottle();
  for (let i = 0; i < 3; i++) fail(t, "alice", "x", 0);
  assert.equal(waitOf(t, "alice", "x", 0), 0, "three free failures");
  fail(t, "alice", "x", 0);
  assert.equal(waitOf(t, "alice", "x", 0), 1000);
  fail(t, "alice", "x", 1000);
  assert.equal(waitOf(t, "alice", "x", 1000), 2000);
  fail(t, "alice", "x", 3000);
  assert.equal(waitOf(t, "alice", "x", 3000), 4000);
  assert.equal(waitOf(t, "alice", "x", 7000), 0, "the wait ends");
  assert.equal(waitOf(t, "bob", "x", 3000), 0, "another user from that address may try");
});

/** Fails as soon as allowed until the pair is locked out; returns the time it happened. */
function lockOut(t: LoginThrottle, user: string, source: string, fromMs: number): number {
  let now = fromMs;
  for (let i = 0; i < 20; i++) {
    now += waitOf(t, user, source, now);
    fail(t, user, source, now);
    if (waitOf(t, user, source, now) === 5 * MINUTE) return now;
  }
  assert.fail(`${user} from ${source} was never locked out`);
}

Deno.test("LoginThrottle locks one user and address out after ten failures, never the owner's address", () => {
  const t = new LoginThrottle();
  t.finish(admit(t, "alice", "owner", 0), true, 0); // the owner logged in from here before
  let now = lockOut(t, "alice", "attacker", 0);
  assert.equal(waitOf(t, "alice", "owner", now), 0, "the owner's address is not locked");
  assert.equal(waitOf(t, "alice", "elsewhere", now), 0, "nor is a new address of the owner's");
  // The attack goes on after the lockout: only the attacker's address is locked again.
  now = lockOut(t, "alice", "attacker", now + 5 * MINUTE);
  assert.equal(waitOf(t, "alice", "owner", now), 0);
  assert.equal(waitOf(t, "alice", "elsewhere", now), 0);
  t.finish(admit(t, "alice", "owner", now), true, now);
});

Deno.test("LoginThrottle forgets one failure a minute, so a lockout does not come back at the next failure", () => {
  const t = new LoginThrottle();
  const lockedMs = lockOut(t, "alice", "x", 0);
  const afterMs = lockedMs + 5 * MINUTE;
  fail(t, "alice", "x", afterMs);
  const wait = waitOf(t, "alice", "x", afterMs);
  assert.ok(wait > 0 && wait <= 8000, `waits ${wait} ms after the lockout's first failure`);
  const quietMs = afterMs + 10 * MINUTE;
  for (let i = 0; i < 3; i++) fail(t, "alice", "x", quietMs);
  assert.equal(waitOf(t, "alice", "x", quietMs), 0, "after ten quiet minutes all is forgotten");
});

Deno.test("LoginThrottle brakes guessing one user from many addresses, capped at 15 s, and never for the owner's known address", () => {
  const t = new LoginThrottle();
  t.finish(admit(t, "alice", "owner", 0), true, 0);
  let now = 0;
  let worst = 0;
  for (let i = 0; i < 200; i++) {
    const source = `bot${i}`;
    const wait = waitOf(t, "alice", source, now);
    worst = Math.max(worst, wait);
    now += wait;
    fail(t, "alice", source, now);
  }
  assert.equal(worst, 15_000, "the per-user brake waits at most 15 s");
  assert.equal(waitOf(t, "alice", "new-laptop", now), 15_000, "a new address waits, bounded");
  assert.equal(waitOf(t, "alice", "owner", now), 0, "the owner's known address does not wait");
  assert.equal(waitOf(t, "bob", "new-laptop", now), 0, "other users are not braked");
});

Deno.test("LoginThrottle clears a pair on success but keeps what its address failed for other names", () => {
  const t = new LoginThrottle();
  for (let i = 0; i < 8; i++) fail(t, `victim${i}`, "x", 0);
  for (let i = 0; i < 2; i++) fail(t, "mallory", "x", 0);
  t.finish(admit(t, "mallory", "x", 0), true, 0); // an attacker's own account
  assert.equal(waitOf(t, "mallory", "x", 0), 0, "the pair starts over");
  fail(t, "mallory", "x", 0);
  assert.equal(waitOf(t, "victim0", "x", 0), 1000, "the address's eleventh failure still counts");
  assert.equal(waitOf(t, "victim0", "y", 0), 0, "other addresses are not affected");
});

Deno.test("LoginThrottle: a cancelled attempt counts for nothing", () => {
  const t = new LoginThrottle();
  for (let i = 0; i < 50; i++) t.cancel(admit(t, "alice", "x", 0), 0);
  assert.equal(waitOf(t, "alice", "x", 0), 0);
});

Deno.test("LoginThrottle forgets the least recently used keys beyond its bound", () => {
  const pair: ThrottleTier = { ...DEFAULT_LOGIN_THROTTLE.pair, freeFailures: 0 };
  const t = new LoginThrottle({ pair, maxKeys: 3 });
  fail(t, "a", "x", 0); // keys pair:a|x, addr:x, user:a
  fail(t, "b", "y", 0); // three more: a's pair and user keys are forgotten
  assert.equal(waitOf(t, "a", "z", 0), 0);
  assert.equal(waitOf(t, "b", "y", 0), 1000);
});

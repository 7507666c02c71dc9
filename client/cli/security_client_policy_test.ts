// Proves the client's credential decisions (issue 13, holes 5 and 12): multicast discovery may lead
// to credentials only with TLS or explicit consent, and a session is usable only with the CA it was
// issued under, and only when it records the cluster that issued it.
import assert from "node:assert/strict";
import { EXIT_CODES } from "../../shared/errors.ts";
import { CliError } from "./cli_error.ts";
import { multicastCredentialPolicy } from "./discovery_policy.ts";
import { boundClusterId, caFingerprint } from "./session_binding.ts";
import type { Session } from "./session_store.ts";

const PEM_A = "-----BEGIN CERTIFICATE-----\nAAECAwQF\n-----END CERTIFICATE-----\n";
const PEM_B = "-----BEGIN CERTIFICATE-----\nBgcICQoL\n-----END CERTIFICATE-----\n";

function session(fields: Partial<Session>): Session {
  return {
    user: "carol",
    token: "t",
    expiresAtMs: 1,
    orchestrators: [],
    clusterId: "c1",
    caFingerprint: null,
    ...fields,
  };
}

function assertRefused(fn: () => unknown, mentions: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof CliError);
    assert.equal(error.code, "wrong_cluster");
    assert.equal(error.exitCode, EXIT_CODES.unauthenticated);
    assert.match(error.message, mentions);
    return true;
  });
}

Deno.test("multicastCredentialPolicy() refuses plain-TCP discovery unless the user allows it", () => {
  assert.equal(multicastCredentialPolicy({ hasTls: false, allowInsecure: false }), "refuse");
  assert.equal(multicastCredentialPolicy({ hasTls: false, allowInsecure: true }), "warn");
  assert.equal(multicastCredentialPolicy({ hasTls: true, allowInsecure: false }), "verify");
  assert.equal(multicastCredentialPolicy({ hasTls: true, allowInsecure: true }), "verify");
});

Deno.test("caFingerprint() hashes the certificates' bytes, not the PEM layout", () => {
  const a = caFingerprint(PEM_A);
  assert.match(a, /^sha256:[0-9a-f]{64}$/);
  assert.equal(caFingerprint(PEM_A.replaceAll("\n", "\r\n") + "# comment\n"), a);
  assert.notEqual(caFingerprint(PEM_B), a);
  assert.equal(caFingerprint(PEM_A + PEM_B), caFingerprint(PEM_B + PEM_A));
});

Deno.test("boundClusterId() allows only the CA of the login, and only a bound session", () => {
  const a = caFingerprint(PEM_A);
  const b = caFingerprint(PEM_B);
  assert.equal(boundClusterId(session({}), null), "c1");
  assert.equal(boundClusterId(session({ caFingerprint: a }), a), "c1");
  assertRefused(() => boundClusterId(session({ caFingerprint: a }), b), /another cluster/);
  assertRefused(() => boundClusterId(session({ caFingerprint: a }), null), /without TLS/);
  assertRefused(() => boundClusterId(session({ caFingerprint: null }), a), /plain TCP/);
  assertRefused(() => boundClusterId(session({ clusterId: undefined }), null), /older client/);
  assertRefused(() => boundClusterId(session({ caFingerprint: undefined }), null), /older/);
});

// Proves that every protocol error code has an HTTP status of the right class.
import assert from "node:assert/strict";
import { ERROR_CODES } from "../../shared/errors.ts";
import { errorBody, errorStatus } from "./error_status.ts";

Deno.test("errorStatus() maps every error code to a 4xx or 5xx status", () => {
  for (const code of ERROR_CODES) {
    const status = errorStatus(code);
    assert.ok(status >= 400 && status < 600, `${code} -> ${status}`);
  }
  assert.equal(errorStatus("unauthenticated"), 401);
  assert.equal(errorStatus("not_found"), 404);
  assert.equal(errorStatus("expired"), 410);
  assert.equal(errorStatus("rate_limited"), 429);
  assert.equal(errorStatus("not_leader"), 503);
});

Deno.test("errorBody() carries the leader hint only when there is one", () => {
  assert.deepEqual(errorBody("conflict", "done"), { error: { code: "conflict", message: "done" } });
  assert.deepEqual(errorBody("not_leader", "no", "127.0.0.1:1").error.leaderHint, "127.0.0.1:1");
});

/**
 * The REST API as the browser tests set a cluster up through it: log in, then POST with the token.
 * @module
 */
import assert from "node:assert/strict";

/** A logged-in caller of `base`'s API (user1, the fixture's admin, unless told otherwise). */
export interface ApiCaller {
  token: string;
  /** POSTs `body` as JSON to `/api/v1{path}` and resolves with the JSON answer. */
  post(path: string, body: unknown): Promise<Record<string, unknown>>;
}

export async function apiLogin(
  base: string,
  user = "user1",
  password = "pass1",
): Promise<ApiCaller> {
  const response = await fetch(`${base}/api/v1/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user, password }),
  });
  const answer = await response.json();
  assert.equal(response.status, 200, JSON.stringify(answer));
  const token: string = answer.token;
  return {
    token,
    post: (path, body) =>
      fetch(`${base}/api/v1${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      }).then((r) => r.json()),
  };
}

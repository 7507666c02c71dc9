// Talks to the REST API of the orchestrator that served the page (same origin only: the
// Content-Security-Policy allows no other). The session lives in sessionStorage, which other
// origins cannot read; it is sent as a bearer token, never as a cookie, so other sites cannot
// make the browser use it (no CSRF).

const SESSION_KEY = "mutirao.session";

/** An error answer of the API, with its stable code. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The saved session ({ user, token, expiresAtMs }) or null. */
export function loadSession() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null");
    if (saved === null || typeof saved.token !== "string") return null;
    if (typeof saved.expiresAtMs === "number" && saved.expiresAtMs <= Date.now()) return null;
    return saved;
  } catch {
    return null;
  }
}

export function saveSession(session) {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

export function clearSession() {
  sessionStorage.removeItem(SESSION_KEY);
}

/** Listeners told when the server refuses the session (expired or revoked token). */
const sessionLost = new Set();
export function onSessionLost(listener) {
  sessionLost.add(listener);
  return () => sessionLost.delete(listener);
}

/** Tells the listeners the server refused the session (a 401 on any call or the stream). */
export function reportSessionLost(message) {
  for (const listener of sessionLost) listener(message);
}

/**
 * Calls `/api/v1{path}` and resolves with the JSON answer; rejects with an ApiError carrying the
 * server's code and message (or a network error's).
 */
export async function call(path, { method, body, token, headers } = {}) {
  const init = {
    method: method ?? (body === undefined ? "GET" : "POST"),
    headers: { accept: "application/json", ...headers },
    credentials: "omit",
  };
  if (token !== undefined) init.headers.authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api/v1${path}`, init);
  } catch (error) {
    throw new ApiError(0, "unavailable", `Cannot reach the orchestrator: ${error.message}`);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const code = data?.error?.code ?? "internal";
    const message = data?.error?.message ?? `HTTP ${response.status}`;
    if (response.status === 401 && token !== undefined) reportSessionLost(message);
    throw new ApiError(response.status, code, message);
  }
  return data;
}

/** Logs in; resolves with the session to keep. */
export async function login(user, password) {
  const answer = await call("/login", { body: { user, password } });
  return { user: answer.user, token: answer.token, expiresAtMs: answer.expiresAtMs };
}

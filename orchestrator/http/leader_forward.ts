/**
 * A follower forwards an API request it cannot serve to the leader's HTTP port and relays the
 * answer. Forwarding (not a redirect) because a 307 to another port is another origin: curl and
 * fetch drop the `Authorization` header on it, so every redirected call would fail 401 unless
 * the client opted in to resending its token. One hop only: a request forwarded already is not
 * forwarded again (two nodes that each think the other leads would bounce it forever).
 * @module
 */
import type { OrchestratorAddress } from "../../shared/config/mod.ts";
import { errorBody } from "./error_status.ts";

/** The header naming the orchestrator that forwarded a request. */
export const FORWARDED_BY_HEADER = "x-mutirao-forwarded-by";
/** The header naming the orchestrator that served a forwarded request. */
export const SERVED_BY_HEADER = "x-mutirao-served-by";
/** Request headers the leader needs; the rest (cookies, hop-by-hop headers) stay here. */
const FORWARDED_HEADERS = ["authorization", "content-type", "idempotency-key", "accept"];

/** How this node reaches the others' HTTP ports. */
export interface ForwardOptions {
  selfId: string;
  orchestrators: readonly OrchestratorAddress[];
  /** "https" when the cluster uses TLS. */
  scheme: "http" | "https";
  /** Verifies the leader's certificate (TLS), else null. */
  client: Deno.HttpClient | null;
  timeoutMs: number;
  /** Aborts a forward in flight (the server is stopping). */
  signal?: AbortSignal;
}

/**
 * The base URL of the leader's HTTP port, from the leader hint of a "not leader" reply (its
 * "host:port" or id); null when no orchestrator matches or it serves no HTTP.
 */
export function leaderBaseUrl(
  leaderHint: string | undefined,
  options: Pick<ForwardOptions, "orchestrators" | "scheme" | "selfId">,
): string | null {
  if (leaderHint === undefined) return null;
  const leader = options.orchestrators.find((o) =>
    `${o.host}:${o.port}` === leaderHint || o.id === leaderHint
  );
  if (leader === undefined || leader.id === options.selfId) return null;
  if (leader.httpPort === undefined) return null;
  const host = leader.host.includes(":") ? `[${leader.host}]` : leader.host;
  return `${options.scheme}://${host}:${leader.httpPort}`;
}

/**
 * Sends `request` (whose body was read as `body`) on to the leader and resolves with its answer,
 * or with a 503 `unavailable` when no answer came; null when it cannot be forwarded (see
 * {@link leaderBaseUrl}, or a second hop), so the caller answers with its own "not leader" error.
 */
export async function forwardToLeader(
  request: Request,
  body: string,
  leaderHint: string | undefined,
  options: ForwardOptions,
): Promise<Response | null> {
  if (request.headers.has(FORWARDED_BY_HEADER)) return null;
  const base = leaderBaseUrl(leaderHint, options);
  if (base === null) return null;
  const url = new URL(request.url);
  const headers = new Headers({ [FORWARDED_BY_HEADER]: options.selfId });
  for (const name of FORWARDED_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  try {
    const answer = await fetch(`${base}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      body: request.method === "GET" || request.method === "HEAD" ? undefined : body,
      redirect: "manual", // the leader never redirects; its token stays within the cluster file
      signal: options.signal === undefined
        ? AbortSignal.timeout(options.timeoutMs)
        : AbortSignal.any([AbortSignal.timeout(options.timeoutMs), options.signal]),
      ...(options.client === null ? {} : { client: options.client }),
    });
    const relayed = new Headers({
      [SERVED_BY_HEADER]: answer.headers.get(SERVED_BY_HEADER) ?? "",
    });
    const type = answer.headers.get("content-type");
    if (type !== null) relayed.set("content-type", type);
    return new Response(await answer.arrayBuffer(), { status: answer.status, headers: relayed });
  } catch (error) {
    // Unreachable, too slow, or this server is stopping. The leader may have applied the request
    // all the same: say so, so that a write is retried with its Idempotency-Key.
    const message = `Forwarded to the leader at ${base}, no answer came (${
      (error as Error).message
    }); it may have been applied: retry with the same Idempotency-Key`;
    return Response.json(errorBody("unavailable", message), { status: 503 });
  }
}

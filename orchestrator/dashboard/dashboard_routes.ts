/**
 * Serves the dashboard (`/`, `/index.html`, `/ui/…`) from the assets in memory: GET and HEAD
 * only, revalidated by ETag; any other path under `/ui/` is a 404 (nothing is read from disk,
 * so no path can reach outside the assets).
 * @module
 */
import { ASSETS, SECURITY_HEADERS } from "./dashboard_assets.ts";

/** Whether `path` is the dashboard's (the server routes it here). */
export function isDashboardPath(path: string): boolean {
  return path === "/" || path === "/index.html" || path.startsWith("/ui/");
}

/** The answer to a request for a dashboard path. */
export function serveDashboard(request: Request, path: string): Response {
  const headers = new Headers(SECURITY_HEADERS);
  if (request.method !== "GET" && request.method !== "HEAD") {
    headers.set("allow", "GET, HEAD");
    return Response.json({
      error: { code: "bad_request", message: `Use GET ${path}` },
    }, { status: 405, headers });
  }
  const asset = ASSETS.get(path === "/index.html" ? "/" : path);
  if (asset === undefined) {
    return Response.json({
      error: { code: "not_found", message: `No such dashboard file: ${path}` },
    }, { status: 404, headers });
  }
  headers.set("etag", asset.etag);
  // Revalidated each time: a new orchestrator version serves new files at the same paths.
  headers.set("cache-control", "no-cache");
  if (request.headers.get("if-none-match") === asset.etag) {
    return new Response(null, { status: 304, headers });
  }
  headers.set("content-type", asset.contentType);
  return new Response(request.method === "HEAD" ? null : asset.body, { headers });
}

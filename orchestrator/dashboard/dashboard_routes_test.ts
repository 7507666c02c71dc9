import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ASSETS, CONTENT_SECURITY_POLICY, PAGE_HTML } from "./dashboard_assets.ts";
import { isDashboardPath, serveDashboard } from "./dashboard_routes.ts";
import { IMPORT_MAP } from "./vendor.ts";

function get(path: string, headers: Record<string, string> = {}, method = "GET"): Response {
  return serveDashboard(new Request(`http://127.0.0.1${path}`, { method, headers }), path);
}

Deno.test("the page is served with a strict CSP that allows its import map by hash only", async () => {
  const response = get("/");
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
  const csp = response.headers.get("content-security-policy")!;
  assert.equal(csp, CONTENT_SECURITY_POLICY);
  for (
    const directive of [
      "default-src 'none'",
      "style-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
      "require-trusted-types-for 'script'",
    ]
  ) assert.ok(csp.includes(directive), directive);
  assert.ok(!csp.includes("unsafe-inline") && !csp.includes("unsafe-eval"));
  const html = await response.text();
  assert.equal(html, PAGE_HTML);
  const map = /<script type="importmap">(.*?)<\/script>/s.exec(html)![1];
  const hash = createHash("sha256").update(map).digest("base64");
  assert.ok(csp.includes(`'sha256-${hash}'`), "the import map's hash is in the CSP");
  assert.equal(response.headers.get("x-content-type-options"), "nosniff");
  assert.equal(response.headers.get("cross-origin-resource-policy"), "same-origin");
  // Exactly two scripts: the import map (hashed) and the app module (same origin).
  assert.equal([...html.matchAll(/<script/g)].length, 2);
});

Deno.test("every module the page imports is served (own files by relative path, vendor by map)", () => {
  for (const target of Object.values(IMPORT_MAP.imports)) {
    assert.ok(ASSETS.has(target), `import map target ${target} is served`);
  }
  for (const [path, asset] of ASSETS) {
    if (!path.startsWith("/ui/") || path.startsWith("/ui/vendor/") || !path.endsWith(".js")) {
      continue;
    }
    for (const [, spec] of asset.body.matchAll(/from\s+"([^"]+)"/g)) {
      if (spec.startsWith("./")) {
        assert.ok(ASSETS.has(`/ui/${spec.slice(2)}`), `${path} imports ${spec}, not served`);
      } else {
        assert.ok(spec in IMPORT_MAP.imports, `${path} imports ${spec}, not in the import map`);
      }
    }
  }
  for (const path of ["/", "/ui/app.js", "/ui/style.css", "/ui/vendor/uplot.css"]) {
    assert.ok(ASSETS.has(path), path);
  }
});

Deno.test("the dashboard's files never use an HTML string sink", () => {
  for (const [path, asset] of ASSETS) {
    if (path === "/" || path.startsWith("/ui/vendor/")) continue;
    assert.ok(
      !/innerHTML|outerHTML|insertAdjacentHTML|dangerouslySetInnerHTML|document\.write/.test(
        asset.body,
      ),
      `${path} writes HTML from a string`,
    );
  }
});

Deno.test("paths outside the assets are 404s, whatever they look like", async () => {
  for (
    const path of [
      "/ui/",
      "/ui/../deno.json",
      "/ui/%2e%2e/deno.json",
      "/ui/vendor/../../orchestrator/main.ts",
      "/ui/app.js/",
      "/ui/APP.JS",
      "/ui/app.js%00.png",
    ]
  ) {
    const response = get(path);
    assert.equal(response.status, 404, path);
    assert.equal((await response.json()).error.code, "not_found");
    assert.ok(response.headers.get("content-security-policy"), "404s carry the CSP too");
  }
});

Deno.test("only GET and HEAD; ETags revalidate", async () => {
  const post = get("/ui/app.js", {}, "POST");
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  await post.body?.cancel();
  const first = get("/ui/app.js");
  assert.equal(first.headers.get("content-type"), "text/javascript; charset=utf-8");
  const etag = first.headers.get("etag")!;
  await first.body?.cancel();
  const again = get("/ui/app.js", { "if-none-match": etag });
  assert.equal(again.status, 304);
  assert.equal(again.body, null);
  const head = get("/index.html", {}, "HEAD");
  assert.equal(head.status, 200);
  assert.equal(head.body, null);
});

Deno.test("the server routes only the page and /ui/ here", () => {
  assert.ok(isDashboardPath("/") && isDashboardPath("/index.html") && isDashboardPath("/ui/x"));
  assert.ok(!isDashboardPath("/api/v1/tasks") && !isDashboardPath("/metrics"));
  assert.ok(!isDashboardPath("/uix") && !isDashboardPath("/ui"));
});

/**
 * The dashboard as HTTP answers: the page at `/` and its files under `/ui/`, each with its
 * content type, an ETag, and the security headers. The page's only inline script is the import
 * map, allowed by its hash; everything else must come from this origin (strict CSP), HTML string
 * sinks are refused (Trusted Types), and no other site may frame the page or read its files.
 * @module
 */
import { createHash } from "node:crypto";
import { IMPORT_MAP, VENDOR_FILES } from "./vendor.ts";
import { UI_FILES } from "./ui_files.ts";

/** An asset ready to serve. */
export interface Asset {
  body: string;
  contentType: string;
  etag: string;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  html: "text/html; charset=utf-8",
};

function sha256(text: string, encoding: "hex" | "base64"): string {
  return createHash("sha256").update(text).digest(encoding);
}

function asset(name: string, body: string): Asset {
  const extension = name.slice(name.lastIndexOf(".") + 1);
  return {
    body,
    contentType: CONTENT_TYPES[extension] ?? "application/octet-stream",
    etag: `"${sha256(body, "hex").slice(0, 32)}"`,
  };
}

const importMapText = JSON.stringify(IMPORT_MAP);

/** The page: the import map, the styles and the app module; the app renders into #app. */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>Mutirão</title>
<link rel="stylesheet" href="/ui/vendor/uplot.css">
<link rel="stylesheet" href="/ui/style.css">
<script type="importmap">${importMapText}</script>
<script type="module" src="/ui/app.js"></script>
</head>
<body>
<div id="app"><noscript>The Mutirão dashboard needs JavaScript.</noscript></div>
</body>
</html>
`;

/**
 * The Content-Security-Policy of every dashboard answer: scripts, styles and connections from
 * this origin only (plus the import map by its hash), no plugins, no framing, no forms posting
 * elsewhere, and Trusted Types so no string is ever parsed as HTML.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src 'self' 'sha256-${sha256(importMapText, "base64")}'`,
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join("; ");

/** Headers on every dashboard answer. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "x-frame-options": "DENY",
};

/** Every asset by its URL path. */
export const ASSETS: ReadonlyMap<string, Asset> = new Map([
  ["/", asset("index.html", PAGE_HTML)],
  ...Object.entries(UI_FILES).map(([name, body]) => [`/ui/${name}`, asset(name, body)] as const),
  ...Object.entries(VENDOR_FILES).map((
    [name, body],
  ) => [`/ui/vendor/${name}`, asset(name, body)] as const),
]);

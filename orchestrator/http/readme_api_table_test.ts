// The README's API reference table is checked against the OpenAPI document: every operation the
// server documents has a row, and every row names an operation that exists (so neither can drift).
import assert from "node:assert/strict";
import { openApiDocument } from "./openapi_document.ts";

/** `METHOD /path` of each operation the README's "HTTP API" table lists. */
export function readmeOperations(readme: string): string[] {
  const start = readme.indexOf("\n## HTTP API\n");
  assert.ok(start >= 0, "README has an HTTP API section");
  const section = readme.slice(start + 1, readme.indexOf("\n## ", start + 1));
  const header = section.indexOf("| operation ");
  assert.ok(header >= 0, "the HTTP API section has an operation table");
  const operations: string[] = [];
  for (const line of section.slice(header).split("\n").slice(2)) {
    if (!line.startsWith("|")) break;
    const cell = line.split("|")[1];
    let last: { method: string; path: string } | null = null;
    for (const [, code] of cell.matchAll(/`([^`]+)`/g)) {
      const full = /^(GET|POST|DELETE|PUT|PATCH) (\/\S*)$/.exec(code);
      if (full !== null) {
        last = { method: full[1], path: full[2] };
      } else if (code.startsWith("/") && last !== null) {
        // "`POST /schedules/{name}/pause`, `/resume`": the same method on the sibling path.
        last = { method: last.method, path: last.path.replace(/\/[^/]+$/, code) };
      } else {
        continue;
      }
      operations.push(`${last.method} ${last.path}`);
    }
  }
  return operations;
}

Deno.test("the README's API table lists exactly the OpenAPI document's operations", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const listed = readmeOperations(readme).sort();
  const doc = openApiDocument() as { paths: Record<string, Record<string, unknown>> };
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`)
  ).sort();
  assert.deepEqual(listed, documented);
});

Deno.test("readmeOperations reads combined cells", () => {
  const readme = [
    "## HTTP API",
    "| operation | what |",
    "| --- | --- |",
    "| `GET /users`, `POST /users` | x |",
    "| `POST /schedules/{name}/pause`, `/resume` | `{name}` |",
    "",
    "## Next",
  ].join("\n");
  assert.deepEqual(readmeOperations(`\n${readme}`), [
    "GET /users",
    "POST /users",
    "POST /schedules/{name}/pause",
    "POST /schedules/{name}/resume",
  ]);
});

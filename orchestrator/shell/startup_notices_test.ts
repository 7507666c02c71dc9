// Proves that an orchestrator's startup lines warn only where the operator must act: a demo file's
// expected conditions are one info line, and a production file without a secret still warns.
import assert from "node:assert/strict";
import { startupNotices } from "./startup_notices.ts";

Deno.test("startupNotices() turns a demo file's well-known passwords and missing secret into one info line", () => {
  const notices = startupNotices({
    configPath: "config/demo.json",
    isDemo: true,
    hasSecret: false,
  });
  assert.deepEqual(notices.map((n) => n.level), ["info"]);
  assert.match(notices[0].message, /config\/demo\.json is a demo configuration/);
  assert.match(notices[0].message, /well-known passwords and no cluster secret/);
  assert.match(notices[0].message, /SECURITY\.md/);
});

Deno.test("startupNotices() warns about a missing cluster secret outside a demo file", () => {
  const notices = startupNotices({ configPath: "prod.json", isDemo: false, hasSecret: false });
  assert.deepEqual(notices.map((n) => n.level), ["warn"]);
  assert.match(notices[0].message, /^No cluster secret/);
});

Deno.test("startupNotices() says nothing about a production file with a secret", () => {
  assert.deepEqual(startupNotices({ configPath: "prod.json", isDemo: false, hasSecret: true }), []);
  const demo = startupNotices({ configPath: "d.json", isDemo: true, hasSecret: true });
  assert.deepEqual(demo.map((n) => n.level), ["info"]);
  assert.doesNotMatch(demo[0].message, /no cluster secret/);
});

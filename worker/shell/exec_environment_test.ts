// Proves that an exec task's environment holds only the fixed minimum, its own directory and the
// variables the operator allowed by name: never the worker's other variables (issue 13, hole 9).
import assert from "node:assert/strict";
import { execEnvironment, isEnvName } from "./exec_environment.ts";

const WORKER_ENV: Record<string, string> = {
  PATH: "/opt/bin:/usr/bin",
  LANG: "pt_BR.UTF-8",
  MUTIRAO_CLUSTER_SECRET_FILE: "/etc/mutirao/secret",
  AWS_SECRET_ACCESS_KEY: "hunter2",
  PYTHONPATH: "/srv/lib",
  HOME: "/root",
};

Deno.test("execEnvironment() passes PATH, LANG and the task's own HOME and TMPDIR only", () => {
  const env = execEnvironment({ allow: [], workDir: "/tmp/t1", get: (n) => WORKER_ENV[n] });
  assert.deepEqual(env, {
    PATH: "/opt/bin:/usr/bin",
    LANG: "pt_BR.UTF-8",
    HOME: "/tmp/t1",
    TMPDIR: "/tmp/t1",
  });
});

Deno.test("execEnvironment() adds allowed variables the worker has, and nothing else", () => {
  const env = execEnvironment({
    allow: ["PYTHONPATH", "MISSING"],
    workDir: "/tmp/t2",
    get: (n) => WORKER_ENV[n],
  });
  assert.equal(env.PYTHONPATH, "/srv/lib");
  assert.equal("MISSING" in env, false);
  assert.equal("AWS_SECRET_ACCESS_KEY" in env, false);
  assert.equal("MUTIRAO_CLUSTER_SECRET_FILE" in env, false);
});

Deno.test("execEnvironment() keeps HOME the task's own even when HOME is allowed", () => {
  const env = execEnvironment({ allow: ["HOME"], workDir: "/tmp/t3", get: (n) => WORKER_ENV[n] });
  assert.equal(env.HOME, "/tmp/t3");
});

Deno.test("execEnvironment() falls back to safe defaults without PATH or LANG", () => {
  const env = execEnvironment({ allow: [], workDir: "/tmp/t4", get: () => undefined });
  assert.equal(env.PATH, "/usr/local/bin:/usr/bin:/bin");
  assert.equal(env.LANG, "C.UTF-8");
});

Deno.test("isEnvName() accepts variable names and refuses anything else", () => {
  assert.ok(isEnvName("PYTHONPATH"));
  assert.ok(isEnvName("_X1"));
  assert.equal(isEnvName("1X"), false);
  assert.equal(isEnvName("A=B"), false);
  assert.equal(isEnvName(""), false);
});

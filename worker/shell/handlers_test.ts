// Proves that handlers modules are checked before a worker serves them: every bad shape is refused
// with an error naming the module and the problem, and a good module loads by path or URL.
import assert from "node:assert/strict";
import { relative } from "node:path";
import { pathToFileURL } from "node:url";
import { LIMITS } from "../../shared/limits.ts";
import { loadHandlers, validateHandlers } from "./handlers.ts";

const noop = () => null;

Deno.test("validateHandlers() returns a copy of a map of kinds to functions", () => {
  const value = { add: noop, "mail.send": noop };
  const handlers = validateHandlers(value, "test");
  assert.deepEqual(Object.keys(handlers), ["add", "mail.send"]);
  assert.equal(handlers.add, noop);
  (value as Record<string, unknown>).late = noop;
  assert.equal("late" in handlers, false, "later changes do not change the kinds served");
});

Deno.test("validateHandlers() refuses a value that is not an object", () => {
  for (const [value, seen] of [[null, "null"], [[noop], "an array"], [noop, "a function"]]) {
    assert.throws(
      () => validateHandlers(value, "m.ts"),
      (e: Error) =>
        e instanceof TypeError && e.message.startsWith("Invalid handlers in m.ts: ") &&
        e.message.endsWith(`got ${seen}`),
    );
  }
});

Deno.test("validateHandlers() refuses a handler that is not a function", () => {
  assert.throws(
    () => validateHandlers({ add: noop, resize: "convert" }, "m.ts"),
    {
      message: 'Invalid handlers in m.ts: the handler of "resize" must be a function, got a string',
    },
  );
});

Deno.test("validateHandlers() refuses bad kind names: built-ins, bad characters, too long", () => {
  const cases: Array<[string, RegExp]> = [
    ["sleep", /"sleep" is invalid \(sleep and exec are built-in kinds/],
    ["exec", /"exec" is invalid/],
    ["1st", /"1st" is invalid \(a task kind: a letter/],
    ["a b", /"a b" is invalid/],
    ["", /"" is invalid/],
    ["k".repeat(LIMITS.kindChars + 1), /is invalid \(.*64/],
  ];
  for (const [kind, message] of cases) {
    assert.throws(() => validateHandlers({ [kind]: noop }, "m.ts"), message, kind);
  }
  // The longest allowed name is fine.
  validateHandlers({ ["k".repeat(LIMITS.kindChars)]: noop }, "m.ts");
});

Deno.test("validateHandlers() refuses no kinds at all, and more than a worker may serve", () => {
  assert.throws(() => validateHandlers({}, "m.ts"), /it defines no task kinds/);
  const many = Object.fromEntries(
    Array.from({ length: LIMITS.workerKindsMax + 1 }, (_, i) => [`k${i}`, noop]),
  );
  assert.throws(
    () => validateHandlers(many, "m.ts"),
    new RegExp(`at most ${LIMITS.workerKindsMax} kinds, got ${LIMITS.workerKindsMax + 1}`),
  );
});

/** Runs `body` with `source` written as a module in a fresh directory, removed afterwards. */
async function withModule(
  source: string,
  body: (path: string) => Promise<void>,
  name = "handlers.ts",
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mutirao-handlers-test-" });
  try {
    await Deno.writeTextFile(`${dir}/${name}`, source);
    await body(`${dir}/${name}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("loadHandlers() loads a module's default export by relative path and by URL", async () => {
  await withModule("export default { twice: (n: number) => 2 * n };", async (path) => {
    const byPath = await loadHandlers(relative(Deno.cwd(), path));
    assert.equal(byPath.twice(21, undefined!), 42);
    const byUrl = await loadHandlers(pathToFileURL(path).href);
    assert.deepEqual(Object.keys(byUrl), ["twice"]);
  });
  const example = await loadHandlers(new URL("../../examples/handlers.ts", import.meta.url));
  assert.deepEqual(Object.keys(example).sort(), [
    "add",
    "echo",
    "fail",
    "flaky",
    "slow",
    "spin",
    "wordcount",
  ]);
});

Deno.test("loadHandlers() names a missing file", async () => {
  await assert.rejects(
    () => loadHandlers("no/such/handlers.ts"),
    (e: Error) =>
      e.message.startsWith('Cannot load handlers from "no/such/handlers.ts": no such file (') &&
      e.message.includes("/no/such/handlers.ts"),
  );
});

Deno.test("loadHandlers() reports a syntax error with its place", async () => {
  await withModule("export default { add: (", async (path) => {
    await assert.rejects(
      () => loadHandlers(path),
      (e: Error) =>
        e.message.startsWith(`Cannot load handlers from "${path}": `) &&
        /SyntaxError/.test(e.message) && e.message.includes("broken.ts:1"),
    );
  }, "broken.ts");
});

Deno.test("loadHandlers() reports a module without a default export", async () => {
  await withModule("export const add = () => 1;", async (path) => {
    await assert.rejects(() => loadHandlers(path), /it has no default export/);
  });
});

Deno.test("loadHandlers() reports a module whose code throws while loading", async () => {
  await withModule('throw new Error("no config"); export default {};', async (path) => {
    await assert.rejects(() => loadHandlers(path), /its code threw while loading: no config/);
  });
});

Deno.test("loadHandlers() checks the default export's shape, naming the module", async () => {
  await withModule('export default { add: "not a function" };', async (path) => {
    await assert.rejects(() => loadHandlers(path), {
      message:
        `Invalid handlers in "${path}": the handler of "add" must be a function, got a string`,
    });
  });
});

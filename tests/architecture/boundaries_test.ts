// Proves the architecture's boundaries hold in the product code: the pure cores (Raft, tasks,
// scheduler, the orchestrator node, the worker core) touch no clock, randomness, timer, socket,
// file or shell module, one product folder imports another only through its mod.ts, and Raft
// depends on neither the node nor the task state machine it serves.
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Folders whose code must be pure: what they need arrives as input, what they do leaves as data. */
const PURE = [
  "orchestrator/raft",
  "orchestrator/tasks",
  "orchestrator/scheduler",
  "orchestrator/core",
  "worker/core",
];

/** What a pure module must not use (each with why it is banned). */
const IMPURE_PATTERNS: Array<[RegExp, string]> = [
  [/\bDeno\.(?!test\b)[a-zA-Z]/, "Deno APIs (files, sockets, processes, environment)"],
  // `new Date(ms)` only formats a time it is given; `new Date()` reads the clock.
  [/\bDate\.now\(|\bnew Date\(\s*\)/, "the wall clock (time arrives in inputs)"],
  [/\bperformance\.now\(/, "the monotonic clock (time arrives in inputs)"],
  [/\bMath\.random\(/, "randomness (a seeded PRNG arrives in inputs)"],
  [/\bset(Timeout|Interval)\(|\bqueueMicrotask\(/, "timers (ticks arrive as inputs)"],
  [/\bcrypto\.|from "node:crypto"/, "crypto (the shell hashes and makes tokens)"],
  [/from "node:(fs|net|dgram|child_process|os|process)"/, "node I/O modules"],
];

/** Product folders: everything but tests, benches, tools and scripts. */
const PRODUCT_ROOTS = ["orchestrator", "worker", "client", "shared"];

async function* productFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(join(ROOT, dir))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* productFiles(path);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) yield path;
  }
}

async function allProductFiles(): Promise<string[]> {
  const files: string[] = [];
  for (const root of PRODUCT_ROOTS) for await (const f of productFiles(root)) files.push(f);
  return files.sort();
}

/** The code of a module without comments (a comment may name what the code must not do). */
function codeOf(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
}

function importsOf(text: string): string[] {
  return [...text.matchAll(/(?:import|export)[^"']*?from\s+["']([^"']+)["']/g)].map((m) => m[1]);
}

Deno.test("pure core modules use no clock, randomness, timer, I/O or shell module", async () => {
  const problems: string[] = [];
  for (const file of await allProductFiles()) {
    if (!PURE.some((dir) => file.startsWith(`${dir}/`))) continue;
    const code = codeOf(await Deno.readTextFile(join(ROOT, file)));
    for (const [pattern, what] of IMPURE_PATTERNS) {
      if (pattern.test(code)) problems.push(`${file} uses ${what}`);
    }
    for (const spec of importsOf(code)) {
      if (!spec.startsWith(".")) continue;
      const target = relative(ROOT, resolve(dirname(join(ROOT, file)), spec));
      if (/(^|\/)shell\//.test(target) || target.startsWith("client/")) {
        problems.push(`${file} imports ${target} (a shell or client module)`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("a product folder imports another folder only through its mod.ts", async () => {
  const problems: string[] = [];
  const folderOf = (path: string) => dirname(path);
  for (const file of await allProductFiles()) {
    const code = codeOf(await Deno.readTextFile(join(ROOT, file)));
    for (const spec of importsOf(code)) {
      if (!spec.startsWith(".")) continue;
      const target = relative(ROOT, resolve(dirname(join(ROOT, file)), spec));
      const targetFolder = folderOf(target);
      if (targetFolder === folderOf(file)) continue;
      // Importing a parent or a sibling component's folder: through its mod.ts, when it has one.
      const hasMod = await Deno.stat(join(ROOT, targetFolder, "mod.ts")).then(
        () => true,
        () => false,
      );
      if (hasMod && !target.endsWith("/mod.ts")) {
        problems.push(`${file} imports ${target}, not ${targetFolder}/mod.ts`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

/** Folders Raft must not import: it serves them (the node, and the state machine whose commands it carries). */
const ABOVE_RAFT = ["orchestrator/core/", "orchestrator/tasks/"];

Deno.test("Raft imports nothing from the orchestrator node or the task state machine", async () => {
  const problems: string[] = [];
  for (const file of await allProductFiles()) {
    if (!file.startsWith("orchestrator/raft/")) continue;
    const code = codeOf(await Deno.readTextFile(join(ROOT, file)));
    for (const spec of importsOf(code)) {
      if (!spec.startsWith(".")) continue;
      const target = relative(ROOT, resolve(dirname(join(ROOT, file)), spec));
      if (ABOVE_RAFT.some((dir) => target.startsWith(dir))) {
        problems.push(`${file} imports ${target}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

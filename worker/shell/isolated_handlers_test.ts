// Proves isolated handlers: an attempt runs in a Web Worker and returns its value, log lines and
// progress come back, a throw fails only that attempt, and a handler that ignores its signal is
// stopped for good (its Web Worker terminated and replaced) while the next attempt runs.
import assert from "node:assert/strict";
import { IsolatedHandlers } from "./isolated_handlers.ts";
import type { HandlerContext } from "./handlers.ts";

const MODULE = `
export default {
  echo: (payload, ctx) => { ctx.log("echo " + ctx.taskId); ctx.progress(1, "done"); return payload; },
  boom: () => { throw new Error("boom"); },
  spin: () => { for (;;) {} },
};
`;

function context(controller = new AbortController()) {
  const lines: string[] = [];
  const ctx: HandlerContext = {
    taskId: "t-1",
    attempt: 1,
    signal: controller.signal,
    progress: (fraction, message) => lines.push(`progress ${fraction} ${message}`),
    log: (line) => lines.push(line),
  };
  return { ctx, lines, controller };
}

Deno.test("isolated handlers run in Web Workers, and one that ignores its signal is killed", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/handlers.mjs`;
  await Deno.writeTextFile(path, MODULE);
  const pool = new IsolatedHandlers(new URL(`file://${path}`), ["echo", "boom", "spin"], {
    killGraceMs: 100,
  });
  try {
    const first = context();
    assert.deepEqual(await pool.handlers.echo({ a: 1 }, first.ctx), { a: 1 });
    assert.deepEqual(first.lines, ["echo t-1", "progress 1 done"]);

    await assert.rejects(() => Promise.resolve(pool.handlers.boom(null, context().ctx)), /boom/);

    const spinning = context();
    const spun = Promise.resolve(pool.handlers.spin(null, spinning.ctx));
    spinning.controller.abort(new DOMException("timed out", "TimeoutError"));
    await assert.rejects(() => spun, /terminated: it did not stop when signalled/);
    assert.equal(pool.killed, 1);

    // The pool goes on with a fresh Web Worker.
    assert.equal(await pool.handlers.echo("again", context().ctx), "again");
  } finally {
    pool.close();
    await Deno.remove(dir, { recursive: true });
  }
});

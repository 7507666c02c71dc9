// Proves the client and worker libraries can be imported from another Deno project by path (its
// own deno.json, none of ours): the product's dependencies resolve without our import map.
import assert from "node:assert/strict";

Deno.test("another Deno project imports client/mod.ts and worker/mod.ts by path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mutirao-other-project-" });
  try {
    await Deno.writeTextFile(`${dir}/deno.json`, "{}\n");
    const root = new URL("../../", import.meta.url);
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      `import { connect, TaskFailedError } from "${new URL("client/mod.ts", root)}";\n` +
        `import { runWorker } from "${new URL("worker/mod.ts", root)}";\n` +
        `console.log([typeof connect, typeof TaskFailedError, typeof runWorker].join(" "));\n`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "main.ts"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.equal(new TextDecoder().decode(out.stdout).trim(), "function function function");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

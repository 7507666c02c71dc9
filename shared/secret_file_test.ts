// Proves that an orchestrator's data directory ends up readable by its owner only: created 0700,
// and an existing 0755 directory with 0644 files (as earlier versions made them) tightened, with a
// warning naming each change (issue 13, hole 8).
import assert from "node:assert/strict";
import { ensurePrivateDirectory } from "./secret_file.ts";

async function modeOf(path: string): Promise<number> {
  return ((await Deno.stat(path)).mode ?? 0) & 0o777;
}

Deno.test("ensurePrivateDirectory() creates missing directories 0700", async () => {
  const root = await Deno.makeTempDir();
  try {
    const warnings: string[] = [];
    await ensurePrivateDirectory(`${root}/a/b`, {
      what: "data directory",
      onWarning: (m) => warnings.push(m),
    });
    assert.equal(await modeOf(`${root}/a/b`), 0o700);
    assert.deepEqual(warnings, []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ensurePrivateDirectory() tightens an existing open directory and its files", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = `${root}/data`;
    await Deno.mkdir(dir);
    await Deno.chmod(dir, 0o755);
    await Deno.writeTextFile(`${dir}/wal-00000001.log`, "secret hashes");
    await Deno.chmod(`${dir}/wal-00000001.log`, 0o644);
    const warnings: string[] = [];
    await ensurePrivateDirectory(dir, {
      what: "data directory",
      onWarning: (m) => warnings.push(m),
    });
    assert.equal(await modeOf(dir), 0o700);
    assert.equal(await modeOf(`${dir}/wal-00000001.log`), 0o600);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0], /mode 755 -> 700/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

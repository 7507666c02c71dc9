// Proves the session file cannot be hijacked (issue 13, hole 13): a symlink planted at the temporary
// file's name does not receive the token, and a home other users can write to, or that another user
// owns, is refused before any token is written (and a session found in one is not believed).
import assert from "node:assert/strict";
import {
  type ClientState,
  loadClientState,
  saveClientState,
  sessionPath,
  unsafeDirectoryReason,
} from "./session_store.ts";

const TOKEN = "secret-token-0123456789abcdef";
const STATE: ClientState = {
  session: {
    user: "carol",
    token: TOKEN,
    expiresAtMs: Date.now() + 3_600_000,
    orchestrators: [{ id: "o1", host: "127.0.0.1", port: 7001 }],
    clusterId: "c",
    caFingerprint: null,
  },
  lamport: 7,
};

/** Runs `body` with $MUTIRAO_HOME set to a fresh private directory inside a temporary one. */
async function withHome(body: (home: string, outside: string) => Promise<void>): Promise<void> {
  const outside = await Deno.makeTempDir({ prefix: "mutirao-session-" });
  const home = `${outside}/home`;
  await Deno.mkdir(home, { mode: 0o700 });
  const previous = Deno.env.get("MUTIRAO_HOME");
  Deno.env.set("MUTIRAO_HOME", home);
  try {
    await body(home, outside);
  } finally {
    if (previous === undefined) Deno.env.delete("MUTIRAO_HOME");
    else Deno.env.set("MUTIRAO_HOME", previous);
    await Deno.remove(outside, { recursive: true });
  }
}

async function names(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

Deno.test("saveClientState() never writes the token through a symlink planted at the temp file's name", async () => {
  await withHome(async (home, outside) => {
    const trap = `${outside}/attacker.txt`;
    await Deno.writeTextFile(trap, "");
    // The name the client used before the fix: session.json.<pid>.tmp.
    const planted = `${sessionPath()}.${Deno.pid}.tmp`;
    await Deno.symlink(trap, planted);
    await saveClientState(STATE);
    assert.equal(await Deno.readTextFile(trap), "", "the attacker's file received nothing");
    assert.equal(await Deno.readLink(planted), trap, "the planted link was not followed");
    const saved = await Deno.lstat(sessionPath());
    assert.ok(saved.isFile, "session.json is a regular file");
    assert.equal((saved.mode ?? 0) & 0o777, 0o600);
    assert.deepEqual(await loadClientState(), STATE);
    assert.deepEqual(await names(home), ["session.json", planted.slice(home.length + 1)]);
  });
});

Deno.test("saveClientState() refuses a home that other users can write to, and writes nothing", async () => {
  await withHome(async (home) => {
    for (const mode of [0o777, 0o770, 0o702]) {
      await Deno.chmod(home, mode);
      await assert.rejects(saveClientState(STATE), /writable by other users/);
      assert.deepEqual(await names(home), [], `mode ${mode.toString(8)}: no file is left behind`);
    }
  });
});

Deno.test("saveClientState() refuses a home owned by another user", async (t) => {
  if (Deno.build.os === "windows" || Deno.uid() !== 0) {
    // Only root can hand a directory to another user; the ownership rule itself is unit-tested below.
    await t.step({ name: "skipped: needs root", ignore: true, fn: () => {} });
    return;
  }
  await withHome(async (home) => {
    await Deno.chown(home, 65534, 65534);
    await assert.rejects(saveClientState(STATE), /owned by uid 65534, not by this user/);
    assert.deepEqual(await names(home), []);
  });
});

Deno.test("loadClientState() does not believe a session in a home other users can write to", async () => {
  await withHome(async (home) => {
    await saveClientState(STATE);
    await Deno.chmod(home, 0o777);
    await assert.rejects(loadClientState(), /Cannot use the session.*writable by other users/);
  });
});

Deno.test("unsafeDirectoryReason() accepts only a directory owned by the user and closed to others", () => {
  const info = (mode: number, uid: number, isDirectory = true) =>
    ({ isDirectory, mode, uid }) as Deno.FileInfo;
  assert.equal(unsafeDirectoryReason("/h", info(0o40700, 1000), 1000), null);
  assert.equal(unsafeDirectoryReason("/h", info(0o40755, 1000), 1000), null);
  assert.match(unsafeDirectoryReason("/h", info(0o40720, 1000), 1000)!, /mode 0720/);
  assert.match(unsafeDirectoryReason("/h", info(0o41777, 1000), 1000)!, /writable by other/);
  assert.match(unsafeDirectoryReason("/h", info(0o40700, 0), 1000)!, /owned by uid 0/);
  assert.match(unsafeDirectoryReason("/h", info(0o100600, 1000, false), 1000)!, /not a dir/);
});

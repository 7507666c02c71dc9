// Proves clients do not hand credentials to a forged multicast announcement (issue 13, hole 5),
// inside a private network namespace: without TLS, `login --multicast` refuses before listening and
// the fake orchestrator hears nothing; with --insecure-multicast it warns loudly (and the fake does
// get the password: the risk the flag accepts); with TLS the fake fails verification and receives no
// frame. Skips (with the reason) where `ip netns` cannot be used.
import assert from "node:assert/strict";
import { EXIT_CODES } from "../../shared/errors.ts";
import { ManagedProcess, REPO_ROOT } from "../../scripts/lib/managed_process.ts";
import { createNamespace, deleteNamespace, netnsUnavailable, run } from "./netns.ts";

const PLAIN_GROUP = "239.255.78.1:7797";
const TLS_GROUP = "239.255.78.2:7796";

/** The fake's JSON event lines: connections accepted and frames received. */
function events(fake: ManagedProcess): Array<{ event: string; frame?: Record<string, unknown> }> {
  return fake.stdoutLines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

/** A self-signed end-entity certificate for 127.0.0.1 (PLATFORM.md, section 4). */
async function makeCertificate(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const [cert, key] = [`${dir}/${name}-cert.pem`, `${dir}/${name}-key.pem`];
  await run([
    ...["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
    ...["-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost"],
    ...["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
    ...["-addext", "basicConstraints=critical,CA:FALSE"],
  ]);
  return { cert, key };
}

Deno.test("multicast: a forged announcement never receives a password unless the user accepts the risk", async (t) => {
  const reason = await netnsUnavailable();
  if (reason !== null) {
    console.log(`SKIPPED: multicast security test needs network namespaces (${reason})`);
    return;
  }
  const ns = `mutirao-mcsec-${Deno.pid}`;
  const dir = await Deno.makeTempDir({ prefix: "mutirao-mcsec-" });
  const inNs = ["ip", "netns", "exec", ns];
  const fakes: ManagedProcess[] = [];
  const startFake = async (group: string, tls?: { cert: string; key: string }) => {
    const fake = new ManagedProcess({
      name: `fake orchestrator ${group}`,
      args: [
        "tests/e2e/security_client_fake_orchestrator.ts",
        ...["--cluster-id", "mc", "--multicast", group],
        ...(tls === undefined ? [] : ["--cert", tls.cert, "--key", tls.key]),
      ],
      prefix: inNs,
    });
    fakes.push(fake);
    await fake.ready();
    return fake;
  };
  const cli = async (args: string[]) => {
    const child = new Deno.Command("ip", {
      args: [...inNs.slice(1), Deno.execPath(), "run", "-A", "client/main.ts", ...args],
      cwd: REPO_ROOT,
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0", MUTIRAO_HOME: `${dir}/home` },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("pass1\n"));
    await writer.close();
    const out = await child.output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  };
  await createNamespace(ns);
  try {
    const plainFake = await startFake(PLAIN_GROUP);

    await t.step(
      "without TLS, login --multicast is refused and the fake hears nothing",
      async () => {
        const r = await cli(["login", "user1", "--multicast", PLAIN_GROUP]);
        assert.equal(r.code, EXIT_CODES.invalidArguments, r.stderr);
        assert.match(
          r.stderr,
          /Refusing to send credentials to an orchestrator found by multicast/,
        );
        assert.match(r.stderr, /--tls-ca FILE/);
        assert.match(r.stderr, /--insecure-multicast/);
        assert.deepEqual(events(plainFake).filter((e) => e.event !== "ready"), []);
      },
    );

    await t.step(
      "with --insecure-multicast it warns loudly, and the fake gets the password",
      async () => {
        const r = await cli(
          ["login", "user1", "--multicast", PLAIN_GROUP, "--insecure-multicast", "--timeout", "2"],
        );
        assert.match(
          r.stderr,
          /warning: --insecure-multicast: sending credentials to an orchestrator/,
        );
        const login = events(plainFake).find((e) => e.frame?.type === "login");
        assert.equal(login?.frame?.password, "pass1", "the accepted risk: the forgery got it");
      },
    );

    await t.step("with TLS the fake fails verification and receives no frame", async () => {
      const real = await makeCertificate(dir, "real");
      const other = await makeCertificate(dir, "other");
      const tlsFake = await startFake(TLS_GROUP, other);
      const r = await cli(
        ["login", "user1", "--multicast", TLS_GROUP, "--tls-ca", real.cert, "--timeout", "3"],
      );
      assert.equal(r.code, EXIT_CODES.unreachable, r.stderr);
      assert.match(r.stderr, /certificate|UnknownIssuer|handshake/i);
      assert.doesNotMatch(r.stderr, /warning/);
      assert.deepEqual(events(tlsFake).filter((e) => e.event === "frame"), []);
    });
  } finally {
    await Promise.all(fakes.map((p) => p.stop(3000)));
    await deleteNamespace(ns);
    await Deno.remove(dir, { recursive: true });
  }
});

// Proves a session's token goes only to the cluster that issued it (issue 13, hole 12): pointed at a
// fake orchestrator of another cluster, every command stops at the welcome and sends nothing more;
// on a TLS cluster, another CA, or no TLS at all, is refused before connecting, even when the fake
// claims the right cluster id; a session saved before binding existed must log in again. `watch`,
// over HTTP, checks the X-Mutirao-Cluster header of an answer without credentials the same way.
import assert from "node:assert/strict";
import { EXIT_CODES } from "../../shared/errors.ts";
import { type CliResult, type ClusterFixture, withCluster } from "./cluster_fixture.ts";
import { FakeOrchestrator } from "./security_client_fake_orchestrator.ts";

async function sessionState(cluster: ClusterFixture): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(`${cluster.home}/session.json`));
}

async function token(cluster: ClusterFixture): Promise<string> {
  return ((await sessionState(cluster)).session as { token: string }).token;
}

function expectWrongCluster(r: CliResult, what: string, mentions: RegExp): void {
  assert.equal(r.code, EXIT_CODES.unauthenticated, `${what}: ${r.stderr}`);
  const error = r.json?.error as { code: string; message: string };
  assert.equal(error.code, "wrong_cluster", `${what}: ${r.stdout}`);
  assert.match(error.message, mentions, what);
}

/** Every command that sends the session's token, with what it needs on stdin. */
const TOKEN_COMMANDS: Array<{ args: string[]; stdin?: string }> = [
  { args: ["status", "t-1"] },
  { args: ["status", "t-1", "--wait", "--wait-timeout", "1"] },
  { args: ["list"] },
  { args: ["list", "--all"] },
  { args: ["workers"] },
  { args: ["cancel", "t-1"] },
  { args: ["submit", "x", "-d", "1"] },
  { args: ["cluster"] },
  { args: ["user", "list"] },
  { args: ["user", "passwd", "user2"], stdin: "new-password-2\n" },
  { args: ["token", "list"] },
  { args: ["logout"] },
];

/** Makes a self-signed end-entity certificate for 127.0.0.1 (PLATFORM.md, section 4). */
async function makeCertificate(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const [cert, key] = [`${dir}/${name}-cert.pem`, `${dir}/${name}-key.pem`];
  const made = await new Deno.Command("openssl", {
    args: [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost"],
      ...["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
      ...["-addext", "basicConstraints=critical,CA:FALSE"],
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(made.success, new TextDecoder().decode(made.stderr));
  return { cert, key };
}

Deno.test("a session's token is never sent to an orchestrator of another cluster", async (t) => {
  await withCluster({}, async (cluster) => {
    await cluster.startOrchestrator();
    const login = await cluster.cli(["login", "user1"], { stdin: "pass1\n" });
    assert.equal(login.code, 0, login.stderr);
    const secret = await token(cluster);
    assert.equal(
      (await sessionState(cluster) as { session: { clusterId: string } }).session
        .clusterId,
      "e2e",
      "the session records the cluster id of the welcome",
    );

    await t.step(
      "every command stops at the fake's welcome: nothing but hello reaches it",
      async () => {
        const fake = FakeOrchestrator.start({ clusterId: "elsewhere" });
        try {
          for (const { args, stdin } of TOKEN_COMMANDS) {
            const before = fake.frames.length;
            const r = await cluster.cli(
              [...args, "--orchestrators", `127.0.0.1:${fake.port}`, "--timeout", "5"],
              { stdin },
            );
            expectWrongCluster(r, args.join(" "), /"elsewhere", not "e2e"/);
            const types = fake.frames.slice(before).map((f) => f.type);
            assert.deepEqual(types, ["hello"], `${args.join(" ")}: the fake got only the hello`);
          }
          assert.ok(!fake.received(secret), "the token never reached the fake orchestrator");
        } finally {
          await fake.close();
        }
      },
    );

    await t.step("the session still works with its own cluster", async () => {
      const r = await cluster.cli(["list"]);
      assert.equal(r.code, 0, r.stderr);
    });

    await t.step("a session saved before sessions were bound must log in again", async () => {
      const state = await sessionState(cluster);
      const { clusterId: _c, caFingerprint: _f, ...old } = state.session as Record<string, unknown>;
      await Deno.writeTextFile(
        `${cluster.home}/session.json`,
        JSON.stringify({ ...state, session: old }),
      );
      const fake = FakeOrchestrator.start({ clusterId: "e2e" });
      try {
        const r = await cluster.cli(["list", "--orchestrators", `127.0.0.1:${fake.port}`]);
        expectWrongCluster(r, "list with an unbound session", /older client.*log in again/);
        assert.equal(fake.connections, 0, "it did not even connect");
      } finally {
        await fake.close();
      }
    });
  });
});

Deno.test("on a TLS cluster a session's token goes only to orchestrators verified with the login's CA", async (t) => {
  await withCluster({}, async (cluster) => {
    const real = await makeCertificate(cluster.dir, "real");
    const other = await makeCertificate(cluster.dir, "other");
    const config = JSON.parse(await Deno.readTextFile(cluster.configPath));
    config.tls = { certFile: real.cert, keyFile: real.key, caFile: real.cert };
    await Deno.writeTextFile(cluster.configPath, JSON.stringify(config));
    const plainConfig = `${cluster.dir}/plain.json`;
    await Deno.writeTextFile(plainConfig, JSON.stringify({ ...config, tls: null }));
    await cluster.startOrchestrator();
    const login = await cluster.cli(["login", "user1", "--timeout", "20"], { stdin: "pass1\n" });
    assert.equal(login.code, 0, login.stderr);
    const secret = await token(cluster);
    const session = (await sessionState(cluster)).session as { caFingerprint: string };
    assert.match(session.caFingerprint, /^sha256:[0-9a-f]{64}$/);

    // The attacker copies the cluster id: over TLS only the certificate can tell them apart.
    const otherTls = {
      cert: await Deno.readTextFile(other.cert),
      key: await Deno.readTextFile(other.key),
    };
    const fakeTls = FakeOrchestrator.start({ clusterId: "e2e", tls: otherTls });
    const fakePlain = FakeOrchestrator.start({ clusterId: "e2e" });
    try {
      await t.step("another CA is refused before connecting", async () => {
        const r = await cluster.cli([
          "list",
          "--orchestrators",
          `127.0.0.1:${fakeTls.port}`,
          "--tls-ca",
          other.cert,
        ]);
        expectWrongCluster(r, "list with another CA", /verified with CA sha256:.*another cluster/);
        assert.equal(fakeTls.connections, 0, "no connection was opened");
      });

      await t.step("plain TCP is refused before connecting", async () => {
        const r = await cluster.cli(
          ["list", "--orchestrators", `127.0.0.1:${fakePlain.port}`],
          { config: plainConfig },
        );
        expectWrongCluster(r, "list without TLS", /without TLS/);
        assert.equal(fakePlain.connections, 0, "no connection was opened");
      });

      await t.step(
        "with the login's CA the fake fails verification and gets no frame",
        async () => {
          const r = await cluster.cli([
            "list",
            "--orchestrators",
            `127.0.0.1:${fakeTls.port}`,
            "--timeout",
            "3",
          ]);
          assert.equal(r.code, EXIT_CODES.unreachable, r.stderr);
          assert.deepEqual(fakeTls.frames, [], "the handshake failed before any frame");
        },
      );

      await t.step("the real cluster is still served", async () => {
        const r = await cluster.cli(["list"]);
        assert.equal(r.code, 0, r.stderr);
      });
      assert.ok(!fakeTls.received(secret) && !fakePlain.received(secret));
    } finally {
      await fakeTls.close();
      await fakePlain.close();
    }
  });
});

/** An HTTP server that records the Authorization headers it gets and names `clusterId` (or none). */
function fakeHttpOrchestrator(clusterId: string | null) {
  const authorizations: string[] = [];
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    requests++;
    const authorization = request.headers.get("authorization");
    if (authorization !== null) authorizations.push(authorization);
    const headers: Record<string, string> = clusterId === null
      ? {}
      : { "x-mutirao-cluster": clusterId };
    // Refused either way: a client that sent the token ends at once (and the test says so).
    return Response.json({ error: { code: "unauthenticated", message: "Unknown session" } }, {
      status: 401,
      headers,
    });
  });
  return {
    port: server.addr.port,
    authorizations,
    get requests() {
      return requests;
    },
    close: () => server.shutdown(),
  };
}

Deno.test("watch (HTTP) never sends the token to an orchestrator naming another cluster", async (t) => {
  await withCluster({ http: true }, async (cluster) => {
    await cluster.startOrchestrator();
    const login = await cluster.cli(["login", "user1"], { stdin: "pass1\n" });
    assert.equal(login.code, 0, login.stderr);
    const config = JSON.parse(await Deno.readTextFile(cluster.configPath));
    const pointedAt = async (port: number) => {
      const path = `${cluster.dir}/fake-http-${port}.json`;
      const orchestrators = [{ ...config.orchestrators[0], httpPort: port }];
      await Deno.writeTextFile(path, JSON.stringify({ ...config, orchestrators }));
      return path;
    };

    for (
      const [claim, mentions] of [
        ["elsewhere", /"elsewhere", not "e2e"/],
        [null, /does not name its cluster/],
      ] as const
    ) {
      await t.step(`a fake naming ${claim ?? "no cluster"} gets no token`, async () => {
        const fake = fakeHttpOrchestrator(claim);
        try {
          const fakeConfig = await pointedAt(fake.port);
          for (const args of [["watch"], ["watch", "t-1"]]) {
            const r = await cluster.cli(args, { config: fakeConfig });
            expectWrongCluster(r, args.join(" "), mentions);
          }
          assert.ok(fake.requests >= 2, "the fake was asked which cluster it is");
          assert.deepEqual(fake.authorizations, [], "no request carried a token");
        } finally {
          await fake.close();
        }
      });
    }

    await t.step("the real cluster names itself, so watch sends it the token", async () => {
      const answer = await fetch(`${cluster.httpUrl()}/api/v1/cluster`);
      assert.equal(answer.status, 401);
      assert.equal(answer.headers.get("x-mutirao-cluster"), "e2e");
      await answer.body?.cancel();
      // No worker runs it: cancelled, it is final, and watch reads its end with the token.
      const submitted = await cluster.cli(["submit", "watched", "-d", "1"]);
      assert.equal(submitted.code, 0, submitted.stderr);
      const taskId = submitted.json!.id as string;
      assert.equal((await cluster.cli(["cancel", taskId])).code, 0);
      const watched = await cluster.cli(["watch", taskId]);
      assert.equal(watched.code, 8, `ended cancelled: ${watched.stderr}`);
    });
  });
});

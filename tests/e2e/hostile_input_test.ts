// Proves that hostile bytes on the orchestrator's TCP and UDP port get a typed error reply or a
// closed connection, never a crash, and that ordinary clients keep being served afterwards.
import assert from "node:assert/strict";
import { encodeFrame } from "../../shared/protocol/frame.ts";
import { withCluster } from "./cluster_fixture.ts";
import { type Frame, HELLO, RawClient } from "./raw_client.ts";

const CLIENT_REQUEST_TYPES = [
  "login",
  "logout",
  "submit",
  "status",
  "list",
  "workers",
  "cancel",
  "wait",
];
const encoder = new TextEncoder();

/** Runs `body` with a raw connection that is always closed afterwards. */
async function withRaw(
  open: Promise<RawClient>,
  body: (raw: RawClient) => Promise<void>,
): Promise<void> {
  const raw = await open;
  try {
    await body(raw);
  } finally {
    await raw.close();
  }
}

function assertError(frame: Frame | null, code: string, re: number | null): Frame {
  assert.ok(frame !== null, `expected a ${code} error, but the connection closed`);
  assert.equal(frame.type, "error", `expected a ${code} error, got ${JSON.stringify(frame)}`);
  assert.equal(frame.code, code, `expected code ${code}, got ${JSON.stringify(frame)}`);
  assert.equal(frame.re, re, `error reply correlates to the request: ${JSON.stringify(frame)}`);
  assert.equal(typeof frame.message, "string");
  return frame;
}

function login(id: number) {
  return { v: 1, type: "login", id, lamport: 1, user: "user1", password: "pass1" };
}

async function assertLoginWorks(raw: RawClient, id: number): Promise<void> {
  const reply = await raw.request(login(id));
  assert.equal(reply?.type, "loginOk", `login after the bad input: ${JSON.stringify(reply)}`);
  assert.equal(reply?.re, id);
}

Deno.test("orchestrator answers hostile TCP and UDP input with errors and keeps serving", async (t) => {
  await withCluster({}, async (cluster) => {
    const orchestrator = await cluster.startOrchestrator();
    await cluster.waitUntilServing();
    const { port } = cluster.address();

    await t.step(
      "garbage bytes get frame_too_large or a close; others are still served",
      async () => {
        await withRaw(RawClient.open(port), async (raw) => {
          await raw.write(encoder.encode("GET / HTTP/1.1\r\n\r\n"));
          const first = await raw.next();
          // "GET " read as a length is about 1.2 GB: far above the 1 MiB limit.
          if (first !== null) assertError(first, "frame_too_large", null);
          await raw.expectClosed("after garbage");
        });
        await withRaw(RawClient.welcomed(port), (raw) => assertLoginWorks(raw, 1));
      },
    );

    await t.step("a header announcing 2 MiB gets frame_too_large and a close", async () => {
      await withRaw(RawClient.welcomed(port), async (raw) => {
        const header = new Uint8Array(4);
        new DataView(header.buffer).setUint32(0, 2 * 1024 * 1024);
        await raw.write(header);
        await raw.write(encoder.encode('{"v":1,'));
        const reply = assertError(await raw.next(), "frame_too_large", null);
        assert.match(String(reply.message), /2097152/);
        assert.match(String(reply.message), /1048576/);
        await raw.expectClosed("after an oversized frame");
      });
    });

    await t.step(
      "a frame that is not JSON gets malformed_frame; the same connection still works",
      async () => {
        await withRaw(RawClient.welcomed(port), async (raw) => {
          await raw.write(encodeFrame(encoder.encode("this is not JSON {")));
          assertError(await raw.next(), "malformed_frame", null);
          await raw.write(encodeFrame(new Uint8Array([0xff, 0xfe, 0x7b, 0x7d]))); // not UTF-8
          assertError(await raw.next(), "malformed_frame", null);
          await raw.write(encodeFrame(new Uint8Array(0))); // an empty payload
          assertError(await raw.next(), "malformed_frame", null);
          assertError(await raw.request([1, 2, 3]), "malformed_frame", null);
          assertError(await raw.request("a JSON string"), "malformed_frame", null);
          await assertLoginWorks(raw, 2);
        });
      },
    );

    await t.step("an unknown message type gets bad_request naming the expected types", async () => {
      await withRaw(RawClient.welcomed(port), async (raw) => {
        const reply = assertError(
          await raw.request({ v: 1, type: "frobnicate", id: 3, lamport: 1 }),
          "bad_request",
          3,
        );
        assert.match(String(reply.message), /"frobnicate"/);
        for (const type of CLIENT_REQUEST_TYPES) {
          assert.match(String(reply.message), new RegExp(`\\b${type}\\b`), `names "${type}"`);
        }
        await assertLoginWorks(raw, 4);
      });
    });

    await t.step("a missing or ill-typed field gets bad_request naming the field", async () => {
      await withRaw(RawClient.welcomed(port), async (raw) => {
        const cases: Array<{ request: Frame; field: string }> = [
          {
            request: { v: 1, type: "login", id: 5, lamport: 1, user: "user1" },
            field: '"password"',
          },
          {
            request: { v: 1, type: "status", id: 6, lamport: 1, token: "x", taskId: 42 },
            field: '"taskId"',
          },
          {
            request: {
              v: 1,
              type: "submit",
              id: 7,
              lamport: 1,
              token: "x",
              idempotencyKey: "k",
              task: { kind: "sleep", description: "d", durationMs: "10" },
            },
            field: '"task.durationMs"',
          },
          {
            request: { ...login(8), extra: true },
            field: '"extra"',
          },
        ];
        for (const { request, field } of cases) {
          const reply = assertError(
            await raw.request(request),
            "bad_request",
            request.id as number,
          );
          assert.ok(
            String(reply.message).includes(field),
            `message names ${field}: ${reply.message}`,
          );
        }
        await assertLoginWorks(raw, 9);
      });
    });

    await t.step("a wrong protocol version gets unsupported_version", async () => {
      await withRaw(RawClient.welcomed(port), async (raw) => {
        const reply = assertError(
          await raw.request({ ...login(10), v: 2 }),
          "unsupported_version",
          10,
        );
        assert.match(String(reply.message), /version 2\b/);
        await assertLoginWorks(raw, 11);
      });
      await withRaw(RawClient.open(port), async (raw) => {
        assertError(await raw.request({ ...HELLO, v: 2 }), "unsupported_version", null);
        await raw.expectClosed("after a hello of version 2");
      });
    });

    await t.step("a first frame that is not a hello gets an error and a close", async () => {
      await withRaw(RawClient.open(port), async (raw) => {
        const reply = await raw.request(login(12));
        assert.ok(reply !== null, "expected an error before the close");
        assert.equal(reply.type, "error", JSON.stringify(reply));
        assert.match(String(reply.message), /hello/);
        await raw.expectClosed("after a first frame that is not a hello");
      });
    });

    await t.step("a request with a bad token gets unauthenticated", async () => {
      await withRaw(RawClient.welcomed(port), async (raw) => {
        for (const [id, token] of [[13, "not-a-real-token"], [14, "a".repeat(512)]] as const) {
          assertError(
            await raw.request({ v: 1, type: "status", id, lamport: 1, token, taskId: "t-1" }),
            "unauthenticated",
            id,
          );
        }
        await assertLoginWorks(raw, 15);
      });
    });

    await t.step("garbage UDP datagrams are dropped and logged", async () => {
      const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
      try {
        const target = { transport: "udp" as const, hostname: "127.0.0.1", port };
        // One datagram at a time, each confirmed by the orchestrator's log before the next.
        await udp.send(encoder.encode("GET / HTTP/1.1\r\n\r\n"), target);
        await orchestrator.waitForLine((l) =>
          /Dropped datagram #\d+: .*not valid UTF-8 JSON/.test(l)
        );
        await udp.send(new Uint8Array(9000).fill(0x61), target);
        await orchestrator.waitForLine((l) => /Dropped datagram #\d+: oversized datagram/.test(l));
        await udp.send(
          encoder.encode(JSON.stringify({ v: 1, type: "heartbeat", lamport: 1 })),
          target,
        );
        await orchestrator.waitForLine((l) => /Dropped datagram #\d+: .*"workerId"/.test(l));
      } finally {
        udp.close();
      }
    });

    await t.step(
      "the orchestrator is still running and serves a normal login and submit",
      async () => {
        assert.equal(orchestrator.hasExited, false, "orchestrator exited");
        const errors = orchestrator.lines.filter((l) => / ERROR /.test(l));
        assert.deepEqual(errors, [], "orchestrator logged errors");
        const loggedIn = await cluster.cli(["login", "user1", "pass1"]);
        assert.equal(loggedIn.code, 0, loggedIn.stderr);
        const submitted = await cluster.cli(["submit", "after the storm", "-d", "0.1"]);
        assert.equal(submitted.code, 0, submitted.stderr);
        assert.match(String(submitted.json?.id), /^t-\d+$/);
        assert.equal(orchestrator.hasExited, false, "orchestrator exited");
      },
    );
  });
});

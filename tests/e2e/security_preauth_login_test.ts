// Proves against a real orchestrator that login throttling holds under concurrency and cannot be
// turned against an account's owner: 60 logins pipelined on one connection get at most a few
// passwords checked and never the right one (issue 13, hole 1), and failures from an attacker's
// address do not make the owner's address wait (hole 4).
import assert from "node:assert/strict";
import net from "node:net";
import { encodeFrame, FrameDecoder } from "../../shared/protocol/frame.ts";
import { withCluster } from "./cluster_fixture.ts";
import { type Frame, HELLO, RawClient, REPLY_TIMEOUT_MS } from "./raw_client.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A frame client whose connection comes from a chosen loopback address (Deno.connect cannot). */
class ClientFrom {
  readonly #socket: net.Socket;
  readonly #frames: Frame[] = [];
  readonly #decoder = new FrameDecoder(1024 * 1024);
  #wake: (() => void) | null = null;
  #nextId = 1;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      for (const payload of this.#decoder.push(new Uint8Array(chunk))) {
        const frame = JSON.parse(decoder.decode(payload));
        if (frame.type !== "keepalive") this.#frames.push(frame);
      }
      this.#wake?.();
    });
  }

  /** Connects from `localAddress` and completes hello/welcome. */
  static async open(localAddress: string, port: number): Promise<ClientFrom> {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const client = new ClientFrom(socket);
    client.send(HELLO);
    assert.equal((await client.next())?.type, "welcome");
    return client;
  }

  send(message: unknown): void {
    this.#socket.write(encodeFrame(encoder.encode(JSON.stringify(message))));
  }

  async login(user: string, password: string): Promise<Frame> {
    this.send({ v: 1, lamport: 1, id: this.#nextId++, type: "login", user, password });
    return await this.next();
  }

  async next(): Promise<Frame> {
    const deadline = Date.now() + REPLY_TIMEOUT_MS;
    while (this.#frames.length === 0) {
      assert.ok(Date.now() < deadline, `no reply within ${REPLY_TIMEOUT_MS} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, deadline - Date.now());
      });
      clearTimeout(timer);
    }
    return this.#frames.shift()!;
  }

  close(): void {
    this.#socket.destroy();
  }
}

Deno.test("60 logins pipelined on one connection check at most a few passwords and never let the right one in", async () => {
  await withCluster({}, async (cluster) => {
    await cluster.startOrchestrator();
    await cluster.waitUntilServing();
    const client = await RawClient.welcomed(cluster.address().port);
    try {
      const attempts = 60;
      for (let i = 0; i < attempts; i++) {
        const password = i === attempts - 1 ? "pass2" : `wrong-${i}`;
        await client.send({ v: 1, lamport: 1, id: i + 1, type: "login", user: "user2", password });
      }
      const replies: Frame[] = [];
      for (let i = 0; i < attempts; i++) replies.push((await client.next())!);
      const codeOf = (f: Frame) => f.type === "error" ? String(f.code) : String(f.type);
      const counts = new Map<string, number>();
      for (const f of replies) counts.set(codeOf(f), (counts.get(codeOf(f)) ?? 0) + 1);
      const checked = counts.get("bad_credentials") ?? 0;
      assert.ok(checked <= 4, `${checked} wrong passwords were checked: ${[...counts]}`);
      assert.equal(counts.get("loginOk"), undefined, `the right password got in: ${[...counts]}`);
      assert.equal(checked + (counts.get("rate_limited") ?? 0), attempts, `${[...counts]}`);
      const last = replies.find((f) => f.re === attempts)!;
      assert.match(String(last.message), /retry in \d+ s/);
    } finally {
      await client.close();
    }
  });
});

Deno.test("wrong passwords from an attacker's address do not make the owner's address wait", async () => {
  await withCluster({}, async (cluster) => {
    await cluster.startOrchestrator();
    await cluster.waitUntilServing();
    const port = cluster.address().port;
    const owner = await ClientFrom.open("127.0.0.1", port);
    const attacker = await ClientFrom.open("127.0.0.2", port);
    try {
      for (let i = 0; i < 4; i++) {
        assert.equal((await attacker.login("user2", `guess-${i}`)).code, "bad_credentials");
      }
      const refused = await attacker.login("user2", "pass2");
      assert.equal(refused.code, "rate_limited", "the attacker's address waits");
      const reply = await owner.login("user2", "pass2");
      assert.equal(reply.type, "loginOk", `the owner was refused: ${JSON.stringify(reply)}`);
    } finally {
      owner.close();
      attacker.close();
    }
  });
});

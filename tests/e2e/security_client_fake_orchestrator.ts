/**
 * A fake orchestrator for the client security tests: it greets like a real one (a welcome naming
 * whatever cluster id it is told to claim, over plain TCP or TLS) and records every frame it
 * receives, so a test can prove that no password or token reached it. Its answer to any request is
 * "unavailable", so the client gives up within its time budget.
 *
 * Run as a script (inside a test's network namespace), it also sends forged, unsigned multicast
 * announcements pointing at itself, and prints `{"event":"ready","port":P}`, then one JSON line
 * per connection and per received frame:
 * `deno run -A tests/e2e/security_client_fake_orchestrator.ts --cluster-id ID --multicast G:P
 * [--cert FILE --key FILE]`.
 * @module
 */
import { parseArgs } from "node:util";
import { encodeFrame, FrameDecoder } from "../../shared/protocol/frame.ts";
import { Announcer, parseMulticastAddress } from "../../shared/net/multicast.ts";

export type Frame = Record<string, unknown>;

export interface FakeOrchestratorOptions {
  /** The cluster id its welcome claims. */
  clusterId: string;
  /** Serve TLS with this certificate and key (PEM text). */
  tls?: { cert: string; key: string };
  /** Called for every connection and every frame received, as they happen. */
  onEvent?: (event: Frame) => void;
}

export class FakeOrchestrator {
  readonly port: number;
  /** Every frame received, from every connection, in arrival order. */
  readonly frames: Frame[] = [];
  connections = 0;
  readonly #listener: Deno.Listener;
  readonly #options: FakeOrchestratorOptions;
  readonly #conns = new Set<Deno.Conn>();
  readonly #serving: Promise<void>;

  private constructor(listener: Deno.Listener, options: FakeOrchestratorOptions) {
    this.#listener = listener;
    this.#options = options;
    this.port = (listener.addr as Deno.NetAddr).port;
    this.#serving = this.#accept();
  }

  /** Listens on 127.0.0.1 (an ephemeral port unless `port` is given). */
  static start(options: FakeOrchestratorOptions & { port?: number }): FakeOrchestrator {
    const address = { hostname: "127.0.0.1", port: options.port ?? 0 };
    const listener = options.tls === undefined
      ? Deno.listen(address)
      : Deno.listenTls({ ...address, cert: options.tls.cert, key: options.tls.key });
    return new FakeOrchestrator(listener, options);
  }

  /** True when any received frame contains `secret` anywhere in its text. */
  received(secret: string): boolean {
    return this.frames.some((f) => JSON.stringify(f).includes(secret));
  }

  /** The frames of one message type. */
  ofType(type: string): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  async close(): Promise<void> {
    this.#listener.close();
    for (const conn of this.#conns) conn.close();
    await this.#serving;
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.connections += 1;
        this.#options.onEvent?.({ event: "connection" });
        this.#conns.add(conn);
        void this.#serve(conn).finally(() => this.#conns.delete(conn));
      }
    } catch (error) {
      // close() ends the loop with BadResource; anything else is a failure of the fake itself.
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const decoder = new FrameDecoder(1024 * 1024);
    const send = (message: Frame) =>
      conn.write(encodeFrame(new TextEncoder().encode(JSON.stringify(message))));
    try {
      for await (const chunk of conn.readable) {
        for (const payload of decoder.push(chunk)) {
          const frame = JSON.parse(new TextDecoder().decode(payload)) as Frame;
          this.frames.push(frame);
          this.#options.onEvent?.({ event: "frame", frame });
          if (frame.type === "hello") {
            await send({
              v: 1,
              type: "welcome",
              nodeId: "o1",
              clusterId: this.#options.clusterId,
              lamport: 1,
            });
          } else if (typeof frame.id === "number") {
            await send({
              v: 1,
              type: "error",
              re: frame.id,
              code: "unavailable",
              message: "fake orchestrator",
              lamport: 1,
            });
          }
        }
      }
    } catch {
      // A failed TLS handshake or a reset connection: the client refused us, which is the point.
    }
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "cluster-id": { type: "string" },
      multicast: { type: "string" },
      cert: { type: "string" },
      key: { type: "string" },
    },
  });
  const print = (event: Frame) => console.log(JSON.stringify(event));
  const tls = values.cert === undefined || values.key === undefined
    ? undefined
    : { cert: await Deno.readTextFile(values.cert), key: await Deno.readTextFile(values.key) };
  const fake = FakeOrchestrator.start({
    clusterId: values["cluster-id"] ?? "forged",
    tls,
    onEvent: print,
  });
  const group = parseMulticastAddress(values.multicast ?? "239.255.77.2:7798");
  // Unsigned, as an outsider without the cluster key must send them; a high term beats any leader.
  const announcer = new Announcer(group, null);
  let seq = 0;
  const announce = () =>
    announcer.announce({
      clusterId: values["cluster-id"] ?? "forged",
      nodeId: "o1",
      term: 1_000_000,
      address: `127.0.0.1:${fake.port}`,
      seq: seq++,
      sentAtMs: Date.now(),
      lamport: 1,
    });
  await announce();
  const timer = setInterval(announce, 100);
  print({ event: "ready", port: fake.port });
  Deno.addSignalListener("SIGTERM", () => {
    clearInterval(timer);
    announcer.close();
    void fake.close().then(() => Deno.exit(0));
  });
}

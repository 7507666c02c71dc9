/**
 * The orchestrator's HTTP port (`httpPort` in the cluster file): `/metrics` in the Prometheus
 * text format, the REST API under `/api/v1` (rest_api.ts), the event stream (event_stream.ts) and
 * the dashboard at `/` (../dashboard/), on `Deno.serve`, with TLS when
 * the TCP port has it. Shell code: API requests reach the node as client requests through the
 * bridge (client_bridge.ts), whose replies the orchestrator's server hands back here.
 * @module
 */
import { timingSafeEqual } from "node:crypto";
import type { OrchestratorAddress } from "../../shared/config/mod.ts";
import type { Logger } from "../../shared/log.ts";
import { CLUSTER_ID_HEADER } from "../../shared/protocol/cluster_header.ts";
import type { NodeInput, OrchestratorNode, Outbound } from "../core/mod.ts";
import { ClientBridge } from "./client_bridge.ts";
import { forwardToLeader, SERVED_BY_HEADER } from "./leader_forward.ts";
import { httpRequestKey, metricFamilies } from "./node_metrics.ts";
import { metricsViewOf } from "./metrics_view.ts";
import { formatMetrics, PROMETHEUS_CONTENT_TYPE } from "./prometheus_text.ts";
import { restApi } from "./rest_api.ts";
import { fetchPeerStatus } from "./peer_status.ts";
import { SourceGate } from "./source_gate.ts";
import type { Histogram } from "../../shared/histogram.ts";
import { EVENTS_PATH, serveEvents } from "./event_stream.ts";
import { OpenStreams } from "./open_streams.ts";
import { isDashboardPath, serveDashboard } from "../dashboard/dashboard_routes.ts";

/** Bridged requests awaiting replies at once, per orchestrator. */
const MAX_AWAITING = 1024;
/** A request the node has not answered by then is answered `unavailable`. */
const REPLY_TIMEOUT_MS = 30_000;
/** How long a follower waits for the leader's answer to a forwarded request. */
const FORWARD_TIMEOUT_MS = 30_000;
/**
 * How long `GET /cluster/nodes` waits for another orchestrator's view: the report is polled every
 * few seconds, and a silent orchestrator is reported unreachable rather than holding it up.
 */
const PEER_STATUS_TIMEOUT_MS = 1_500;

export interface HttpServerOptions {
  /** Named on every answer (CLUSTER_ID_HEADER), so clients check it before sending a token. */
  clusterId: string;
  self: OrchestratorAddress;
  orchestrators: readonly OrchestratorAddress[];
  /** The largest request body, in bytes (the cluster's maxFrameBytes). */
  maxBodyBytes: number;
  /** A request body must arrive whole within this time (the cluster's partialFrameTimeoutMs). */
  bodyTimeoutMs: number;
  /** Requests one client address may have in progress (the cluster's maxConnectionsPerSource). */
  maxRequestsPerSource: number;
  /** This orchestrator's certificate and key, and the CA that verifies the others; null: plain. */
  tls: { cert: string; key: string; caCerts: string[] } | null;
  logger: Logger;
  step(input: NodeInput): void;
  node(): OrchestratorNode;
  /** Client requests read from TCP so far (for /metrics). */
  tcpRequests(): number;
  /** The bearer token `/metrics` requires; null: none (the default). */
  metricsToken?: string | null;
  /** Durations of the shell's durable log writes (group_commit.ts). */
  fsyncSeconds: Histogram;
}

export class HttpServer {
  readonly #options: HttpServerOptions;
  readonly #bridge: ClientBridge;
  readonly #requests = new Map<string, number>();
  readonly #abort = new AbortController();
  readonly #client: Deno.HttpClient | null;
  readonly #sources: SourceGate;
  #server: Deno.HttpServer<Deno.NetAddr> | null = null;
  /** Event streams open now. */
  readonly #streams = new OpenStreams();

  constructor(options: HttpServerOptions) {
    this.#options = options;
    this.#bridge = new ClientBridge({
      step: options.step,
      maxAwaiting: MAX_AWAITING,
      replyTimeoutMs: REPLY_TIMEOUT_MS,
    });
    this.#sources = new SourceGate(options.maxRequestsPerSource);
    this.#client = options.tls === null
      ? null
      : Deno.createHttpClient({ caCerts: options.tls.caCerts });
  }

  /** Whether a connection id is an HTTP request's (its output comes here, see deliver). */
  owns(conn: number): boolean {
    return this.#bridge.owns(conn);
  }

  /** The client address of a waiting HTTP request ("unknown" once answered). */
  sourceOf(conn: number): string {
    return this.#bridge.sourceOf(conn);
  }

  /** A reply of the node to an HTTP request. */
  deliver(outbound: Outbound): void {
    this.#bridge.deliver(outbound);
  }

  /**
   * Listens on the configured host and `httpPort`; resolves with the bound port.
   * @throws {Error} when the port cannot be bound
   */
  start(): Promise<number> {
    const { self, tls } = this.#options;
    const port = self.httpPort ?? 0;
    const api = this.#api();
    const handler = async (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => {
      const source = info.remoteAddr.hostname;
      const admitted = this.#sources.enter(source);
      let response: Response;
      const path = new URL(request.url).pathname;
      try {
        response = !admitted
          ? tooManyFromSource(this.#options.maxRequestsPerSource)
          : path === "/metrics"
          ? this.#metrics(request)
          : isDashboardPath(path)
          ? serveDashboard(request, path)
          : path === EVENTS_PATH
          ? serveEvents(request, {
            node: this.#options.node,
            nowMs: () => Date.now(),
            signal: this.#abort.signal,
          }, this.#streams)
          : await api.fetch(request, { remoteAddr: info.remoteAddr });
      } finally {
        if (admitted) this.#sources.leave(source);
      }
      const key = httpRequestKey(request.method, response.status);
      this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
      if (!response.headers.has(SERVED_BY_HEADER)) {
        response.headers.set(SERVED_BY_HEADER, self.id);
      }
      response.headers.set(CLUSTER_ID_HEADER, this.#options.clusterId);
      if (isPrivatePath(path)) response.headers.set("cache-control", "no-store");
      return response;
    };
    return new Promise((resolve, reject) => {
      try {
        this.#server = Deno.serve({
          hostname: self.host,
          port,
          signal: this.#abort.signal,
          ...(tls === null ? {} : { cert: tls.cert, key: tls.key }),
          onListen: (addr) => resolve(addr.port),
          onError: (error) => {
            this.#options.logger.error(`HTTP handler failed: ${error}`);
            return Response.json({ error: { code: "internal", message: "Internal error" } }, {
              status: 500,
              // As every other answer (set by the handler, which this one did not get through).
              headers: {
                [CLUSTER_ID_HEADER]: this.#options.clusterId,
                "cache-control": "no-store",
              },
            });
          },
        }, handler);
      } catch (error) {
        reject(new Error(`Cannot serve HTTP on ${self.host}:${port}`, { cause: error }));
      }
    });
  }

  /** Answers what is waiting, stops listening and waits for the server to finish. */
  async stop(): Promise<void> {
    this.#bridge.closeAll();
    this.#abort.abort();
    await this.#server?.finished;
    this.#client?.close();
  }

  #api() {
    const { self, orchestrators, tls, maxBodyBytes, bodyTimeoutMs } = this.#options;
    return restApi({
      request: (fields, source) => this.#bridge.request(fields, source),
      forward: (request, body, hint) =>
        forwardToLeader(request, body, hint, {
          selfId: self.id,
          orchestrators,
          scheme: tls === null ? "http" : "https",
          client: this.#client,
          timeoutMs: FORWARD_TIMEOUT_MS,
          signal: this.#abort.signal,
        }),
      maxBodyBytes,
      bodyTimeoutMs,
      newKey: () => crypto.randomUUID(),
      cluster: {
        selfId: self.id,
        orchestrators,
        askPeer: (o, authorization) =>
          fetchPeerStatus(o, authorization, {
            selfId: self.id,
            scheme: tls === null ? "http" : "https",
            client: this.#client,
            timeoutMs: PEER_STATUS_TIMEOUT_MS,
            signal: this.#abort.signal,
          }),
      },
    });
  }

  #metrics(request: Request): Response {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return Response.json({ error: { code: "bad_request", message: "Use GET /metrics" } }, {
        status: 405,
        headers: { allow: "GET, HEAD" },
      });
    }
    if (!hasMetricsToken(request, this.#options.metricsToken ?? null)) {
      return Response.json({
        error: { code: "unauthenticated", message: "Use Authorization: Bearer <metricsToken>" },
      }, { status: 401, headers: { "www-authenticate": 'Bearer realm="metrics"' } });
    }
    const view = metricsViewOf(this.#options.node(), {
      http: this.#requests,
      tcp: this.#options.tcpRequests(),
      fsyncSeconds: this.#options.fsyncSeconds.read(),
    });
    return new Response(formatMetrics(metricFamilies(view)), {
      headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
    });
  }
}

/**
 * Whether answers on `path` must never be stored by a browser or proxy: the API's carry tokens
 * (the login answer holds one) and task data, the metrics the cluster's inner workings.
 */
export function isPrivatePath(path: string): boolean {
  return path === "/metrics" || path === "/api/v1" || path.startsWith("/api/v1/");
}

/** Whether a scrape carries the configured token (compared in constant time); true when none is set. */
export function hasMetricsToken(request: Request, token: string | null): boolean {
  if (token === null) return true;
  const given = request.headers.get("authorization") ?? "";
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(`Bearer ${token}`);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The answer to a request over its address's cap, asking the client to close the connection. */
function tooManyFromSource(max: number): Response {
  return Response.json({
    error: {
      code: "rate_limited",
      message: `Too many requests in progress from this address (at most ${max}); retry later`,
    },
  }, { status: 429, headers: { connection: "close", "retry-after": "1" } });
}

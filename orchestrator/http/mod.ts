/**
 * The orchestrator's HTTP port: the REST API under `/api/v1` and Prometheus `/metrics`.
 * @module
 */
export { HttpServer, type HttpServerOptions } from "./http_server.ts";

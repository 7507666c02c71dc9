/**
 * The Mutirão client library.
 * @module
 */
export { MutiraoClient, UnreachableError, WrongClusterError } from "./mutirao_client.ts";
export type { ClientOptions, ReplyTo } from "./mutirao_client.ts";
export { connect, Mutirao, TaskFailedError } from "./connect.ts";
export type { ConnectOptions, TaskOptions } from "./connect.ts";

/**
 * The Mutirão client library.
 * @module
 */
export { MutiraoClient, UnreachableError } from "./mutirao_client.ts";
export type { ClientOptions, ReplyTo } from "./mutirao_client.ts";

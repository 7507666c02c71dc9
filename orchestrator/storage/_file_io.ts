/**
 * Small file helpers for the file storage's shell.
 * @module
 */
import type { FileHandle } from "./file_system.ts";

/** Writes every byte: `write` may write fewer bytes than asked. */
export async function writeAll(file: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    offset += await file.write(bytes.subarray(offset));
  }
}

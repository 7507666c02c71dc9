/**
 * Small file-system helpers for the file storage's shell.
 * @module
 */

/** Writes every byte: `write` may write fewer bytes than asked. */
export async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    offset += await file.write(bytes.subarray(offset));
  }
}

/**
 * fsyncs a directory, so that files created, renamed or removed in it survive
 * a power loss (an fsync of the file alone does not persist its name).
 */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

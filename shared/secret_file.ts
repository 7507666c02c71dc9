/**
 * Files holding secrets (the cluster secret, a bootstrap password) must be
 * readable by their owner only; nodes refuse to start otherwise, as ssh does
 * for private keys.
 * @module
 */

/**
 * Checks that `path` exists and has no group or world permissions.
 * @throws {Error} naming the file, its mode and the fix.
 */
export async function requirePrivateFile(path: string, what: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    throw new Error(`Cannot read the ${what} ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const mode = info.mode ?? 0;
  if ((mode & 0o077) !== 0) {
    throw new Error(
      `Refusing to use the ${what} ${path}: its mode is ${(mode & 0o777).toString(8)}, ` +
        `readable by others; run: chmod 600 ${path}`,
    );
  }
}

/**
 * Files holding secrets (the cluster secret, a bootstrap password) must be
 * readable by their owner only; nodes refuse to start otherwise, as ssh does
 * for private keys.
 * @module
 */

/**
 * Creates directory `path` (and missing parents) for its owner only (0700), or makes an existing
 * one so: group and world permissions are removed from it and from the files directly in it, each
 * change reported through `onWarning`. A data directory holds every task, its output and every
 * password hash; before this rule it was created 0755 with 0644 files.
 * @throws {Error} naming the directory when it cannot be created or its permissions not tightened.
 */
export async function ensurePrivateDirectory(
  path: string,
  options: { what: string; onWarning: (message: string) => void },
): Promise<void> {
  try {
    await Deno.mkdir(path, { recursive: true, mode: 0o700 });
    await tighten(path, 0o700, options);
    for await (const entry of Deno.readDir(path)) {
      if (entry.isFile) await tighten(`${path}/${entry.name}`, 0o600, options);
    }
  } catch (error) {
    throw new Error(
      `Cannot make the ${options.what} ${path} private: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

async function tighten(
  path: string,
  mode: number,
  options: { what: string; onWarning: (message: string) => void },
): Promise<void> {
  const current = ((await Deno.stat(path)).mode ?? 0) & 0o777;
  if ((current & 0o077) === 0) return;
  await Deno.chmod(path, current & mode);
  options.onWarning(
    `Made ${path} private (mode ${current.toString(8)} -> ${(current & mode).toString(8)}): ` +
      `the ${options.what} must be readable by its owner only`,
  );
}

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

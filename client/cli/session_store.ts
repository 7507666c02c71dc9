/**
 * The client's local state in `$MUTIRAO_HOME/session.json` (mode 0600): the
 * login token, the cluster that issued it, and the client's Lamport clock,
 * persisted beside the token so the clock survives between commands.
 *
 * The token is a bearer credential, so the file is written only into a
 * directory owned by the user and closed to everyone else, through a temporary
 * file created exclusively (O_EXCL): a planted file or symlink can neither
 * receive the token nor be passed off as the user's session.
 * @module
 */
import type { OrchestratorAddress } from "../../shared/config/mod.ts";
import { mutiraoHome } from "../../shared/paths.ts";

export interface Session {
  user: string;
  token: string;
  expiresAtMs: number;
  orchestrators: OrchestratorAddress[];
  /** The CA file of a TLS cluster, remembered from login (a path, not a secret). */
  tlsCaFile?: string | null;
  /**
   * The cluster id in the welcome of the orchestrator that issued the token: the token is sent
   * only after a welcome naming the same cluster. Absent in files written before sessions were
   * bound to their cluster; such a session must log in again.
   */
  clusterId?: string;
  /** SHA-256 fingerprint of the CA the issuer was verified with at login; null over plain TCP. */
  caFingerprint?: string | null;
}

export interface ClientState {
  session: Session | null;
  lamport: number;
}

export function sessionPath(): string {
  return `${mutiraoHome()}/session.json`;
}

/**
 * Reads the client state; a missing file is an empty state.
 * @throws {Error} when the file is corrupt, or its directory is open to other users or the
 * file is not owned by the directory's owner (a planted session would make the user act as,
 * and submit tasks to, someone else's account).
 */
export async function loadClientState(): Promise<ClientState> {
  const path = sessionPath();
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { session: null, lamport: 0 };
    throw new Error(`Cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  const dir = dirname(path);
  const [dirInfo, fileInfo] = await Promise.all([Deno.stat(dir), Deno.lstat(path)]);
  const unsafe = unsafeDirectoryReason(dir, dirInfo, fileInfo.uid) ??
    (fileInfo.isFile ? null : `${path} is not a regular file`);
  if (unsafe !== null) throw new Error(`Cannot use the session in ${path}: ${unsafe}`);
  try {
    const value = JSON.parse(text) as Partial<ClientState>;
    const lamport = typeof value.lamport === "number" && value.lamport >= 0 ? value.lamport : 0;
    const s = value.session;
    const valid = s != null && typeof s.user === "string" && typeof s.token === "string" &&
      typeof s.expiresAtMs === "number" && Array.isArray(s.orchestrators);
    return { session: valid ? s : null, lamport };
  } catch (error) {
    throw new Error(
      `Cannot parse ${path} (delete it and log in again): ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * Writes the client state atomically with mode 0600 (it holds a bearer token): into a temporary
 * file created exclusively with an unpredictable name, synced, then renamed over the old file.
 * @throws {Error} naming the directory when it is not owned by the user or is group- or
 * world-writable (anyone who can write there could swap the file or read the token).
 */
export async function saveClientState(state: ClientState): Promise<void> {
  const path = sessionPath();
  const dir = dirname(path);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const random = crypto.getRandomValues(new Uint8Array(8));
  const suffix = Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("");
  const temp = `${path}.${Deno.pid}.${suffix}.tmp`;
  // createNew is O_CREAT|O_EXCL: it fails on any existing name, a symlink included, instead of
  // writing through it; the mode applies at creation, so the token is never readable by others.
  const file = await Deno.open(temp, { createNew: true, write: true, mode: 0o600 });
  let renamed = false;
  try {
    // The new file belongs to whoever we run as: its owner is our uid (no --allow-sys needed).
    const own = await file.stat();
    const unsafe = unsafeDirectoryReason(dir, await Deno.stat(dir), own.uid);
    if (unsafe !== null) throw new Error(`Cannot save the session token: ${unsafe}`);
    await writeAll(file, new TextEncoder().encode(JSON.stringify(state, null, 2) + "\n"));
    await file.sync();
    file.close();
    await Deno.rename(temp, path);
    renamed = true;
  } finally {
    if (!renamed) {
      try {
        file.close();
      } catch {
        // Already closed before a failed rename: nothing left to release.
      }
      await Deno.remove(temp).catch(() => {/* best effort: it holds at most our own token */});
    }
  }
}

/**
 * Why `dir` must not hold a token, or null when it may: it must be a directory owned by `uid`
 * (the user; null where the platform has no owners) and writable by its owner only.
 */
export function unsafeDirectoryReason(
  dir: string,
  info: Deno.FileInfo,
  uid: number | null,
): string | null {
  if (!info.isDirectory) return `${dir} is not a directory`;
  if (uid !== null && info.uid !== null && info.uid !== uid) {
    return `${dir} is owned by uid ${info.uid}, not by this user (uid ${uid})`;
  }
  if (info.mode !== null && (info.mode & 0o022) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, "0");
    return `${dir} is writable by other users (mode ${mode}); run \`chmod 700 ${dir}\``;
  }
  return null;
}

function dirname(path: string): string {
  return path.slice(0, path.lastIndexOf("/"));
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) {
    offset += await file.write(bytes.subarray(offset));
  }
}

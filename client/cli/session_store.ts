/**
 * The client's local state in `$MUTIRAO_HOME/session.json` (mode 0600): the
 * login token, the orchestrators it was issued by, and the client's Lamport
 * clock, persisted beside the token so the clock survives between commands.
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
}

export interface ClientState {
  session: Session | null;
  lamport: number;
}

export function sessionPath(): string {
  return `${mutiraoHome()}/session.json`;
}

/** Reads the client state; a missing file is an empty state. A corrupt one is reported. */
export async function loadClientState(): Promise<ClientState> {
  const path = sessionPath();
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { session: null, lamport: 0 };
    throw new Error(`Cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
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

/** Writes the client state atomically with mode 0600 (it holds a bearer token). */
export async function saveClientState(state: ClientState): Promise<void> {
  const path = sessionPath();
  const dir = path.slice(0, path.lastIndexOf("/"));
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = `${path}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(temp, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
  await Deno.chmod(temp, 0o600);
  await Deno.rename(temp, path);
}

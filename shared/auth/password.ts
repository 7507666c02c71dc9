/**
 * Password hashing with salted scrypt (RFC 7914) from `node:crypto`. The cost
 * parameters are stored in the hash string, so they can be raised later
 * without invalidating existing hashes.
 *
 * Format: `scrypt$N$r$p$<salt, base64>$<key, base64>`.
 * @module
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** ~50 ms per hash on this machine (PLATFORM.md section 3). */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { N: 16384, r: 8, p: 1 };
const SALT_BYTES = 16;
const KEY_BYTES = 32;
const HASH_PATTERN = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

/** Hashes a password with a fresh random salt. */
export async function hashPassword(
  password: string,
  params: ScryptParams = DEFAULT_SCRYPT_PARAMS,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await deriveKey(password, salt, KEY_BYTES, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString("base64")}$${
    key.toString("base64")
  }`;
}

/** Whether `hash` is a well-formed scrypt hash string (checked when configuration loads). */
export function isPasswordHash(hash: string): boolean {
  return parseHash(hash) !== null;
}

/**
 * Checks a password against a stored hash in constant time.
 * @throws {SyntaxError} when `storedHash` is not a hash this module made.
 */
export async function verifyPassword(password: string, storedHash: string): Promise<boolean> {
  const parsed = parseHash(storedHash);
  if (parsed === null) {
    throw new SyntaxError(
      "Cannot verify password: stored hash is not in scrypt$N$r$p$salt$key form",
    );
  }
  const key = await deriveKey(password, parsed.salt, parsed.key.length, parsed.params);
  return timingSafeEqual(key, parsed.key);
}

/** A hash of a random password: verifying against it costs what a real check costs. */
export const DUMMY_PASSWORD_HASH =
  "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

function parseHash(hash: string) {
  const match = HASH_PATTERN.exec(hash);
  if (match === null) return null;
  const [N, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // N must be a power of two above 1; bounds keep a hostile config from exhausting memory.
  if (N < 2 || N > 2 ** 20 || (N & (N - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) {
    return null;
  }
  const salt = Buffer.from(match[4], "base64");
  const key = Buffer.from(match[5], "base64");
  if (salt.length < 8 || key.length < 16) return null;
  return { params: { N, r, p }, salt, key };
}

function deriveKey(
  password: string,
  salt: Buffer,
  length: number,
  params: ScryptParams,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize("NFC"),
      salt,
      length,
      { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 },
      (error, key) => error ? reject(error) : resolve(key),
    );
  });
}

// Proves password hashing: salted scrypt whose parameters travel in the hash, verified in
// constant time, with clear errors for hashes it did not make, and random session tokens.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { hashPassword, isPasswordHash, verifyPassword } from "./password.ts";
import { generateToken, hashToken } from "./token.ts";

const FAST = { N: 1024, r: 8, p: 1 };

Deno.test("hashPassword() then verifyPassword() accepts the password and refuses others", async () => {
  const hash = await hashPassword("correct horse", FAST);
  assert.equal(await verifyPassword("correct horse", hash), true);
  assert.equal(await verifyPassword("correct hors", hash), false);
  assert.equal(await verifyPassword("", hash), false);
});

Deno.test("hashPassword() salts: the same password hashes differently each time", async () => {
  const a = await hashPassword("pw", FAST);
  const b = await hashPassword("pw", FAST);
  assert.notEqual(a, b);
  assert.equal(await verifyPassword("pw", a), true);
  assert.equal(await verifyPassword("pw", b), true);
});

Deno.test("the hash carries its scrypt parameters, so they can be raised later", async () => {
  const hash = await hashPassword("pw", FAST);
  assert.match(hash, /^scrypt\$1024\$8\$1\$/);
  const stronger = await hashPassword("pw", { N: 2048, r: 8, p: 1 });
  assert.match(stronger, /^scrypt\$2048\$8\$1\$/);
  // Both verify with the parameters stored in each.
  assert.equal(await verifyPassword("pw", hash), true);
  assert.equal(await verifyPassword("pw", stronger), true);
});

Deno.test("verifyPassword() normalizes Unicode, so composed and decomposed forms match", async () => {
  const hash = await hashPassword("relat\u00f3rio", FAST);
  assert.equal(await verifyPassword("relato\u0301rio", hash), true);
});

Deno.test("isPasswordHash() rejects malformed and hostile parameter hashes", async () => {
  assert.equal(isPasswordHash(await hashPassword("pw", FAST)), true);
  for (
    const bad of [
      "",
      "pass1",
      "scrypt$1024$8$1$AAAA$BBBB", // salt and key too short
      "scrypt$1000$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", // N not 2^k
      "scrypt$1073741824$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", // N huge
      "bcrypt$2b$10$abcdefghijklmnopqrstuv",
    ]
  ) {
    assert.equal(isPasswordHash(bad), false, bad);
  }
});

Deno.test("verifyPassword() throws SyntaxError for a hash it did not make", async () => {
  await assert.rejects(verifyPassword("pw", "plaintext"), SyntaxError);
});

Deno.test("generateToken() gives 256 random bits; hashToken() is SHA-256 hex", () => {
  const a = generateToken();
  const b = generateToken();
  assert.notEqual(a, b);
  assert.equal(Buffer.from(a, "base64url").length, 32);
  assert.match(hashToken(a), /^[0-9a-f]{64}$/);
  assert.equal(
    hashToken("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

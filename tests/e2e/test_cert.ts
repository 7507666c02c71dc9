/**
 * A self-signed certificate for TLS tests: an EC key, CN localhost, valid for 127.0.0.1, and not
 * a CA (Deno refuses a CA certificate as a server's; PLATFORM.md section 4).
 * @module
 */
import assert from "node:assert/strict";

/** Writes `cert.pem` and `key.pem` into `dir` with openssl; returns their paths. */
export async function makeTestCert(dir: string): Promise<{ cert: string; key: string }> {
  const cert = `${dir}/cert.pem`;
  const key = `${dir}/key.pem`;
  const made = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-addext",
      "basicConstraints=critical,CA:FALSE",
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(made.success, new TextDecoder().decode(made.stderr));
  return { cert, key };
}

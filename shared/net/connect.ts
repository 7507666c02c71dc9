/**
 * Opening TCP connections to orchestrators, plain or TLS. With TLS the server's
 * certificate is verified against the configured CA; errors say what to check.
 * @module
 */

/** What a client needs to verify orchestrators' certificates. */
export interface TlsClientOptions {
  caCerts: string[];
}

/**
 * Reads the CA certificate used to verify orchestrators.
 * @throws {Error} naming the file when it cannot be read.
 */
export async function loadTlsClientOptions(caFile: string): Promise<TlsClientOptions> {
  try {
    return { caCerts: [await Deno.readTextFile(caFile)] };
  } catch (error) {
    throw new Error(`Cannot read the TLS CA file ${caFile}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Connects to host:port, with TLS when `tls` is given.
 * @throws {Error} saying what failed (refused, TLS verification) and what to check.
 */
export async function connectTo(
  target: { host: string; port: number },
  tls: TlsClientOptions | null,
): Promise<Deno.Conn> {
  const address = `${target.host}:${target.port}`;
  try {
    if (tls === null) return await Deno.connect({ hostname: target.host, port: target.port });
    const conn = await Deno.connectTls({
      hostname: target.host,
      port: target.port,
      caCerts: tls.caCerts,
    });
    // Complete the handshake now, so a certificate problem is reported as one (not as a read error).
    await conn.handshake();
    return conn;
  } catch (error) {
    const why = (error as Error).message;
    const hint = tls !== null && /certificate|handshake|InvalidContentType|corrupt|peer/i.test(why)
      ? " (is this orchestrator serving TLS with a certificate from the configured CA?)"
      : "";
    throw new Error(`Cannot connect to ${address}: ${why}${hint}`, { cause: error });
  }
}

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
 * Connects to host:port, with TLS when `tls` is given, giving up after `timeoutMs` if set.
 * @throws {Error} saying what failed (refused, timed out, TLS verification) and what to check.
 */
export async function connectTo(
  target: { host: string; port: number },
  tls: TlsClientOptions | null,
  timeoutMs?: number,
): Promise<Deno.Conn> {
  const address = `${target.host}:${target.port}`;
  const attempt = async (): Promise<Deno.Conn> => {
    if (tls === null) return await Deno.connect({ hostname: target.host, port: target.port });
    const conn = await Deno.connectTls({
      hostname: target.host,
      port: target.port,
      caCerts: tls.caCerts,
    });
    // Complete the handshake now, so a certificate problem is reported as one (not as a read error).
    await conn.handshake();
    return conn;
  };
  try {
    return timeoutMs === undefined ? await attempt() : await withDeadline(attempt(), timeoutMs);
  } catch (error) {
    const why = (error as Error).message;
    const hint = tls !== null && /certificate|handshake|InvalidContentType|corrupt|peer/i.test(why)
      ? " (is this orchestrator serving TLS with a certificate from the configured CA?)"
      : "";
    throw new Error(`Cannot connect to ${address}: ${why}${hint}`, { cause: error });
  }
}

/** Races a connection attempt against a deadline; a connection that wins too late is closed. */
async function withDeadline(pending: Promise<Deno.Conn>, timeoutMs: number): Promise<Deno.Conn> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([pending, deadline]);
  } catch (error) {
    pending.then((conn) => conn.close(), () => {/* it failed too: nothing to close */});
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

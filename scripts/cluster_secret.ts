/**
 * `deno task cluster-secret FILE`: writes a new random cluster secret (256 bits)
 * to FILE with mode 0600. Give the same file to every orchestrator and worker
 * (`clusterSecretFile` in the cluster file, or --cluster-secret FILE). It never
 * overwrites an existing file: rotating the secret means restarting every node.
 * @module
 */
import { newClusterSecret } from "../shared/auth/node_auth.ts";

if (import.meta.main) {
  const [path] = Deno.args;
  if (path === undefined || path.startsWith("-")) {
    console.error("Usage: deno task cluster-secret FILE");
    Deno.exit(2);
  }
  try {
    await Deno.writeTextFile(path, newClusterSecret() + "\n", { createNew: true, mode: 0o600 });
    await Deno.chmod(path, 0o600);
    console.log(
      `Wrote a new cluster secret to ${path} (mode 600); give it to every orchestrator and worker`,
    );
  } catch (error) {
    const why = error instanceof Deno.errors.AlreadyExists
      ? "the file exists (it is never overwritten)"
      : (error as Error).message;
    console.error(`mutirao cluster-secret: cannot write ${path}: ${why}`);
    Deno.exit(1);
  }
}

/**
 * What an exec task's process starts with: a cleared environment (a fixed minimum plus variables
 * the worker's operator allowed by name) and a working directory of its own. A task is a user's
 * program: without this it would read the worker's secrets from its environment
 * (`cat /proc/self/environ`) and files relative to the worker's directory.
 * @module
 */

/** Variables every exec task gets, whatever the allow-list says (values from the worker). */
const ALWAYS = ["PATH", "LANG"] as const;
const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

/**
 * The environment of an exec task's process: PATH and LANG from the worker (or safe defaults),
 * HOME and TMPDIR pointing at the task's own directory, and each variable named in `allow` that
 * the worker has. Nothing else of the worker's environment is passed on.
 * @example
 * execEnvironment({ allow: ["PYTHONPATH"], workDir: "/tmp/mutirao-task-x", get: Deno.env.get });
 */
export function execEnvironment(
  options: {
    allow: readonly string[];
    workDir: string;
    get: (name: string) => string | undefined;
  },
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: options.get("PATH") ?? DEFAULT_PATH,
    LANG: options.get("LANG") ?? "C.UTF-8",
  };
  for (const name of options.allow) {
    if ((ALWAYS as readonly string[]).includes(name)) continue;
    const value = options.get(name);
    if (value !== undefined) env[name] = value;
  }
  env.HOME = options.workDir;
  env.TMPDIR = options.workDir;
  return env;
}

/** A variable name an operator may allow: letters, digits and underscores, not starting with a digit. */
export function isEnvName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}

/**
 * Private network namespaces for tests that send multicast: each has only its own loopback, with
 * multicast routed there, so no datagram can leave through a real interface (PLATFORM.md, 4 and 9).
 * @module
 */
import assert from "node:assert/strict";

/** Why namespaces cannot be used here, or null when they can. */
export async function netnsUnavailable(): Promise<string | null> {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "not running as root";
  try {
    const out = await new Deno.Command("ip", {
      args: ["netns", "list"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success ? null : "`ip netns list` failed";
  } catch {
    return "the `ip` command is missing"; // NotFound: iproute2 is not installed
  }
}

/** Runs a command to completion; its stdout, or an error with its stderr. */
export async function run(args: string[]): Promise<string> {
  const out = await new Deno.Command(args[0], {
    args: args.slice(1),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** A namespace whose only interface is its own loopback, with multicast routed there. */
export async function createNamespace(name: string): Promise<void> {
  await run(["ip", "netns", "add", name]);
  await run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"]);
  await run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "multicast", "on"]);
  await run(["ip", "netns", "exec", name, "ip", "route", "add", "224.0.0.0/4", "dev", "lo"]);
  const links = await run(["ip", "netns", "exec", name, "ip", "-o", "link"]);
  const names = links.trim().split("\n").map((l) => l.split(":")[1].trim());
  // Guard: never send multicast where a real interface could carry it.
  assert.deepEqual(names, ["lo"], `namespace ${name} has interfaces other than lo: ${names}`);
}

/** Deletes a namespace; a failure is reported, not thrown (it must not hide the test's own). */
export async function deleteNamespace(name: string): Promise<void> {
  await run(["ip", "netns", "del", name]).catch((error) =>
    console.error(`Cannot delete namespace ${name}: ${error}`)
  );
}

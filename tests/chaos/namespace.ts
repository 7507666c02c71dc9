/**
 * The private network namespace the chaos suite runs in, so that its firewall rules and its
 * 127.0.0.x addresses can never touch the host's network (PLATFORM.md section 9). The suite
 * creates it, runs itself inside with `ip netns exec`, and deletes it afterwards, after ending any
 * process it started that is still in it.
 * @module
 */

/** Why network faults cannot run here, or null when they can. */
export async function namespaceUnavailableReason(): Promise<string | null> {
  if (Deno.build.os !== "linux") return `network namespaces need Linux, this is ${Deno.build.os}`;
  if (Deno.uid() !== 0) return "network namespaces need root";
  const tools = [["ip", "-V", "iproute2"], ["nft", "--version", "nftables"], [
    "setpriv",
    "--version",
    "util-linux",
  ]];
  for (const [tool, versionFlag, hint] of tools) {
    if (!(await runs(tool, [versionFlag]))) {
      return `${tool} is not installed (apt-get install -y ${hint})`;
    }
  }
  const probe = `mutirao-probe-${Deno.pid}`;
  if (!(await runs("ip", ["netns", "add", probe]))) return "`ip netns add` failed (no permission?)";
  const nftWorks = await runs("ip", ["netns", "exec", probe, "nft", "list", "tables"]);
  await runs("ip", ["netns", "del", probe]);
  return nftWorks ? null : "nft cannot run inside a network namespace here";
}

async function runs(command: string, args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function ip(args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`ip ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** A network namespace whose only interface is its own loopback, up. */
export class Namespace {
  private constructor(readonly name: string) {}

  /** Creates `mutirao-chaos-<pid>` and brings its loopback up. */
  static async create(): Promise<Namespace> {
    const ns = new Namespace(`mutirao-chaos-${Deno.pid}`);
    await ip(["netns", "add", ns.name]);
    await ip(["netns", "exec", ns.name, "ip", "link", "set", "lo", "up"]);
    return ns;
  }

  /** The command prefix that runs a program inside (it execs, so PIDs stay the program's). */
  get prefix(): string[] {
    return ["ip", "netns", "exec", this.name];
  }

  /**
   * Ends every process still in the namespace (only ours can be: we created it), by PID, then
   * deletes it. A run that was itself killed leaves its nodes here; this is the safety net.
   */
  async delete(): Promise<void> {
    const out = await new Deno.Command("ip", { args: ["netns", "pids", this.name], stderr: "null" })
      .output();
    const pids = new TextDecoder().decode(out.stdout).split(/\s+/).filter((p) => /^\d+$/.test(p));
    for (const pid of pids) {
      try {
        Deno.kill(Number(pid), "SIGKILL");
      } catch (error) {
        // Already gone between the listing and the kill: nothing left to stop.
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
    await ip(["netns", "del", this.name]);
  }
}

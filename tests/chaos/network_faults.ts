/**
 * Network partitions between chosen pairs of processes, with nftables, inside the private network
 * namespace the chaos suite runs in (never on the host: see namespace.ts).
 *
 * Why not rules on source addresses: every node has its own 127.0.0.x address, but `Deno.connect`
 * cannot choose a source address, so every TCP connection (worker→orchestrator, orchestrator→
 * orchestrator, client→orchestrator) leaves from 127.0.0.1, and only its destination says where
 * it goes. So each node runs under its own group id (see bench/lib/real_cluster.ts) and the first
 * packet of every flow tags the flow's conntrack entry with the group id of the process that opened
 * it. A cut between A and B then drops, in both directions, every flow A opened towards B's
 * address and every flow B opened towards A's: orchestrators' peer links (one each way), a
 * worker's connection and its UDP heartbeats, a client's connection. Flows between other pairs are
 * untouched. Rules are replaced in one nft transaction, so a change is atomic.
 * @module
 */

/** One side of a cut: the tag of the flows it opens, and the address it listens on (if any). */
export interface Endpoint {
  name: string;
  tag: number;
  address: string | null;
}

const TABLE = "mutirao_chaos";

/**
 * Runs `nft -f -` with `script` on stdin.
 * @throws {Error} with nft's message when the rules are rejected.
 */
async function nft(script: string): Promise<void> {
  const child = new Deno.Command("nft", {
    args: ["-f", "-"],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const out = await child.output();
  if (!out.success) {
    throw new Error(
      `nft refused the rules: ${new TextDecoder().decode(out.stderr).trim()}\n${script}`,
    );
  }
}

/** Partitions between endpoints; `close()` removes every rule this created. */
export class NetworkFaults {
  readonly #cuts = new Map<number, [Endpoint, Endpoint]>();
  #nextCut = 1;

  private constructor() {}

  /**
   * Installs the flow-tagging rules; call before any node starts so every flow is tagged.
   * `tags` maps each process group id to the tag its flows get (the driver runs as group 0).
   */
  static async install(tags: ReadonlyMap<number, number>): Promise<NetworkFaults> {
    const tagRules = [...tags].map(([gid, tag]) =>
      `    ct state new meta skgid ${gid} ct mark set ${tag}`
    ).join("\n");
    await nft(`table inet ${TABLE}
delete table inet ${TABLE}
table inet ${TABLE} {
  chain tag {
    type filter hook output priority -150; policy accept;
${tagRules}
  }
  chain cut {
    type filter hook output priority 0; policy accept;
  }
}
`);
    return new NetworkFaults();
  }

  /** Cuts every flow between `a` and `b`; returns an id for `heal`. */
  async cut(a: Endpoint, b: Endpoint): Promise<number> {
    const id = this.#nextCut++;
    this.#cuts.set(id, [a, b]);
    await this.#apply();
    return id;
  }

  /** Removes one cut. */
  async heal(id: number): Promise<void> {
    if (!this.#cuts.delete(id)) return;
    await this.#apply();
  }

  /** Removes every cut. */
  async healAll(): Promise<void> {
    this.#cuts.clear();
    await this.#apply();
  }

  /** The active cuts, as "a | b" pairs. */
  describe(): string[] {
    return [...this.#cuts.values()].map(([a, b]) => `${a.name} | ${b.name}`);
  }

  /** Deletes the table (tags and cuts). */
  async close(): Promise<void> {
    this.#cuts.clear();
    await nft(`table inet ${TABLE}\ndelete table inet ${TABLE}\n`);
  }

  async #apply(): Promise<void> {
    const rules: string[] = [];
    for (const [a, b] of this.#cuts.values()) rules.push(...dropRules(a, b), ...dropRules(b, a));
    await nft(
      `flush chain inet ${TABLE} cut\n` +
        rules.map((r) => `add rule inet ${TABLE} cut ${r}`).join("\n") + "\n",
    );
  }
}

/** Drops the flows `from` opened towards `to`, both directions. */
function dropRules(from: Endpoint, to: Endpoint): string[] {
  if (to.address === null) return [];
  return [
    `ct mark ${from.tag} ip daddr ${to.address} drop`,
    `ct mark ${from.tag} ip saddr ${to.address} drop`,
  ];
}

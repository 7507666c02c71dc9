/**
 * UDP multicast for cluster-wide signals (off unless configured): the leader
 * announces itself to a group, and workers and clients listening on the group
 * learn where the leader is. Uses Deno's unstable net API (`joinMulticastV4`).
 *
 * Multicast leaves through the interface the routing table picks for the group;
 * only enable it on a network meant for it (tests run it inside a network
 * namespace whose only interface is its own loopback).
 * @module
 */
import { PROTOCOL_VERSION } from "../limits.ts";
import { decodeMessage, DIRECTIONS, encodeMessage } from "../protocol/codec.ts";
import type { LeaderAnnouncement } from "../protocol/messages.ts";
import type { ClusterKeys } from "../auth/mod.ts";
import { canonicalAnnouncement, DatagramGuard, signDatagram } from "./datagram_guard.ts";

/** A multicast group and port, plus the local interface address to join it on. */
export interface MulticastGroup {
  group: string;
  port: number;
  /** Local address of the interface to join on (default 127.0.0.1). */
  interfaceAddress: string;
}

/**
 * Parses "GROUP:PORT" (the --multicast flag and $MUTIRAO_MULTICAST).
 * @throws {TypeError} when it is not an IPv4 multicast address (224.0.0.0/4) and a port.
 */
export function parseMulticastAddress(
  text: string,
  interfaceAddress = "127.0.0.1",
): MulticastGroup {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}):(\d{1,5})$/.exec(text.trim());
  const octets = match === null ? [] : match.slice(1, 5).map(Number);
  const port = match === null ? NaN : Number(match[5]);
  const valid = match !== null && octets.every((o) => o <= 255) && octets[0] >= 224 &&
    octets[0] <= 239 && port >= 1 && port <= 65535;
  if (!valid) {
    throw new TypeError(
      `Invalid multicast address "${text}": expected GROUP:PORT with GROUP in 224.0.0.0-239.255.255.255`,
    );
  }
  return { group: octets.join("."), port, interfaceAddress };
}

/** Sends leader announcements to a group. */
export class Announcer {
  readonly #group: MulticastGroup;
  readonly #socket: Deno.DatagramConn;
  readonly #keys: ClusterKeys | null;

  /** With `keys`, every announcement carries an HMAC (see datagram_guard.ts). */
  constructor(group: MulticastGroup, keys: ClusterKeys | null = null) {
    this.#group = group;
    this.#keys = keys;
    this.#socket = Deno.listenDatagram({
      hostname: group.interfaceAddress,
      port: 0,
      transport: "udp",
    });
  }

  /** Announces; best effort (a lost announcement is repeated at the next interval). */
  announce(announcement: Omit<LeaderAnnouncement, "v" | "type" | "mac">): Promise<void> {
    const message: Omit<LeaderAnnouncement, "mac"> = {
      v: PROTOCOL_VERSION,
      type: "leaderAnnouncement",
      ...announcement,
    };
    const datagram = encodeMessage(
      signDatagram(this.#keys, message, canonicalAnnouncement(message)),
    );
    return this.#socket.send(datagram, {
      transport: "udp",
      hostname: this.#group.group,
      port: this.#group.port,
    }).then(() => {}, () => {/* best effort: the next announcement follows shortly */});
  }

  close(): void {
    this.#socket.close();
  }
}

/**
 * Listens to a group and reports the newest leader of one cluster: announcements
 * of other clusters, malformed datagrams and terms older than the newest seen are
 * ignored (counted in `ignored`).
 */
export class LeaderWatcher {
  readonly #socket: Deno.DatagramConn;
  readonly #clusterId: string | null;
  readonly #onLeader: (announcement: LeaderAnnouncement) => void;
  readonly #guard: DatagramGuard;
  #latest: LeaderAnnouncement | null = null;
  #closed = false;
  ignored = 0;

  private constructor(
    socket: Deno.DatagramConn,
    clusterId: string | null,
    onLeader: (announcement: LeaderAnnouncement) => void,
    keys: ClusterKeys | null,
  ) {
    this.#guard = new DatagramGuard(keys, { maxSkewMs: 10_000 });
    this.#socket = socket;
    this.#clusterId = clusterId;
    this.#onLeader = onLeader;
  }

  /**
   * Joins the group. `clusterId` null accepts the first cluster heard from (then sticks to it).
   * @throws {Error} when the group cannot be joined.
   */
  static async join(
    group: MulticastGroup,
    options: {
      clusterId: string | null;
      onLeader: (announcement: LeaderAnnouncement) => void;
      /** With keys, only announcements with a valid HMAC, fresh and in sequence, are believed. */
      keys?: ClusterKeys | null;
    },
  ): Promise<LeaderWatcher> {
    const socket = Deno.listenDatagram({
      hostname: "0.0.0.0",
      port: group.port,
      transport: "udp",
      reuseAddress: true,
    });
    try {
      const membership = await socket.joinMulticastV4(group.group, group.interfaceAddress);
      membership.setLoopback(true);
    } catch (error) {
      socket.close();
      throw new Error(
        `Cannot join multicast group ${group.group}:${group.port} on ${group.interfaceAddress}`,
        { cause: error },
      );
    }
    const watcher = new LeaderWatcher(
      socket,
      options.clusterId,
      options.onLeader,
      options.keys ?? null,
    );
    void watcher.#listen();
    return watcher;
  }

  /** The newest announcement accepted so far. */
  get latest(): LeaderAnnouncement | null {
    return this.#latest;
  }

  close(): void {
    this.#closed = true;
    this.#socket.close();
  }

  async #listen(): Promise<void> {
    try {
      for await (const [data] of this.#socket) this.#onDatagram(data);
    } catch (error) {
      // Closing the socket ends the loop with an error; anything else is a real failure.
      if (!this.#closed) throw error;
    }
  }

  #onDatagram(data: Uint8Array): void {
    const decoded = decodeMessage(data, DIRECTIONS.announcement);
    if (!decoded.ok) {
      this.ignored += 1;
      return;
    }
    const a = decoded.message;
    if (this.#guard.check(a, a.nodeId, canonicalAnnouncement(a), Date.now()) !== "ok") {
      this.ignored += 1;
      return;
    }
    const cluster = this.#clusterId ?? this.#latest?.clusterId ?? a.clusterId;
    const latest = this.#latest;
    if (a.clusterId !== cluster || (latest !== null && a.term < latest.term)) {
      this.ignored += 1;
      return;
    }
    const changed = latest === null || a.term > latest.term || a.address !== latest.address;
    this.#latest = a;
    if (changed) this.#onLeader(a);
  }
}

/**
 * Waits for the first leader announcement on a group (for a client without a static list).
 * @throws {Error} when none arrives within `timeoutMs`.
 */
export async function discoverLeader(
  group: MulticastGroup,
  options: { clusterId: string | null; timeoutMs: number },
): Promise<LeaderAnnouncement> {
  const found = Promise.withResolvers<LeaderAnnouncement>();
  const watcher = await LeaderWatcher.join(group, {
    clusterId: options.clusterId,
    onLeader: found.resolve,
  });
  const timer = setTimeout(
    () =>
      found.reject(
        new Error(
          `No leader announcement on ${group.group}:${group.port} within ${options.timeoutMs} ms`,
        ),
      ),
    options.timeoutMs,
  );
  try {
    return await found.promise;
  } finally {
    clearTimeout(timer);
    watcher.close();
  }
}

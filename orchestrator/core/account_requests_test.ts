// Proves that password requests cost no scrypt before they are authenticated, routed and
// authorized (the node asks the shell for the hash only then: issue 13, hole 6), and that
// changing one's own password takes the current one while an admin's reset of another user's
// does not and is logged (hole 14).
import assert from "node:assert/strict";
import type { ClientToOrchestrator, OrchestratorToClient } from "../../shared/protocol/messages.ts";
import { createPrng } from "../../shared/prng.ts";
import { buildNode, emptyRecovery } from "./node_builder.ts";
import type {
  ConnId,
  CurrentPasswordCheck,
  NodeEffects,
  NodeInput,
  PasswordWork,
} from "./node_io.ts";
import { OrchestratorNode } from "./orchestrator_node.ts";

const HASH_ALICE = "scrypt$1$1$1$AAAA$BBBB";
const HASH_BOB = "scrypt$1$1$1$CCCC$DDDD";
const HASH_NEW = "scrypt$1$1$1$EEEE$FFFF";
const CONN: ConnId = 1;

type PasswordRequest = Extract<ClientToOrchestrator, { type: "userAdd" | "userPasswd" }>;

/** A one-voter node that leads at once, with alice (admin) and bob (user) logged in. */
class OneNode {
  readonly node: OrchestratorNode;
  readonly sent: OrchestratorToClient[] = [];
  readonly work: PasswordWork[] = [];
  readonly logs: string[] = [];
  nowMs = 0;
  #lamport = 0;
  #requestId = 1;

  constructor(options: { leader?: boolean } = {}) {
    const voters = options.leader === false ? ["o1", "o2", "o3"] : ["o1"];
    this.node = buildNode({
      node: {
        nodeId: "o1",
        clusterId: "c1",
        heartbeatIntervalMs: 1000,
        missedHeartbeats: 3,
        schedulerPolicy: "round-robin",
        defaultMaxAttempts: 3,
        peers: voters.map((id) => ({ id, address: `${id}:1` })),
        bootstrapUsers: [
          { name: "alice", role: "admin", passwordHash: HASH_ALICE },
          { name: "bob", role: "user", passwordHash: HASH_BOB },
        ],
      },
      raft: {
        nodeId: "o1",
        voters,
        electionTimeoutMinMs: 100,
        electionTimeoutMaxMs: 101,
        heartbeatIntervalMs: 50,
        rng: createPrng(1),
      },
      recovered: emptyRecovery(),
      nowMs: 0,
    }).node;
    this.#handle(this.node.takeEffects());
    if (options.leader === false) return;
    for (let i = 0; i < 100 && !this.node.canServeClients; i++) {
      this.nowMs += 10;
      this.step({ type: "tick", nowMs: this.nowMs });
    }
    assert.ok(this.node.canServeClients, "the one-voter node never led");
    for (const user of ["alice", "bob"]) {
      this.step({
        type: "loginChecked",
        conn: CONN,
        requestId: this.#requestId++,
        lamport: ++this.#lamport,
        user,
        session: { token: `t-${user}`, tokenHash: `h-${user}`, expiresAtMs: 1e12 },
        nowMs: this.nowMs,
      });
    }
  }

  step(input: NodeInput): void {
    this.#handle(this.node.step(input));
  }

  /** Sends a request as `user` (token "bogus" for none); extra fields as the shell adds them. */
  request(
    user: string,
    body: Record<string, unknown>,
    extra: { passwordHash?: string; currentPasswordCheck?: CurrentPasswordCheck } = {},
  ): PasswordRequest {
    const request = {
      v: 1,
      id: this.#requestId++,
      lamport: ++this.#lamport,
      token: `t-${user}`,
      ...body,
    } as PasswordRequest;
    this.again(request, user === "bogus" ? "h-bogus" : `h-${user}`, extra);
    return request;
  }

  /** Steps `request` again, as the shell does after the password work. */
  again(
    request: PasswordRequest,
    tokenHash: string,
    extra: { passwordHash?: string; currentPasswordCheck?: CurrentPasswordCheck },
  ): void {
    this.step({
      type: "clientRequest",
      conn: CONN,
      request,
      tokenHash,
      ...extra,
      nowMs: this.nowMs,
    });
  }

  replyTo(request: { id: number }): OrchestratorToClient | undefined {
    return this.sent.find((m) => "re" in m && m.re === request.id);
  }

  #handle(effects: NodeEffects): void {
    this.sent.push(...effects.send.map((s) => s.message as OrchestratorToClient));
    this.work.push(...effects.passwordWork);
    this.logs.push(...effects.log.map((l) => l.message));
    const last = effects.persist.entries.at(-1);
    if (last !== undefined) {
      this.#handle(
        this.node.step({
          type: "persisted",
          index: last.index,
          term: last.term,
          nowMs: this.nowMs,
        }),
      );
    }
  }
}

function errorCode(message: OrchestratorToClient | undefined): string | undefined {
  return message?.type === "error" ? message.code : message?.type;
}

Deno.test("a password change with a bogus token is refused without asking for any scrypt work", () => {
  const n = new OneNode();
  const request = n.request("bogus", { type: "userPasswd", name: "alice", password: "new-pass-1" });
  assert.equal(errorCode(n.replyTo(request)), "unauthenticated");
  const added = n.request("bogus", { type: "userAdd", name: "eve", role: "admin", password: "p" });
  assert.equal(errorCode(n.replyTo(added)), "unauthenticated");
  assert.equal(n.work.length, 0);
});

Deno.test("a follower refuses password requests without asking for any scrypt work", () => {
  const n = new OneNode({ leader: false });
  const request = n.request("alice", { type: "userAdd", name: "eve", role: "user", password: "p" });
  assert.equal(errorCode(n.replyTo(request)), "not_leader");
  assert.equal(n.work.length, 0);
});

Deno.test("a user changing another's password is refused without asking for any scrypt work", () => {
  const n = new OneNode();
  const request = n.request("bob", { type: "userPasswd", name: "alice", password: "mine-now" });
  assert.equal(errorCode(n.replyTo(request)), "forbidden");
  assert.equal(n.work.length, 0);
});

Deno.test("changing one's own password without the current password is refused", () => {
  const n = new OneNode();
  const request = n.request("bob", { type: "userPasswd", name: "bob", password: "new-pass-1" });
  assert.equal(errorCode(n.replyTo(request)), "bad_request");
  assert.match((n.replyTo(request) as { message: string }).message, /current password/);
  assert.equal(n.work.length, 0);
});

Deno.test("changing one's own password checks the current one first, and a wrong one changes nothing", () => {
  const n = new OneNode();
  const body = {
    type: "userPasswd",
    name: "bob",
    password: "new-pass-1",
    currentPassword: "guess",
  };
  const request = n.request("bob", body);
  assert.equal(n.replyTo(request), undefined, "no reply before the check");
  assert.deepEqual(n.work.map((w) => w.verifyCurrentOf), ["bob"]);
  n.again(request, "h-bob", {
    currentPasswordCheck: { verdict: "wrong", checkedPasswordHash: HASH_BOB },
  });
  assert.equal(errorCode(n.replyTo(request)), "bad_credentials");
  assert.equal(n.node.sm.users.get("bob")?.passwordHash, HASH_BOB);
});

Deno.test("a throttled current-password check is refused with the wait", () => {
  const n = new OneNode();
  const body = { type: "userPasswd", name: "bob", password: "new-pass-1", currentPassword: "x" };
  const request = n.request("bob", body, {
    currentPasswordCheck: { verdict: "throttled", retryAfterMs: 4000 },
  });
  assert.equal(errorCode(n.replyTo(request)), "rate_limited");
  assert.match((n.replyTo(request) as { message: string }).message, /retry in 4 s/);
});

Deno.test("changing one's own password with the right current password applies it", () => {
  const n = new OneNode();
  const body = { type: "userPasswd", name: "bob", password: "new-pass-1", currentPassword: "ok" };
  const request = n.request("bob", body);
  n.again(request, "h-bob", {
    passwordHash: HASH_NEW,
    currentPasswordCheck: { verdict: "ok", checkedPasswordHash: HASH_BOB },
  });
  assert.equal(errorCode(n.replyTo(request)), "done");
  assert.equal(n.node.sm.users.get("bob")?.passwordHash, HASH_NEW);
  assert.ok(n.logs.some((l) => l.includes(`User "bob" changed their password`)), n.logs.join("\n"));
});

Deno.test("a current password checked against a hash replaced meanwhile is not trusted", () => {
  const n = new OneNode();
  const body = { type: "userPasswd", name: "bob", password: "new-pass-1", currentPassword: "old" };
  const request = n.request("bob", body, {
    passwordHash: HASH_NEW,
    currentPasswordCheck: { verdict: "ok", checkedPasswordHash: "scrypt$1$1$1$OLD$OLD" },
  });
  assert.equal(errorCode(n.replyTo(request)), "unavailable");
  assert.equal(n.node.sm.users.get("bob")?.passwordHash, HASH_BOB);
});

Deno.test("an admin resets another user's password without theirs, and the reset is logged", () => {
  const n = new OneNode();
  const request = n.request("alice", { type: "userPasswd", name: "bob", password: "reset-1" });
  assert.deepEqual(n.work.map((w) => w.verifyCurrentOf), [null]);
  n.again(request, "h-alice", { passwordHash: HASH_NEW });
  assert.equal(errorCode(n.replyTo(request)), "done");
  assert.equal(n.node.sm.users.get("bob")?.passwordHash, HASH_NEW);
  assert.ok(
    n.logs.some((l) => l.includes(`Admin "alice" reset the password of user "bob"`)),
    n.logs.join("\n"),
  );
});

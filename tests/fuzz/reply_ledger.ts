/**
 * Accounts for request ids: every client request that carries an id gets exactly one reply
 * naming it. The shell relies on this to count requests in flight per connection (a request
 * left unanswered holds its slot forever; a second reply frees another request's slot), so a
 * hostile client must not be able to break it. A client may reuse an id, and an error reply names
 * only the id: the ledger then assumes no particular pairing, and reports a request unanswered
 * only when no pairing of the replies with the requests answers it.
 * @module
 */
import type { ConnId } from "../../orchestrator/core/mod.ts";

/** A request still waiting for its reply. */
export interface OpenRequest {
  conn: ConnId;
  id: number;
  type: string;
  sentAtMs: number;
  /** For `wait`: the reply is due by then (at the first tick from then on); else due at once. */
  deadlineMs: number | null;
}

/** The reply type a successful request of each type gets (any request may get an error). */
const REPLY_TYPES: Record<string, string> = {
  login: "loginOk",
  logout: "logoutOk",
  submit: "submitOk",
  submitBatch: "submitBatchOk",
  status: "task",
  wait: "task",
  cancel: "task",
  list: "taskList",
  workers: "workerList",
  nodeStatus: "nodeStatusReply",
  userAdd: "done",
  userPasswd: "done",
  userRemove: "done",
  tokenRevoke: "done",
  userList: "userList",
  tokenList: "tokenList",
};

/** A reply received for a request id, in the order of everything the ledger saw. */
interface Reply {
  seq: number;
  type: string;
}

/**
 * The requests one connection sent with one id, and the replies naming that id. A client may
 * reuse an id (a fuzzed one does), and an error names only the id: which of those requests it
 * answers is not known, so none is assumed. The group is consistent while its replies can be
 * matched one to one with requests of a kind each answers, sent before it (a bipartite matching).
 */
interface Group {
  requests: Array<OpenRequest & { seq: number }>;
  replies: Reply[];
}

/** Requests kept per (connection, id) before matched pairs are dropped, as a memory bound. */
const GROUP_REQUESTS_MAX = 32;

export class ReplyLedger {
  readonly #open = new Map<ConnId, Map<number, Group>>();
  /** Connections closed with requests open: replies still owed to them are dropped by the shell. */
  readonly #closed = new Set<ConnId>();
  #size = 0;
  #seq = 0;

  /** Requests not answered yet. */
  get size(): number {
    return this.#size;
  }

  /** Records a request that must get one reply with `re` = `id`. */
  request(request: OpenRequest): void {
    // A closed connection sends nothing more (the shell never reuses a connection id).
    if (this.#closed.has(request.conn)) return;
    let byId = this.#open.get(request.conn);
    if (byId === undefined) this.#open.set(request.conn, byId = new Map());
    let group = byId.get(request.id);
    if (group === undefined) byId.set(request.id, group = { requests: [], replies: [] });
    group.requests.push({ ...request, seq: ++this.#seq });
    this.#size += 1;
    if (group.requests.length > GROUP_REQUESTS_MAX) dropMatchedPairs(group);
  }

  /**
   * Records a reply; returns what is wrong with it (a reply to no open request), or null.
   */
  reply(conn: ConnId, re: number, type: string): string | null {
    if (this.#closed.has(conn)) return null;
    const byId = this.#open.get(conn);
    const group = byId?.get(re);
    const problem =
      `a ${type} reply to request ${re} on connection ${conn}, which has no such request open`;
    if (byId === undefined || group === undefined) return problem;
    group.replies.push({ seq: ++this.#seq, type });
    if (match(group).size < group.replies.length) {
      group.replies.pop(); // every earlier reply still has its request; this one has none
      return problem;
    }
    this.#size -= 1;
    if (group.replies.length === group.requests.length) byId.delete(re); // all answered
    if (byId.size === 0) this.#open.delete(conn);
    return null;
  }

  /** The connection closed: its requests will never be answered, and need not be. */
  closed(conn: ConnId): void {
    const byId = this.#open.get(conn);
    if (byId === undefined) return;
    for (const group of byId.values()) this.#size -= group.requests.length - group.replies.length;
    this.#open.delete(conn);
    this.#closed.add(conn);
  }

  /** Forgets everything (every connection closed, e.g. at a restart). */
  clear(): void {
    this.#open.clear();
    this.#closed.clear();
    this.#size = 0;
  }

  /**
   * Requests overdue at a quiescent point: every non-wait request, and waits whose deadline
   * a tick at `lastTickMs` has passed.
   */
  overdue(lastTickMs: number): OpenRequest[] {
    const out: OpenRequest[] = [];
    const isDue = (r: OpenRequest) => r.deadlineMs === null || r.deadlineMs <= lastTickMs;
    for (const byId of this.#open.values()) {
      for (const group of byId.values()) {
        // The replies are matched to the most urgent requests first, so a request is reported
        // only when no way of matching the replies to the requests leaves it answered.
        const matched = match(group);
        for (const request of group.requests) {
          if (!matched.has(request) && isDue(request)) out.push(withoutSeq(request));
        }
      }
    }
    return out;
  }
}

/** Whether a reply of `type` can answer `request`: an error answers any request. */
function answers(type: string, request: OpenRequest): boolean {
  return type === "error" || REPLY_TYPES[request.type] === type;
}

/** Most urgent first: requests due at once, then by deadline, then in the order sent. */
function byUrgency(a: Group["requests"][number], b: Group["requests"][number]): number {
  const deadline = (r: OpenRequest) => r.deadlineMs ?? Number.NEGATIVE_INFINITY;
  if (deadline(a) !== deadline(b)) return deadline(a) < deadline(b) ? -1 : 1;
  return a.seq - b.seq;
}

/**
 * A maximum matching of the group's replies to requests each could answer and that were sent
 * before it (Kuhn's augmenting paths), built by trying requests in order of urgency: since the
 * requests that can all be answered together form a matroid, the most urgent ones are left
 * unmatched only when no maximum matching covers them. Returns the matched requests.
 */
function match(group: Group): Map<OpenRequest, Reply> {
  const replyOf = new Map<OpenRequest, Reply>();
  const requestOf = new Map<Reply, OpenRequest & { seq: number }>();
  const augment = (request: OpenRequest & { seq: number }, seen: Set<Reply>): boolean => {
    for (const reply of group.replies) {
      if (seen.has(reply) || reply.seq < request.seq || !answers(reply.type, request)) continue;
      seen.add(reply);
      const holder = requestOf.get(reply);
      if (holder === undefined || augment(holder, seen)) {
        replyOf.set(request, reply);
        requestOf.set(reply, request);
        return true;
      }
    }
    return false;
  };
  for (const request of [...group.requests].sort(byUrgency)) augment(request, new Set());
  return replyOf;
}

/** Drops the replies and the requests they are matched to (which loses only ambiguity). */
function dropMatchedPairs(group: Group): void {
  const matched = match(group);
  group.requests = group.requests.filter((r) => !matched.has(r));
  const used = new Set(matched.values());
  group.replies = group.replies.filter((r) => !used.has(r));
}

function withoutSeq({ seq: _seq, ...request }: OpenRequest & { seq: number }): OpenRequest {
  return request;
}

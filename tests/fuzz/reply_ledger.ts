/**
 * Accounts for request ids: every client request that carries an id gets exactly one reply
 * naming it. The shell relies on this to count requests in flight per connection (a request
 * left unanswered holds its slot forever; a second reply frees another request's slot), so a
 * hostile client must not be able to break it.
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

export class ReplyLedger {
  readonly #open = new Map<ConnId, Map<number, OpenRequest[]>>();
  /** Connections closed with requests open: replies still owed to them are dropped by the shell. */
  readonly #closed = new Set<ConnId>();
  #size = 0;

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
    const list = byId.get(request.id);
    if (list === undefined) byId.set(request.id, [request]);
    else list.push(request);
    this.#size += 1;
  }

  /**
   * Records a reply; returns what is wrong with it (a reply to no open request), or null.
   */
  reply(conn: ConnId, re: number, type: string): string | null {
    if (this.#closed.has(conn)) return null;
    const byId = this.#open.get(conn);
    const list = byId?.get(re);
    if (byId === undefined || list === undefined) {
      return `a ${type} reply to request ${re} on connection ${conn}, which has no such request open`;
    }
    // A client may reuse an id: match the request this reply answers when the types say.
    const index = Math.max(0, this.#bestMatch(list, type));
    list.splice(index, 1);
    this.#size -= 1;
    if (list.length === 0) byId.delete(re);
    if (byId.size === 0) this.#open.delete(conn);
    return null;
  }

  /** The request a reply of `type` most likely answers: its own kind, else one due at once. */
  #bestMatch(list: readonly OpenRequest[], type: string): number {
    const answers = (r: OpenRequest) => REPLY_TYPES[r.type] === type;
    const exact = list.findIndex((r) => answers(r) && r.deadlineMs === null);
    if (exact >= 0) return exact;
    const kind = list.findIndex(answers);
    if (kind >= 0) return kind;
    return list.findIndex((r) => r.deadlineMs === null);
  }

  /** The connection closed: its requests will never be answered, and need not be. */
  closed(conn: ConnId): void {
    const byId = this.#open.get(conn);
    if (byId === undefined) return;
    for (const list of byId.values()) this.#size -= list.length;
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
    for (const byId of this.#open.values()) {
      for (const list of byId.values()) {
        for (const request of list) {
          if (request.deadlineMs === null || request.deadlineMs <= lastTickMs) out.push(request);
        }
      }
    }
    return out;
  }
}

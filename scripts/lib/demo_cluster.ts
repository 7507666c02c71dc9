/**
 * The processes behind `deno task demo`: one orchestrator per cluster-file entry and N workers,
 * each under a demo name (`o1`, `w2`) that the demo's commands act on. A node that dies is
 * reported once and the others keep running; a restarted node gets the same id, data directory
 * and port, so the cluster recognises it. Every process is signalled and stopped by PID.
 * @module
 */
import type { OrchestratorAddress } from "../../shared/config/mod.ts";
import type { NodeAction } from "./demo_command.ts";
import {
  availabilityNote,
  type DemoNodeView,
  type DemoRole,
  describeExit,
  type ExitCause,
} from "./demo_text.ts";
import { ManagedProcess } from "./managed_process.ts";

/**
 * A node that dies is reported this long after its exit, and not at all if the demo began
 * stopping meanwhile: Ctrl-C in a terminal reaches every process of the foreground group at
 * once, so the nodes may exit before the demo's own SIGINT listener has run.
 */
const EXIT_REPORT_DELAY_MS = 200;

/** How long a node gets to print its ready line; past it the demo says so and carries on. */
const READY_TIMEOUT_MS = 30_000;

/** How long a node gets to exit after SIGTERM when the demo stops, before SIGKILL. */
const STOP_GRACE_MS = 5_000;

export interface DemoClusterOptions {
  /** Absolute path of the cluster file every node reads. */
  configPath: string;
  /** Each orchestrator keeps its log in DATA_DIR/ID, across restarts. */
  dataDir: string;
  orchestrators: readonly OrchestratorAddress[];
  workerCount: number;
  /** Port of the first worker, the next ones follow; 0 = any free port (kept on restart). */
  firstWorkerPort: number;
  allowExec: boolean;
  /** Copy the nodes' output to stderr, prefixed with their names. */
  echo: boolean;
  /** Receives each report: a node died, came back, or did not come back. */
  report: (line: string) => void;
}

/** The outcome of a command on one node, in the user's words. */
export interface ActionResult {
  ok: boolean;
  message: string;
}

interface DemoNode {
  name: string;
  role: DemoRole;
  /** The current (or last) process; null before the first start. */
  process: ManagedProcess | null;
  state: DemoNodeView["state"];
  address: string | null;
  lastExit: DemoNodeView["lastExit"];
  /** Why the current process is expected to end: set by `kill` and `stop`. */
  cause: ExitCause;
  /** Arguments after `deno run -A` for the next start. */
  args: () => string[];
}

/** The demo's nodes and the commands that act on them. */
export class DemoCluster {
  readonly #options: DemoClusterOptions;
  readonly #nodes: DemoNode[] = [];
  /** Set by start() once every node is ready. */
  #isUp = false;
  /** Set by stopAll(): from then on exits are expected and not reported. */
  #isStopping = false;

  /** @throws {RangeError} if an orchestrator's id is one of the workers' demo names */
  constructor(options: DemoClusterOptions) {
    this.#options = options;
    for (const o of options.orchestrators) {
      const node = this.#newNode(o.id, "orchestrator", () => [
        "orchestrator/main.ts",
        "--config",
        options.configPath,
        "--id",
        o.id,
        "--data-dir",
        `${options.dataDir}/${o.id}`,
      ]);
      node.address = o.port === 0 ? null : `${o.host}:${o.port}`;
      this.#nodes.push(node);
    }
    for (let i = 1; i <= options.workerCount; i++) {
      const name = `w${i}`;
      if (this.#find(name) !== undefined) {
        throw new RangeError(
          `Cannot name the demo's workers w1, w2, …: the cluster file has an orchestrator "${name}"`,
        );
      }
      const node: DemoNode = this.#newNode(name, "worker", () => this.#workerArgs(node));
      if (options.firstWorkerPort !== 0) {
        node.address = `127.0.0.1:${options.firstWorkerPort + i - 1}`;
      }
      this.#nodes.push(node);
    }
  }

  /** The demo names, orchestrators first, in the order `status` lists them. */
  get names(): string[] {
    return this.#nodes.map((n) => n.name);
  }

  /** Every node's state, for `status` and the startup banner. */
  views(): DemoNodeView[] {
    return this.#nodes.map((n) => ({
      name: n.name,
      role: n.role,
      state: n.state,
      pid: n.process?.pid ?? null,
      address: n.address,
      lastExit: n.lastExit,
    }));
  }

  /** The PIDs of the processes that have not exited, for tests and cleanup. */
  livePids(): number[] {
    return this.#nodes.flatMap((n) =>
      n.process === null || n.process.hasExited ? [] : [n.process.pid]
    );
  }

  /**
   * Starts the orchestrators, waits until each listens, then the workers, and waits until each
   * registered. A node that dies after it was ready is reported, during the start too; one that
   * dies before is the start's error.
   * @throws {Error} naming the node that did not start and its last output line
   */
  async start(): Promise<void> {
    const byRole = (role: DemoRole) => this.#nodes.filter((n) => n.role === role);
    for (const role of ["orchestrator", "worker"] as const) {
      await Promise.all(byRole(role).map((n) => this.#startAndWait(n)));
    }
    this.#isUp = true;
  }

  /** Carries out one command on one node; a command the node's state forbids is refused. */
  act(action: NodeAction, name: string): ActionResult {
    const node = this.#find(name);
    if (node === undefined) return { ok: false, message: `No node "${name}"` };
    switch (action) {
      case "kill":
        return this.#kill(node);
      case "stop":
        return this.#stop(node);
      case "restart":
        return this.#restart(node);
      case "pause":
        return this.#pause(node);
      case "resume":
        return this.#resume(node);
    }
  }

  /** Stops every process (SIGTERM, SIGKILL after a grace period) and waits until all exited. */
  async stopAll(): Promise<void> {
    this.#isStopping = true;
    await Promise.all(this.#nodes.map(async (node) => {
      const p = node.process;
      if (p === null || p.hasExited) return;
      const stopped = p.stop(STOP_GRACE_MS);
      // A paused process holds SIGTERM until it runs again.
      if (node.state === "paused") p.signal("SIGCONT");
      await stopped;
    }));
  }

  #newNode(name: string, role: DemoRole, args: () => string[]): DemoNode {
    return {
      name,
      role,
      process: null,
      state: "starting",
      address: null,
      lastExit: null,
      cause: "unexpected",
      args,
    };
  }

  #find(name: string): DemoNode | undefined {
    return this.#nodes.find((n) => n.name === name);
  }

  /**
   * A worker starts on its port (any free one when it has none yet) and restarts on the port it
   * had, so it is the same worker to the cluster.
   */
  #workerArgs(node: DemoNode): string[] {
    const args = ["worker/main.ts", "--config", this.#options.configPath];
    const known = node.address === null ? null : /^(.+):(\d+)$/.exec(node.address);
    if (known !== null) args.push(known[1], known[2]);
    // The example handlers, so `submit --kind add --payload …` works in the demo at once.
    args.push("--handlers", "examples/handlers.ts");
    if (this.#options.allowExec) args.push("--allow-exec");
    return args;
  }

  #spawn(node: DemoNode): ManagedProcess {
    const p = new ManagedProcess({
      name: `${node.role} ${node.name}`,
      args: node.args(),
      echo: this.#options.echo,
    });
    node.process = p;
    node.state = "starting";
    node.lastExit = null;
    node.cause = "unexpected";
    void p.exited.then((status) => this.#onExit(node, p, status));
    return p;
  }

  async #startAndWait(node: DemoNode): Promise<void> {
    const p = this.#spawn(node);
    try {
      this.#onReady(node, await p.ready(READY_TIMEOUT_MS));
    } catch (error) {
      throw new Error(`Cannot start ${this.#describeFailedStart(node, p)}`, { cause: error });
    }
  }

  #onReady(node: DemoNode, ready: Record<string, string>): void {
    node.address = node.role === "orchestrator" ? ready.address : ready.workerId;
    // A kill or stop sent while it started wins: the exit will be reported.
    if (node.state === "starting") node.state = "running";
  }

  #describeFailedStart(node: DemoNode, p: ManagedProcess): string {
    const who = `${node.role} ${node.name}${node.address === null ? "" : ` (${node.address})`}`;
    if (!p.hasExited) return `${who}: not ready within ${READY_TIMEOUT_MS / 1000} s`;
    const last = lastLine(p);
    const code = node.lastExit === null ? "" : ` with code ${node.lastExit.code}`;
    return `${who}: it exited${code} before it was ready${last === "" ? "" : `: ${last}`}`;
  }

  #onExit(node: DemoNode, p: ManagedProcess, status: Deno.CommandStatus): void {
    if (node.process !== p) return;
    const failedFirstStart = !this.#isUp && node.state === "starting";
    node.state = "exited";
    node.lastExit = { code: status.code, signal: status.signal };
    const facts = { exit: node.lastExit, cause: node.cause, lastLine: lastLine(p) };
    if (this.#isStopping || failedFirstStart) return;
    setTimeout(() => {
      if (this.#isStopping) return;
      const consequence = availabilityNote(this.views());
      this.#options.report(describeExit(node, { ...facts, consequence }));
    }, EXIT_REPORT_DELAY_MS);
  }

  #kill(node: DemoNode): ActionResult {
    const p = this.#running(node, "kill");
    if (!(p instanceof ManagedProcess)) return p;
    node.cause = "kill";
    node.state = "stopping";
    p.signal("SIGKILL");
    return { ok: true, message: `Sent SIGKILL to ${node.role} ${node.name} (PID ${p.pid})` };
  }

  #stop(node: DemoNode): ActionResult {
    const p = this.#running(node, "stop");
    if (!(p instanceof ManagedProcess)) return p;
    const wasPaused = node.state === "paused";
    node.cause = "stop";
    node.state = "stopping";
    p.signal("SIGTERM");
    if (wasPaused) p.signal("SIGCONT"); // it takes SIGTERM only once it runs again
    const then = node.role === "worker"
      ? "it hands its tasks back and exits"
      : "it closes its connections and exits";
    return {
      ok: true,
      message: `Sent SIGTERM to ${node.role} ${node.name} (PID ${p.pid}): ${then}`,
    };
  }

  #restart(node: DemoNode): ActionResult {
    const current = node.process;
    if (current !== null && !current.hasExited) {
      return {
        ok: false,
        message: `Cannot restart ${node.name}: it is ${node.state} (PID ${current.pid}); ` +
          `\`kill ${node.name}\` or \`stop ${node.name}\` first`,
      };
    }
    const p = this.#spawn(node);
    p.ready(READY_TIMEOUT_MS).then(
      (ready) => {
        if (node.process !== p) return;
        this.#onReady(node, ready);
        if (node.state !== "running") return; // killed or stopped while it started
        const rejoins = node.role === "orchestrator"
          ? "; it rejoins as a follower and catches up from the leader"
          : "; it registered with the leader again";
        this.#options.report(
          `${node.role} ${node.name} is back (PID ${p.pid}, ${node.address})${rejoins}`,
        );
      },
      () => {
        // An exit before the ready line is reported by #onExit; only a hang is reported here.
        if (!p.hasExited && node.process === p) {
          this.#options.report(
            `${node.role} ${node.name} (PID ${p.pid}) is not ready after ` +
              `${READY_TIMEOUT_MS / 1000} s; \`kill ${node.name}\` and \`r ${node.name}\` retry`,
          );
        }
      },
    );
    const where = node.address === null ? "" : ` on ${node.address}`;
    return {
      ok: true,
      message: `Starting ${node.role} ${node.name} again${where} (PID ${p.pid})`,
    };
  }

  #pause(node: DemoNode): ActionResult {
    if (node.state !== "running") {
      return { ok: false, message: `Cannot pause ${node.name}: it is ${this.#stateWords(node)}` };
    }
    const p = node.process as ManagedProcess;
    p.signal("SIGSTOP");
    node.state = "paused";
    const then = node.role === "worker"
      ? "its heartbeats stop, so the leader declares it lost and runs its tasks elsewhere"
      : "its connections stay open, so the others notice only its silence; if it led, a " +
        "backup takes over after an election timeout";
    return {
      ok: true,
      message: `Paused ${node.role} ${node.name} (SIGSTOP, PID ${p.pid}): ${then}; ` +
        `\`resume ${node.name}\` thaws it`,
    };
  }

  #resume(node: DemoNode): ActionResult {
    if (node.state !== "paused") {
      return {
        ok: false,
        message: `Cannot resume ${node.name}: it is ${this.#stateWords(node)}, not paused`,
      };
    }
    const p = node.process as ManagedProcess;
    p.signal("SIGCONT");
    node.state = "running";
    return { ok: true, message: `Resumed ${node.role} ${node.name} (SIGCONT, PID ${p.pid})` };
  }

  /** The process a kill or stop can signal, or the refusal when there is none. */
  #running(node: DemoNode, verb: string): ManagedProcess | ActionResult {
    const p = node.process;
    if (p === null || p.hasExited || node.state === "exited") {
      return {
        ok: false,
        message: `Cannot ${verb} ${node.name}: it is ${this.#stateWords(node)}; ` +
          `\`r ${node.name}\` restarts it`,
      };
    }
    return p;
  }

  #stateWords(node: DemoNode): string {
    if (node.state !== "exited") return node.state;
    const exit = node.lastExit;
    if (exit === null) return "not running";
    if (exit.signal !== null) return `not running (it died of ${exit.signal})`;
    return `not running (it exited with code ${exit.code})`;
  }
}

/** The last non-empty output line of a process: usually what it failed on. */
function lastLine(p: ManagedProcess): string {
  for (let i = p.lines.length - 1; i >= 0; i--) {
    if (p.lines[i].trim() !== "") return p.lines[i].trim();
  }
  return "";
}

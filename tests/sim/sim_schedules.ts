/**
 * Schedules in the simulation (some seeds): a user of their own (`sched`, from the cluster file)
 * adds a few second-level cron schedules early in the run, then pauses one and resumes it, while
 * the chaos goes on. Its requests stay out of the client history (they are not task operations
 * the linearizability models know); what matters is checked on the committed log instead, as each
 * entry joins it:
 *
 * - no (schedule, tick) fires twice, across failovers and crashes;
 * - a schedule's fired ticks strictly increase;
 * - every fired tick is a tick of the schedule's cron expression;
 * - liveness, at the end: every schedule fired at least once after the world healed.
 * @module
 */
import { isTick } from "../../shared/cron.ts";
import type { LogEntry } from "../../orchestrator/tasks/mod.ts";
import { scheduleKey } from "../../orchestrator/tasks/mod.ts";
import { historyOf } from "./client_history.ts";
import { passwordBookOf } from "./sim_accounts.ts";
import { ClientTransport, type RequestBody, type RequestResult } from "./sim_client_transport.ts";
import { SimViolation } from "./violation.ts";
import type { World } from "./world.ts";

/** What a seed with schedules draws (sim_params.ts, `drawLaterChoices`). */
export interface ScheduleSimParams {
  /** Cron expressions (6 fields: seconds first), one schedule each, named s1, s2, ... */
  crons: string[];
  /** When (world time) the user starts adding them. */
  startAtMs: number;
  /** How long each scheduled (sleep) task runs. */
  taskDurationMs: number;
  /** Pause s1 this long after its schedules are added, and resume it as long after (null: never). */
  pauseAfterMs: number | null;
}

/** The user who owns the simulation's schedules (not one of the workload's users). */
export const SCHEDULE_USER = { name: "sched", password: "sched-pass" } as const;

/** Pause between a failed request and its retry. */
const RETRY_PAUSE_MS = 150;
/** How long after converging a run waits for every schedule to fire once more. */
const LIVENESS_BUDGET_MS = 15_000;

interface FiredTick {
  tickMs: number;
  /** World time at which its entry joined the committed log. */
  committedAtMs: number;
}

/** The schedule workload and its checks, for one world. */
export class SimSchedules {
  readonly #world: World;
  readonly #params: ScheduleSimParams;
  readonly #transport: ClientTransport;
  /** Requests still to make, in order; the head is retried until it succeeds. */
  readonly #todo: Array<{ body: RequestBody; delayMs: number }> = [];
  #token: string | null = null;
  #isBusy = false;
  /** By scheduleKey: the expression a schedule was set with, and the ticks it fired. */
  readonly #crons = new Map<string, { cron: string; timezone?: string }>();
  readonly #fired = new Map<string, FiredTick[]>();
  /** Firings the reference state machine counted per schedule (to tell applied from refused). */
  readonly #firedCounts = new Map<string, number>();
  /** Firings the committed log applied, and those it refused. */
  applied = 0;
  refused = 0;

  constructor(world: World, params: ScheduleSimParams) {
    this.#world = world;
    this.#params = params;
    this.#transport = new ClientTransport(world, "s1", world.params.clientTimeoutMs);
    params.crons.forEach((cron, i) => {
      this.#todo.push({
        delayMs: 0,
        body: {
          type: "scheduleAdd",
          name: `s${i + 1}`,
          cron,
          task: { kind: "sleep", description: `s${i + 1}`, durationMs: params.taskDurationMs },
          maxAttempts: 3,
        },
      });
    });
    if (params.pauseAfterMs !== null) {
      for (const paused of [true, false]) {
        this.#todo.push({
          delayMs: params.pauseAfterMs,
          body: { type: "schedulePause", name: "s1", paused },
        });
      }
    }
  }

  /** True once every request was answered. */
  get isDone(): boolean {
    return this.#todo.length === 0 && !this.#isBusy;
  }

  start(): void {
    this.#world.schedule(this.#params.startAtMs, "s1", () => this.#next());
  }

  #next(): void {
    if (this.#isBusy || this.#todo.length === 0) return;
    this.#isBusy = true;
    if (this.#token === null) {
      const login = { type: "login", user: SCHEDULE_USER.name, password: SCHEDULE_USER.password };
      return this.#transport.request(login, (result) => this.#loggedIn(result));
    }
    const body = { ...this.#todo[0].body, token: this.#token };
    this.#transport.request(body, (result) => this.#answered(result));
  }

  #loggedIn(result: RequestResult): void {
    this.#isBusy = false;
    if (result.ok && result.reply.type === "loginOk") this.#token = result.reply.token;
    this.#world.schedule(result.ok ? 0 : RETRY_PAUSE_MS, "s1", () => this.#next());
  }

  #answered(result: RequestResult): void {
    this.#isBusy = false;
    if (result.ok) {
      if (result.reply.type !== "done") {
        throw new SimViolation(`sched: ${this.#todo[0].body.type} answered ${result.reply.type}`);
      }
      this.#todo.shift();
      const delayMs = this.#todo[0]?.delayMs ?? 0;
      this.#world.schedule(delayMs, "s1", () => this.#next());
      return;
    }
    if (result.code === "unauthenticated") this.#token = null;
    else if (result.code !== null && result.code !== "rate_limited") {
      throw new SimViolation(`sched: ${this.#todo[0].body.type} refused: ${result.message}`);
    }
    this.#world.schedule(RETRY_PAUSE_MS, "s1", () => this.#next());
  }

  /** Checks one committed entry, after the reference state machine applied it. */
  observe(entry: LogEntry): void {
    const command = entry.command;
    if (command.type === "scheduleSet") {
      const key = scheduleKey(command.owner, command.name);
      this.#crons.set(key, {
        cron: command.cron,
        ...(command.timezone === undefined ? {} : { timezone: command.timezone }),
      });
      return;
    }
    if (command.type !== "scheduleFired") return;
    const key = scheduleKey(command.owner, command.name);
    const schedule = this.#world.checker.reference.schedules.get(key);
    const before = this.#firedCounts.get(key) ?? 0;
    if (schedule === undefined || schedule.fired === before) {
      this.refused += 1;
      return;
    }
    this.applied += 1;
    this.#firedCounts.set(key, schedule.fired);
    this.#checkFiring(entry.index, key, command.tickMs);
  }

  #checkFiring(index: number, key: string, tickMs: number): void {
    const name = key.replace("\n", "/");
    const ticks = this.#fired.get(key) ?? [];
    if (ticks.some((t) => t.tickMs === tickMs)) {
      throw new SimViolation(`entry ${index} fired tick ${tickMs} of schedule ${name} again`);
    }
    const last = ticks.at(-1);
    if (last !== undefined && tickMs < last.tickMs) {
      throw new SimViolation(
        `entry ${index} fired tick ${tickMs} of schedule ${name} after its later tick ${last.tickMs}`,
      );
    }
    const expression = this.#crons.get(key);
    if (expression === undefined) {
      throw new SimViolation(`entry ${index} fired schedule ${name}, which was never set`);
    }
    if (!isTick(expression.cron, { timezone: expression.timezone, tickMs })) {
      throw new SimViolation(
        `entry ${index} fired ${tickMs} for schedule ${name}, not a tick of "${expression.cron}"`,
      );
    }
    ticks.push({ tickMs, committedAtMs: this.#world.nowMs });
    this.#fired.set(key, ticks);
  }

  /** Schedules that have not fired since `sinceMs` (world time), with why; empty when all have. */
  silentSince(sinceMs: number): string[] {
    if (!this.isDone) return ["sched has requests still to make"];
    const silent: string[] = [];
    for (const key of this.#crons.keys()) {
      const schedule = this.#world.checker.reference.schedules.get(key);
      if (schedule === undefined || schedule.paused) continue;
      const last = this.#fired.get(key)?.at(-1);
      if (last === undefined || last.committedAtMs <= sinceMs) silent.push(key.replace("\n", "/"));
    }
    return silent;
  }
}

const byWorld = new WeakMap<World, SimSchedules>();

/** The schedule workload of `world`, if its seed drew one. */
export function schedulesOf(world: World): SimSchedules | undefined {
  return byWorld.get(world);
}

/**
 * Sets up a new world's schedule workload when its seed drew one: the schedules' user in the
 * cluster file, and the checks on the committed log. Call before the cluster boots.
 */
export function setUpSchedules(world: World): void {
  const params = world.params.schedules;
  if (params === null) return;
  historyOf(world).bootstrapPasswords.set(SCHEDULE_USER.name, SCHEDULE_USER.password);
  passwordBookOf(world).give(SCHEDULE_USER.name, SCHEDULE_USER.password);
  const schedules = new SimSchedules(world, params);
  byWorld.set(world, schedules);
  world.checker.committedObservers.push((entry) => schedules.observe(entry));
}

/**
 * After convergence: runs on until every schedule fired again since the world healed (at
 * `healedAtMs`), within LIVENESS_BUDGET_MS.
 * @throws {SimViolation} when one stays silent.
 */
export async function checkScheduleLiveness(world: World, healedAtMs: number): Promise<void> {
  const schedules = schedulesOf(world);
  if (schedules === undefined) return;
  const deadline = world.nowMs + LIVENESS_BUDGET_MS;
  await world.run(deadline, {
    stopWhen: () => schedules.silentSince(healedAtMs).length === 0,
    probeEveryMs: 50,
  });
  if (world.hasFailed) throw world.failure;
  const silent = schedules.silentSince(healedAtMs);
  if (silent.length > 0) {
    throw new SimViolation(
      `schedule(s) ${silent.join(", ")} fired no tick in the ${world.nowMs - healedAtMs} ms ` +
        `after the world healed`,
    );
  }
  world.note(`schedules: ${schedules.applied} firing(s) applied, ${schedules.refused} refused`);
}

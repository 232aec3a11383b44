import type { Connector, DeliveryJob, ResolvedConnection } from '../connectors/connector.js';
import type { ClaimedDelivery } from '../store/queue.js';

/** One claimed delivery, ready to send. */
export interface Job {
  claimed: ClaimedDelivery;
  /** This process's clock by which the lease surely ends (claim sent + lease length). */
  deadline: number;
  connection: ResolvedConnection;
  connector: Connector;
  spec: DeliveryJob;
}

/** One connection's share of this worker: requests in flight, and claimed ones waiting. */
interface Lane {
  connectionId: number;
  origin: Origin;
  active: number;
  queue: Job[];
  /** Queued at its origin for a free socket. */
  waiting: boolean;
}

/** Every connection that sends to one scheme://host:port shares its sockets. */
interface Origin {
  key: string;
  active: number;
  lanes: number;
  /** Lanes with work waiting for one of this origin's slots, served round-robin. */
  waiting: Lane[];
}

export interface LaneLimits {
  perConnection: number;
  /** Requests in flight to one origin: the HTTP client's sockets per origin. */
  perOrigin: number;
}

/**
 * The worker's lanes. A connection has at most `perConnection` requests in flight; an origin
 * (shared by every connection, of any tenant, that sends to it) at most `perOrigin` — the
 * HTTP client's sockets for it — so no request ever waits inside the client for a socket
 * (its timeout then measures the request itself). When an origin is full, the lanes waiting
 * for it take turns, one request each, so tenants sharing an endpoint share it fairly
 * whatever their backlogs.
 */
export class Lanes {
  readonly #lanes = new Map<number, Lane>();
  readonly #origins = new Map<string, Origin>();
  #queued = 0;
  #inFlight = 0;
  #paused = false;
  #idleWaiters: Array<() => void> = [];

  constructor(
    private readonly limits: LaneLimits,
    /** Sends one job; the promise settles when its result has been handed on. */
    private readonly send: (job: Job) => Promise<void>,
  ) {}

  get queued(): number {
    return this.#queued;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Resolves once nothing is in flight. */
  whenIdle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** How many jobs a connection's lane holds waiting (not in flight). */
  waiting(connectionId: number): number {
    return this.#lanes.get(connectionId)?.queue.length ?? 0;
  }

  /** Connections whose lanes hold at least `threshold` waiting jobs. */
  holding(threshold: number): number[] {
    const out: number[] = [];
    for (const [id, lane] of this.#lanes) if (lane.queue.length >= threshold) out.push(id);
    return out;
  }

  add(job: Job, originKey: string): void {
    let lane = this.#lanes.get(job.connection.id);
    if (!lane) {
      let origin = this.#origins.get(originKey);
      if (!origin) {
        origin = { key: originKey, active: 0, lanes: 0, waiting: [] };
        this.#origins.set(originKey, origin);
      }
      origin.lanes++;
      lane = { connectionId: job.connection.id, origin, active: 0, queue: [], waiting: false };
      this.#lanes.set(job.connection.id, lane);
    }
    lane.queue.push(job);
    this.#queued++;
  }

  /** Starts what the limits allow on these connections' lanes. */
  pump(connectionIds: Iterable<number>): void {
    for (const id of connectionIds) {
      const lane = this.#lanes.get(id);
      if (lane) this.#pump(lane);
    }
  }

  /** Takes the waiting jobs that `match` out of their lanes (in flight ones are not touched). */
  takeQueued(match: (job: Job) => boolean): Job[] {
    const out: Job[] = [];
    for (const lane of this.#lanes.values()) {
      if (!lane.queue.some(match)) continue;
      const keep: Job[] = [];
      for (const job of lane.queue) (match(job) ? out : keep).push(job);
      lane.queue = keep;
      this.#forgetIfIdle(lane);
    }
    this.#queued -= out.length;
    return out;
  }

  /** Stops starting jobs and hands back every job still waiting. */
  pauseAndTakeQueued(): Job[] {
    this.#paused = true;
    const out: Job[] = [];
    for (const lane of this.#lanes.values()) {
      out.push(...lane.queue.splice(0));
      lane.waiting = false;
    }
    for (const origin of this.#origins.values()) origin.waiting = [];
    this.#queued = 0;
    return out;
  }

  #pump(lane: Lane): void {
    while (!this.#paused && lane.active < this.limits.perConnection && lane.queue.length > 0) {
      if (lane.origin.active >= this.limits.perOrigin) {
        if (!lane.waiting) {
          lane.waiting = true;
          lane.origin.waiting.push(lane);
        }
        return;
      }
      this.#start(lane);
    }
    this.#forgetIfIdle(lane);
  }

  #start(lane: Lane): void {
    const job = lane.queue.shift() as Job;
    this.#queued--;
    lane.active++;
    lane.origin.active++;
    this.#inFlight++;
    void this.send(job).finally(() => this.#finished(lane));
  }

  #finished(lane: Lane): void {
    lane.active--;
    lane.origin.active--;
    this.#inFlight--;
    if (this.#inFlight === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
    const origin = lane.origin;
    // The freed slot goes to the lane that has waited longest at this origin, then this one.
    while (!this.#paused && origin.active < this.limits.perOrigin && origin.waiting.length > 0) {
      const next = origin.waiting.shift() as Lane;
      next.waiting = false;
      if (next.active < this.limits.perConnection && next.queue.length > 0) {
        this.#start(next);
        if (next.queue.length > 0) {
          next.waiting = true;
          origin.waiting.push(next);
        }
      } else {
        this.#forgetIfIdle(next);
      }
    }
    this.#pump(lane);
  }

  #forgetIfIdle(lane: Lane): void {
    if (lane.active > 0 || lane.queue.length > 0 || lane.waiting) return;
    if (this.#lanes.get(lane.connectionId) !== lane) return;
    this.#lanes.delete(lane.connectionId);
    if (--lane.origin.lanes === 0) this.#origins.delete(lane.origin.key);
  }
}

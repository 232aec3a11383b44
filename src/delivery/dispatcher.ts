import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Connector, DeliveryJob, ResolvedConnection } from '../connectors/connector.js';
import type { ConnectionService } from '../domain/connections.js';
import type { ClaimedDelivery } from '../store/deliveries.js';
import type { Store } from '../store/store.js';
import type { ResultsWriter } from './results-writer.js';
import type { Wakeup } from './wakeup.js';

const MIN_CLAIM_GAP_MS = 5;

interface Job {
  claimed: ClaimedDelivery;
  connection: ResolvedConnection;
  connector: Connector;
  spec: DeliveryJob;
}

/** One connection's share of this worker: requests in flight, and claimed ones waiting. */
interface Lane {
  active: number;
  queue: Job[];
}

interface CachedEvent {
  eventType: string;
  payload: string;
  profile: Record<string, unknown> | null;
}

type Limits = Pick<
  Config,
  'maxInFlight' | 'maxInFlightPerConnection' | 'leaseMs' | 'pollIntervalMs' | 'claimBatchSize'
>;

/**
 * The worker. It claims due deliveries in batches (a lease, not a lock), hands each to its
 * connection's lane, and sends with at most `maxInFlightPerConnection` requests per
 * connection and `maxInFlight` in all. Connections whose lane is full are left out of the
 * next claim, so one slow endpoint's backlog never fills the batches of the others.
 */
export class Dispatcher {
  readonly #lanes = new Map<number, Lane>();
  readonly #events = new Map<number, CachedEvent>();
  #inFlight = 0;
  #queued = 0;
  #stopping = false;
  #signalled = false;
  #sleeper: (() => void) | undefined;
  #loopDone: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;
  #drained: (() => void) | undefined;
  #lastClaimAt = 0;

  constructor(
    private readonly deps: {
      store: Store;
      connections: ConnectionService;
      results: ResultsWriter;
      wakeup: Wakeup;
      limits: Limits;
      logger: Logger;
      messageId: (deliveryId: number) => string;
    },
  ) {}

  start(): void {
    // A retry was scheduled: the loop may be asleep until a later time it read earlier.
    this.deps.results.onRetryScheduled = () => this.#signal();
    this.#unsubscribe = this.deps.wakeup.onWake(() => this.#signal());
    this.#loopDone = this.#loop();
  }

  /** Stops claiming, gives back what was claimed but not started, lets in-flight requests finish. */
  async stop(graceMs = 10_000): Promise<void> {
    this.#stopping = true;
    this.#unsubscribe?.();
    this.#signal();
    await this.#loopDone;
    for (const lane of this.#lanes.values()) {
      for (const job of lane.queue.splice(0)) {
        this.#queued--;
        this.#write({ kind: 'released', claimed: job.claimed });
      }
    }
    const deadline = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
    if (this.#inFlight > 0) {
      await Promise.race([
        new Promise<void>((resolve) => {
          this.#drained = resolve;
        }),
        deadline,
      ]);
    }
    await Promise.race([this.deps.results.idle(), deadline]);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  #signal(): void {
    this.#signalled = true;
    const wake = this.#sleeper;
    this.#sleeper = undefined;
    wake?.();
  }

  #sleep(ms: number): Promise<void> {
    if (this.#signalled || this.#stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#sleeper = undefined;
        resolve();
      }, ms);
      this.#sleeper = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * Lanes holding at least two rounds of `maxInFlightPerConnection` need no more yet: they
   * are left out of the next claim, so a slow endpoint's backlog never fills the batches of
   * the others. Each claim brings a lane at most two rounds, so a lane never holds more than
   * four and nothing claimed has to be handed back; claims stay few and large.
   */
  #busyLanes(): number[] {
    const full = 2 * this.deps.limits.maxInFlightPerConnection;
    const busy: number[] = [];
    for (const [id, lane] of this.#lanes) if (lane.queue.length >= full) busy.push(id);
    return busy;
  }

  /**
   * How many more deliveries this worker takes: up to `maxInFlight` in flight plus one
   * claim's worth waiting in lanes, so that a request finishing finds the next one
   * already claimed instead of waiting for a query.
   */
  #room(): number {
    const { maxInFlight, claimBatchSize } = this.deps.limits;
    return maxInFlight + claimBatchSize - this.#inFlight - this.#queued;
  }

  /** Claims are worth their query once half a batch is missing. */
  #claimWorthwhile(): boolean {
    return this.#room() * 2 >= this.deps.limits.claimBatchSize;
  }

  async #loop(): Promise<void> {
    const { limits, store, logger } = this.deps;
    while (!this.#stopping) {
      try {
        if (!this.#claimWorthwhile() && this.#inFlight + this.#queued > 0) {
          this.#signalled = false;
          await this.#sleep(limits.pollIntervalMs);
          continue;
        }
        // While requests are out, lanes empty one by one: space the claims a little so that
        // one query serves many of them instead of one query each.
        const gap = this.#lastClaimAt + MIN_CLAIM_GAP_MS - Date.now();
        if (gap > 0 && this.#inFlight + this.#queued > 0) await new Promise((resolve) => setTimeout(resolve, gap));
        this.#signalled = false;
        const now = Date.now();
        this.#lastClaimAt = now;
        const room = this.#room();
        const busy = this.#busyLanes();
        const claimed = await store.deliveries.claim(
          now,
          now + limits.leaseMs,
          Math.min(limits.claimBatchSize, room),
          2 * limits.maxInFlightPerConnection,
          busy,
        );
        if (claimed.length > 0) {
          await this.#dispatch(claimed);
          continue;
        }
        const next = await store.deliveries.nextDueAt();
        let wait = next === undefined ? limits.pollIntervalMs : Math.min(limits.pollIntervalMs, next - Date.now());
        // Due work exists but only on busy lanes: a lane that empties will signal.
        if (wait <= 0) wait = busy.length > 0 ? limits.pollIntervalMs : 1;
        await this.#sleep(wait);
      } catch (error) {
        logger.error({ err: error }, 'claim failed; retrying in 1 s');
        await this.#sleep(1000);
      }
    }
  }

  async #dispatch(claimed: ClaimedDelivery[]): Promise<void> {
    const { store, connections, messageId, limits } = this.deps;
    const connectionIds = [...new Set(claimed.map((c) => c.connection_id))];
    const subscriptionIds = [...new Set(claimed.map((c) => c.subscription_id))];
    const missingEvents = [...new Set(claimed.map((c) => c.event_id))].filter((id) => !this.#events.has(id));
    const [byConnection, subscriptionRows, eventRows] = await Promise.all([
      connections.resolveMany(connectionIds),
      store.subscriptions.byIds(subscriptionIds),
      store.events.byIds(missingEvents),
    ]);
    // Bounded: a backlog of many events must not become resident memory.
    if (this.#events.size > 5_000) this.#events.clear();
    for (const e of eventRows) {
      this.#events.set(e.id, {
        eventType: e.event_type,
        payload: e.payload,
        profile: e.profile ? (JSON.parse(e.profile) as Record<string, unknown>) : null,
      });
    }
    const active = new Map(subscriptionRows.map((s) => [s.id, s.is_active === 1]));
    const cap = 4 * limits.maxInFlightPerConnection;
    for (const claim of claimed) {
      const connection = byConnection.get(claim.connection_id);
      const event = this.#events.get(claim.event_id);
      if (!connection || !event || !active.has(claim.subscription_id)) continue; // deleted meanwhile (cascade)
      if (!active.get(claim.subscription_id)) {
        this.#write({ kind: 'skipped', claimed: claim, reason: 'the subscription is inactive' });
        continue;
      }
      let lane = this.#lanes.get(claim.connection_id);
      if (!lane) {
        lane = { active: 0, queue: [] };
        this.#lanes.set(claim.connection_id, lane);
      }
      if (lane.queue.length >= cap) {
        this.#write({ kind: 'released', claimed: claim });
        continue;
      }
      lane.queue.push({
        claimed: claim,
        connection,
        connector: connections.connector(connection.type),
        spec: {
          connection,
          messageId: messageId(claim.id),
          eventType: event.eventType,
          body: event.payload,
          profile: event.profile,
          attempt: claim.attempt_count + 1,
          isTest: false,
        },
      });
      this.#queued++;
    }
    for (const id of connectionIds) this.#pump(id);
  }

  #pump(connectionId: number): void {
    const lane = this.#lanes.get(connectionId);
    if (!lane) return;
    while (lane.active < this.deps.limits.maxInFlightPerConnection && lane.queue.length > 0 && !this.#stopping) {
      const job = lane.queue.shift() as Job;
      this.#queued--;
      lane.active++;
      this.#inFlight++;
      void this.#run(job, lane, connectionId);
    }
    if (lane.active === 0 && lane.queue.length === 0) this.#lanes.delete(connectionId);
  }

  async #run(job: Job, lane: Lane, connectionId: number): Promise<void> {
    try {
      // A job that waited in its lane until its lease (almost) ran out may already belong to
      // another worker: give it back instead of sending it twice.
      if (Date.now() + 1000 >= job.claimed.next_attempt_at) {
        this.#write({ kind: 'released', claimed: job.claimed });
        return;
      }
      const outcome = await job.connector.deliver(job.spec).catch((error: unknown) => ({
        ok: false,
        status: null,
        body: null,
        error: `connector failed: ${error instanceof Error ? error.message : String(error)}`,
        url: String(job.connection.config.url ?? job.connection.type),
        requestHeaders: {},
        startedAt: Date.now(),
        durationMs: 0,
      }));
      this.#write({ kind: 'attempted', claimed: job.claimed, connection: job.connection, outcome });
    } finally {
      lane.active--;
      this.#inFlight--;
      this.#pump(connectionId);
      if (this.#claimWorthwhile()) this.#signal();
      this.#checkDrained();
    }
  }

  #write(result: Parameters<ResultsWriter['write']>[0]): void {
    this.deps.results.write(result);
  }

  #checkDrained(): void {
    if (this.#stopping && this.#inFlight === 0) this.#drained?.();
  }
}

import type { Logger } from 'pino';
import { type Config, RESULT_WRITE_MS } from '../config.js';
import type { Outcome, ResolvedConnection } from '../connectors/connector.js';
import type { ConnectionService } from '../domain/connections.js';
import type { ClaimedDelivery } from '../store/queue.js';
import type { RoutingChange } from '../store/routing-signals.js';
import type { Store } from '../store/store.js';
import { type Job, Lanes } from './lanes.js';
import type { ResultsWriter, SettledAttempt } from './results-writer.js';
import type { Wakeup } from './wakeup.js';

const MIN_CLAIM_GAP_MS = 5;
/**
 * After new work was announced (an ingest commit, a retry falling due) the next claim waits
 * this long at most: the work is new, so waiting longer only adds to its latency (the 5 ms
 * gap added ~2.5 ms to the median at 1,000 events/s), while claims stay at most 1,000/s.
 */
const MIN_CLAIM_GAP_AFTER_WORK_MS = 1;
/** Decoded events kept between claims (a retry or fan-out reuses them); cleared when larger. */
const EVENT_CACHE_SIZE = 5_000;
const MAX_CLAIM_BACKOFF_MS = 30_000;
/** A persistent claim failure is logged again at most this often. */
const CLAIM_ERROR_LOG_EVERY_MS = 30_000;

interface CachedEvent {
  eventType: string;
  payload: string;
  profile: Record<string, unknown> | null;
}

type Limits = Pick<
  Config,
  | 'maxInFlight'
  | 'maxInFlightPerConnection'
  | 'leaseMs'
  | 'pollIntervalMs'
  | 'claimBatchSize'
  | 'connectionsPerOrigin'
>;

/**
 * The worker. It claims due deliveries in batches (a lease, not a lock), hands each to its
 * connection's lane (lanes.ts: per-connection and per-origin limits), and sends. Connections
 * whose lane holds enough are left out of the next claim, so one slow endpoint's backlog never
 * fills the batches of the others.
 *
 * Every claimed delivery ends its claim with a result: attempted, parked (its subscription is
 * paused or its organization suspended), released (not sent: given back at once), or failed with the reason it cannot be
 * sent. Nothing is skipped silently, and one unreadable connection fails only its own rows.
 */
export class Dispatcher {
  readonly #lanes: Lanes;
  readonly #events = new Map<number, CachedEvent>();
  /** Deliveries this worker holds (waiting in a lane or in flight), by id. */
  readonly #held = new Map<number, ClaimedDelivery>();
  #stopping = false;
  /** Shutdown's grace ran out: what comes back now was cut short, not answered. */
  #aborted = false;
  #signalled = false;
  /** New work was announced since the last claim (not just room in a lane). */
  #workArrived = false;
  /** A claim is out: results settled meanwhile wait for its answer (see #settled). */
  #claimInFlight = false;
  #deferredSettles: SettledAttempt[] = [];
  #sleeper: (() => void) | undefined;
  /** Ends a claim-failure back-off early, for stop() only. */
  #stopWaker: (() => void) | undefined;
  #loopDone: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;
  #lastClaimAt = 0;
  #claimFailures = 0;
  #lastClaimErrorLogAt = 0;
  readonly #origins = new WeakMap<ResolvedConnection, string>();

  constructor(
    private readonly deps: {
      store: Store;
      connections: ConnectionService;
      results: ResultsWriter;
      wakeup: Wakeup;
      limits: Limits;
      logger: Logger;
      messageId: (deliveryId: number) => string;
      /** Aborts every outbound request still in flight (shutdown, after the grace period). */
      abortInFlight: () => Promise<void>;
    },
  ) {
    this.#lanes = new Lanes(
      { perConnection: deps.limits.maxInFlightPerConnection, perOrigin: deps.limits.connectionsPerOrigin },
      (job) => this.#run(job),
    );
  }

  start(): void {
    // A retry was scheduled: the loop may be asleep until a later time it read earlier.
    this.deps.results.onRetryScheduled = () => this.#signal();
    this.deps.results.onSettled = (settled) => this.#settled(settled);

    const stopWaking = this.deps.wakeup.onWake(() => {
      this.#workArrived = true;
      this.#signal();
    });
    const stopRouting = this.deps.wakeup.onRouting((change) => this.#revoke(change));
    this.#unsubscribe = () => {
      stopWaking();
      stopRouting();
    };
    this.#loopDone = this.#loop();
  }

  /**
   * Stops claiming, gives back what was claimed but not started, and lets in-flight requests
   * finish for up to `graceMs`. Requests still out then are aborted and their deliveries
   * released: a shutdown is not the endpoint's failure, so it costs no attempt.
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    this.#unsubscribe?.();
    this.#signal();
    this.#stopWaker?.();
    await this.#loopDone;
    for (const job of this.#lanes.pauseAndTakeQueued()) this.#release(job.claimed);
    if (this.#lanes.inFlight > 0) await this.#untilDrained(graceMs);
    if (this.#lanes.inFlight > 0) {
      this.#aborted = true;
      await this.deps.abortInFlight();
      await this.#untilDrained(5_000);
    }
    await Promise.race([this.deps.results.idle(), delay(10_000)]);
  }

  get inFlight(): number {
    return this.#lanes.inFlight;
  }

  #untilDrained(ms: number): Promise<void> {
    return Promise.race([this.#lanes.whenIdle(), delay(ms)]);
  }

  #signal(): void {
    this.#signalled = true;
    const wake = this.#sleeper;
    this.#sleeper = undefined;
    wake?.();
  }

  /** Sleeps until `ms` passed or a wake-up (new work, a retry scheduled, a lane with room). */
  #sleep(ms: number): Promise<void> {
    if (this.#signalled || this.#stopping) return Promise.resolve();
    return cutShortBy(ms, (wake) => {
      this.#sleeper = wake;
    });
  }

  /**
   * Lanes holding at least two rounds of `maxInFlightPerConnection` need no more yet: they
   * are left out of the next claim. Each claim brings a lane at most two rounds.
   */
  #busyLanes(): number[] {
    return this.#lanes.holding(2 * this.deps.limits.maxInFlightPerConnection);
  }

  /**
   * How many more deliveries this worker takes: up to `maxInFlight` in flight plus one
   * claim's worth waiting in lanes, so that a request finishing finds the next one
   * already claimed instead of waiting for a query.
   */
  #room(): number {
    const { maxInFlight, claimBatchSize } = this.deps.limits;
    return maxInFlight + claimBatchSize - this.#lanes.inFlight - this.#lanes.queued;
  }

  /** Claims are worth their query once half a batch is missing. */
  #claimWorthwhile(): boolean {
    return this.#room() * 2 >= this.deps.limits.claimBatchSize;
  }

  #busy(): boolean {
    return this.#lanes.inFlight + this.#lanes.queued > 0;
  }

  async #loop(): Promise<void> {
    const { limits, store } = this.deps;
    while (!this.#stopping) {
      try {
        if (!this.#claimWorthwhile() && this.#busy()) {
          this.#signalled = false;
          await this.#sleep(limits.pollIntervalMs);
          continue;
        }
        // While requests are out, lanes empty one by one: space the claims a little so that
        // one query serves many of them instead of one query each.
        const gap = this.#lastClaimAt + (this.#workArrived ? MIN_CLAIM_GAP_AFTER_WORK_MS : MIN_CLAIM_GAP_MS) - Date.now();
        if (gap > 0 && this.#busy()) await delay(gap);
        this.#workArrived = false;
        this.#signalled = false;
        const now = Date.now();
        this.#lastClaimAt = now;
        const busy = this.#busyLanes();
        this.#claimInFlight = true;
        let took = 0;
        let claimed: ClaimedDelivery[];
        try {
          const answer = await store.deliveries.claim({
            now,
            leaseMs: limits.leaseMs,
            limit: Math.min(limits.claimBatchSize, this.#room()),
            perConnection: 2 * limits.maxInFlightPerConnection,
            exclude: busy,
          });
          took = answer.length;
          claimed = this.#keepHeld(answer);
        } finally {
          this.#claimInFlight = false;
          this.#settled(this.#deferredSettles.splice(0));
        }
        this.#claimSucceeded();
        if (took > 0) {
          // The lease began no earlier than the claim was sent: by this process's clock it
          // surely ends by then + its length, whatever the database's clock says.
          if (claimed.length > 0) await this.#dispatch(claimed, now + limits.leaseMs);
          continue;
        }
        const next = await store.deliveries.nextDueAt();
        let wait = next === undefined ? limits.pollIntervalMs : Math.min(limits.pollIntervalMs, next - Date.now());
        // Due work exists but only on busy lanes: a lane that empties will signal.
        if (wait <= 0) wait = busy.length > 0 ? limits.pollIntervalMs : 1;
        await this.#sleep(wait);
      } catch (error) {
        await this.#claimFailed(error);
      }
    }
  }

  #claimSucceeded(): void {
    if (this.#claimFailures > 0) {
      this.deps.logger.info({ failures: this.#claimFailures }, 'claiming works again');
      this.#claimFailures = 0;
    }
  }

  /**
   * Backs off exponentially (0.1 s … 30 s) and logs at most every 30 s: a database that is
   * away must neither be hammered nor flood the log. Wake-ups do not cut the pause short.
   */
  async #claimFailed(error: unknown): Promise<void> {
    this.#claimFailures++;
    const backoff = Math.min(MAX_CLAIM_BACKOFF_MS, 100 * 2 ** Math.min(this.#claimFailures - 1, 16));
    const now = Date.now();
    if (this.#claimFailures === 1 || now - this.#lastClaimErrorLogAt >= CLAIM_ERROR_LOG_EVERY_MS) {
      this.#lastClaimErrorLogAt = now;
      this.deps.logger.error(
        { err: error, failures: this.#claimFailures, retry_in_ms: backoff },
        'claiming deliveries failed; backing off',
      );
    }
    await cutShortBy(backoff, (wake) => {
      this.#stopWaker = wake;
    });
  }

  async #dispatch(claimed: ClaimedDelivery[], deadline: number): Promise<void> {
    const { store, connections, messageId, limits } = this.deps;
    const connectionIds = [...new Set(claimed.map((c) => c.connection_id))];
    // Evict before computing what is missing, or rows found cached would be cleared away.
    if (this.#events.size > EVENT_CACHE_SIZE) this.#events.clear();
    const missingEvents = [...new Set(claimed.map((c) => c.event_id))].filter((id) => !this.#events.has(id));
    let byConnection: Map<number, ResolvedConnection | Error>;
    let subscriptions: Map<number, { active: boolean; connectionId: number; organizationActive: boolean }>;
    let health: Map<number, { health: string; probe_delivery_id: number | null }>;
    try {
      const [resolved, subscriptionRows, eventRows, healthRows] = await Promise.all([
        connections.resolveMany(connectionIds),
        store.subscriptions.byIds([...new Set(claimed.map((c) => c.subscription_id))]),
        store.events.byIds(missingEvents),
        store.health.claimView(connectionIds),
      ]);
      health = new Map(healthRows.map((h) => [h.id, h]));
      byConnection = resolved;
      subscriptions = new Map(
        subscriptionRows.map((s) => [
          s.id,
          { active: s.is_active === 1, connectionId: s.connection_id, organizationActive: s.organization_status === 'active' },
        ]),
      );
      for (const e of eventRows) {
        this.#events.set(e.id, {
          eventType: e.event_type,
          payload: e.payload,
          profile: e.profile ? (JSON.parse(e.profile) as Record<string, unknown>) : null,
        });
      }
    } catch (error) {
      // Nothing was sent: give the whole claim back rather than let its leases run out.
      this.deps.logger.error({ err: error, deliveries: claimed.length }, 'reading claimed deliveries failed; released them');
      for (const c of claimed) this.#release(c);
      return;
    }
    const cap = 4 * limits.maxInFlightPerConnection;
    for (const claim of claimed) {
      const subscription = subscriptions.get(claim.subscription_id);
      const connection = byConnection.get(claim.connection_id);
      const event = this.#events.get(claim.event_id);
      if (!subscription) this.#fail(claim, 'the subscription was deleted');
      else if (!subscription.organizationActive) this.#park(claim, 'the organization is suspended');
      else if (!subscription.active) this.#park(claim, 'the subscription is paused');
      else if (subscription.connectionId !== claim.connection_id) {
        // Moved to another connection after this claim: its row now says where it goes.
        this.#release(claim);
      } else if (connection === undefined) this.#fail(claim, 'the connection was deleted');
      else if (connection instanceof Error) this.#fail(claim, `the connection cannot be read: ${connection.message}`);
      else if (!event) this.#fail(claim, 'the event was deleted');
      else if (health.get(claim.connection_id)?.health === 'disabled') this.#park(claim, 'the connection is disabled');
      else if (health.get(claim.connection_id)?.health === 'failing' && health.get(claim.connection_id)?.probe_delivery_id !== claim.id) {
        // Behind an open circuit only the probe goes out; the others wait, unattempted.
        this.#park(claim, 'the connection is failing: waiting for a probe to succeed');
      }
      else if (this.#lanes.waiting(claim.connection_id) >= cap) this.#release(claim);
      else {
        this.#held.set(claim.id, claim);
        this.#lanes.add(
          {
            claimed: claim,
            deadline,
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
          },
          this.#originOf(connection),
        );
      }
    }
    this.#lanes.pump(connectionIds);
  }

  /** Where a connection's requests go, for the per-origin limit (connectors without a URL share one). */
  #originOf(connection: ResolvedConnection): string {
    let origin = this.#origins.get(connection);
    if (origin === undefined) {
      const url = connection.config.url;
      try {
        origin = typeof url === 'string' ? new URL(url).origin : `type:${connection.type}`;
      } catch {
        origin = `type:${connection.type}`;
      }
      this.#origins.set(connection, origin);
    }
    return origin;
  }

  async #run(job: Job): Promise<void> {
    try {
      // A job that waited in its lane must still hold its lease for its whole timeout (and the
      // result's write), or it may already be another worker's: give it back instead.
      if (job.deadline - Date.now() < job.connection.timeoutMs + RESULT_WRITE_MS || this.#stopping) {
        this.#release(job.claimed);
        return;
      }
      const outcome = await job.connector.deliver(job.spec).catch((error: unknown) => connectorFailure(job, error));
      if (this.#aborted) this.#release(job.claimed);
      // Still held until its result is committed: a claim that returns it meanwhile (its lease
      // ran out during a stall, and the result had not landed yet) must not send it again.
      else this.deps.results.write({ kind: 'attempted', claimed: job.claimed, connection: job.connection, outcome });
    } finally {
      if (this.#claimWorthwhile()) this.#signal();
    }
  }

  /**
   * A subscription was paused, moved or deleted, or a connection deleted or switched off,
   * after some of its deliveries were claimed: the ones still waiting in a lane are given back
   * rather than sent by the old rules (they come back parked, moved, or not at all).
   */
  #revoke(change: RoutingChange): void {
    const subscriptions = new Set(change.subscriptions ?? []);
    const connections = new Set(change.connections ?? []);
    const revoked = this.#lanes.takeQueued(
      (job) => subscriptions.has(job.claimed.subscription_id) || connections.has(job.claimed.connection_id),
    );
    for (const job of revoked) this.#release(job.claimed);
    if (revoked.length > 0) this.#signal();
  }

  /**
   * Claimed again while this worker still has them out (their lease ran out during a stall: a
   * long GC, a SIGSTOP): the request under way keeps the new lease, so its result applies, and
   * it is not sent a second time. Run as the claim's answer arrives, before anything else can.
   */
  #keepHeld(claimed: ClaimedDelivery[]): ClaimedDelivery[] {
    const fresh: ClaimedDelivery[] = [];
    for (const claim of claimed) {
      const mine = this.#held.get(claim.id);
      if (mine) mine.next_attempt_at = claim.next_attempt_at;
      else fresh.push(claim);
    }
    return fresh;
  }

  /** Results committed (or given up): their deliveries are no longer this worker's. */
  #settled(settled: SettledAttempt[]): void {
    if (this.#claimInFlight) {
      // A result that did not apply may have been fenced by the claim whose answer has not
      // arrived yet (PostgreSQL answers a claim and a results batch on two connections, in
      // either order): decide once that claim has renewed the leases of what it took again.
      this.#deferredSettles.push(...settled);
      return;
    }
    for (const { result, applied, lease } of settled) {
      const { claimed } = result;
      if (this.#held.get(claimed.id) !== claimed) continue;
      if (!applied && claimed.next_attempt_at !== lease) {
        // Claimed again by this worker while its result was being written under the old lease
        // (which that claim fenced out): write it once more, under the lease it holds now.
        this.deps.results.write(result);
        continue;
      }
      this.#held.delete(claimed.id);
    }
  }

  #release(claimed: ClaimedDelivery): void {
    this.#held.delete(claimed.id);
    this.deps.results.write({ kind: 'released', claimed });
  }

  /** Waits, unattempted, until what stopped it is active again (subscriptions.ts, organizations.ts unpark it). */
  #park(claimed: ClaimedDelivery, reason: string): void {
    this.deps.results.write({ kind: 'parked', claimed, reason });
  }

  #fail(claimed: ClaimedDelivery, reason: string): void {
    this.deps.logger.warn({ delivery_id: claimed.id, connection_id: claimed.connection_id, reason }, 'delivery cannot be sent');
    this.deps.results.write({ kind: 'unsendable', claimed, reason });
  }
}

function connectorFailure(job: Job, error: unknown): Outcome {
  return {
    ok: false,
    status: null,
    body: null,
    error: `connector failed: ${error instanceof Error ? error.message : String(error)}`,
    url: String(job.connection.config.url ?? job.connection.type),
    requestHeaders: {},
    startedAt: Date.now(),
    durationMs: 0,
  };
}

/** Waits `ms`, or less if the function handed to `register` is called (it is unset, `undefined`, at the end). */
function cutShortBy(ms: number, register: (wake: (() => void) | undefined) => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      register(undefined);
      resolve();
    }, ms);
    register(() => {
      clearTimeout(timer);
      register(undefined);
      resolve();
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

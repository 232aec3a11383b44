import type { Logger } from 'pino';
import type { Outcome, ResolvedConnection } from '../connectors/connector.js';
import type { Metrics } from '../observability/metrics.js';
import { isDatabaseUnavailable } from '../store/errors.js';
import type { ClaimedDelivery, DeliveryUpdate, ResultBatch } from '../store/queue.js';
import type { Store } from '../store/store.js';
import { attemptRow } from './attempt-row.js';
import { backoffMs } from './backoff.js';

/** What became of one claimed delivery. */
export type Result =
  | { kind: 'attempted'; claimed: ClaimedDelivery; connection: ResolvedConnection; outcome: Outcome }
  /** It waits, unattempted (its subscription paused, its organization suspended, its connection failing or disabled), with the reason. */
  | { kind: 'parked'; claimed: ClaimedDelivery; reason: string }
  /** It cannot be sent at all (its connection cannot be read, its event is gone): failed with the reason. */
  | { kind: 'unsendable'; claimed: ClaimedDelivery; reason: string }
  /** Not sent: the lease is given back and it is due again at once. */
  | { kind: 'released'; claimed: ClaimedDelivery };

export type AttemptedResult = Extract<Result, { kind: 'attempted' }>;
export interface SettledAttempt {
  result: AttemptedResult;
  applied: boolean;
  /** The lease the result was written with. */
  lease: number;
}

/** Results wait this long for company: one commit then carries many of them. */
const LINGER_MS = 5;
export const MAX_BATCH = 2000;
/**
 * A batch also ends at this many bytes of attempt rows (response bodies, headers, URLs): the
 * SQLite queue thread holds a whole batch in its small heap, and a PostgreSQL statement's
 * parameters in memory.
 */
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** While the database is away, a batch is tried again after this long, doubling up to the cap. */
const RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

/**
 * Writes results in batches: attempt rows, delivery states, SendKit stats and 410
 * deactivations of everything that finished meanwhile, in one transaction. Until it
 * commits, a crash only means the lease runs out and the delivery is attempted again.
 * A batch that fails is tried again smaller (halves, down to single results), and while the
 * database is unavailable it waits and tries again: a result is dropped only when its own
 * row cannot be written (its lease then runs out, as after a crash).
 * `write` returns nothing (no promise per delivery on the hot path); `onRetryScheduled`
 * hears when a commit scheduled a retry, `idle()` when everything written is committed.
 */
export class ResultsWriter {
  #queue: Result[] = [];
  #running = false;
  #waiters: Array<() => void> = [];
  onRetryScheduled: () => void = () => undefined;
  /**
   * Hears, after each commit (or final failure), what became of its attempted results: whether
   * each applied, and under which lease it was written (a delivery re-leased meanwhile carries
   * a newer one, and its result may need writing again).
   */
  onSettled: (settled: SettledAttempt[]) => void = () => undefined;

  constructor(
    private readonly store: Store,
    private readonly schedule: readonly number[],
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly now: () => number = Date.now,
  ) {}

  write(result: Result): void {
    this.#queue.push(result);
    if (!this.#running) void this.#drain();
  }

  /** Resolves once every result written so far is committed (or failed to be). */
  idle(): Promise<void> {
    if (!this.#running && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        if (this.#queue.length < MAX_BATCH) await new Promise((resolve) => setTimeout(resolve, LINGER_MS));
        await this.#commitOrSplit(this.#takeBatch());
      }
    } finally {
      this.#running = false;
      for (const resolve of this.#waiters.splice(0)) resolve();
    }
  }

  /** The next batch: at most MAX_BATCH results and about MAX_BATCH_BYTES of attempt rows. */
  #takeBatch(): Result[] {
    let bytes = 0;
    let count = 0;
    while (count < this.#queue.length && count < MAX_BATCH) {
      bytes += weight(this.#queue[count] as Result);
      count++;
      if (bytes >= MAX_BATCH_BYTES) break;
    }
    return this.#queue.splice(0, count);
  }

  async #commitOrSplit(batch: Result[]): Promise<void> {
    let wait = RETRY_MS;
    for (;;) {
      try {
        if (await this.commit(batch)) this.onRetryScheduled();
        return;
      } catch (error) {
        if (isDatabaseUnavailable(error)) {
          // Nothing is wrong with the batch: wait for the database, then write it whole.
          this.logger.warn({ err: error, results: batch.length, retry_in_ms: wait }, 'database unavailable; results wait');
          await new Promise((resolve) => setTimeout(resolve, wait));
          wait = Math.min(MAX_RETRY_MS, wait * 2);
          continue;
        }
        if (batch.length > 1) {
          // Something in it, or its size (a dead queue thread), failed the batch: try halves.
          this.logger.warn({ err: error, results: batch.length }, 'writing results failed; trying smaller batches');
          const half = Math.ceil(batch.length / 2);
          await this.#commitOrSplit(batch.slice(0, half));
          await this.#commitOrSplit(batch.slice(half));
          return;
        }
        this.logger.error(
          { err: error, delivery_id: batch[0]?.claimed.id },
          'writing a result failed; its lease will run out and it will be attempted again',
        );
        this.#settle(batch, new Set(), new Map());
        return;
      }
    }
  }

  /** The next state of a delivery after an attempt. */
  decide(claimed: ClaimedDelivery, connection: ResolvedConnection, outcome: Outcome, now: number): DeliveryUpdate {
    const attempt = claimed.attempt_count + 1;
    const update: DeliveryUpdate = {
      id: claimed.id,
      lease: claimed.next_attempt_at,
      status: 'succeeded',
      nextAttemptAt: claimed.next_attempt_at,
      lastStatus: outcome.status,
      lastError: null,
      attempted: true,
    };
    if (outcome.ok) return update;
    if (outcome.permanent || attempt > connection.retryAttempts) {
      update.status = 'failed';
      update.lastError = outcome.permanent ?? outcome.error;
      return update;
    }
    update.status = 'pending';
    update.lastError = outcome.error;
    update.nextAttemptAt = now + Math.max(backoffMs(attempt, this.schedule), outcome.retryAfterMs ?? 0);
    return update;
  }

  /** Commits one batch; true when it scheduled a retry. */
  private async commit(results: Result[]): Promise<boolean> {
    const now = this.now();
    const batch: ResultBatch = { now, attempts: [], updates: [], released: [], deactivate: [] };
    for (const r of results) {
      const { claimed } = r;
      if (r.kind === 'released') {
        batch.released.push({ id: claimed.id, lease: claimed.next_attempt_at });
      } else if (r.kind === 'parked' || r.kind === 'unsendable') {
        batch.updates.push({
          id: claimed.id,
          lease: claimed.next_attempt_at,
          status: r.kind === 'parked' ? 'parked' : 'failed',
          nextAttemptAt: claimed.next_attempt_at,
          lastStatus: null,
          lastError: r.reason,
          attempted: false,
          connectionId: claimed.connection_id,
          tracksStats: false,
        });
      } else {
        const { outcome, connection } = r;
        const update = this.decide(claimed, connection, outcome, now);
        batch.updates.push(Object.assign(update, { connectionId: claimed.connection_id, tracksStats: connection.tracksStats }));
        batch.attempts.push(
          attemptRow(
            outcome,
            {
              organizationId: claimed.organization_id,
              deliveryId: claimed.id,
              subscriptionId: claimed.subscription_id,
              connectionId: claimed.connection_id,
            },
            claimed.attempt_count + 1,
          ),
        );
        if (outcome.deactivate) batch.deactivate.push({ connectionId: claimed.connection_id, reason: outcome.deactivate });
      }
    }
    const applied = new Set(await this.store.recordResults(batch));
    this.record(results, batch.updates, applied);
    this.#settle(results, applied, new Map(batch.updates.map((u) => [u.id, u.lease])));
    return batch.updates.some((u) => u.status === 'pending' && applied.has(u.id));
  }

  #settle(results: Result[], applied: Set<number>, leases: Map<number, number>): void {
    const settled: SettledAttempt[] = [];
    for (const r of results) {
      if (r.kind !== 'attempted') continue;
      const lease = leases.get(r.claimed.id) ?? r.claimed.next_attempt_at;
      settled.push({ result: r, applied: applied.has(r.claimed.id), lease });
    }
    if (settled.length > 0) this.onSettled(settled);
  }

  private record(results: Result[], updates: DeliveryUpdate[], applied: Set<number>): void {
    const byId = new Map(updates.map((u) => [u.id, u]));
    for (const r of results) {
      if (r.kind !== 'attempted') continue;
      const u = byId.get(r.claimed.id);
      const outcome = u?.status === 'succeeded' ? 'succeeded' : u?.status === 'failed' ? 'failed' : 'retrying';
      this.metrics.deliveries.inc({ outcome });
      this.metrics.attemptSeconds.observe(r.outcome.durationMs / 1000);
      this.logger.info(
        {
          delivery_id: r.claimed.id,
          connection_id: r.claimed.connection_id,
          attempt: r.claimed.attempt_count + 1,
          status: r.outcome.status,
          duration_ms: r.outcome.durationMs,
          outcome,
          error: r.outcome.error ?? undefined,
          next_attempt_at: u?.status === 'pending' ? new Date(u.nextAttemptAt).toISOString() : undefined,
          stale: applied.has(r.claimed.id) ? undefined : true,
        },
        'delivery attempt',
      );
    }
  }
}

/** Roughly how many bytes a result adds to a batch (its attempt row, mostly). */
function weight(r: Result): number {
  if (r.kind !== 'attempted') return 64;
  const { outcome } = r;
  let bytes = 256 + outcome.url.length + (outcome.body?.length ?? 0) + (outcome.error?.length ?? 0);
  for (const name in outcome.requestHeaders) bytes += name.length + (outcome.requestHeaders[name]?.length ?? 0) + 6;
  return bytes;
}

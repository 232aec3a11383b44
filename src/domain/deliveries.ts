import type { AttemptRow, DeliveryRow } from '../store/schema.js';
import type { DeliveryFilter } from '../store/deliveries.js';
import type { Store } from '../store/store.js';
import { HeraldError, notFound } from './errors.js';
import { isoSeconds } from './time.js';

export interface AttemptFilter {
  deliveryId?: number;
  subscriptionId?: number;
  connectionId?: number;
  isTest?: boolean;
}

/** The attempt log and the operator's levers on it: retry one, recover a time range. */
export class DeliveryService {
  constructor(
    private readonly store: Store,
    private readonly wake: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  page(organizationId: number, filter: DeliveryFilter, beforeId: number | undefined, limit: number) {
    return this.store.deliveries.page(organizationId, filter, beforeId, limit);
  }

  async get(organizationId: number, id: number): Promise<{ delivery: DeliveryRow; attempts: AttemptRow[] }> {
    const delivery = await this.store.deliveries.get(organizationId, id);
    if (!delivery) throw notFound();
    return { delivery, attempts: await this.store.attempts.forDelivery(id) };
  }

  /** Attempt again now (one more attempt, whatever the retry budget). */
  async retry(organizationId: number, id: number): Promise<DeliveryRow> {
    const now = this.now();
    const row = await this.store.transaction(async (tx) => {
      const updated = await tx.deliveries.retryNow(organizationId, id, now);
      if (updated) await tx.signalDue();
      return updated ?? (await tx.deliveries.get(organizationId, id));
    });
    if (!row) throw notFound();
    if (row.status === 'pending' && row.leased === 1 && row.next_attempt_at > now) {
      // A worker is sending it right now; a second request would be a duplicate.
      throw new HeraldError(409, [
        { code: 'invalid', detail: 'The delivery is being attempted right now; retry it once that attempt has ended.' },
      ]);
    }
    this.wake();
    return row;
  }

  /** Re-queues every failed delivery of a subscription created since `since`. */
  async recover(organizationId: number, subscriptionId: number, since: number): Promise<number> {
    const now = this.now();
    const count = await this.store.transaction(async (tx) => {
      if (!(await tx.subscriptions.get(organizationId, subscriptionId))) throw notFound();
      const n = await tx.deliveries.requeueFailed(organizationId, subscriptionId, since, now);
      if (n > 0) await tx.signalDue();
      return n;
    });
    this.wake();
    return count;
  }

  attempts(organizationId: number, filter: AttemptFilter, beforeId: number | undefined, limit: number) {
    return this.store.attempts.page(organizationId, filter, beforeId, limit);
  }

  toResource(row: DeliveryRow): Record<string, unknown> {
    return {
      id: row.id,
      event_id: row.event_id,
      subscription_id: row.subscription_id,
      connection_id: row.connection_id,
      status: row.status,
      attempt_count: row.attempt_count,
      next_attempt_at: row.status === 'pending' ? new Date(row.next_attempt_at).toISOString() : null,
      in_flight: row.status === 'pending' && row.leased === 1 && row.next_attempt_at > this.now(),
      last_status_code: row.last_status,
      last_error: row.last_error,
      created_at: isoSeconds(row.created_at),
      updated_at: isoSeconds(row.updated_at),
    };
  }

  attemptResource(row: AttemptRow): Record<string, unknown> {
    return {
      id: row.id,
      delivery_id: row.delivery_id,
      subscription_id: row.subscription_id,
      connection_id: row.connection_id,
      number: row.number,
      is_test: row.is_test === 1,
      started_at: new Date(row.started_at).toISOString(),
      duration_ms: row.duration_ms,
      url: row.url,
      request_headers: JSON.parse(row.request_headers) as Record<string, string>,
      response_status: row.response_status,
      response_body: row.response_body,
      error: row.error,
    };
  }
}

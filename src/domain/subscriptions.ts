import { isUniqueViolation } from '../store/errors.js';
import type { SubscriptionRow } from '../store/schema.js';
import type { SubscriptionFilter } from '../store/subscriptions.js';
import { lockOrganizationCaps } from '../store/organization-caps.js';
import type { Store } from '../store/store.js';
import type { EventTypeCatalog } from './event-types/catalog.js';
import { HeraldError, notFound } from './errors.js';
import { capReached } from './limits.js';
import { isoSeconds } from './time.js';

export interface SubscriptionInput {
  connection_id?: number;
  event_type?: string;
  is_active?: boolean;
}

const duplicate = () =>
  new HeraldError(400, [
    {
      code: 'non_field_errors',
      detail: 'A subscription for this connection and event type already exists.',
      pointer: '',
    },
  ]);

export class SubscriptionService {
  constructor(
    private readonly store: Store,
    private readonly catalog: EventTypeCatalog,
    private readonly now: () => number = Date.now,
    /** Wakes this process's workers when parked deliveries became due. */
    private readonly resumed: () => void = () => undefined,
    /** HERALD_MAX_SUBSCRIPTIONS_PER_ORG: a create beyond it is refused (400). */
    private readonly maxPerOrganization = Number.POSITIVE_INFINITY,
  ) {}

  private async checkConnection(store: Store, organizationId: number, connectionId: number): Promise<void> {
    // Another organization's connection answers exactly like a missing one; so does an id
    // beyond any the database can hold (PostgreSQL would refuse to compare it).
    if (!Number.isSafeInteger(connectionId) || !(await store.connections.get(organizationId, connectionId))) {
      throw new HeraldError(400, [
        { code: 'invalid', detail: `Invalid pk "${connectionId}" - object does not exist.`, pointer: '/connection_id' },
      ]);
    }
  }

  private checkEventType(eventType: string): void {
    if (!this.catalog.get(eventType)) {
      throw new HeraldError(400, [
        { code: 'invalid_choice', detail: `"${eventType}" is not a valid choice.`, pointer: '/event_type' },
      ]);
    }
  }

  async create(organizationId: number, input: Required<Pick<SubscriptionInput, 'connection_id' | 'event_type'>> & SubscriptionInput, store: Store = this.store): Promise<SubscriptionRow> {
    this.checkEventType(input.event_type);
    return store.transaction(async (tx) => {
      await this.checkConnection(tx, organizationId, input.connection_id);
      // Counted and inserted under the organization's cap lock: concurrent creates cannot overshoot.
      await lockOrganizationCaps(tx, organizationId);
      if ((await tx.subscriptions.countForOrganization(organizationId)) >= this.maxPerOrganization) {
        throw capReached('subscriptions', this.maxPerOrganization);
      }
      const now = this.now();
      try {
        return await tx.subscriptions.insert({
          organization_id: organizationId,
          connection_id: input.connection_id,
          event_type: input.event_type,
          is_active: input.is_active === false ? 0 : 1,
          status_reason: null,
          created_at: now,
          updated_at: now,
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw duplicate();
        throw error;
      }
    });
  }

  list(organizationId: number, filter: SubscriptionFilter): Promise<SubscriptionRow[]> {
    return this.store.subscriptions.list(organizationId, filter);
  }

  async get(organizationId: number, id: number): Promise<SubscriptionRow> {
    const row = await this.store.subscriptions.get(organizationId, id);
    if (!row) throw notFound();
    return row;
  }

  async update(organizationId: number, id: number, input: SubscriptionInput): Promise<SubscriptionRow> {
    if (input.event_type !== undefined) this.checkEventType(input.event_type);
    return this.store.transaction(async (tx) => {
      const row = await tx.subscriptions.get(organizationId, id);
      if (!row) throw notFound();
      if (input.connection_id !== undefined) await this.checkConnection(tx, organizationId, input.connection_id);
      const now = this.now();
      let updated: SubscriptionRow;
      try {
        updated = await tx.subscriptions.update(id, {
          ...(input.connection_id !== undefined ? { connection_id: input.connection_id } : {}),
          ...(input.event_type !== undefined ? { event_type: input.event_type } : {}),
          ...(input.is_active !== undefined ? { is_active: input.is_active ? 1 : 0, status_reason: null } : {}),
          updated_at: Math.max(now, row.updated_at + 1),
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw duplicate();
        throw error;
      }
      // Its unfinished deliveries follow it to the new connection, in this same transaction.
      if (updated.connection_id !== row.connection_id) {
        await tx.deliveries.moveToConnection(id, updated.connection_id, now);
      }
      if (updated.connection_id !== row.connection_id || updated.is_active !== row.is_active) {
        await tx.signalRouting({ subscriptions: [id] });
      }
      // Resumed: what waited while it was paused is due now.
      if (updated.is_active === 1 && row.is_active === 0 && (await tx.deliveries.unpark([id], now)) > 0) {
        await tx.signalDue();
        this.resumed();
      }
      return updated;
    });
  }

  async delete(organizationId: number, id: number): Promise<void> {
    if (!(await this.store.subscriptions.delete(organizationId, id))) throw notFound();
    await this.store.signalRouting({ subscriptions: [id] });
  }

  toResource(row: SubscriptionRow): Record<string, unknown> {
    const resource: Record<string, unknown> = {
      id: row.id,
      connection_id: row.connection_id,
      event_type: row.event_type,
      is_active: row.is_active === 1,
      created_at: isoSeconds(row.created_at),
      updated_at: isoSeconds(row.updated_at),
    };
    if (row.status_reason) resource.status_reason = row.status_reason;
    return resource;
  }
}

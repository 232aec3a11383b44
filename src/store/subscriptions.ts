import type { Insertable, Updateable } from 'kysely';
import type { OrganizationStatus, SubscriptionRow, SubscriptionsTable } from './schema.js';
import type { Executor } from './executor.js';

export interface SubscriptionFilter {
  eventType?: string;
  isActive?: boolean;
  connectionId?: number;
}

export class Subscriptions {
  constructor(private readonly db: Executor) {}

  /** How many subscriptions the organization has, for its cap (index subscriptions_route). */
  async countForOrganization(organizationId: number): Promise<number> {
    const row = await this.db
      .selectFrom('subscriptions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('organization_id', '=', organizationId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  insert(row: Insertable<SubscriptionsTable>): Promise<SubscriptionRow> {
    return this.db.insertInto('subscriptions').values(row).returningAll().executeTakeFirstOrThrow();
  }

  list(organizationId: number, filter: SubscriptionFilter = {}): Promise<SubscriptionRow[]> {
    let query = this.db.selectFrom('subscriptions').selectAll().where('organization_id', '=', organizationId);
    if (filter.eventType !== undefined) query = query.where('event_type', '=', filter.eventType);
    if (filter.isActive !== undefined) query = query.where('is_active', '=', filter.isActive ? 1 : 0);
    if (filter.connectionId !== undefined) query = query.where('connection_id', '=', filter.connectionId);
    return query.orderBy('id').execute();
  }

  /** The subscriptions of several connections at once (a page of SendKit webhooks), oldest first. */
  forConnections(organizationId: number, connectionIds: readonly number[]): Promise<SubscriptionRow[]> {
    if (connectionIds.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom('subscriptions')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('connection_id', 'in', connectionIds)
      .orderBy('id')
      .execute();
  }

  get(organizationId: number, id: number): Promise<SubscriptionRow | undefined> {
    return this.db
      .selectFrom('subscriptions')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /** For the worker: each subscription's state and its organization's (a suspended one's deliveries wait). */
  byIds(
    ids: readonly number[],
  ): Promise<Array<Pick<SubscriptionRow, 'id' | 'is_active' | 'connection_id'> & { organization_status: OrganizationStatus }>> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom('subscriptions')
      .innerJoin('organizations', 'organizations.id', 'subscriptions.organization_id')
      .select(['subscriptions.id', 'subscriptions.is_active', 'subscriptions.connection_id', 'organizations.status as organization_status'])
      .where('subscriptions.id', 'in', ids)
      .execute();
  }

  /** Deletes up to `batch` subscriptions of an organization (index subscriptions_org); returns how many. */
  async deleteForOrganization(organizationId: number, batch: number): Promise<number> {
    const some = this.db.selectFrom('subscriptions').select('id').where('organization_id', '=', organizationId).limit(batch);
    const result = await this.db.deleteFrom('subscriptions').where('id', 'in', some).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** The routing query of ingestion. */
  active(organizationId: number, eventType: string): Promise<Pick<SubscriptionRow, 'id' | 'connection_id'>[]> {
    return this.db
      .selectFrom('subscriptions')
      .select(['id', 'connection_id'])
      .where('organization_id', '=', organizationId)
      .where('event_type', '=', eventType)
      .where('is_active', '=', 1)
      .orderBy('id')
      .execute();
  }

  update(id: number, changes: Updateable<SubscriptionsTable>): Promise<SubscriptionRow> {
    return this.db.updateTable('subscriptions').set(changes).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
  }

  async delete(organizationId: number, id: number): Promise<boolean> {
    const result = await this.db
      .deleteFrom('subscriptions')
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  async deleteForConnectionExcept(connectionId: number, keep: readonly string[]): Promise<void> {
    let query = this.db.deleteFrom('subscriptions').where('connection_id', '=', connectionId);
    if (keep.length > 0) query = query.where('event_type', 'not in', keep);
    await query.execute();
  }

  async setActiveForConnection(connectionId: number, active: boolean, now: number): Promise<void> {
    await this.db
      .updateTable('subscriptions')
      .set({ is_active: active ? 1 : 0, status_reason: null, updated_at: now })
      .where('connection_id', '=', connectionId)
      .execute();
  }
}

import type { Insertable, Updateable } from 'kysely';
import type { ConnectionRow, ConnectionsTable } from './schema.js';
import type { Executor } from './executor.js';

export class Connections {
  constructor(private readonly db: Executor) {}

  /** How many connections the organization has, for its cap (index connections_org). */
  async countForOrganization(organizationId: number): Promise<number> {
    const row = await this.db
      .selectFrom('connections')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('organization_id', '=', organizationId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insert(row: Insertable<ConnectionsTable>): Promise<ConnectionRow> {
    return this.db.insertInto('connections').values(row).returningAll().executeTakeFirstOrThrow();
  }

  list(organizationId: number, type?: string): Promise<ConnectionRow[]> {
    let query = this.db.selectFrom('connections').selectAll().where('organization_id', '=', organizationId);
    if (type) query = query.where('type', '=', type);
    return query.orderBy('id').execute();
  }

  get(organizationId: number, id: number): Promise<ConnectionRow | undefined> {
    return this.db
      .selectFrom('connections')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  byId(id: number): Promise<ConnectionRow | undefined> {
    return this.db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirst();
  }

  byIds(ids: readonly number[]): Promise<ConnectionRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('connections').selectAll().where('id', 'in', ids).execute();
  }

  /** What tells whether a cached, decrypted connection is still current. */
  versions(ids: readonly number[]): Promise<Pick<ConnectionRow, 'id' | 'updated_at' | 'previous_secret_expires_at'>[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom('connections')
      .select(['id', 'updated_at', 'previous_secret_expires_at'])
      .where('id', 'in', ids)
      .execute();
  }

  byPublicId(organizationId: number, publicId: string): Promise<ConnectionRow | undefined> {
    return this.db
      .selectFrom('connections')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('public_id', '=', publicId)
      .executeTakeFirst();
  }

  /** SendKit dialect listing: webhooks that carry a public id, oldest first, after a cursor id. */
  pageWithPublicId(organizationId: number, afterId: number, limit: number): Promise<ConnectionRow[]> {
    return this.db
      .selectFrom('connections')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('public_id', 'is not', null)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  /** Every connection id of an organization (at most HERALD_MAX_CONNECTIONS_PER_ORG; index connections_org). */
  async idsForOrganization(organizationId: number): Promise<number[]> {
    const rows = await this.db.selectFrom('connections').select('id').where('organization_id', '=', organizationId).orderBy('id').execute();
    return rows.map((r) => r.id);
  }

  /** Deletes up to `batch` connections of an organization (their subscriptions and OAuth states by cascade). */
  async deleteForOrganization(organizationId: number, batch: number): Promise<number> {
    const some = this.db.selectFrom('connections').select('id').where('organization_id', '=', organizationId).limit(batch);
    const result = await this.db.deleteFrom('connections').where('id', 'in', some).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Every connection of every organization (the admin stats). */
  async countAll(): Promise<number> {
    const row = await this.db.selectFrom('connections').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async countWithPublicId(organizationId: number): Promise<number> {
    const row = await this.db
      .selectFrom('connections')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('organization_id', '=', organizationId)
      .where('public_id', 'is not', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async update(id: number, changes: Updateable<ConnectionsTable>): Promise<ConnectionRow> {
    return this.db.updateTable('connections').set(changes).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
  }

  /**
   * Compare-and-set on the sealed OAuth grant: applies `changes` only if `oauth_sealed` is
   * still `expected`. Sealed text differs on every write (random IV), so it is the row's
   * token version; this one statement is how processes take and hand over the refresh lease.
   */
  async swapOauth(
    id: number,
    expected: string,
    changes: Pick<Updateable<ConnectionsTable>, 'oauth_sealed' | 'token_expires_at' | 'status' | 'status_reason' | 'updated_at'>,
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('connections')
      .set(changes)
      .where('id', '=', id)
      .where('oauth_sealed', '=', expected)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async delete(organizationId: number, id: number): Promise<boolean> {
    const result = await this.db
      .deleteFrom('connections')
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }
}

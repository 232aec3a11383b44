import { sql } from 'kysely';
import type { OrganizationRow, OrganizationStatus } from './schema.js';
import type { Executor } from './executor.js';

/** Literal, for the partial index organizations_deleting (see deliveries.ts PENDING). */
const DELETING = sql.lit('deleting') as unknown as OrganizationStatus;

/**
 * Organizations (tenants). One being deleted (`deleting`) is invisible here except to the
 * purge: every lookup of the API and the CLI leaves it out.
 */
export class Organizations {
  constructor(private readonly db: Executor) {}

  insert(row: { name: string; external_id: string | null; now: number }): Promise<OrganizationRow> {
    return this.db
      .insertInto('organizations')
      .values({ name: row.name, external_id: row.external_id, status: 'active', created_at: row.now, updated_at: row.now })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  get(id: number): Promise<OrganizationRow | undefined> {
    return this.db.selectFrom('organizations').selectAll().where('id', '=', id).where('status', '!=', DELETING).executeTakeFirst();
  }

  /** Up to `limit` organizations of this name (names are not unique), oldest first. */
  byName(name: string, limit: number): Promise<OrganizationRow[]> {
    return this.db
      .selectFrom('organizations')
      .selectAll()
      .where('name', '=', name)
      .where('status', '!=', DELETING)
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  /** Oldest first, keyset-paginated on id (ascending: a page never shifts as organizations are created). */
  page(filter: { externalId?: string }, afterId: number, limit: number): Promise<OrganizationRow[]> {
    let query = this.db.selectFrom('organizations').selectAll().where('id', '>', afterId).where('status', '!=', DELETING);
    if (filter.externalId !== undefined) query = query.where('external_id', '=', filter.externalId);
    return query.orderBy('id').limit(limit).execute();
  }

  update(id: number, changes: { name?: string; status?: 'active' | 'suspended'; updated_at: number }): Promise<OrganizationRow | undefined> {
    return this.db
      .updateTable('organizations')
      .set(changes)
      .where('id', '=', id)
      .where('status', '!=', DELETING)
      .returningAll()
      .executeTakeFirst();
  }

  /**
   * The first step of a deletion: from now on the organization does not exist for anyone
   * (its keys fail, its deliveries park), and its external id is free for a new one. False
   * when it did not exist (or was already being deleted).
   */
  async markDeleting(id: number, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('organizations')
      .set({ status: 'deleting', external_id: null, updated_at: now })
      .where('id', '=', id)
      .where('status', '!=', DELETING)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * Takes over the purge of an organization whose purger stopped (no heartbeat since
   * `staleBefore`): true when this caller now holds it. The purger beats with every batch.
   */
  async claimPurge(id: number, now: number, staleBefore: number): Promise<boolean> {
    const result = await this.db
      .updateTable('organizations')
      .set({ updated_at: now })
      .where('id', '=', id)
      .where('status', '=', DELETING)
      .where('updated_at', '<=', staleBefore)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async purgeHeartbeat(id: number, now: number): Promise<void> {
    await this.db.updateTable('organizations').set({ updated_at: now }).where('id', '=', id).where('status', '=', DELETING).execute();
  }

  /** Organizations whose purge has not finished (interrupted, or started by another process). */
  async deleting(limit: number): Promise<number[]> {
    const rows = await this.db.selectFrom('organizations').select('id').where('status', '=', DELETING).orderBy('id').limit(limit).execute();
    return rows.map((r) => r.id);
  }

  /** The last step of a purge: the row itself (nothing refers to it any more). */
  async deleteRow(id: number): Promise<boolean> {
    const result = await this.db.deleteFrom('organizations').where('id', '=', id).where('status', '=', DELETING).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('organizations')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '!=', DELETING)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

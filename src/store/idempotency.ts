import type { Executor } from './store.js';

export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

export class IdempotencyKeys {
  constructor(private readonly db: Executor) {}

  /**
   * Claims a key for this transaction. Returns the stored answer of an earlier request
   * (the caller replays it), or undefined when the key is now ours. A concurrent
   * transaction holding the same key makes PostgreSQL wait here until it commits.
   */
  async claim(organizationId: number, key: string, now: number): Promise<string | undefined> {
    const inserted = await this.db
      .insertInto('idempotency_keys')
      .values({ organization_id: organizationId, key, response: '', created_at: now })
      .onConflict((oc) => oc.columns(['organization_id', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    if (inserted) return undefined;
    const row = await this.db
      .selectFrom('idempotency_keys')
      .select(['response', 'created_at'])
      .where('organization_id', '=', organizationId)
      .where('key', '=', key)
      .executeTakeFirstOrThrow();
    if (row.created_at > now - IDEMPOTENCY_TTL_MS && row.response !== '') return row.response;
    // Expired (or left empty by an aborted request): the key starts over.
    await this.db
      .updateTable('idempotency_keys')
      .set({ response: '', created_at: now })
      .where('organization_id', '=', organizationId)
      .where('key', '=', key)
      .execute();
    return undefined;
  }

  async store(organizationId: number, key: string, response: string): Promise<void> {
    await this.db
      .updateTable('idempotency_keys')
      .set({ response })
      .where('organization_id', '=', organizationId)
      .where('key', '=', key)
      .execute();
  }

  async deleteExpired(now: number): Promise<void> {
    await this.db.deleteFrom('idempotency_keys').where('created_at', '<', now - IDEMPOTENCY_TTL_MS).execute();
  }
}

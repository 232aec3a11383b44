import type { Executor } from './executor.js';

export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

/** What claiming a key found. */
export type KeyClaim =
  /** The key is this transaction's now: the caller writes its answer (store) or gives it up (release). */
  | { kind: 'claimed' }
  /** An earlier request's answer, and the hash of that request (null: stored before hashes existed). */
  | { kind: 'stored'; requestHash: string | null; response: string };

export class IdempotencyKeys {
  constructor(private readonly db: Executor) {}

  /**
   * Claims a key for this transaction, bound to `requestHash`, or returns what an earlier
   * request stored under it. A concurrent transaction holding the same key makes PostgreSQL
   * wait here until it commits or rolls back: callers claim their keys in one fixed order
   * (sorted) so that two transactions never wait on each other's keys (a deadlock).
   */
  async claim(organizationId: number, key: string, requestHash: string, now: number): Promise<KeyClaim> {
    // A row deleted or restarted by another transaction between two statements: look again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const inserted = await this.db
        .insertInto('idempotency_keys')
        .values({ organization_id: organizationId, key, response: '', created_at: now, request_hash: requestHash })
        .onConflict((oc) => oc.columns(['organization_id', 'key']).doNothing())
        .returning('key')
        .executeTakeFirst();
      if (inserted) return { kind: 'claimed' };
      const row = await this.db
        .selectFrom('idempotency_keys')
        .select(['response', 'created_at', 'request_hash'])
        .where('organization_id', '=', organizationId)
        .where('key', '=', key)
        .executeTakeFirst();
      if (!row) continue;
      if (row.created_at > now - IDEMPOTENCY_TTL_MS && row.response !== '') {
        return { kind: 'stored', requestHash: row.request_hash, response: row.response };
      }
      // Expired (or left empty by an aborted request): the key starts over, bound to this
      // request — only if no concurrent transaction restarted it first (then read again).
      const restarted = await this.db
        .updateTable('idempotency_keys')
        .set({ response: '', created_at: now, request_hash: requestHash })
        .where('organization_id', '=', organizationId)
        .where('key', '=', key)
        .where('created_at', '=', row.created_at)
        .executeTakeFirst();
      if (Number(restarted.numUpdatedRows) === 1) return { kind: 'claimed' };
    }
    throw new Error(`Idempotency-Key "${key}" could not be claimed: it kept disappearing`);
  }

  /** The answer of the request that claimed the key, replayed to its repeats. */
  async store(organizationId: number, key: string, response: string): Promise<void> {
    await this.db
      .updateTable('idempotency_keys')
      .set({ response })
      .where('organization_id', '=', organizationId)
      .where('key', '=', key)
      .execute();
  }

  /** The request that claimed the key was refused (it writes nothing): the key stays unused. */
  async release(organizationId: number, key: string): Promise<void> {
    await this.db.deleteFrom('idempotency_keys').where('organization_id', '=', organizationId).where('key', '=', key).execute();
  }

  /** Deletes up to `batch` keys past the TTL (index idempotency_keys_created); returns how many. */
  async deleteExpired(now: number, batch: number): Promise<number> {
    const expired = this.db
      .selectFrom('idempotency_keys')
      .select(['organization_id', 'key'])
      .where('created_at', '<', now - IDEMPOTENCY_TTL_MS)
      .limit(batch)
      .$asTuple('organization_id', 'key');
    const result = await this.db
      .deleteFrom('idempotency_keys')
      .where((eb) => eb(eb.refTuple('organization_id', 'key'), 'in', expired))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Deletes up to `batch` keys of an organization (its primary key's prefix); returns how many. */
  async deleteForOrganization(organizationId: number, batch: number): Promise<number> {
    const some = this.db
      .selectFrom('idempotency_keys')
      .select(['organization_id', 'key'])
      .where('organization_id', '=', organizationId)
      .limit(batch)
      .$asTuple('organization_id', 'key');
    const result = await this.db
      .deleteFrom('idempotency_keys')
      .where((eb) => eb(eb.refTuple('organization_id', 'key'), 'in', some))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

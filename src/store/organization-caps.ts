import { sql } from 'kysely';
import type { Store } from './store.js';

/** Advisory-lock class of the per-organization caps; the organization is the other half of the key. */
const CAPS_LOCK_CLASS = 0x48_43; // "HC"

/**
 * Serializes, per organization, the transactions that count its connections or
 * subscriptions and then insert one: without it two concurrent creates on PostgreSQL would
 * both count N − 1 under a cap of N and both insert. Held until the transaction ends; taking
 * it again in the same transaction (a v1 webhook: a connection, then its subscriptions)
 * does not wait. SQLite needs nothing: its write transactions begin IMMEDIATE and so run
 * one at a time.
 */
export async function lockOrganizationCaps(tx: Store, organizationId: number): Promise<void> {
  if (tx.dialect !== 'postgres') return;
  if (!tx.db.isTransaction) throw new Error('lockOrganizationCaps needs a transaction: the lock lasts until it ends');
  // Ids beyond int4 share a lock with another organization: harmless, they only wait.
  await sql`select pg_advisory_xact_lock(${CAPS_LOCK_CLASS}::int4, (${organizationId}::bigint % 2147483647)::int4)`.execute(tx.db);
}

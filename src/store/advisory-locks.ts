import { sql } from 'kysely';
import type { Store } from './store.js';

/** Advisory-lock classes (PostgreSQL); organization-caps.ts holds "HC". */
const NAMES_LOCK_CLASS = 0x48_4e; // "HN"
const RETENTION_LOCK_CLASS = 0x48_52; // "HR"

const inTransaction = (tx: Store, what: string) => {
  if (!tx.db.isTransaction) throw new Error(`${what} needs a transaction: the lock lasts until it ends`);
};

/**
 * Serializes creating organizations by name (`herald keys create --org <new name>`): names are
 * not unique, so two concurrent runs would otherwise both create one. SQLite's write
 * transactions run one at a time already.
 */
export async function lockOrganizationNames(tx: Store): Promise<void> {
  if (tx.dialect !== 'postgres') return;
  inTransaction(tx, 'lockOrganizationNames');
  await sql`select pg_advisory_xact_lock(${NAMES_LOCK_CLASS}::int4, 0)`.execute(tx.db);
}

/**
 * One retention batch at a time across worker processes (PostgreSQL): the others skip their
 * pass instead of deleting the same rows in another order (which could deadlock). False: busy.
 */
export async function tryLockRetention(tx: Store): Promise<boolean> {
  if (tx.dialect !== 'postgres') return true;
  inTransaction(tx, 'tryLockRetention');
  const { rows } = await sql<{ ok: boolean }>`select pg_try_advisory_xact_lock(${RETENTION_LOCK_CLASS}::int4, 0) as ok`.execute(tx.db);
  return rows[0]?.ok === true;
}

import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../executor.js';

type Db = Kysely<unknown>;

/**
 * An Idempotency-Key is bound to the request that first used it: `request_hash` is a
 * SHA-256 of the organization, the route (single event or batch) and the canonical body,
 * so the same key with another body is refused instead of replaying an unrelated answer.
 * Keys stored before this column existed have none and keep replaying as they did.
 */
export function idempotency(_dialect: Dialect): Migration {
  return {
    async up(db: Db) {
      await db.schema.alterTable('idempotency_keys').addColumn('request_hash', 'text').execute();
    },
  };
}

import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

/**
 * What every repository runs its statements on: the database, or a transaction of it.
 * Kept apart from store.ts so that the repositories the Store is made of do not import it.
 */
export type Executor = Kysely<Database> | Transaction<Database>;

export type Dialect = 'sqlite' | 'postgres';

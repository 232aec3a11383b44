import type { Migration, MigrationProvider } from 'kysely';
import type { Dialect } from '../executor.js';
import { initial } from './0001-initial.js';
import { dueWithConnection } from './0002-due-with-connection.js';
import { engine } from './0003-engine.js';
import { queryIndexes } from './0004-query-indexes.js';
import { keys } from './0005-keys.js';
import { idempotency } from './0006-idempotency.js';
import { operator } from './0007-operator.js';
import { connectionHealth } from './0008-connection-health.js';
import { portal } from './0009-portal.js';

/**
 * Migrations are code, one file each, parameterised by dialect only where column types or
 * SQL differ. Kysely runs them in the order of their names.
 */
export function migrations(dialect: Dialect): MigrationProvider {
  const all: Record<string, Migration> = {
    '0001_initial': initial(dialect),
    '0002_due_with_connection': dueWithConnection,
    '0003_engine': engine(dialect),
    '0004_query_indexes': queryIndexes(dialect),
    '0005_keys': keys(dialect),
    '0006_idempotency': idempotency(dialect),
    '0007_operator': operator(dialect),
    '0008_connection_health': connectionHealth(dialect),
    '0009_portal': portal(dialect),
  };
  return { getMigrations: async () => all };
}

import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../executor.js';

type Db = Kysely<unknown>;

/**
 * Key management (src/security/installation.ts): the installation row that ties a database to
 * its secret key, a bounded list of rotated-out signing secrets, and sealed `extra_headers`.
 * Existing values stay as they are (`v1.` sealed text, `previous_secret_sealed`, clear
 * `extra_headers` in `config`): they are read as before until `herald secrets rotate-key`
 * or the next write of the row replaces them.
 */
export function keys(dialect: Dialect): Migration {
  const big = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Db) {
      await db.schema
        .createTable('installation')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('installation_id', 'text', (c) => c.notNull())
        .addColumn('kdf_salt', 'text', (c) => c.notNull())
        .addColumn('keys', 'text', (c) => c.notNull())
        .addColumn('primary_kid', 'text', (c) => c.notNull())
        .addColumn('webhook_id_salt_sealed', 'text', (c) => c.notNull())
        .addColumn('created_at', big, (c) => c.notNull())
        .addColumn('updated_at', big, (c) => c.notNull())
        .execute();
      await db.schema.alterTable('connections').addColumn('previous_secrets_sealed', 'text').execute();
      await db.schema.alterTable('connections').addColumn('extra_headers_sealed', 'text').execute();
    },
  };
}

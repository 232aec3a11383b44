import { type ColumnDefinitionBuilder, type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from '../executor.js';

type Db = Kysely<unknown>;

export function initial(dialect: Dialect): Migration {
  const big = dialect === 'postgres' ? 'bigint' : 'integer';
  const id = (col: ColumnDefinitionBuilder) =>
    dialect === 'postgres' ? col.primaryKey().generatedByDefaultAsIdentity() : col.primaryKey().autoIncrement();
  const idType = dialect === 'postgres' ? 'bigint' : 'integer';

  return {
    async up(db: Db) {
      await db.schema
        .createTable('organizations')
        .addColumn('id', idType, id)
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', big, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('api_keys')
        .addColumn('id', idType, id)
        .addColumn('organization_id', big, (c) => c.notNull().references('organizations.id').onDelete('cascade'))
        .addColumn('public_key', 'text', (c) => c.notNull().unique())
        .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', big, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('access_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('api_key_id', big, (c) => c.notNull().references('api_keys.id').onDelete('cascade'))
        .addColumn('organization_id', big, (c) => c.notNull())
        .addColumn('expires_at', big, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('connections')
        .addColumn('id', idType, id)
        .addColumn('organization_id', big, (c) => c.notNull().references('organizations.id').onDelete('cascade'))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('auth_sealed', 'text')
        .addColumn('signature_scheme', 'text', (c) => c.notNull())
        .addColumn('signing_secret_sealed', 'text', (c) => c.notNull())
        .addColumn('previous_secret_sealed', 'text')
        .addColumn('previous_secret_expires_at', big)
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('status_reason', 'text')
        .addColumn('oauth_sealed', 'text')
        .addColumn('token_expires_at', big)
        .addColumn('public_id', 'text', (c) => c.unique())
        .addColumn('name', 'text')
        .addColumn('created_by', 'text')
        .addColumn('delivered_count', big, (c) => c.notNull().defaultTo(0))
        .addColumn('failed_count', big, (c) => c.notNull().defaultTo(0))
        .addColumn('last_delivered_at', big)
        .addColumn('created_at', big, (c) => c.notNull())
        .addColumn('updated_at', big, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('connections_org').on('connections').columns(['organization_id', 'id']).execute();
      await db.schema
        .createTable('subscriptions')
        .addColumn('id', idType, id)
        .addColumn('organization_id', big, (c) => c.notNull())
        .addColumn('connection_id', big, (c) => c.notNull().references('connections.id').onDelete('cascade'))
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('is_active', 'integer', (c) => c.notNull())
        .addColumn('status_reason', 'text')
        .addColumn('created_at', big, (c) => c.notNull())
        .addColumn('updated_at', big, (c) => c.notNull())
        .addUniqueConstraint('subscriptions_connection_event', ['connection_id', 'event_type'])
        .execute();
      await db.schema
        .createIndex('subscriptions_route')
        .on('subscriptions')
        .columns(['organization_id', 'event_type', 'is_active'])
        .execute();
      await db.schema
        .createTable('events')
        .addColumn('id', idType, id)
        .addColumn('organization_id', big, (c) => c.notNull().references('organizations.id').onDelete('cascade'))
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('profile', 'text')
        .addColumn('delivery_count', 'integer', (c) => c.notNull())
        .addColumn('created_at', big, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('events_org').on('events').columns(['organization_id', 'id']).execute();
      await db.schema
        .createTable('idempotency_keys')
        .addColumn('organization_id', big, (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('response', 'text', (c) => c.notNull())
        .addColumn('created_at', big, (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['organization_id', 'key'])
        .execute();
      await db.schema
        .createTable('deliveries')
        .addColumn('id', idType, id)
        .addColumn('organization_id', big, (c) => c.notNull())
        .addColumn('event_id', big, (c) => c.notNull().references('events.id').onDelete('cascade'))
        .addColumn('subscription_id', big, (c) => c.notNull().references('subscriptions.id').onDelete('cascade'))
        .addColumn('connection_id', big, (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempt_count', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', big, (c) => c.notNull())
        .addColumn('last_status', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('created_at', big, (c) => c.notNull())
        .addColumn('updated_at', big, (c) => c.notNull())
        .execute();
      // The claim query walks this partial index only: finished deliveries cost it nothing.
      await db.schema
        .createIndex('deliveries_due')
        .on('deliveries')
        .column('next_attempt_at')
        .where(sql.ref('status'), '=', 'pending')
        .execute();
      await db.schema.createIndex('deliveries_org').on('deliveries').columns(['organization_id', 'id']).execute();
      await db.schema.createIndex('deliveries_event').on('deliveries').column('event_id').execute();
      await db.schema.createIndex('deliveries_subscription').on('deliveries').column('subscription_id').execute();
      await db.schema
        .createIndex('deliveries_connection')
        .on('deliveries')
        .columns(['connection_id', 'status'])
        .execute();
      await db.schema
        .createTable('attempts')
        .addColumn('id', idType, id)
        .addColumn('organization_id', big, (c) => c.notNull())
        .addColumn('delivery_id', big, (c) => c.references('deliveries.id').onDelete('cascade'))
        .addColumn('subscription_id', big, (c) => c.notNull().references('subscriptions.id').onDelete('cascade'))
        .addColumn('connection_id', big, (c) => c.notNull())
        .addColumn('number', 'integer', (c) => c.notNull())
        .addColumn('is_test', 'integer', (c) => c.notNull())
        .addColumn('started_at', big, (c) => c.notNull())
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('request_headers', 'text', (c) => c.notNull())
        .addColumn('response_status', 'integer')
        .addColumn('response_body', 'text')
        .addColumn('error', 'text')
        .execute();
      await db.schema.createIndex('attempts_delivery').on('attempts').column('delivery_id').execute();
      await db.schema.createIndex('attempts_subscription').on('attempts').column('subscription_id').execute();
      await db.schema
        .createTable('oauth_states')
        .addColumn('state_hash', 'text', (c) => c.primaryKey())
        .addColumn('organization_id', big, (c) => c.notNull())
        .addColumn('connection_id', big, (c) => c.notNull().references('connections.id').onDelete('cascade'))
        .addColumn('verifier_sealed', 'text', (c) => c.notNull())
        .addColumn('expires_at', big, (c) => c.notNull())
        .addColumn('used_at', big)
        .execute();
    },
  };
}

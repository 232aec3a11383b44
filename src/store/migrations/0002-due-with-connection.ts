import { type Kysely, type Migration, sql } from 'kysely';

type Db = Kysely<unknown>;

/**
 * The due index also carries `connection_id`: a claim reads it for every row it scans
 * (to spread a batch over connections), and now finds it in the index alone. `id` comes
 * before it so that deliveries due at the same moment stay in arrival order, interleaved
 * across connections, rather than grouped by connection.
 */
export const dueWithConnection: Migration = {
  async up(db: Db) {
    await db.schema.dropIndex('deliveries_due').execute();
    await db.schema
      .createIndex('deliveries_due')
      .on('deliveries')
      .columns(['next_attempt_at', 'id', 'connection_id'])
      .where(sql.ref('status'), '=', 'pending')
      .execute();
  },
};


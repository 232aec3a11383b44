import type { Config } from '../config.js';
import { runPass } from '../delivery/maintenance.js';
import { readStats } from '../domain/stats.js';
import { withDatabase } from './context.js';

/** `herald status`: the admin API's stats. */
export function status(config: Config) {
  return withDatabase(config, ({ store }) => readStats(store));
}

/**
 * `herald prune`: one housekeeping pass now (expired credentials, unfinished organization
 * deletions, retention with HERALD_RETENTION), then (SQLite) every free page back to the file system.
 */
export function prune(config: Config) {
  return withDatabase(config, async ({ store, database }) => {
    const report = await runPass(store, Date.now(), config.retentionMs, { releaseAll: true, checkpointWaitMs: 5_000 });
    const pageSize = database.raw ? Number(database.raw.handle.pragma('page_size', { simple: true })) : 0;
    return {
      retention_seconds: config.retentionMs / 1000,
      expired: report.expired,
      organizations_deleted: report.organizationsDeleted,
      removed: {
        events: report.retention.events,
        deliveries: report.retention.deliveries,
        attempts: report.retention.attempts,
        test_attempts: report.retention.test_attempts,
        delivery_outcomes: report.retention.delivery_outcomes,
        connection_outcomes: report.retention.connection_outcomes,
      },
      skipped: report.retention.skipped,
      pages_released: report.pagesReleased,
      wal_truncated: report.walTruncated,
      bytes_released: report.pagesReleased * pageSize,
    };
  });
}

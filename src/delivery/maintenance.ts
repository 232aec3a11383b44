import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import { PURGE_STALE_MS, purgeOrganization } from '../domain/organization-purge.js';
import type { Metrics } from '../observability/metrics.js';
import type { Store } from '../store/store.js';
import { freePages, releaseFreePages } from '../store/vacuum.js';
import { type RetentionCounts, runRetention } from './retention.js';

const EVERY_MS = 10 * 60_000;
/** The first run comes a minute after start, so a process restarted often still cleans up. */
const FIRST_AFTER_MS = 60_000;
/**
 * Rows per DELETE. Each batch is its own short transaction: a clean-up of a large backlog
 * never holds SQLite's write lock (or PostgreSQL's row locks) for long, and API requests
 * and the queue get their turn between batches.
 */
export const MAINTENANCE_BATCH = 1000;

export interface Purged {
  idempotencyKeys: number;
  accessTokens: number;
  oauthStates: number;
  portalSessions: number;
}

/** One clean-up pass: expired idempotency keys, access tokens, OAuth states and portal sessions, in bounded batches. */
export async function runMaintenance(
  store: Store,
  now: number,
  options: { batch?: number; signal?: AbortSignal } = {},
): Promise<Purged> {
  const batch = options.batch ?? MAINTENANCE_BATCH;
  const purge = async (deleteBatch: (tx: Store) => Promise<number>): Promise<number> => {
    let total = 0;
    while (!options.signal?.aborted) {
      const deleted = await store.transaction(deleteBatch);
      total += deleted;
      if (deleted < batch) break;
      await nextTurn();
    }
    return total;
  };
  return {
    idempotencyKeys: await purge((tx) => tx.idempotencyKeys.deleteExpired(now, batch)),
    accessTokens: await purge((tx) => tx.accessTokens.deleteExpired(now, batch)),
    oauthStates: await purge((tx) => tx.oauthStates.deleteExpired(now, batch)),
    portalSessions: await purge((tx) => tx.portalSessions.deleteExpired(now, batch)),
  };
}

/** What removed rows are counted as (`herald_rows_removed_total{reason}`). */
export type RemovalReason = 'expired' | 'retention' | 'organization_deleted';

export interface PassReport {
  expired: Purged;
  /** Organizations whose interrupted deletion this pass finished. */
  organizationsDeleted: number[];
  retention: RetentionCounts;
  /** SQLite: free pages given back to the file system (PostgreSQL: 0). */
  pagesReleased: number;
}

export interface PassOptions {
  signal?: AbortSignal;
  onRemoved?: (reason: RemovalReason, table: string, rows: number) => void;
  /**
   * SQLite: give back every free page after the pass (`herald prune`). Otherwise only the pages
   * that stayed free since the previous pass are given back, before this one deletes: pages a
   * pass frees are reused by the inserts that follow it, so at steady state nothing moves.
   */
  releaseAll?: boolean;
}

/**
 * One housekeeping pass: expired credentials, deletions of organizations left unfinished,
 * retention, and (SQLite) free pages back to the file system. Every part works in batches of
 * short transactions.
 */
export async function runPass(store: Store, now: number, retentionMs: number, options: PassOptions = {}): Promise<PassReport> {
  const { signal, onRemoved } = options;
  let pagesReleased = options.releaseAll ? 0 : await releaseFreePages(store, freePages(store) ?? 0, signal);
  const expired = await runMaintenance(store, now, { ...(signal ? { signal } : {}) });
  onRemoved?.('expired', 'idempotency_keys', expired.idempotencyKeys);
  onRemoved?.('expired', 'access_tokens', expired.accessTokens);
  onRemoved?.('expired', 'oauth_states', expired.oauthStates);
  onRemoved?.('expired', 'portal_sessions', expired.portalSessions);
  const organizationsDeleted: number[] = [];
  for (const id of await store.organizations.deleting(10)) {
    if (signal?.aborted) break;
    // Only a purge nobody is running any more (its process died, or it was interrupted).
    if (!(await store.transaction((tx) => tx.organizations.claimPurge(id, Date.now(), Date.now() - PURGE_STALE_MS)))) continue;
    const purged = await purgeOrganization(store, id, {
      ...(signal ? { signal } : {}),
      onRemoved: (table, rows) => onRemoved?.('organization_deleted', table, rows),
    });
    if (purged) organizationsDeleted.push(id);
  }
  const retention = await runRetention(store, now, retentionMs, {
    ...(signal ? { signal } : {}),
    onRemoved: (table, rows) => onRemoved?.('retention', table, rows),
  });
  if (options.releaseAll) pagesReleased = await releaseFreePages(store, freePages(store) ?? 0, signal);
  return { expired, organizationsDeleted, retention, pagesReleased };
}

/** How often the background pass runs: a quarter of the retention, from 1 s to 10 minutes. */
export function passInterval(retentionMs: number): number {
  return Math.min(EVERY_MS, Math.max(1000, Math.floor(retentionMs / 4)));
}

export interface MaintenanceOptions {
  retentionMs: number;
  metrics?: Metrics;
}

/**
 * Housekeeping in worker processes, every `passInterval(retention)` (10 minutes for the
 * default 30 days), the first a minute after start at the latest. Returns the function that stops it.
 */
export function startMaintenance(store: Store, logger: Logger, options: MaintenanceOptions): () => void {
  let running = false;
  // Stopping ends a pass between batches, before the database is closed under it.
  const stopped = new AbortController();
  const every = passInterval(options.retentionMs);
  const run = async () => {
    if (running) return;
    running = true;
    try {
      const report = await runPass(store, Date.now(), options.retentionMs, {
        signal: stopped.signal,
        onRemoved: (reason, table, rows) => {
          if (rows > 0) options.metrics?.rowsRemoved.inc({ table, reason }, rows);
        },
      });
      const { expired, retention } = report;
      const removed =
        expired.idempotencyKeys + expired.accessTokens + expired.oauthStates + expired.portalSessions + retention.events + retention.attempts +
        retention.test_attempts + report.organizationsDeleted.length + report.pagesReleased;
      if (removed > 0) logger.info({ ...report }, 'maintenance');
    } catch (error) {
      logger.warn({ err: error }, 'maintenance failed');
    } finally {
      running = false;
    }
  };
  const first = setTimeout(() => void run(), Math.min(FIRST_AFTER_MS, every));
  const timer = setInterval(() => void run(), every);
  first.unref();
  timer.unref();
  return () => {
    stopped.abort();
    clearTimeout(first);
    clearInterval(timer);
  };
}

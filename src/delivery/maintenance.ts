import { setImmediate as nextTurn } from 'node:timers/promises';
import { PURGE_STALE_MS, purgeOrganization } from '../domain/organization-purge.js';
import type { Store } from '../store/store.js';
import { freePages, releaseFreePages, truncateWal } from '../store/sqlite/vacuum.js';
import { type RetentionCounts, runRetention } from './retention.js';

const EVERY_MS = 10 * 60_000;
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
  /** SQLite: the write-ahead log was checkpointed and truncated (`checkpointWaitMs`). */
  walTruncated: boolean;
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
  /** Pause between batches of retention and purges (default: one event-loop turn). */
  pauseMs?: number;
  /**
   * SQLite: end with a checkpoint that truncates the write-ahead log, waiting at most this long
   * for the other connections (vacuum.ts truncateWal; blocking: not on a server's main thread).
   */
  checkpointWaitMs?: number;
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
      ...(options.pauseMs ? { pauseMs: options.pauseMs } : {}),
      onRemoved: (table, rows) => onRemoved?.('organization_deleted', table, rows),
    });
    if (purged) organizationsDeleted.push(id);
  }
  const retention = await runRetention(store, now, retentionMs, {
    ...(signal ? { signal } : {}),
    ...(options.pauseMs ? { pauseMs: options.pauseMs } : {}),
    onRemoved: (table, rows) => onRemoved?.('retention', table, rows),
  });
  if (options.releaseAll) pagesReleased = await releaseFreePages(store, freePages(store) ?? 0, signal);
  const walTruncated = options.checkpointWaitMs !== undefined && !signal?.aborted ? truncateWal(store, options.checkpointWaitMs) : false;
  return { expired, organizationsDeleted, retention, pagesReleased, walTruncated };
}

/** How often the background pass runs: a quarter of the retention, from 1 s to 10 minutes. */
export function passInterval(retentionMs: number): number {
  return Math.min(EVERY_MS, Math.max(1000, Math.floor(retentionMs / 4)));
}

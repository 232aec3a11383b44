import type { Store } from '../store.js';

/** Pages given back per transaction: each step moves pages and truncates, holding the write lock briefly. */
const STEP_PAGES = 1000;

/**
 * SQLite (auto_vacuum = INCREMENTAL, migration 0007): free pages in the file. Deleted rows'
 * pages go to the freelist and new rows reuse them first, so a file whose deletions keep up
 * with its inserts stops growing; `release` gives pages nobody needed back to the file system.
 * PostgreSQL: undefined (autovacuum makes dead rows' space reusable; its files do not shrink).
 */
export function freePages(store: Store): number | undefined {
  if (!store.raw) return undefined;
  return Number(store.raw.handle.pragma('freelist_count', { simple: true }));
}

/**
 * Truncates up to `pages` free pages off the file, in steps of short transactions. Runs on
 * the main connection between other work (each step takes the write lock like any write).
 */
export async function releaseFreePages(store: Store, pages: number, signal?: AbortSignal): Promise<number> {
  const raw = store.raw;
  if (!raw || pages <= 0) return 0;
  let released = 0;
  while (released < pages && !signal?.aborted) {
    const step = Math.min(STEP_PAGES, pages - released);
    const before = freePages(store) ?? 0;
    if (before === 0) break;
    // Through the handle: a prepared PRAGMA incremental_vacuum stepped once frees one page only.
    await store.transaction(async (tx) => raw.exclusive(tx.db, () => raw.handle.exec(`pragma incremental_vacuum(${step})`)));
    const freed = before - (freePages(store) ?? 0);
    if (freed <= 0) break;
    released += freed;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return released;
}

/**
 * SQLite: copies the write-ahead log into the file and truncates it, waiting at most `waitMs`
 * for the other connections (writers are held off meanwhile). Under steady load from three
 * connections (API, queue thread, housekeeping) a moment when no reader still needs the log
 * may not come on its own, and the log then grows; this forces one per pass. Blocking: call it
 * from the housekeeping thread or the CLI, never the main thread of a server. True when done.
 */
export function truncateWal(store: Store, waitMs: number): boolean {
  const handle = store.raw?.handle;
  if (!handle) return false;
  const before = Number(handle.pragma('busy_timeout', { simple: true }));
  handle.pragma(`busy_timeout = ${waitMs}`);
  try {
    const [row] = handle.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
    return row?.busy === 0;
  } catch {
    return false;
  } finally {
    handle.pragma(`busy_timeout = ${before}`);
  }
}

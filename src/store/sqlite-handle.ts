import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { BUSY_TIMEOUT_MS } from './raw-sqlite.js';

/**
 * Opens a SQLite file as Herald uses it. `synchronous`: FULL on the main connection (an
 * acknowledged event survives even a power cut; commits are grouped, so the fsync is paid
 * per batch, not per event), NORMAL on the queue thread's (see sqlite-queue-thread.ts).
 */
export function openSqliteHandle(file: string, synchronous: 'full' | 'normal'): SQLite.Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(`synchronous = ${synchronous}`);
  sqlite.pragma('foreign_keys = ON');
  // Two connections write (the main thread and the queue thread): one waits for the other.
  sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  // 64 MiB of page cache instead of 2: the queue's indexes stay in memory under load.
  sqlite.pragma('cache_size = -65536');
  // Checkpoint every ~40 MB of WAL instead of ~4 MB: hot index pages are copied back once
  // per checkpoint however often they changed in between.
  sqlite.pragma('wal_autocheckpoint = 1000');
  return sqlite;
}

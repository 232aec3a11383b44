import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { BUSY_TIMEOUT_MS } from './raw.js';

/**
 * Opens a SQLite file as Herald uses it. `synchronous`: FULL on the main connection (an
 * acknowledged event survives even a power cut; commits are grouped, so the fsync is paid
 * per batch, not per event), NORMAL on the queue thread's (see sqlite/queue-thread.ts).
 */
export function openSqliteHandle(file: string, synchronous: 'full' | 'normal', cacheMiB: number): SQLite.Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  // Takes effect on a new file only (before its first table); migration 0007 converts older
  // files once. Lets retention give freed pages back (store/sqlite/vacuum.ts).
  sqlite.pragma('auto_vacuum = INCREMENTAL');
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(`synchronous = ${synchronous}`);
  sqlite.pragma('foreign_keys = ON');
  // Two connections write (the main thread and the queue thread): one waits for the other.
  sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  // More page cache than SQLite's 2 MiB keeps the queue's hot index pages in memory; each
  // MiB is resident memory of every process (64 MiB on both connections cost a worker
  // ~60 MB more peak RSS at 1M queued than 16).
  sqlite.pragma(`cache_size = -${cacheMiB * 1024}`);
  return sqlite;
}

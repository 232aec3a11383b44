import { parentPort, workerData } from 'node:worker_threads';
import { Kysely, SqliteDialect } from 'kysely';
import { RawSqlite } from '../store/sqlite/raw.js';
import type { Database } from '../store/schema.js';
import { openSqliteHandle } from '../store/sqlite/handle.js';
import { Store } from '../store/store.js';
import { type PassReport, type RemovalReason, runPass } from './maintenance.js';

/**
 * SQLite: the housekeeping pass on a thread of its own, with its own connection. Deleting a
 * delivery and its attempt costs SQLite about as much as writing them (~22 µs); on the main
 * thread, which sends the HTTP requests, that would come straight off the delivery rate.
 * Each batch is still one short IMMEDIATE transaction, taking turns with the other
 * connections for the write lock. What it deletes may be lost in a power cut without harm
 * (the next pass deletes it again), so it commits with synchronous=NORMAL.
 */
const { file, retentionMs } = workerData as { file: string; retentionMs: number };
const raw = new RawSqlite(openSqliteHandle(file, 'normal', 8));
const store = new Store(new Kysely<Database>({ dialect: new SqliteDialect({ database: raw.kyselyDatabase() }) }), 'sqlite', raw);
let stopped = new AbortController();
/**
 * Between two batches: the main thread retries a busy BEGIN every millisecond (it must not
 * block), so back-to-back batches here could keep its ingest commits waiting a whole pass.
 */
const PAUSE_MS = 2;
/** The longest the pass's closing checkpoint holds off the other connections' writes. */
const CHECKPOINT_WAIT_MS = 50;

export type MaintenanceRequest = { id: number; op: 'pass'; releaseAll?: boolean } | { id: number; op: 'stop' };
export type MaintenanceReply =
  | { id: number; report: PassReport; removed: Array<[RemovalReason, string, number]> }
  | { id: number; error: string };

parentPort?.on('message', (m: MaintenanceRequest) => {
  if (m.op === 'stop') {
    stopped.abort();
    stopped = new AbortController();
    return;
  }
  const removed: Array<[RemovalReason, string, number]> = [];
  runPass(store, Date.now(), retentionMs, {
    signal: stopped.signal,
    pauseMs: PAUSE_MS,
    checkpointWaitMs: CHECKPOINT_WAIT_MS,
    releaseAll: m.releaseAll === true,
    onRemoved: (reason, table, rows) => {
      if (rows > 0) removed.push([reason, table, rows]);
    },
  }).then(
    (report) => parentPort?.postMessage({ id: m.id, report, removed } satisfies MaintenanceReply),
    (error: unknown) => parentPort?.postMessage({ id: m.id, error: error instanceof Error ? error.message : String(error) } satisfies MaintenanceReply),
  );
});

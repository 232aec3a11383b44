import { parentPort, workerData } from 'node:worker_threads';
import type { ClaimRequest, ResultBatch } from '../queue.js';
import { claimDue } from './claim.js';
import { openSqliteHandle } from './handle.js';
import { BUSY_TIMEOUT_MS, RawSqlite } from './raw.js';
import { recordResults } from './results.js';

/**
 * The queue thread: its own connection to the SQLite file, running claims and result
 * batches while the main thread sends HTTP requests. better-sqlite3 is synchronous, so on
 * the main thread these statements (~40 µs of CPU per delivery) would stop the event loop;
 * here they use the machine's other core. Everything it writes may be lost in a power cut
 * without losing an event (a lease or a result lost is a redelivery), so its connection
 * commits with synchronous=NORMAL.
 */
const { file } = workerData as { file: string };
const raw = new RawSqlite(openSqliteHandle(file, 'normal', 16));
// SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20… ms between tries: while the main
// thread commits ingest batches back to back, a claim would starve for tens or hundreds of
// milliseconds for a lock that frees within one. This thread may block, so it retries
// every 0.1 ms instead (the main thread, which must not block, retries asynchronously).
raw.handle.pragma('busy_timeout = 0');
const BUSY_RETRY_MS = 0.1;
const pause = new Int32Array(new SharedArrayBuffer(4));

function whenFree<T>(fn: () => T): T {
  const deadline = performance.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      return fn();
    } catch (error) {
      const busy = (error as { code?: string }).code === 'SQLITE_BUSY';
      if (!busy || performance.now() > deadline) throw error;
      Atomics.wait(pause, 0, 0, BUSY_RETRY_MS);
    }
  }
}

const claimTx = raw.handle.transaction((r: ClaimRequest) => claimDue(raw, r));
const recordTx = raw.handle.transaction((b: ResultBatch) => recordResults(raw, b));
const claim = (r: ClaimRequest) => whenFree(() => claimTx.immediate(r));
const record = (b: ResultBatch) => whenFree(() => recordTx.immediate(b));

export type QueueRequest = { id: number; op: 'claim'; args: ClaimRequest } | { id: number; op: 'record'; args: ResultBatch };
export type QueueReply = { id: number; result: unknown } | { id: number; error: string };

parentPort?.on('message', (m: QueueRequest) => {
  try {
    const result = m.op === 'claim' ? claim(m.args) : record(m.args);
    parentPort?.postMessage({ id: m.id, result } satisfies QueueReply);
  } catch (error) {
    parentPort?.postMessage({ id: m.id, error: error instanceof Error ? error.message : String(error) } satisfies QueueReply);
  }
});

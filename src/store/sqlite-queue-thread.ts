import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteHandle } from './sqlite-handle.js';
import { RawSqlite } from './raw-sqlite.js';
import type { ClaimRequest, ResultBatch } from './queue.js';
import { claimDue, recordResults } from './sqlite-queue.js';

/**
 * The queue thread: its own connection to the SQLite file, running claims and result
 * batches while the main thread sends HTTP requests. better-sqlite3 is synchronous, so on
 * the main thread these statements (~40 µs of CPU per delivery) would stop the event loop;
 * here they use the machine's other core. Everything it writes may be lost in a power cut
 * without losing an event (a lease or a result lost is a redelivery), so its connection
 * commits with synchronous=NORMAL.
 */
const { file } = workerData as { file: string };
const raw = new RawSqlite(openSqliteHandle(file, 'normal'));
const claim = raw.handle.transaction((r: ClaimRequest) => claimDue(raw, r));
const record = raw.handle.transaction((b: ResultBatch) => recordResults(raw, b));

export type QueueRequest = { id: number; op: 'claim'; args: ClaimRequest } | { id: number; op: 'record'; args: ResultBatch };
export type QueueReply = { id: number; result: unknown } | { id: number; error: string };

parentPort?.on('message', (m: QueueRequest) => {
  try {
    const result = m.op === 'claim' ? claim.immediate(m.args) : record.immediate(m.args);
    parentPort?.postMessage({ id: m.id, result } satisfies QueueReply);
  } catch (error) {
    parentPort?.postMessage({ id: m.id, error: error instanceof Error ? error.message : String(error) } satisfies QueueReply);
  }
});

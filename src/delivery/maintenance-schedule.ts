import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import type { Store } from '../store/store.js';
import { threadScript } from '../store/thread-script.js';
import { type PassOptions, type PassReport, passInterval, runPass } from './maintenance.js';
import type { MaintenanceReply, MaintenanceRequest } from './maintenance-thread.js';

/** The first run comes a minute after start at the latest, so a process restarted often still cleans up. */
const FIRST_AFTER_MS = 60_000;

export interface MaintenanceOptions {
  retentionMs: number;
  metrics?: Metrics;
  /** SQLite: the database file; the passes then run on a thread of their own (maintenance-thread.ts). */
  sqliteFile?: string;
}

type Runner = { pass(onRemoved: NonNullable<PassOptions['onRemoved']>): Promise<PassReport>; stop(): Promise<void> };

/** Passes in this process (PostgreSQL: the work is the server's; this process only waits). */
function inProcess(store: Store, retentionMs: number): Runner {
  const stopped = new AbortController();
  return {
    pass: (onRemoved) => runPass(store, Date.now(), retentionMs, { signal: stopped.signal, onRemoved }),
    async stop() {
      stopped.abort();
    },
  };
}

/** Passes on a thread with its own SQLite connection, started at the first pass. */
function onThread(file: string, retentionMs: number): Runner {
  let worker: Worker | undefined;
  let next = 1;
  const pending = new Map<number, { resolve: (r: MaintenanceReply) => void; reject: (e: Error) => void }>();
  const start = () => {
    const w = new Worker(threadScript('delivery/maintenance-thread.js'), {
      workerData: { file, retentionMs },
      resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 8 },
    });
    w.on('message', (reply: MaintenanceReply) => {
      pending.get(reply.id)?.resolve(reply);
      pending.delete(reply.id);
    });
    const fail = (error: Error) => {
      worker = undefined;
      for (const call of pending.values()) call.reject(error);
      pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`the maintenance thread exited (${code})`)));
    w.unref();
    return w;
  };
  let current: Promise<MaintenanceReply> | undefined;
  return {
    async pass(onRemoved) {
      worker ??= start();
      const id = next++;
      current = new Promise<MaintenanceReply>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker?.postMessage({ id, op: 'pass' } satisfies MaintenanceRequest);
      });
      const reply = await current;
      if ('error' in reply) throw new Error(reply.error);
      for (const [reason, table, rows] of reply.removed) onRemoved(reason, table, rows);
      return reply.report;
    },
    async stop() {
      const w = worker;
      worker = undefined;
      if (!w) return;
      // Ends a pass between batches (a transaction cut by terminate() would roll back anyway).
      w.postMessage({ id: 0, op: 'stop' } satisfies MaintenanceRequest);
      if (pending.size > 0) await Promise.race([current?.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000))]);
      await w.terminate();
    },
  };
}

/**
 * Housekeeping in worker processes, every `passInterval(retention)` (10 minutes for the
 * default 30 days), the first a minute after start at the latest. Returns the function that
 * stops it (it resolves once a pass under way has stopped).
 */
export function startMaintenance(store: Store, logger: Logger, options: MaintenanceOptions): () => Promise<void> {
  let running = false;
  const every = passInterval(options.retentionMs);
  const runner =
    options.sqliteFile && options.sqliteFile !== ':memory:' ? onThread(options.sqliteFile, options.retentionMs) : inProcess(store, options.retentionMs);
  const run = async () => {
    if (running) return;
    running = true;
    try {
      const report = await runner.pass((reason, table, rows) => {
        if (rows > 0) options.metrics?.rowsRemoved.inc({ table, reason }, rows);
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
  return async () => {
    clearTimeout(first);
    clearInterval(timer);
    await runner.stop();
  };
}

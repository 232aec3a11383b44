// 12. Scaling: scenario 8's run (1 `--role api`, PostgreSQL, 100 endpoints, scenario 2's
// deliveries) with 1, 2 and 4 `--role worker` processes. Per configuration: the total rate,
// each worker's deliveries (counted in the worker by lib/request-count.mjs), and the CPU
// shares of Herald's processes and of PostgreSQL, which together explain where the curve
// bends on a machine whose cores the database, the receiver and the load generator share.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fmtInt, fmtRatio, fmtShare, median, sleep } from '../lib/common.mjs';
import { Scope } from '../lib/procs.mjs';
import { throughputRun } from './throughput.mjs';

export const WORKER_COUNTS = [1, 2, 4];

export async function scaling(ctx) {
  const scope = new Scope('scaling');
  try {
    const countDir = scope.tempDir('herald-bench-counts-');
    const configurations = [];
    for (const workers of WORKER_COUNTS) {
      const runs = [];
      for (let i = 0; i < ctx.sizes.scalingRuns; i++) {
        const run = await throughputRun(ctx, {
          label: `scaling-${workers}w-${i + 1}`,
          events: ctx.sizes.events,
          db: 'postgres',
          roles: ['api', ...Array.from({ length: workers }, () => 'worker')],
          nodeArgs: ['--import', pathToFileURL(ctx.file('lib/request-count.mjs')).href],
          env: { BENCH_REQUEST_COUNT_DIR: countDir },
          collect: ({ workers: procs }) => requestCounts(countDir, procs.map((p) => p.pid)),
        });
        const perWorker = run.collected.map((c) => c.responses + c.errors);
        const summary = {
          workers,
          perSecond: run.perSecond,
          seconds: run.seconds,
          deliveries: run.deliveries,
          partial: run.partial,
          note: run.note,
          perWorkerRequests: perWorker,
          perWorkerPerSecond: perWorker.map((n) => n / run.seconds),
          apiCpuShare: run.heraldCpuShare[0],
          workerCpuShares: run.heraldCpuShare.slice(1),
          heraldCpuShare: run.heraldCpuShare.reduce((a, b) => a + b, 0),
          postgresCpuShare: run.postgresCpuShare,
        };
        // CPU per delivery: work that grows with the workers (claims returning fewer rows,
        // contention on the same rows) bends the curve even before the cores run out.
        summary.heraldCpuUsPerDelivery = (summary.heraldCpuShare * run.seconds * 1e6) / run.deliveries;
        summary.postgresCpuUsPerDelivery = (summary.postgresCpuShare * run.seconds * 1e6) / run.deliveries;
        ctx.log(
          `  ${workers} worker${workers > 1 ? 's' : ''}: ${fmtInt(summary.perSecond)} deliveries/s; per worker ${perWorker.map(fmtInt).join(' / ')}; ` +
            `Herald CPU ${fmtShare(summary.heraldCpuShare)} (api ${fmtShare(summary.apiCpuShare)}, workers ${summary.workerCpuShares.map(fmtShare).join(' ')}), PostgreSQL ${fmtShare(summary.postgresCpuShare)}; ` +
            `per delivery Herald ${fmtInt(summary.heraldCpuUsPerDelivery)} µs, PostgreSQL ${fmtInt(summary.postgresCpuUsPerDelivery)} µs${run.note}`,
        );
        runs.push(summary);
      }
      const mid = median(runs.map((r) => r.perSecond));
      configurations.push({ workers, perSecond: mid, runs, representative: runs.find((r) => r.perSecond === mid) ?? runs[0] });
    }
    const base = configurations[0].perSecond;
    return {
      configurations,
      rows: configurations.map((c) => {
        const r = c.representative;
        return {
          scenario: `12 scaling: PostgreSQL, 1 api + ${c.workers} worker${c.workers > 1 ? 's' : ''} (${fmtInt(r.deliveries)} deliveries)`,
          figure:
            `${fmtInt(c.perSecond)} deliveries/s${c.runs.length > 1 ? ` (median of ${c.runs.length})` : ''}; per worker ${r.perWorkerPerSecond.map(fmtInt).join(' / ')}/s; ` +
            `CPU (100% = 1 core): Herald ${fmtShare(r.heraldCpuShare)}, PostgreSQL ${fmtShare(r.postgresCpuShare)}; ` +
            `per delivery ${fmtInt(r.heraldCpuUsPerDelivery)} + ${fmtInt(r.postgresCpuUsPerDelivery)} µs${r.note}`,
          ratio: `${fmtRatio(c.perSecond / base)} 1 worker, ${fmtRatio(c.perSecond / ctx.ceiling)} ceiling`,
          target: '—',
          met: '',
        };
      }),
    };
  } finally {
    await scope.close();
  }
}

/** Asks each worker (SIGUSR2) for its request counts and reads them back. */
async function requestCounts(dir, pids) {
  const asked = Date.now();
  for (const pid of pids) process.kill(pid, 'SIGUSR2');
  return Promise.all(
    pids.map(async (pid) => {
      const file = join(dir, `requests-${pid}.json`);
      for (let i = 0; i < 100; i++) {
        if (existsSync(file)) {
          const counts = JSON.parse(readFileSync(file, 'utf8'));
          if (counts.at >= asked) return counts;
        }
        await sleep(20);
      }
      throw new Error(`worker ${pid} wrote no request counts (is lib/request-count.mjs preloaded?)`);
    }),
  );
}

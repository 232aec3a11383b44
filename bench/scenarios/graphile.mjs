// 14. The other PostgreSQL alternative: graphile-worker (baselines/graphile-worker/), in a
// fresh schema, one job per (event, endpoint) added with addJobs, a task posting with the
// same undici code to the same receiver as 9 and 13. Herald-on-PostgreSQL (8) over it.
import { randomBytes } from 'node:crypto';
import { fmtInt, fmtRatio, fmtShare, verdict } from '../lib/common.mjs';
import { baselineRun } from '../lib/baseline-run.mjs';
import { schemaRows } from '../lib/schema-rows.mjs';
import { heraldOnPostgresRatio } from './postgres.mjs';

export async function graphile(ctx) {
  const run = await baselineRun(ctx, {
    label: 'graphile',
    worker: ctx.file('baselines/graphile-worker/worker.mjs'),
    producer: ctx.file('baselines/graphile-worker/producer.mjs'),
    args: (scope) => ({ schema: scope.pgSchema(), name: `herald-bench-${randomBytes(4).toString('hex')}` }),
    events: ctx.sizes.events,
    postgres: true,
    // A job that succeeds is deleted; a failing one keeps one row with attempts and
    // last_error until it succeeds or runs out of attempts.
    keeps: async ({ args }) => ({ rows: await schemaRows(args.schema) }),
  });
  const ratio = heraldOnPostgresRatio(ctx, run.perSecond);
  const w = run.worker;
  return {
    ...run,
    ratioToCeiling: run.perSecond / ctx.ceiling,
    heraldPostgresOverIt: ratio.value,
    rows: [
      {
        scenario: `14 alternative: graphile-worker + undici (${fmtInt(run.target)} deliveries; concurrency ${w.concurrency}, local queue ${w.localQueue})`,
        figure: `${fmtInt(run.perSecond)} deliveries/s (${fmtRatio(run.perSecond / ctx.ceiling)} ceiling; worker CPU ${fmtShare(run.workerCpuShare)}, PostgreSQL ${fmtShare(run.postgresCpuShare)})${run.note}`,
        ratio: ratio.text,
        target: 'Herald-PG ≥ 1.5× it',
        met: verdict(ratio.value >= 1.5, ratio.value),
      },
    ],
  };
}

// 13. The PostgreSQL alternative a team would take first: BullMQ 6 on its PostgreSQL
// backend (baselines/bullmq-postgres/), in a fresh schema, one job per (event, endpoint),
// the same undici worker and receiver as 9. Herald-on-PostgreSQL (scenario 8) over it.
import { randomBytes } from 'node:crypto';
import { fmtInt, fmtRatio, fmtShare, verdict } from '../lib/common.mjs';
import { baselineRun } from '../lib/baseline-run.mjs';
import { schemaRows } from '../lib/schema-rows.mjs';
import { heraldOnPostgresRatio } from './postgres.mjs';

export async function bullmqPostgres(ctx) {
  const run = await baselineRun(ctx, {
    label: 'bullmq-postgres',
    worker: ctx.file('baselines/bullmq-postgres/worker.mjs'),
    producer: ctx.file('baselines/bullmq-postgres/producer.mjs'),
    args: (scope) => ({ name: `herald-bench-${randomBytes(4).toString('hex')}`, schema: scope.pgSchema() }),
    events: ctx.sizes.events,
    postgres: true,
    // removeOnComplete: a delivered job leaves no row; a failed one keeps its last error
    // (failedReason, stacktrace) and attemptsMade, the last 1,000 of them.
    keeps: async ({ producer, args }) => ({ jobCounts: await producer.call('counts'), rows: await schemaRows(args.schema) }),
  });
  const ratio = heraldOnPostgresRatio(ctx, run.perSecond);
  return {
    ...run,
    ratioToCeiling: run.perSecond / ctx.ceiling,
    heraldPostgresOverIt: ratio.value,
    rows: [
      {
        scenario: `13 alternative: BullMQ 6 on PostgreSQL + undici (${fmtInt(run.target)} deliveries)`,
        figure: `${fmtInt(run.perSecond)} deliveries/s (${fmtRatio(run.perSecond / ctx.ceiling)} ceiling; worker CPU ${fmtShare(run.workerCpuShare)}, PostgreSQL ${fmtShare(run.postgresCpuShare)})${run.note}`,
        ratio: ratio.text,
        target: 'Herald-PG ≥ 3× it',
        met: verdict(ratio.value >= 3, ratio.value),
      },
    ],
  };
}

// 8. PostgreSQL: as throughput, with one `--role api` and two `--role worker` processes
// on the local PostgreSQL, in a fresh schema (dropped afterwards). Its rate is the
// numerator of the PostgreSQL baselines' ratios (13, 14).
import { fmtInt, fmtRatio, fmtShare } from '../lib/common.mjs';
import { throughputRun } from './throughput.mjs';

export async function postgres(ctx) {
  const run = await throughputRun(ctx, {
    label: 'postgres',
    events: ctx.sizes.events,
    db: 'postgres',
    roles: ['api', 'worker', 'worker'],
  });
  ctx.postgres = run.perSecond;
  const heraldCpu = run.heraldCpuShare.reduce((a, b) => a + b, 0);
  return {
    ...run,
    ratioToCeiling: run.perSecond / ctx.ceiling,
    ratioToThroughput: run.perSecond / ctx.throughput,
    rows: [
      {
        scenario: `8 PostgreSQL (1 api + 2 workers, ${fmtInt(run.target)} deliveries)`,
        figure: `${fmtInt(run.perSecond)} deliveries/s (Herald CPU ${fmtShare(heraldCpu)}, PostgreSQL ${fmtShare(run.postgresCpuShare)})${run.note}`,
        ratio: `${fmtRatio(run.perSecond / ctx.ceiling)} ceiling${ctx.throughput ? `, ${fmtRatio(run.perSecond / ctx.throughput)} SQLite${ctx.throughputLabel === 'scenario 2' ? '' : ` (${ctx.throughputLabel})`}` : ''}`,
        target: '—',
        met: '',
      },
    ],
  };
}

/** Herald on PostgreSQL (scenario 8, this run or --reference) over a baseline's rate. */
export function heraldOnPostgresRatio(ctx, baselinePerSecond) {
  if (!ctx.postgres) return { value: undefined, text: 'Herald-PG: 8 not run' };
  const value = ctx.postgres / baselinePerSecond;
  return { value, text: `Herald-PG = ${fmtRatio(value)} it${ctx.postgresLabel === 'scenario 8' ? '' : ` (${ctx.postgresLabel})`}` };
}

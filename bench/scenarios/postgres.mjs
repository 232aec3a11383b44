// 8. PostgreSQL: as throughput, with one `--role api` and two `--role worker` processes
// on the local PostgreSQL, in a fresh schema (dropped afterwards).
import { fmtInt, fmtRatio } from '../lib/common.mjs';
import { throughputRun } from './throughput.mjs';

export async function postgres(ctx) {
  const run = await throughputRun(ctx, {
    label: 'postgres',
    events: ctx.sizes.events,
    db: 'postgres',
    roles: ['api', 'worker', 'worker'],
  });
  return {
    ...run,
    ratioToCeiling: run.perSecond / ctx.ceiling,
    ratioToThroughput: run.perSecond / ctx.throughput,
    rows: [
      {
        scenario: `8 PostgreSQL (1 api + 2 workers, ${fmtInt(run.target)} deliveries)`,
        figure: `${fmtInt(run.perSecond)} deliveries/s${run.note}`,
        ratio: `${fmtRatio(run.perSecond / ctx.ceiling)} ceiling${ctx.throughput ? `, ${fmtRatio(run.perSecond / ctx.throughput)} SQLite${ctx.throughputLabel === 'scenario 2' ? '' : ` (${ctx.throughputLabel})`}` : ''}`,
        target: '—',
        met: '',
      },
    ],
  };
}

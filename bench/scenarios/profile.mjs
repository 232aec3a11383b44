// Not part of the default run (`--only profile` or `--profile`): scenario 2 once with the
// V8 CPU profiler on the Herald process (over the inspector, from the first batch to the
// last delivery), then once more with every SQLite statement timed (a separate run: the
// timing wrapper would distort the CPU profile). The .cpuprofile and the summary go to
// bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmtInt } from '../lib/common.mjs';
import { formatSummary, summarizeProfile } from '../profile-summary.mjs';
import { throughputRun } from './throughput.mjs';

export async function profile(ctx) {
  const dir = join(ctx.resultsDir, 'profiles');
  mkdirSync(dir, { recursive: true });
  const run = await throughputRun(ctx, { label: 'profile', events: ctx.sizes.events, profile: 'cpu' });
  const file = join(dir, `throughput-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
  writeFileSync(file, JSON.stringify(run.cpuProfile));
  const summary = summarizeProfile(run.cpuProfile, 30);
  delete run.cpuProfile;
  const sqlRun = await throughputRun(ctx, { label: 'profile-sql', events: ctx.sizes.events, profile: 'sql' });
  const sql = sqlRun.sql;
  const sqlText = sql
    ? [
        `SQLite statements in the window of a second run (${fmtInt(sqlRun.deliveries)} deliveries in ${sqlRun.seconds.toFixed(1)} s, ` +
          `${fmtInt(sqlRun.perSecond)}/s instrumented; ${sql.prepare.calls} prepares, ${sql.prepare.ms} ms):`,
        ...sql.statements.slice(0, 15).map((s) => `  ${String(s.ms).padStart(8)} ms ${String(s.calls).padStart(7)}×  ${s.sql}`),
      ].join('\n')
    : '';
  const header = `CPU profile of ${fmtInt(run.deliveries)} deliveries in ${run.seconds.toFixed(1)} s (${fmtInt(run.perSecond)}/s while profiling; Herald CPU ${(run.heraldCpuShare[0] * 100).toFixed(0)}% of a core)`;
  const text = `${header}\n${formatSummary(summary)}\n${sqlText}`;
  writeFileSync(join(ctx.resultsDir, 'profile-throughput.txt'), `${file}\n${text}\n`);
  ctx.log(text);
  ctx.log(`  profile written to ${file} (open it in Chrome DevTools or speedscope)`);
  return {
    file,
    perSecond: run.perSecond,
    summary,
    sql,
    rows: [
      {
        scenario: 'profile: scenario 2 under the CPU profiler',
        figure: `${fmtInt(run.perSecond)} deliveries/s while profiling; top: ${summary.byModule
          .filter((m) => !m.name.startsWith('('))
          .slice(0, 3)
          .map((m) => `${m.name} ${m.percent}%`)
          .join(', ')}`,
        ratio: '—',
        target: '—',
        met: '',
      },
    ],
  };
}

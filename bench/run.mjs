#!/usr/bin/env node
// Herald benchmark suite. `npm run bench [-- --quick] [-- --only a,b] [-- --profile]`.
// Prints one table and writes bench/results/latest.json and latest.md. See bench/README.md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_DIR, HERALD_MAIN, HERALD_OVERRIDES, ROOT, childCpu, cleanupAll, installExitHandlers, interrupted, machineCpuMs } from './lib/procs.mjs';
import { postgresCpuMsBetween, readPostgresCpu } from './lib/postgres-cpu.mjs';
import { backlog } from './scenarios/backlog.mjs';
import { bullmq } from './scenarios/bullmq.mjs';
import { bullmqPostgres } from './scenarios/bullmq-postgres.mjs';
import { ceiling } from './scenarios/ceiling.mjs';
import { fanout } from './scenarios/fanout.mjs';
import { graphile } from './scenarios/graphile.mjs';
import { ingest } from './scenarios/ingest.mjs';
import { isolation } from './scenarios/isolation.mjs';
import { latency, latencyPostgres } from './scenarios/latency.mjs';
import { noisyTenant } from './scenarios/noisy-tenant.mjs';
import { postgres } from './scenarios/postgres.mjs';
import { profile } from './scenarios/profile.mjs';
import { retention } from './scenarios/retention.mjs';
import { scaling } from './scenarios/scaling.mjs';
import { throughput } from './scenarios/throughput.mjs';

const SCENARIOS = [
  ['ceiling', ceiling],
  ['throughput', throughput],
  ['latency', latency],
  ['latency-postgres', latencyPostgres],
  ['fanout', fanout],
  ['isolation', isolation],
  ['backlog', backlog],
  ['ingest', ingest],
  ['postgres', postgres],
  ['bullmq', bullmq],
  ['noisy', noisyTenant],
  ['retention', retention],
  ['scaling', scaling],
  ['bullmq-postgres', bullmqPostgres],
  ['graphile', graphile],
];
const EXTRA = [['profile', profile]];
// Scenarios whose work includes the local PostgreSQL server's: its CPU is the bench's there.
const USES_POSTGRES = new Set(['postgres', 'latency-postgres', 'scaling', 'bullmq-postgres', 'graphile']);
const ALIASES = { 1: 'ceiling', 2: 'throughput', 3: 'latency', '3b': 'latency-postgres', 4: 'fanout', 5: 'isolation', 6: 'backlog', 7: 'ingest', 8: 'postgres', 9: 'bullmq', 10: 'noisy', 11: 'retention', 12: 'scaling', 13: 'bullmq-postgres', 14: 'graphile', pg: 'postgres', sqlite: 'throughput', 'graphile-worker': 'graphile' };

const SIZES = {
  full: {
    ceilingWindows: 3,
    ceilingMs: 3000,
    throughputRuns: 3,
    events: 2000, // × 100 subscriptions = 200,000 deliveries
    latencyRate: 1000,
    latencyMs: 30_000,
    latencyWarmupMs: 3000, // not timed; then its deliveries are waited for
    fanoutEndpoints: 1000,
    fanoutRounds: 6,
    backlogEvents: 10_000, // × 100 = 1,000,000 deliveries
    ingestMs: 10_000,
    ingestWarmupMs: 1000,
    // Budgets: past them a run stops waiting and reports the rate of what arrived (partial).
    deliveryBudgetMs: 120_000,
    drainBudgetMs: 300_000,
    latencyTailMs: 30_000,
    fanoutBudgetMs: 30_000,
    noisyMs: 10_000, // each of the two windows: the other tenant alone, then beside the noisy one
    noisyQuietRate: 100,
    noisyWorkers: 1, // 0: --role api (ingest alone, no deliveries in the same process)
    noisyProfile: 0, // 1: also CPU-profile the shared window (results/profiles/)
    retentionMs: 70_000, // each run (with and without retention)
    retentionSeconds: 10,
    retentionPairs: 2, // without, with, without, with: the median ratio
    retentionEndpoints: 50,
    retentionEventsPerBatch: 40, // × 50 = 2,000 deliveries per batch
    retentionWindow: 20_000, // deliveries outstanding at most (closed loop)
    scalingRuns: 1, // runs per worker count (1, 2, 4 workers); the median when more
  },
  quick: {
    ceilingWindows: 3,
    ceilingMs: 1000,
    throughputRuns: 3,
    events: 200, // 20,000 deliveries
    latencyRate: 1000,
    latencyMs: 5000,
    latencyWarmupMs: 1000,
    fanoutEndpoints: 1000,
    fanoutRounds: 2,
    backlogEvents: 1000, // 100,000 deliveries
    ingestMs: 3000,
    ingestWarmupMs: 500,
    deliveryBudgetMs: 3500,
    drainBudgetMs: 6000,
    latencyTailMs: 2000,
    fanoutBudgetMs: 6000,
    noisyMs: 3000,
    noisyQuietRate: 100,
    noisyWorkers: 1,
    noisyProfile: 0,
    retentionMs: 20_000,
    retentionSeconds: 5,
    retentionPairs: 1,
    retentionEndpoints: 50,
    retentionEventsPerBatch: 40,
    retentionWindow: 20_000,
    scalingRuns: 1,
  },
};

const USAGE = `usage: npm run bench -- [--quick] [--only name,…] [--profile]
  --quick      smaller counts (20k deliveries, 5 s latency, 100k backlog, 20 s of retention load) and short time budgets
               (a run past its budget reports the rate of what arrived, marked partial)
  --only       comma-separated scenarios (or their numbers): ${SCENARIOS.map(([n]) => n).join(', ')}, profile
               (the ceiling is always measured: every ratio is relative to it)
  --profile    also run scenario 2 under the CPU profiler (and once with SQLite timings) and summarise
  --herald-env HERALD_X=value   extra setting for every Herald process (repeatable; NODE_OPTIONS too), e.g. to try a tuning
  --size key=value             override one of the sizes (e.g. events=500, throughputRuns=1) for development
  --reference results.json      take scenario 2's (and 8's) figure from an earlier run when it is not run now
                                (ratios of 5, 6, 8, 9, 13, 14 then say which run they refer to)`;

/** `--size events=500` overrides one of SIZES for a development run. */
function withOverrides(sizes, overrides) {
  const out = { ...sizes };
  for (const o of overrides) {
    const [key, value] = o.split('=');
    if (!(key in out) || !Number.isFinite(Number(value))) throw new Error(`--size ${o}: expected one of ${Object.keys(out).join(', ')} = a number`);
    out[key] = Number(value);
  }
  return out;
}

function git(args) {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function machine() {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model,
    memoryMb: Math.round(os.totalmem() / 1024 / 1024),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverageAtStart: os.loadavg().map((l) => +l.toFixed(2)),
  };
}

function pad(text, width) {
  return text + ' '.repeat(Math.max(0, width - [...text].length));
}

function textTable(rows) {
  const head = { scenario: 'scenario', figure: 'figure', ratio: 'ratio', target: 'target', met: 'met?', others: 'other load' };
  const cols = Object.keys(head);
  const widths = cols.map((c) => Math.max(...[head, ...rows].map((r) => [...String(r[c] ?? '')].length)));
  const line = (r) => cols.map((c, i) => pad(String(r[c] ?? ''), widths[i])).join(' │ ');
  return [line(head), widths.map((w) => '─'.repeat(w)).join('─┼─'), ...rows.map(line)].join('\n');
}

function markdownTable(rows) {
  const esc = (s) => String(s ?? '').replace(/\|/g, '\\|');
  return [
    '| scenario | figure | ratio | target | met? | other load |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${esc(r.scenario)} | ${esc(r.figure)} | ${esc(r.ratio)} | ${esc(r.target)} | ${esc(r.met)} | ${esc(r.others)} |`),
  ].join('\n');
}

async function main() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      profile: { type: 'boolean', default: false },
      'herald-env': { type: 'string', multiple: true, default: [] },
      size: { type: 'string', multiple: true, default: [] },
      reference: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const all = new Map([...SCENARIOS, ...EXTRA]);
  let selected = SCENARIOS.map(([n]) => n);
  if (values.only) {
    const wanted = values.only.split(',').map((s) => s.trim()).filter(Boolean).map((s) => ALIASES[s] ?? s);
    const unknown = wanted.filter((w) => !all.has(w));
    if (unknown.length) {
      console.error(`unknown scenario(s): ${unknown.join(', ')}\n${USAGE}`);
      return 2;
    }
    selected = [...all.keys()].filter((n) => n === 'ceiling' || wanted.includes(n));
  }
  if (values.profile && !selected.includes('profile')) selected.push('profile');
  if (!existsSync(HERALD_MAIN)) {
    console.error(`${HERALD_MAIN} is missing: run npm run build (npm run bench does it).`);
    return 2;
  }

  for (const pair of values['herald-env']) {
    const m = /^(HERALD_[A-Z0-9_]+|NODE_OPTIONS)=(.*)$/.exec(pair);
    if (!m) {
      console.error(`--herald-env wants HERALD_NAME=value or NODE_OPTIONS=…, got "${pair}"`);
      return 2;
    }
    HERALD_OVERRIDES[m[1]] = m[2];
  }
  installExitHandlers();
  const mode = values.quick ? 'quick' : 'full';
  const resultsDir = join(BENCH_DIR, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const started = Date.now();
  const info = {
    date: new Date().toISOString(),
    mode,
    scenarios: selected,
    heraldEnv: { ...HERALD_OVERRIDES },
    heraldMain: HERALD_MAIN,
    git: {
      commit: git(['rev-parse', 'HEAD']),
      // Other work in progress changes what was measured: say so.
      uncommittedSrcFiles: (git(['status', '--porcelain', '--', 'src']) ?? '').split('\n').filter(Boolean).length,
    },
    machine: machine(),
  };
  const ctx = {
    quick: values.quick,
    sizes: withOverrides(SIZES[mode], values.size),
    resultsDir,
    file: (rel) => join(BENCH_DIR, rel),
    log: (msg) => console.log(msg),
    ceiling: undefined,
    throughput: undefined,
    throughputLabel: 'scenario 2',
    postgres: undefined, // Herald on PostgreSQL (scenario 8): the numerator of 13 and 14
    postgresLabel: 'scenario 8',
  };
  if (values.reference) {
    const ref = JSON.parse(readFileSync(values.reference, 'utf8'));
    const value = ref.results?.throughput?.perSecond;
    const pgValue = ref.results?.postgres?.perSecond;
    const wantsThroughput = !selected.includes('throughput');
    const wantsPostgres = !selected.includes('postgres') && Number.isFinite(pgValue);
    if (wantsThroughput && !Number.isFinite(value) && !wantsPostgres) {
      console.error(`${values.reference} has no scenario 2 (throughput) or 8 (postgres) figure`);
      return 2;
    }
    info.reference = { file: values.reference, date: ref.date };
    if (wantsThroughput && Number.isFinite(value)) {
      ctx.throughput = value;
      ctx.throughputLabel = `scenario 2 of ${ref.date}`;
      info.reference.throughputPerSecond = value;
    }
    if (wantsPostgres) {
      ctx.postgres = pgValue;
      ctx.postgresLabel = `scenario 8 of ${ref.date}`;
      info.reference.postgresPerSecond = pgValue;
    }
  }
  console.log(
    `Herald bench (${mode}) — ${info.machine.cores} cores (${info.machine.cpuModel}), ${info.machine.memoryMb} MB, node ${info.machine.node}, ` +
      `commit ${info.git.commit?.slice(0, 12) ?? '?'}${info.git.uncommittedSrcFiles ? ` + ${info.git.uncommittedSrcFiles} uncommitted src files` : ''}`,
  );
  if (Object.keys(HERALD_OVERRIDES).length) console.log(`Herald settings: ${JSON.stringify(HERALD_OVERRIDES)}`);
  console.log(
    'Receiver, load generator and Herald are separate processes on 127.0.0.1 sharing these cores; ' +
      'every rate is also given as a ratio to the ceiling measured in this run.',
  );
  const load = os.loadavg()[0];
  if (load > info.machine.cores * 0.5) {
    console.log(`warning: load average ${load.toFixed(2)} before the run: other work on this machine skews the figures.`);
  }

  const results = {};
  const rows = [];
  let failures = 0;
  for (const name of selected) {
    if (interrupted.signal) break;
    const fn = all.get(name);
    const t0 = Date.now();
    const cpu0 = { machine: machineCpuMs(), children: childCpu.ms, self: process.cpuUsage(), postgres: USES_POSTGRES.has(name) ? readPostgresCpu() : undefined };
    // The share of the machine's CPU used by processes outside the bench during a scenario:
    // other work on the machine that the figures compete with (PostgreSQL is the bench's
    // own in the scenarios that use it).
    const otherLoad = () => {
      const self = process.cpuUsage(cpu0.self);
      const postgresMs = cpu0.postgres ? postgresCpuMsBetween(cpu0.postgres, readPostgresCpu()) : 0;
      const ours = childCpu.ms - cpu0.children + (self.user + self.system) / 1000 + postgresMs;
      const wall = Date.now() - t0;
      return Math.max(0, (machineCpuMs() - cpu0.machine - ours) / (wall * os.cpus().length));
    };
    console.log(`\n▶ ${name}`);
    try {
      const result = await fn(ctx);
      result.elapsedSeconds = +((Date.now() - t0) / 1000).toFixed(1);
      result.otherProcessesCpuShare = +otherLoad().toFixed(3);
      if (result.otherProcessesCpuShare > 0.1) {
        console.log(`  note: processes outside the bench used ${(result.otherProcessesCpuShare * 100).toFixed(0)}% of the machine's CPU meanwhile`);
      }
      results[name] = result;
      const others = `${Math.round(result.otherProcessesCpuShare * 100)}%`;
      rows.push(...result.rows.map((r) => ({ ...r, others })));
      for (const r of result.rows) console.log(`  ${r.scenario}: ${r.figure} — ${r.ratio}${r.met ? ` (target ${r.target}: ${r.met})` : ''}`);
    } catch (error) {
      if (interrupted.signal) break;
      failures++;
      const message = error instanceof Error ? error.message : String(error);
      results[name] = { error: message, elapsedSeconds: +((Date.now() - t0) / 1000).toFixed(1), otherProcessesCpuShare: +otherLoad().toFixed(3) };
      rows.push({ scenario: name, figure: `ERROR: ${message.split('\n')[0]}`, ratio: '', target: '', met: 'n/a' });
      console.error(`  ${name} failed after ${((Date.now() - t0) / 1000).toFixed(1)} s:\n${message}`);
      if (name === 'ceiling') ctx.ceiling = NaN;
    }
  }
  if (interrupted.signal) {
    await cleanupAll();
    return 130;
  }
  info.machine.loadAverageAtEnd = os.loadavg().map((l) => +l.toFixed(2));
  info.elapsedSeconds = +((Date.now() - started) / 1000).toFixed(1);
  const note =
    `${info.machine.cores} cores shared by Herald, the receiver and the load generator (separate processes, 127.0.0.1); ` +
    `ratios are to the ceiling measured in the same run. "other load": share of the machine's CPU used by processes ` +
    `outside the bench during that scenario (above ~10% the figures are depressed). ${mode} mode, ${info.elapsedSeconds} s, ${info.date}.`;

  console.log(`\n${textTable(rows)}\n${note}`);
  const output = { ...info, ceilingRequestsPerSecond: ctx.ceiling, table: rows, results };
  writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(output, null, 2)}\n`);
  writeFileSync(
    join(resultsDir, 'latest.md'),
    `# Herald bench — ${mode}\n\n` +
      `${info.date} · commit \`${info.git.commit ?? '?'}\`${info.git.uncommittedSrcFiles ? ` (+${info.git.uncommittedSrcFiles} uncommitted src files)` : ''} · ` +
      `${info.machine.cores} × ${info.machine.cpuModel} · ${info.machine.memoryMb} MB · node ${info.machine.node} · ` +
      `load average ${info.machine.loadAverageAtStart.join(' ')} → ${info.machine.loadAverageAtEnd.join(' ')}\n\n` +
      `${markdownTable(rows)}\n\n${note}\n`,
  );
  console.log(`wrote ${join('bench', 'results', 'latest.json')} and latest.md`);
  return failures ? 1 : 0;
}

main()
  .then(async (code) => {
    await cleanupAll();
    process.exit(code);
  })
  .catch(async (error) => {
    console.error(error);
    await cleanupAll();
    process.exit(1);
  });

// Preloaded (node --import) into a Herald process for the latency scenario: a per-second
// timeline of what could make a delivery late, written as JSON lines to
// $BENCH_TIMELINE_FILE.<pid>.<thread>.jsonl by every thread (the SQLite queue thread inherits the
// preload): the event loop's worst delay and the longest GC pause (per thread), and the
// time spent in each kind of SQL statement (count, total, longest) — SQLite statements
// through better-sqlite3, PostgreSQL ones through pg. Kinds are told apart by their text.
import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks';
import { threadId } from 'node:worker_threads';
import { timeStatements } from './statement-timer.mjs';

const file = process.env.BENCH_TIMELINE_FILE;

const KINDS = [
  ['claim', /^(select id, connection_id from deliveries|update deliveries set next_attempt_at = \?, leased = 1|with scanned as)/],
  ['next due', /^select min\("next_attempt_at"\)/],
  ['results', /^(insert into attempts|update deliveries (d )?set (status|next_attempt_at = \$3)|update connections|insert into (delivery|connection)_outcomes|select id from connections|update subscriptions set is_active = 0)/],
  ['ingest', /^(insert into "events"|insert into deliveries|insert into "idempotency_keys"|select .* from "subscriptions")/],
  ['commit', /^(commit|begin)/i],
  ['checkpoint', /wal_checkpoint|incremental_vacuum/],
];
const kindOf = (text) => {
  const t = text.trimStart();
  for (const [kind, re] of KINDS) if (re.test(t)) return kind;
  return 'other';
};

if (file) {
  let sql = {};
  // BENCH_TIMELINE_OTHER=1: the texts behind "other", by their first words (to name new kinds).
  const others = process.env.BENCH_TIMELINE_OTHER ? new Map() : undefined;
  const add = (kind, ms, text = '') => {
    if (others && kind === 'other') {
      const key = text.trim().slice(0, 90);
      others.set(key, (others.get(key) ?? 0) + 1);
    }
    const k = (sql[kind] ??= { n: 0, ms: 0, maxMs: 0 });
    k.n++;
    k.ms += ms;
    if (ms > k.maxMs) k.maxMs = ms;
  };
  const require = createRequire(process.argv[1] ?? import.meta.url);
  try {
    const SQLite = require('better-sqlite3');
    timeStatements(SQLite, (text) => {
      const kind = kindOf(text);
      return (ms) => add(kind, ms, text);
    });
  } catch {
    // No SQLite in this process.
  }
  try {
    const pg = require('pg');
    const query = pg.Client.prototype.query;
    pg.Client.prototype.query = function timedQuery(config, values, callback) {
      const text = typeof config === 'string' ? config : config?.text ?? '';
      const t = performance.now();
      const kind = kindOf(text);
      const done = () => add(kind, performance.now() - t, text);
      // pg-pool's query passes a callback; Kysely's driver takes the promise.
      if (typeof values === 'function' || typeof callback === 'function') {
        const cb = typeof values === 'function' ? values : callback;
        const timed = (...args) => {
          done();
          return cb(...args);
        };
        return typeof values === 'function' ? query.call(this, config, timed) : query.call(this, config, values, timed);
      }
      const result = query.call(this, config, values, callback);
      if (result && typeof result.then === 'function') result.then(done, () => undefined);
      return result;
    };
  } catch {
    // No pg in this process.
  }
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  let gcMaxMs = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMaxMs = Math.max(gcMaxMs, entry.duration);
  }).observe({ entryTypes: ['gc'] });
  const out = `${file}.${process.pid}.${threadId}.jsonl`;
  setInterval(() => {
    const round = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, { n: v.n, ms: +v.ms.toFixed(2), maxMs: +v.maxMs.toFixed(2) }]));
    appendFileSync(
      out,
      `${JSON.stringify({ second: Math.floor(Date.now() / 1000), loopMaxMs: +(loop.max / 1e6).toFixed(2), gcMaxMs: +gcMaxMs.toFixed(2), sql: round(sql) })}\n`,
    );
    if (others) {
      appendFileSync(`${out}.other`, `${JSON.stringify([...others.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15))}\n`);
      others.clear();
    }
    loop.reset();
    gcMaxMs = 0;
    sql = {};
  }, 1000).unref();
}

// Preloaded (node --import) into a profiled Herald: times every better-sqlite3 statement
// by SQL text (prepare included). SIGUSR2 writes the table so far to
// $BENCH_SQL_TIMING_FILE and starts over, so the bench reads exactly its measured window.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { timeStatements } from './statement-timer.mjs';

const file = process.env.BENCH_SQL_TIMING_FILE;
let SQLite;
try {
  SQLite = createRequire(process.argv[1])('better-sqlite3');
} catch {
  SQLite = undefined;
}

if (SQLite && file) {
  let stats = new Map();
  let prepare = { calls: 0, ms: 0 };
  const shape = (sql) => sql.replace(/\?(, \?)+/g, '?, …').replace(/\((\?, …)\)(, \(\?, …\))+/g, '($1), …');
  timeStatements(
    SQLite,
    (sql) => {
      const key = shape(sql);
      return (ms) => {
        const entry = stats.get(key) ?? { calls: 0, ms: 0 };
        entry.calls++;
        entry.ms += ms;
        stats.set(key, entry);
      };
    },
    (ms) => {
      prepare.calls++;
      prepare.ms += ms;
    },
  );
  process.on('SIGUSR2', () => {
    const statements = [...stats.entries()]
      .map(([sql, s]) => ({ sql: sql.slice(0, 200), calls: s.calls, ms: +s.ms.toFixed(1) }))
      .sort((a, b) => b.ms - a.ms);
    writeFileSync(file, JSON.stringify({ at: Date.now(), prepare: { calls: prepare.calls, ms: +prepare.ms.toFixed(1) }, statements }));
    stats = new Map();
    prepare = { calls: 0, ms: 0 };
  });
}

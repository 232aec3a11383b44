// Wraps better-sqlite3's prepare so that every run of every statement is timed: `record(text)`
// is called once per prepared text and returns the function that takes each run's milliseconds.
// Shared by the profile's per-statement table (sql-timing.mjs) and the latency timeline.
export function timeStatements(SQLite, record, onPrepare = () => undefined) {
  const prepare = SQLite.prototype.prepare;
  SQLite.prototype.prepare = function timedPrepare(text, ...rest) {
    const t0 = performance.now();
    const statement = prepare.call(this, text, ...rest);
    onPrepare(performance.now() - t0);
    const took = record(text);
    for (const method of ['all', 'run', 'get']) {
      const run = statement[method];
      statement[method] = function timed(...args) {
        const t = performance.now();
        try {
          return run.apply(this, args);
        } finally {
          took(performance.now() - t);
        }
      };
    }
    return statement;
  };
}

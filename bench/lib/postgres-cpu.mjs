// CPU used by the local PostgreSQL server: every process named `postgres` (postmaster,
// backends, background writers), from /proc/<pid>/stat. Backends come and go during a run:
// a reading keeps each process's time and the postmaster's reaped children's (cutime +
// cstime), and the difference of two readings counts each process's time in between once.
import { readdirSync, readFileSync } from 'node:fs';

/** Map pid → CPU ms so far (the postmaster's includes its exited children). */
export function readPostgresCpu() {
  const out = new Map();
  let names;
  try {
    names = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (comm !== 'postgres') continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime, stime, cutime, cstime: fields 14–17 (1-based), 11–14 after the comm field.
      const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
      out.set(name, (ticks * 1000) / 100);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/**
 * CPU ms PostgreSQL used between two readings. A process born since counts from zero; one
 * that exited since has its whole life in the postmaster's reaped-children time, so what
 * it had used before the first reading comes off again.
 */
export function postgresCpuMsBetween(before, after) {
  let ms = 0;
  for (const [pid, now] of after) ms += Math.max(0, now - (before.get(pid) ?? 0));
  for (const [pid, then] of before) if (!after.has(pid)) ms -= then;
  return Math.max(0, ms);
}

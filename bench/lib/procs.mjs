// Child processes, temporary directories and PostgreSQL schemas of the bench, each owned by
// a Scope (one scenario run). Whatever happens — success, error, Ctrl-C — every process
// is killed (by its pid) and every directory and schema removed.
import { fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { rpcClient } from './rpc.mjs';
import { sleep } from './common.mjs';

export const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = resolve(BENCH_DIR, '..');
// BENCH_HERALD_MAIN points the bench at another build (e.g. a patched copy of dist/) to
// compare a change against the committed code on the same machine.
export const HERALD_MAIN = process.env.BENCH_HERALD_MAIN ? resolve(process.env.BENCH_HERALD_MAIN) : join(ROOT, 'dist', 'cli', 'main.js');
export const POSTGRES_URL = process.env.BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';
const ORPHAN_GUARD = pathToFileURL(join(BENCH_DIR, 'lib', 'orphan-guard.mjs')).href;

const scopes = new Set();

/** CPU time (ms) used by the bench's children, for telling the bench's load from others'. */
export const childCpu = { ms: 0 };
function account(entry) {
  if (entry.accounted) return;
  const ms = cpuMsOf(entry.child.pid);
  if (Number.isFinite(ms)) entry.lastCpu = ms;
  if (entry.child.exitCode !== null || entry.child.signalCode !== null || entry.final) {
    entry.accounted = true;
    childCpu.ms += entry.lastCpu;
  }
}
setInterval(() => {
  for (const scope of scopes) for (const entry of scope.children) if (!entry.accounted) account(entry);
}, 500).unref();

/** CPU time of the whole machine (ms, all cores) from /proc/stat, or NaN. */
export function machineCpuMs() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait
    const busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + (fields[7] || 0);
    return (busy * 1000) / 100;
  } catch {
    return NaN;
  }
}

/** Resources of one scenario run. */
export class Scope {
  constructor(name) {
    this.name = name;
    this.children = [];
    this.dirs = [];
    this.schemas = [];
    scopes.add(this);
  }

  tempDir(prefix = 'herald-bench-') {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  /** A fresh PostgreSQL schema name, dropped when the scope closes. */
  pgSchema() {
    const schema = `herald_bench_${randomBytes(5).toString('hex')}`;
    this.schemas.push(schema);
    return schema;
  }

  track(child, label) {
    const entry = { child, label, exited: false, lastCpu: 0, accounted: false, final: false };
    child.once('exit', () => {
      entry.exited = true;
    });
    this.children.push(entry);
    return child;
  }

  /** Forks a bench child module (receiver, load generator, baseline) and returns its RPC client. */
  fork(modulePath, label, { execArgv = [], env = {} } = {}) {
    const child = fork(modulePath, [], {
      execArgv,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.track(child, label);
    const client = rpcClient(child, label);
    client.pid = child.pid;
    client.child = child;
    return client;
  }

  /** Idempotent: a second caller (Ctrl-C during a scenario's own cleanup) awaits the first. */
  close() {
    this.closing ??= (async () => {
      await Promise.all(this.children.map((entry) => stopChild(entry, 0)));
      for (const schema of this.schemas.splice(0)) {
        await dropSchema(schema).catch((error) => process.stderr.write(`bench: could not drop schema ${schema}: ${error}\n`));
      }
      for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
      scopes.delete(this);
    })();
    return this.closing;
  }
}

/** SIGTERM, then SIGKILL after `graceMs` (0: SIGKILL at once). Resolves when it has exited. */
export function stopChild(entry, graceMs) {
  const { child } = entry;
  if (entry.lastCpu !== undefined && !entry.accounted) {
    entry.final = true;
    account(entry);
  }
  if (entry.exited || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolvePromise) => {
    child.once('exit', () => resolvePromise());
    if (graceMs > 0) {
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      setTimeout(() => {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, graceMs).unref();
    } else {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        resolvePromise();
      }
    }
  });
}

/** Synchronous last resort (process 'exit'): kill every child still running. */
function killAllSync() {
  for (const scope of scopes) {
    for (const { child, exited } of scope.children) {
      if (exited || child.exitCode !== null || child.signalCode !== null) continue;
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of scope.dirs) rmSync(dir, { recursive: true, force: true });
  }
}

let cleaning;
/** Closes every open scope; concurrent callers share one cleanup. */
export function cleanupAll() {
  cleaning ??= Promise.all([...scopes].map((scope) => scope.close().catch(() => undefined))).then(() => undefined);
  return cleaning;
}

export const interrupted = { signal: undefined };

export function installExitHandlers() {
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (interrupted.signal) return;
      interrupted.signal = signal;
      process.stderr.write(`\nbench: ${signal}: stopping every child process and removing temp data…\n`);
      const hard = setTimeout(() => process.exit(130), 10_000);
      hard.unref();
      cleanupAll().finally(() => process.exit(130));
    });
  }
}

export async function dropSchema(schema) {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

export function freePort() {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePromise(port));
    });
  });
}

/** HERALD_* settings given with --herald-env: applied to every Herald process, last. */
export const HERALD_OVERRIDES = {};

/** Environment of a Herald process: inherited PATH etc. without any stray HERALD_* variable. */
export function heraldEnv(overrides) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HERALD_')) env[k] = v;
  return {
    ...env,
    HERALD_LOG_LEVEL: 'warn',
    HERALD_ALLOW_PRIVATE_NETWORKS: 'true',
    ...overrides,
    ...HERALD_OVERRIDES,
  };
}

/**
 * What `herald keys create --org <org>` does (it also migrates the database), called in
 * this process from the same build: it saves a Node start-up per Herald the bench starts.
 */
export async function createKey(env, org = 'bench') {
  const dist = dirname(dirname(HERALD_MAIN));
  const [{ loadConfig }, { createKey: create }] = await Promise.all([
    import(pathToFileURL(join(dist, 'config.js')).href),
    import(pathToFileURL(join(dist, 'cli', 'keys.js')).href),
  ]);
  const key = await create(loadConfig(env), org);
  return { ...key, basic: `Basic ${Buffer.from(`${key.public_key}:${key.secret_key}`).toString('base64')}` };
}

/**
 * Starts `node dist/cli/main.js serve --role <role>`. Its output goes to herald-<label>.log
 * in `logDir`. Resolves once /readyz answers (api, all) or the process runs (worker).
 */
export async function spawnHerald(scope, { role, env, logDir, label = role, nodeArgs = [] }) {
  const logFile = join(logDir, `herald-${label}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, [...nodeArgs, '--import', ORPHAN_GUARD, HERALD_MAIN, 'serve', '--role', role], {
    env,
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  scope.track(child, `herald ${label}`);
  const herald = {
    child,
    pid: child.pid,
    logFile,
    baseUrl: role === 'worker' ? undefined : `http://127.0.0.1:${env.HERALD_PORT}`,
    tail: () => tail(logFile),
    /** Graceful stop (needed for --cpu-prof to write its profile). */
    stop: (graceMs = 15_000) => stopChild({ child, exited: child.exitCode !== null }, graceMs),
  };
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  if (role === 'worker') {
    await sleep(50);
    if (exited) throw new Error(`herald ${label} exited at once:\n${herald.tail()}`);
    return herald;
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`herald ${label} exited before it was ready:\n${herald.tail()}`);
    try {
      const res = await fetch(`${herald.baseUrl}/readyz`);
      await res.text();
      if (res.status === 200) return herald;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`herald ${label} not ready after 30 s:\n${herald.tail()}`);
    await sleep(50);
  }
}

export function tail(file, lines = 30) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Peak and current resident memory of a process, in MB, from /proc/<pid>/status. */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name) => {
      const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
      return m ? Number(m[1]) / 1024 : NaN;
    };
    return { hwmMb: field('VmHWM'), rssMb: field('VmRSS') };
  } catch {
    return { hwmMb: NaN, rssMb: NaN };
  }
}

/** CPU time (user+system, ms) a process has used so far, from /proc/<pid>/stat. */
export function cpuMsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 (1-based); after the comm field they are 11 and 12 (0-based).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

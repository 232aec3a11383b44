/**
 * Runs the built CLI (`node dist/cli/main.js …`) as child processes, for tests that need a
 * real process: SIGTERM, `kill -9`, several API and worker processes on one database.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ApiResponse, type Credentials, TEST_RATE_LIMITS, apiRequest } from './herald.js';
import { freePort } from './ports.js';

export { freePort };

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');

export type Role = 'api' | 'worker' | 'all';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Source files whose compiled file is missing or older than the source. */
export function staleSources(): string[] {
  const src = join(ROOT, 'src');
  return sourceFiles(src).filter((file) => {
    const out = join(ROOT, 'dist', relative(src, file)).replace(/\.ts$/, '.js');
    return !existsSync(out) || statSync(out).mtimeMs < statSync(file).mtimeMs;
  });
}

/**
 * Builds `dist/` (`tsc -p tsconfig.build.json`) when it is missing or older than `src/`.
 * `npm test` builds before vitest, so this only matters when a test file is run alone.
 * A lock folder keeps test files running side by side from building at the same time.
 */
export function ensureBuilt(): void {
  if (staleSources().length === 0) return;
  const lock = join(tmpdir(), `herald-build-${Buffer.from(ROOT).toString('base64url').slice(-24)}.lock`);
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than three minutes was left by a killed run.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 180_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        // gone meanwhile
      }
      if (Date.now() > deadline) throw new Error(`could not take the build lock ${lock}`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
    }
  }
  try {
    if (staleSources().length === 0) return;
    try {
      execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
        cwd: ROOT,
        stdio: 'pipe',
      });
    } catch (error) {
      // tsc still emits JavaScript on type errors; only a missing CLI is fatal.
      const out = (error as { stdout?: Buffer }).stdout?.toString() ?? String(error);
      process.stderr.write(`ensureBuilt: tsc reported problems:\n${out}\n`);
      if (!existsSync(CLI)) throw error;
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}


/** The parent's environment without anything that could steer the child Herald or node. */
function baseEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (k.startsWith('HERALD_') || k.startsWith('VITEST') || k === 'NODE_OPTIONS' || k === 'NODE_ENV') continue;
    out[k] = v;
  }
  return out;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface HeraldProcess {
  name: string;
  role: Role;
  child: ChildProcess;
  pid: number;
  /** HTTP port (api and all roles). */
  port: number;
  baseUrl: string;
  /** Resolves when the process has exited. */
  exited: Promise<Exit>;
  exit: Exit | undefined;
  /** The last lines the process wrote (stdout and stderr), for failure messages. */
  tail(lines?: number): string;
  /** Every parsed JSON log line seen so far (pino, stdout). */
  logs: Array<Record<string, unknown>>;
  stderr: string;
  request<T = any>(
    method: string,
    path: string,
    options?: { body?: unknown; raw?: string; auth?: Credentials | string | null; headers?: Record<string, string> },
  ): Promise<ApiResponse<T>>;
  /** Sends a signal to this process only. */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL (if still running) and wait for the exit. */
  kill(): Promise<Exit>;
}

const running = new Set<HeraldProcess>();
const MAX_LINES = 4000;

export interface SpawnOptions {
  /** Environment of the child on top of the parent's (HERALD_* of the parent are dropped). */
  env: Record<string, string>;
  role?: Role;
  name?: string;
  /** Port for api/all roles; a free one by default. */
  port?: number;
  /** Wait for /healthz (api, all) or the "worker started" log line (worker); default true. */
  waitReady?: boolean;
  readyTimeoutMs?: number;
}

/** Starts `node dist/cli/main.js serve --role <role>` and waits until it is ready. */
export async function spawnHerald(options: SpawnOptions): Promise<HeraldProcess> {
  const role = options.role ?? 'all';
  const port = role === 'worker' ? 0 : (options.port ?? (await freePort()));
  const env = {
    ...baseEnv(),
    HERALD_HOST: '127.0.0.1',
    HERALD_LOG_LEVEL: 'info',
    ...TEST_RATE_LIMITS,
    ...options.env,
    HERALD_PORT: String(port),
  };
  const child = spawn(process.execPath, [CLI, 'serve', '--role', role], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const name = options.name ?? `${role}-${child.pid}`;
  const lines: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  const remember = (line: string) => {
    lines.push(line);
    if (lines.length > MAX_LINES) lines.splice(0, lines.length - MAX_LINES);
  };
  let partial = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      remember(line);
      if (line.startsWith('{')) {
        try {
          logs.push(JSON.parse(line) as Record<string, unknown>);
          if (logs.length > 50_000) logs.splice(0, logs.length - 50_000);
        } catch {
          // not JSON
        }
      }
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    if (stderr.length > 200_000) stderr = stderr.slice(-200_000);
    for (const line of chunk.split('\n')) if (line) remember(`[stderr] ${line}`);
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const proc: HeraldProcess = {
    name,
    role,
    child,
    pid: child.pid as number,
    port,
    baseUrl,
    exit: undefined,
    exited: new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => {
        proc.exit = { code, signal };
        running.delete(proc);
        resolve({ code, signal });
      });
    }),
    logs,
    get stderr() {
      return stderr;
    },
    tail(n = 30) {
      return lines.slice(-n).join('\n');
    },
    request: (method, path, opts = {}) => apiRequest(baseUrl, method, path, opts),
    signal(sig) {
      if (proc.exit === undefined && child.pid !== undefined) process.kill(child.pid, sig);
    },
    async kill() {
      proc.signal('SIGKILL');
      return proc.exited;
    },
  };
  running.add(proc);
  if (options.waitReady ?? true) {
    try {
      await waitReady(proc, options.readyTimeoutMs ?? 30_000);
    } catch (error) {
      await proc.kill();
      throw error;
    }
  }
  return proc;
}

async function waitReady(proc: HeraldProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exit) {
      throw new Error(`${proc.name} exited (${JSON.stringify(proc.exit)}) before it was ready:\n${proc.tail()}`);
    }
    if (proc.role === 'worker') {
      if (proc.logs.some((l) => l.msg === 'herald worker started')) return;
    } else {
      try {
        const res = await fetch(`${proc.baseUrl}/healthz`);
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
    }
    if (Date.now() > deadline) throw new Error(`${proc.name} not ready after ${timeoutMs} ms:\n${proc.tail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** SIGKILLs every process this module started that is still running (for afterAll). */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill()));
}

/** Runs a one-shot CLI command (`migrate`, `keys create …`) and answers its output. */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: ROOT, env: { ...baseEnv(), HERALD_LOG_LEVEL: 'warn', ...env }, timeout: timeoutMs },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** `herald keys create --org <name>` against the database in `env`: an organization with a key pair. */
export async function createKeys(env: Record<string, string>, org: string): Promise<Credentials> {
  const { code, stdout, stderr } = await runCli(['keys', 'create', '--org', org], env);
  if (code !== 0) throw new Error(`keys create failed (${code}): ${stderr}`);
  const key = JSON.parse(stdout.trim()) as Omit<Credentials, 'basic'>;
  return { ...key, basic: `Basic ${Buffer.from(`${key.public_key}:${key.secret_key}`).toString('base64')}` };
}

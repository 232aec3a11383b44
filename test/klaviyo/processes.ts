import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { CALLBACK_PATH } from '../../src/connectors/klaviyo/settings.js';
import type { FakeKlaviyo } from '../support/fake-klaviyo.js';
import { type Credentials, type DatabaseKind, freshDatabaseEnv } from '../support/herald.js';
import { freePort } from './harness.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');

/** These tests run the built CLI (`npm run build`); a stale build would test old code. */
export function assertBuilt(): void {
  const built = join(ROOT, 'dist/connectors/klaviyo/tokens.js');
  if (!existsSync(CLI) || !existsSync(built)) throw new Error('dist/ is missing: run `npm run build` first');
  const sources = join(ROOT, 'src/connectors/klaviyo');
  const newest = Math.max(...readdirSync(sources).map((f) => statSync(join(sources, f)).mtimeMs));
  if (statSync(built).mtimeMs < newest) throw new Error('dist/ is older than src/connectors/klaviyo: run `npm run build`');
}

/**
 * Environment for `herald` processes sharing one fresh database, with debug logs (captured
 * from their output) and the fake Klaviyo registered with their public URL.
 */
export async function processEnv(kind: DatabaseKind, fake: FakeKlaviyo, dataDir: string): Promise<Record<string, string>> {
  const port = await freePort();
  const env: Record<string, string> = {
    HERALD_DATA_DIR: dataDir,
    HERALD_SECRET_KEY: randomBytes(32).toString('base64'),
    HERALD_ALLOW_PRIVATE_NETWORKS: 'true',
    HERALD_LOG_LEVEL: 'debug',
    HERALD_HOST: '127.0.0.1',
    HERALD_PORT: String(port),
    HERALD_PUBLIC_URL: `http://127.0.0.1:${port}`,
    HERALD_RETRY_SCHEDULE: '100ms,200ms,400ms',
    ...freshDatabaseEnv(kind, dataDir),
    ...fake.env(),
  };
  fake.registeredRedirectUri = `${env.HERALD_PUBLIC_URL}${CALLBACK_PATH}`;
  await runCli(['migrate'], env);
  return env;
}

/** An organization and its key pair, made by `herald keys create`. */
export async function createOrgByCli(env: Record<string, string>, name: string): Promise<Credentials> {
  const key = JSON.parse(await runCli(['keys', 'create', '--org', name], env));
  return { ...key, basic: `Basic ${Buffer.from(`${key.public_key}:${key.secret_key}`).toString('base64')}` };
}

/** `herald <args>` to completion; its standard output. */
export async function runCli(args: string[], env: Record<string, string>): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
  return stdout;
}

/** A running `herald serve`, with everything it writes (the JSON log lines) kept. */
export class HeraldProcess {
  #out = '';
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;

  constructor(args: string[], env: Record<string, string>) {
    this.#child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child.stdout?.on('data', (c: Buffer) => (this.#out += c.toString('utf8')));
    this.#child.stderr?.on('data', (c: Buffer) => (this.#out += c.toString('utf8')));
    this.#exited = new Promise((done) => this.#child.once('exit', () => done()));
  }

  get output(): string {
    return this.#out;
  }

  /** Log lines (JSON) whose `msg` is `msg`. */
  lines(msg: string): Record<string, unknown>[] {
    return this.#out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === msg);
  }

  async waitFor(msg: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines(msg).length === 0) {
      if (this.#child.exitCode !== null) throw new Error(`herald exited early:\n${this.#out}`);
      if (Date.now() > deadline) throw new Error(`no "${msg}" log line in ${timeoutMs} ms:\n${this.#out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM: a graceful stop (in-flight work finishes, results are written). */
  async stop(): Promise<void> {
    if (this.#child.exitCode === null) this.#child.kill('SIGTERM');
    await this.#exited;
  }
}

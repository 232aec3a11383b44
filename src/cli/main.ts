#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { createKey } from './keys.js';
import { runMigrations } from './migrate.js';
import { DEFAULT_SETTLE_MS } from '../security/key-rotation.js';
import { rotateSecretKey, secretsStatus } from './secrets.js';
import { serve } from './serve.js';

const USAGE = `usage:
  herald serve [--role api|worker|all]   run the API and/or the delivery workers (default all)
  herald migrate                         bring the database schema up to date
  herald keys create --org <name>        create an API key pair (and the organization)
  herald secrets rotate-key [--new-key-file <path>] [--batch-size <n>] [--settle-seconds <s>]
                                         re-seal every secret under HERALD_NEW_SECRET_KEY (or the file's key)
  herald secrets status                  the database's key ids and how many secrets each one seals`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const config = loadConfig();
  switch (command) {
    case 'serve': {
      const { values } = parseArgs({ args: rest, options: { role: { type: 'string', default: 'all' } } });
      const role = values.role;
      if (role !== 'api' && role !== 'worker' && role !== 'all') throw new UsageError(`unknown role "${role}"`);
      await serve(config, role);
      return -1;
    }
    case 'migrate':
      await runMigrations(config);
      return 0;
    case 'keys': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { org: { type: 'string' } },
      });
      if (positionals[0] !== 'create' || !values.org) throw new UsageError('keys create needs --org <name>');
      process.stdout.write(`${JSON.stringify(await createKey(config, values.org))}\n`);
      return 0;
    }
    case 'secrets': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          'new-key-file': { type: 'string' },
          'batch-size': { type: 'string', default: '500' },
          'settle-seconds': { type: 'string', default: String(DEFAULT_SETTLE_MS / 1000) },
        },
      });
      if (positionals[0] === 'status') {
        process.stdout.write(`${JSON.stringify(await secretsStatus(config))}\n`);
        return 0;
      }
      if (positionals[0] !== 'rotate-key') throw new UsageError('secrets needs rotate-key or status');
      const file = values['new-key-file'];
      if (!file && !config.newSecretKey) throw new UsageError('secrets rotate-key needs the new key: HERALD_NEW_SECRET_KEY or --new-key-file <path>');
      const batchSize = Number(values['batch-size']);
      const settleSeconds = Number(values['settle-seconds']);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new UsageError('--batch-size must be an integer from 1 to 10000');
      if (!Number.isFinite(settleSeconds) || settleSeconds < 0) throw new UsageError('--settle-seconds must be a number of seconds');
      const summary = await rotateSecretKey(config, {
        newKey: file ? { file } : { text: config.newSecretKey as string, origin: 'HERALD_NEW_SECRET_KEY' },
        batchSize,
        settleMs: settleSeconds * 1000,
      });
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      return 0;
    }
    default:
      throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`herald: ${(error as Error).message}\n${USAGE}\n`);
      process.exitCode = 2;
    } else if ((error as { code?: unknown }).code === 'HERALD_KEY_MISMATCH') {
      // An operator's configuration problem: the sentence says what to do; a stack would bury it.
      process.stderr.write(`herald: the secret key does not fit this database: ${(error as Error).message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`herald: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    }
  },
);

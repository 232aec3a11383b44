#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { createKey } from './keys.js';
import { runMigrations } from './migrate.js';
import { serve } from './serve.js';

const USAGE = `usage:
  herald serve [--role api|worker|all]   run the API and/or the delivery workers (default all)
  herald migrate                         bring the database schema up to date
  herald keys create --org <name>        create an API key pair (and the organization)`;

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
    } else {
      process.stderr.write(`herald: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    }
  },
);

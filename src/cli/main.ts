#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { HeraldError } from '../domain/errors.js';
import { DEFAULT_SETTLE_MS } from '../security/key-rotation.js';
import { sendEvents } from './events.js';
import { createKey, listKeys, revokeKey } from './keys.js';
import { runMigrations } from './migrate.js';
import { createOrganization, deleteOrganization, listOrganizations, updateOrganization } from './orgs.js';
import { rotateSecretKey, secretsStatus } from './secrets.js';
import { serve } from './serve.js';
import { prune, status } from './status.js';
import { COMMAND_NAMES, usage } from './usage.js';

class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

function idArgument(value: string | undefined, what: string, command: string): number {
  if (value === undefined || !/^[1-9][0-9]{0,15}$/.test(value)) throw new UsageError(`${command} needs ${what} (a positive integer)`, command.split(' ')[0]);
  return Number(value);
}

function timeOption(value: string | undefined, name: string, command: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new UsageError(`${name} must be an ISO 8601 time, e.g. 2027-01-15T10:30:00Z`, command);
  return ms;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    process.stderr.write(`${usage()}\n`);
    return 2;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${usage(rest[0])}\n`);
    return 0;
  }
  if (!COMMAND_NAMES.includes(command)) throw new UsageError(`unknown command "${command}"`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${usage(command)}\n`);
    return 0;
  }
  const config = loadConfig();
  const parse = <O extends Record<string, { type: 'string' | 'boolean'; default?: string }>>(options: O) => {
    try {
      return parseArgs({ args: rest, allowPositionals: true, strict: true, options });
    } catch (error) {
      throw new UsageError((error as Error).message, command);
    }
  };
  switch (command) {
    case 'serve': {
      const { values } = parse({ role: { type: 'string', default: 'all' } });
      const role = values.role;
      if (role !== 'api' && role !== 'worker' && role !== 'all') throw new UsageError(`unknown role "${String(role)}"`, command);
      await serve(config, role);
      return -1;
    }
    case 'migrate':
      parse({});
      await runMigrations(config);
      return 0;
    case 'orgs': {
      const { values, positionals } = parse({ name: { type: 'string' }, 'external-id': { type: 'string' }, status: { type: 'string' } });
      const [sub, id] = positionals;
      if (sub === 'create') {
        if (values.name === undefined) throw new UsageError('orgs create needs --name <name>', command);
        print(await createOrganization(config, values.name, values['external-id']));
      } else if (sub === 'list') {
        print(await listOrganizations(config, values['external-id']));
      } else if (sub === 'update') {
        const status = values.status;
        if (status !== undefined && status !== 'active' && status !== 'suspended') {
          throw new UsageError('--status must be active or suspended', command);
        }
        if (values.name === undefined && status === undefined) throw new UsageError('orgs update needs --name or --status', command);
        print(
          await updateOrganization(config, idArgument(id, 'the organization id', 'orgs update'), {
            ...(values.name !== undefined ? { name: values.name } : {}),
            ...(status !== undefined ? { status } : {}),
          }),
        );
      } else if (sub === 'delete') {
        print(await deleteOrganization(config, idArgument(id, 'the organization id', 'orgs delete')));
      } else {
        throw new UsageError('orgs needs create, list, update or delete', command);
      }
      return 0;
    }
    case 'keys': {
      const { values, positionals } = parse({ org: { type: 'string' }, description: { type: 'string' }, 'expires-at': { type: 'string' } });
      const [sub, id] = positionals;
      if (sub === 'create') {
        if (!values.org) throw new UsageError('keys create needs --org <id|name>', command);
        const expiresAt = timeOption(values['expires-at'], '--expires-at', command);
        print(
          await createKey(config, values.org, {
            ...(values.description !== undefined ? { description: values.description } : {}),
            ...(expiresAt !== undefined ? { expiresAt } : {}),
          }),
        );
      } else if (sub === 'list') {
        if (!values.org) throw new UsageError('keys list needs --org <id|name>', command);
        print(await listKeys(config, values.org));
      } else if (sub === 'revoke') {
        print(await revokeKey(config, idArgument(id, 'the key id', 'keys revoke')));
      } else {
        throw new UsageError('keys needs create, list or revoke', command);
      }
      return 0;
    }
    case 'events': {
      const { values, positionals } = parse({
        org: { type: 'string' },
        file: { type: 'string' },
        sample: { type: 'string' },
        'idempotency-key': { type: 'string' },
      });
      if (positionals[0] !== 'send') throw new UsageError('events needs send', command);
      if (!values.org) throw new UsageError('events send needs --org <id|name>', command);
      if ((values.file === undefined) === (values.sample === undefined)) {
        throw new UsageError('events send needs exactly one of --file <path> and --sample <event_type>', command);
      }
      print(
        await sendEvents(config, {
          organization: values.org,
          ...(values.file !== undefined ? { file: values.file } : {}),
          ...(values.sample !== undefined ? { sample: values.sample } : {}),
          ...(values['idempotency-key'] !== undefined ? { idempotencyKey: values['idempotency-key'] } : {}),
        }),
      );
      return 0;
    }
    case 'status':
      parse({});
      print(await status(config));
      return 0;
    case 'prune':
      parse({});
      print(await prune(config));
      return 0;
    case 'secrets': {
      const { values, positionals } = parse({
        'new-key-file': { type: 'string' },
        'batch-size': { type: 'string', default: '500' },
        'settle-seconds': { type: 'string', default: String(DEFAULT_SETTLE_MS / 1000) },
      });
      if (positionals[0] === 'status') {
        print(await secretsStatus(config));
        return 0;
      }
      if (positionals[0] !== 'rotate-key') throw new UsageError('secrets needs rotate-key or status', command);
      const file = values['new-key-file'];
      if (!file && !config.newSecretKey) {
        throw new UsageError('secrets rotate-key needs the new key: HERALD_NEW_SECRET_KEY or --new-key-file <path>', command);
      }
      const batchSize = Number(values['batch-size']);
      const settleSeconds = Number(values['settle-seconds']);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new UsageError('--batch-size must be an integer from 1 to 10000', command);
      if (!Number.isFinite(settleSeconds) || settleSeconds < 0) throw new UsageError('--settle-seconds must be a number of seconds', command);
      print(
        await rotateSecretKey(config, {
          newKey: file ? { file } : { text: config.newSecretKey as string, origin: 'HERALD_NEW_SECRET_KEY' },
          batchSize,
          settleMs: settleSeconds * 1000,
        }),
      );
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** One line: a HeraldError's problems with where they are (`/data/...: detail`), else the message. */
function oneLine(error: unknown): string {
  if (error instanceof HeraldError) {
    return error.errors
      .map((e) => {
        const where = e.pointer || e.parameter || e.header;
        return where ? `${where}: ${e.detail}` : e.detail;
      })
      .join('; ');
  }
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, ' ');
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      const help = error.command ? `herald ${error.command} --help` : 'herald --help';
      process.stderr.write(`herald: ${error.message} (${help} for usage)\n`);
      process.exitCode = 2;
      return;
    }
    if ((error as { code?: unknown }).code === 'HERALD_KEY_MISMATCH') {
      // An operator's configuration problem: the sentence says what to do; a stack would bury it.
      process.stderr.write(`herald: the secret key does not fit this database: ${oneLine(error)}\n`);
    } else {
      process.stderr.write(`herald: ${oneLine(error)}\n`);
      // The stack, for a bug report, only when asked for.
      if (process.env.HERALD_LOG_LEVEL === 'debug' && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    }
    process.exitCode = 1;
  },
);

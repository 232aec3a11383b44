/** `herald --help` and `herald <command> --help`. */

const COMMANDS: Record<string, string> = {
  serve: `herald serve [--role api|worker|all]
  Runs the API, the delivery workers, or both (default all), until SIGTERM.`,
  migrate: `herald migrate
  Brings the database schema up to date (serve does it too).`,
  orgs: `herald orgs create --name <name> [--external-id <id>]
  Creates an organization; --external-id (your id of the customer) is unique.
herald orgs list [--external-id <id>]
  Every organization, oldest first (a JSON array).
herald orgs update <id> [--name <name>] [--status active|suspended]
  Renames, suspends (its keys answer 401, its deliveries wait) or activates it (they resume).
herald orgs delete <id>
  Deletes it and everything it owns, in batches; prints the rows removed per table.`,
  keys: `herald keys create --org <id|name> [--description <text>] [--expires-at <ISO 8601>]
  Issues an API key pair (the secret is printed only now); a name matching no organization creates it.
herald keys list --org <id|name>
  The organization's keys, without secrets.
herald keys revoke <key_id>
  Revokes a key: it and its access tokens answer 401 from now on, in every process.`,
  events: `herald events send --org <id|name> (--file <path>|- | --sample <event_type>) [--idempotency-key <key>]
  Publishes for the organization as POST /events does: the file holds one event {"event_type","data"}
  or a batch {"events":[…]}; --sample sends the catalog's sample of that type.`,
  status: `herald status
  Organizations, connections, pending and parked deliveries, the oldest pending delivery's age,
  deliveries succeeded and failed in the last hour.`,
  prune: `herald prune
  One housekeeping pass now: expired idempotency keys, tokens and OAuth states, unfinished organization
  deletions, events older than HERALD_RETENTION (with their deliveries and attempts), then (SQLite) the
  freed pages back to the file system. Prints what it removed.`,
  secrets: `herald secrets rotate-key [--new-key-file <path>] [--batch-size <n>] [--settle-seconds <s>]
  Re-seals every secret under HERALD_NEW_SECRET_KEY (or the file's key).
herald secrets status
  The database's key ids and how many secrets each one seals.`,
};

export const COMMAND_NAMES = Object.keys(COMMANDS);

export function usage(command?: string): string {
  if (command !== undefined && COMMANDS[command]) return `usage:\n${indent(COMMANDS[command])}`;
  return (
    'usage: herald <command> [options]   (herald <command> --help for one command)\n' +
    'Every setting is a HERALD_* environment variable (see the README). Commands print JSON on stdout;\n' +
    'on failure, one line on stderr and a non-zero exit (2: wrong usage).\n\n' +
    Object.values(COMMANDS).map(indent).join('\n')
  );
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
